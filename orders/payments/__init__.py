"""Payment gateways behind one interface (orders.payments.base.PaymentGateway).

`get_gateway(name)` returns the configured implementation from
settings.PAYMENT_GATEWAYS; the built-in `test` gateway behaves like a card
processor's test mode (see orders/payments/test_gateway.py for its card numbers).
"""

from .base import (
    Authorization,
    CardDetails,
    GatewayDeclined,
    GatewayUnavailable,
    PaymentGateway,
    get_gateway,
)

__all__ = [
    "Authorization",
    "CardDetails",
    "GatewayDeclined",
    "GatewayUnavailable",
    "PaymentGateway",
    "get_gateway",
]
