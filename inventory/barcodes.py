"""Barcode validation: GTIN-8/12/13/14 (EAN/UPC) check digits, or an internal
Code128 value (printable ASCII)."""

from __future__ import annotations

GTIN_LENGTHS = {8, 12, 13, 14}


def gtin_check_digit(body: str) -> int:
    """Check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(value: str) -> bool:
    return value.isdigit() and len(value) in GTIN_LENGTHS and gtin_check_digit(value[:-1]) == int(value[-1])


def barcode_problem(value: str) -> str | None:
    """None when the value is a valid barcode, else what is wrong with it."""
    if not value:
        return "is empty"
    if value.isdigit() and len(value) in GTIN_LENGTHS:
        return None if is_valid_gtin(value) else "has a wrong GTIN check digit"
    if len(value) > 48:
        return "is longer than 48 characters"
    if not all(32 < ord(ch) < 127 for ch in value):
        return "must be printable ASCII without spaces (Code128)"
    return None


def make_ean13(prefix: str, number: int) -> str:
    body = f"{prefix}{number:0{12 - len(prefix)}d}"
    return body + str(gtin_check_digit(body))
