"""The test gateway behaves like a card processor's test mode (documented numbers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.payments import CardDetails, GatewayDeclined, GatewayUnavailable, get_gateway


def card(number: str, year: int = 2035) -> CardDetails:
    return CardDetails(number=number, exp_month=12, exp_year=year, cvc="123")


@pytest.fixture
def gw():
    return get_gateway("test")


def test_approves_and_returns_a_reusable_token(gw):
    auth = gw.authorize(
        amount=Decimal("12.50"),
        currency="USD",
        card=card("5555555555554444"),
        token=None,
        idempotency_key="a",
    )
    assert (auth.brand, auth.last4, auth.amount) == ("mastercard", "4444", Decimal("12.50"))
    again = gw.authorize(
        amount=Decimal("3.00"), currency="USD", card=None, token=auth.token, idempotency_key="b"
    )
    assert (again.brand, again.last4) == ("mastercard", "4444")
    assert gw.capture(reference=auth.reference, amount=Decimal("12.50"), currency="USD").startswith(
        "cap_test_"
    )
    assert gw.refund(reference=auth.reference, amount=Decimal("2.00"), currency="USD").startswith("ref_test_")
    assert gw.void(reference=again.reference).startswith("void_test_")


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("4000000000000002", "card_declined"),
        ("4000000000009995", "insufficient_funds"),
        ("4242424242424241", "invalid_number"),
    ],
)
def test_declines(gw, number, reason):
    with pytest.raises(GatewayDeclined) as exc:
        gw.authorize(amount=Decimal("1"), currency="USD", card=card(number), token=None, idempotency_key="x")
    assert exc.value.reason == reason


def test_expired_card_and_outage(gw):
    with pytest.raises(GatewayDeclined) as exc:
        gw.authorize(
            amount=Decimal("1"),
            currency="USD",
            card=card("4242424242424242", 2020),
            token=None,
            idempotency_key="x",
        )
    assert exc.value.reason == "expired_card"
    with pytest.raises(GatewayUnavailable):
        gw.authorize(
            amount=Decimal("1"),
            currency="USD",
            card=card("4000000000000119"),
            token=None,
            idempotency_key="x",
        )


def test_forged_token_and_unknown_reference(gw):
    with pytest.raises(GatewayDeclined) as exc:
        gw.authorize(
            amount=Decimal("1"),
            currency="USD",
            card=None,
            token="tok_test_visa_4242_forged",
            idempotency_key="x",
        )
    assert exc.value.reason == "invalid_token"
    with pytest.raises(GatewayDeclined):
        gw.capture(reference="ch_123", amount=Decimal("1"), currency="USD")


def test_card_details_never_show_the_number():
    assert "4242424242424242" not in repr(card("4242424242424242"))
