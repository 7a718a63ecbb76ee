"""Every write to orders, carts and payments goes through these services."""

from .backorders import backorders_allocate
from .carts import cart_checkout, cart_create, cart_set_line, carts_expire
from .lifecycle import order_cancel, order_transition
from .payments import payment_void
from .placement import CustomerInput, LineInput, OrderInput, PaymentInput, PlacementResult, order_place
from .quotes import quote_accept, quote_create, quote_reject, quote_send, quotes_expire

__all__ = [
    "CustomerInput",
    "LineInput",
    "OrderInput",
    "PaymentInput",
    "PlacementResult",
    "backorders_allocate",
    "cart_checkout",
    "cart_create",
    "cart_set_line",
    "carts_expire",
    "order_cancel",
    "order_place",
    "order_transition",
    "payment_void",
    "quote_accept",
    "quote_create",
    "quote_reject",
    "quote_send",
    "quotes_expire",
]
