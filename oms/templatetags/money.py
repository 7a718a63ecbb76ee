"""`{{ amount|money:currency }}`: an amount rounded to the currency's minor units."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from oms.money import UnknownCurrency, round_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    try:
        return f"{round_money(amount, currency)} {currency}"
    except (InvalidOperation, UnknownCurrency):
        return f"{amount} {currency}"
