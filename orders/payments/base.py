from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class CardDetails:
    """Raw card data as received; lives only in memory for the gateway call."""

    number: str
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False, default="")
    holder: str = ""

    def __repr__(self) -> str:  # never leak the number into logs
        return f"CardDetails(****{self.number[-4:]}, {self.exp_month:02d}/{self.exp_year})"


@dataclass(frozen=True)
class Authorization:
    reference: str
    token: str
    brand: str
    last4: str
    amount: Decimal
    currency: str


class GatewayDeclined(Exception):
    """The issuer or gateway said no; retrying the same card will not help."""

    def __init__(self, reason: str, message: str, field: str = "payment") -> None:
        self.reason = reason
        self.message = message
        self.field = field
        super().__init__(message)


class GatewayUnavailable(Exception):
    """The gateway could not be reached or erred; the call may be retried."""


class PaymentGateway(Protocol):
    name: str

    def authorize(
        self,
        *,
        amount: Decimal,
        currency: str,
        card: CardDetails | None,
        token: str | None,
        idempotency_key: str,
    ) -> Authorization: ...

    def capture(self, *, reference: str, amount: Decimal, currency: str) -> str: ...

    def void(self, *, reference: str) -> str: ...

    def refund(self, *, reference: str, amount: Decimal, currency: str) -> str: ...


@cache
def _gateway_class(path: str) -> type:
    return import_string(path)


def get_gateway(name: str) -> PaymentGateway:
    try:
        path = settings.PAYMENT_GATEWAYS[name]
    except KeyError:
        raise LookupError(name) from None
    return _gateway_class(path)()
