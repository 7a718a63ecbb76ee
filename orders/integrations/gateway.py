"""The `platform` payment gateway: for orders a selling platform (Shopify,
WooCommerce, a marketplace) has already charged.

The platform collects the money and pays it out, so nothing is authorized
with a card processor here. The OMS still records a payment on the order (the
token names the platform's order) so shipping captures and the books follow
the same path as for any other order; refunds are issued on the platform.
Register it in settings.PAYMENT_GATEWAYS as
`"platform": "orders.integrations.gateway.PlatformGateway"`.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal

from ..payments import Authorization, CardDetails, GatewayDeclined

NAME = "platform"
PREFIX = "platform_"
# The money is the platform's: giving it back happens there (the OMS does not
# call the platform's API), so a void or refund is refused, never faked.
ON_PLATFORM = (
    "This order was paid on its sales platform: cancel the payment or refund it there "
    "(the OMS does not move that money)."
)


class PlatformGateway:
    name = NAME

    def authorize(
        self,
        *,
        amount: Decimal,
        currency: str,
        card: CardDetails | None,
        token: str | None,
        idempotency_key: str,
    ) -> Authorization:
        if card is not None:
            raise GatewayDeclined("card_not_accepted", "The platform gateway takes no card details.")
        if not token:
            raise GatewayDeclined(
                "missing_payment_method", "The platform's order reference is required.", "payment.token"
            )
        if amount <= 0:
            raise GatewayDeclined("invalid_amount", "The amount to authorize must be positive.")
        # A fresh idempotency key per attempt: a held order that is retried gets a new reference.
        reference = PREFIX + hashlib.sha256(f"{idempotency_key}|{token}".encode()).hexdigest()[:24]
        platform = token.split(":", 1)[0][:20]
        return Authorization(
            reference=reference, token=token[:100], brand=platform, last4="", amount=amount, currency=currency
        )

    def capture(self, *, reference: str, amount: Decimal, currency: str) -> str:
        self._check_reference(reference)
        return f"{PREFIX}cap_{uuid.uuid4().hex[:24]}"

    def void(self, *, reference: str) -> str:
        self._check_reference(reference)
        raise GatewayDeclined("paid_on_platform", ON_PLATFORM)

    def refund(self, *, reference: str, amount: Decimal, currency: str) -> str:
        self._check_reference(reference)
        raise GatewayDeclined("paid_on_platform", ON_PLATFORM)

    @staticmethod
    def _check_reference(reference: str) -> None:
        if not reference.startswith(PREFIX):
            raise GatewayDeclined("unknown_authorization", f"No platform authorization {reference!r}.")
