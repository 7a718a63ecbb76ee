"""Money: Decimal amounts in an ISO 4217 currency, rounded to its minor units.

Never float. Amounts travel as (Decimal, currency code); the database stores
them in NUMERIC(18, 4) columns so every currency's minor units fit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor units for the currencies the OMS accepts. Currencies not listed
# here are refused at the edge with a clear error rather than guessed at.
MINOR_UNITS: dict[str, int] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
    "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2,
    "IDR": 2, "ILS": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "MAD": 2,
    "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2, "PHP": 2, "PLN": 2, "QAR": 2,
    "RON": 2, "RSD": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2,
    "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}  # fmt: skip

CURRENCY_CHOICES = [(code, code) for code in sorted(MINOR_UNITS)]
MAX_DIGITS = 18
DECIMAL_PLACES = 4
ZERO = Decimal("0")


class UnknownCurrency(ValueError):
    pass


def minor_units(currency: str) -> int:
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise UnknownCurrency(currency) from None


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def round_money(amount: Decimal | int | str, currency: str) -> Decimal:
    """Round half up to the currency's minor units (0.005 USD -> 0.01)."""
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def parse_amount(raw: object) -> Decimal:
    """Parse an amount from input without ever passing through float."""
    if isinstance(raw, bool) or raw is None:
        raise InvalidOperation("not a number")
    if isinstance(raw, float):
        raw = repr(raw)
    value = Decimal(str(raw))
    if not value.is_finite():
        raise InvalidOperation("not a finite number")
    return value


def has_valid_precision(amount: Decimal, currency: str) -> bool:
    """True when the amount has no more decimals than the currency allows."""
    amount = Decimal(amount)
    return amount == amount.quantize(quantum(currency))


def MoneyField(**kwargs):
    """A NUMERIC(18, 4) column: room for every currency's minor units."""
    from django.db import models

    kwargs.setdefault("max_digits", MAX_DIGITS)
    kwargs.setdefault("decimal_places", DECIMAL_PLACES)
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(**kwargs)


# Exchange rates live in the books (accounting), which the leaf apps may not
# import; accounting registers its rate lookup here when it loads.
RateSource = Callable[[str, date], Decimal]
_rate_source: RateSource | None = None


def set_rate_source(source: RateSource | None) -> None:
    """`source(currency, day)`: base-currency units per unit of currency."""
    global _rate_source
    _rate_source = source


def convert(amount: Decimal, *, from_currency: str, to_currency: str, day: date) -> Decimal:
    """`amount` in another currency at the day's rates (unrounded)."""
    if from_currency == to_currency:
        return Decimal(amount)
    if _rate_source is None:
        raise LookupError("no exchange-rate source is registered (is the accounting app installed?)")
    return Decimal(amount) * _rate_source(from_currency, day) / _rate_source(to_currency, day)
