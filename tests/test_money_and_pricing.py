from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms.money import MINOR_UNITS, parse_amount, round_money
from orders.payments.cards import card_brand, luhn_ok
from orders.pricing import NO_TAX, TaxRule, price_lines


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("0.005", "USD", "0.01"),
        ("0.0049", "USD", "0.00"),
        ("1.5", "JPY", "2"),
        ("1.0005", "KWD", "1.001"),
    ],
)
def test_round_half_up_per_currency(amount, currency, expected):
    assert str(round_money(Decimal(amount), currency)) == expected


def test_parse_amount_never_goes_through_float_rounding():
    assert parse_amount(0.1) == Decimal("0.1")
    with pytest.raises(ArithmeticError):
        parse_amount("NaN")


def test_luhn_and_brands():
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    assert card_brand("5555555555554444") == "mastercard"
    assert card_brand("378282246310005") == "amex"


def test_tax_exclusive_prices():
    priced = price_lines(
        [(3, Decimal("9.99"), Decimal("1.00"), None)],
        currency="USD",
        tax=TaxRule(Decimal("0.08875"), True),
        inclusive=False,
        shipping=Decimal("5"),
    )
    assert priced.subtotal == Decimal("29.97")
    assert priced.lines[0].line_total == Decimal("28.97")
    assert priced.lines[0].tax_amount == Decimal("2.57")
    assert priced.shipping_tax == Decimal("0.44")
    assert priced.grand_total == Decimal("28.97") + Decimal("5.00") + Decimal("3.01")


def test_tax_inclusive_prices():
    priced = price_lines(
        [(1, Decimal("12.10"), Decimal("0"), None)],
        currency="EUR",
        tax=TaxRule(Decimal("0.21"), False),
        inclusive=True,
        shipping=Decimal("0"),
    )
    assert priced.tax_total == Decimal("2.10")
    assert priced.grand_total == Decimal("12.10")


money = st.decimals(min_value=0, max_value=10000, places=2)


@given(
    st.lists(st.tuples(st.integers(1, 50), money, money), min_size=1, max_size=8),
    st.sampled_from(sorted(MINOR_UNITS)),
    st.booleans(),
    st.decimals(min_value=0, max_value="0.3", places=4),
)
def test_totals_always_add_up(lines, currency, inclusive, rate):
    lines = [(q, p, min(d, p * q), None) for q, p, d in lines]
    tax = TaxRule(rate, True) if rate else NO_TAX
    priced = price_lines(lines, currency=currency, tax=tax, inclusive=inclusive, shipping=Decimal("4.99"))
    merchandise = sum(ln.line_total for ln in priced.lines)
    assert priced.subtotal - priced.discount_total == merchandise
    expected = merchandise + priced.shipping_total + (0 if inclusive else priced.tax_total)
    assert priced.grand_total == expected
    assert priced.grand_total == round_money(priced.grand_total, currency)
    assert priced.tax_total >= 0
