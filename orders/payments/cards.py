"""Checks any card must pass before a gateway is asked (Luhn, expiry), so an
obviously wrong number is refused without holding stock or calling out."""

from __future__ import annotations

from django.utils import timezone

from .base import CardDetails


def luhn_ok(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_brand(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"34", "37"}:
        return "amex"
    if 51 <= int(number[:2]) <= 55 or 2221 <= int(number[:4]) <= 2720:
        return "mastercard"
    if number.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def card_problem(card: CardDetails) -> tuple[str, str, str] | None:
    """(reason, message, field) when the card cannot be valid, else None."""
    if not luhn_ok(card.number):
        return "invalid_number", "The card number is not valid.", "payment.card.number"
    if not 1 <= card.exp_month <= 12:
        return "invalid_expiry", "The expiry month must be 1 to 12.", "payment.card.exp_month"
    today = timezone.now().date()
    if (card.exp_year, card.exp_month) < (today.year, today.month):
        return "expired_card", "The card has expired.", "payment.card.exp_year"
    return None
