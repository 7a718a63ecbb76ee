"""The built-in test gateway: a card processor's test mode, in process.

Card numbers (any future expiry, any CVC):
    4242 4242 4242 4242   Visa, approved
    5555 5555 5555 4444   Mastercard, approved
    3782 822463 10005     American Express, approved
    4000 0000 0000 0002   declined (card_declined)
    4000 0000 0000 9995   declined (insufficient_funds)
    4000 0000 0000 0119   gateway error (processing_error: retry later)
Any other number that passes the Luhn check is approved; one that fails it
is refused as invalid_number. A past expiry is refused as expired_card.

Authorizing returns a reusable token `tok_test_...` (signed, it carries only
brand and last 4) that may be sent instead of card details later.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from decimal import Decimal

from django.conf import settings

from .base import Authorization, CardDetails, GatewayDeclined, GatewayUnavailable
from .cards import card_brand, card_problem

DECLINES = {
    "4000000000000002": ("card_declined", "The card was declined."),
    "4000000000009995": ("insufficient_funds", "The card has insufficient funds."),
}
PROCESSING_ERROR = "4000000000000119"


def _sign(body: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), body.encode(), hashlib.sha256).hexdigest()[:20]


class TestGateway:
    __test__ = False  # not a pytest test class
    name = "test"

    def authorize(
        self,
        *,
        amount: Decimal,
        currency: str,
        card: CardDetails | None,
        token: str | None,
        idempotency_key: str,
    ) -> Authorization:
        if amount <= 0:
            raise GatewayDeclined("invalid_amount", "The amount to authorize must be positive.")
        if card is not None:
            brand, last4 = self._check_card(card)
        elif token:
            brand, last4 = self._check_token(token)
        else:
            raise GatewayDeclined("missing_payment_method", "Card details or a card token are required.")
        body = f"{brand}_{last4}"
        reference = (
            "auth_test_" + hashlib.sha256(f"{idempotency_key}|{amount}|{currency}".encode()).hexdigest()[:24]
        )
        return Authorization(
            reference=reference,
            token=f"tok_test_{body}_{_sign(body)}",
            brand=brand,
            last4=last4,
            amount=amount,
            currency=currency,
        )

    def _check_card(self, card: CardDetails) -> tuple[str, str]:
        problem = card_problem(card)
        if problem:
            raise GatewayDeclined(*problem)
        number = card.number
        if number == PROCESSING_ERROR:
            raise GatewayUnavailable("processing_error: the test gateway simulated an outage")
        if number in DECLINES:
            reason, message = DECLINES[number]
            raise GatewayDeclined(reason, message)
        return card_brand(number), number[-4:]

    def _check_token(self, token: str) -> tuple[str, str]:
        parts = token.split("_")
        if len(parts) != 5 or parts[:2] != ["tok", "test"]:
            raise GatewayDeclined("invalid_token", "The card token is not recognised.", "payment.token")
        brand, last4, signature = parts[2], parts[3], parts[4]
        if not hmac.compare_digest(signature, _sign(f"{brand}_{last4}")):
            raise GatewayDeclined("invalid_token", "The card token is not recognised.", "payment.token")
        return brand, last4

    def capture(self, *, reference: str, amount: Decimal, currency: str) -> str:
        self._check_reference(reference)
        return f"cap_test_{uuid.uuid4().hex[:24]}"

    def void(self, *, reference: str) -> str:
        self._check_reference(reference)
        return f"void_test_{uuid.uuid4().hex[:24]}"

    def refund(self, *, reference: str, amount: Decimal, currency: str) -> str:
        self._check_reference(reference)
        if amount <= 0:
            raise GatewayDeclined("invalid_amount", "The refund amount must be positive.")
        return f"ref_test_{uuid.uuid4().hex[:24]}"

    @staticmethod
    def _check_reference(reference: str) -> None:
        if not reference.startswith("auth_test_"):
            raise GatewayDeclined(
                "unknown_authorization", f"No authorization {reference!r} at the test gateway."
            )
