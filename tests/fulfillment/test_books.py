"""Posting rules wired to the business events: goods leaving book revenue,
shipping income, tax and the cost of goods; the card capture settles the
receivable. In the same transaction as the event, balanced, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import ExchangeRate, JournalEntry
from accounting.selectors import trial_balance
from fulfillment.shipping import shipment_ship
from fulfillment.shipping.capture import capture_shipment
from inventory.models import StockMovement
from oms.errors import InvalidInput
from oms.reconcile import registered_checks
from orders.models import Order
from tests.factories import ChannelFactory, sku_in_stock, tax_rate

from .conftest import place_order, release_whole_order
from .shipping_world import STAFF, pack, shipped_events

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


def shipped(channel, warehouse, carrier, *, price="20.00", quantity=2, unit_cost="7.50"):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10, price=price, unit_cost=D(unit_cost))
    order = place_order(channel, [(sku.code, quantity)])
    fo = release_whole_order(order, service_id=carrier.services.get(code="ground").pk)
    pack(fo)
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    order.refresh_from_db()
    return order, fo


def lines_of(entry) -> list[tuple[str, Decimal, Decimal, str]]:
    return sorted(
        (ln.account.code, ln.debit, ln.credit, ln.currency) for ln in entry.lines.select_related("account")
    )


def books_balance() -> None:
    checks = registered_checks()
    assert checks["every journal entry balances"]() == []
    assert checks["the trial balance sums to zero"]() == []


def test_a_shipment_books_revenue_tax_shipping_and_cost_of_goods(
    channel, warehouse, carrier, boxes, materials
):
    tax_rate("US", "0.08", region="NY")
    order, fo = shipped(channel, warehouse, carrier)
    entry = JournalEntry.objects.get(source_type="goods_out", source_ref=f"shipment:{fo.pk}")
    goods, shipping, tax = order.subtotal - order.discount_total, order.shipping_total, order.tax_total
    assert lines_of(entry) == sorted(
        [
            ("1200", order.grand_total, 0, "USD"),
            ("4000", 0, goods, "USD"),
            ("4100", 0, shipping, "USD"),
            ("2200", 0, tax, "USD"),
            ("5000", D("15.00"), 0, "USD"),
            ("1300", 0, D("15.00"), "USD"),
        ]
    )
    assert entry.lines.filter(channel=channel).count() == 5  # everything but inventory carries the channel
    books_balance()


def test_the_capture_settles_the_receivable_once(channel, warehouse, carrier, boxes, materials):
    order, _ = shipped(channel, warehouse, carrier)
    [event] = shipped_events()
    capture_shipment(event)
    capture_shipment(event)  # a redelivered event
    [capture] = JournalEntry.objects.filter(source_type="card_capture")
    assert lines_of(capture) == sorted(
        [("1100", order.grand_total, 0, "USD"), ("1200", 0, order.grand_total, "USD")]
    )
    balances = {row.code: row.balance for row in trial_balance()}
    assert balances["1200"] == 0 and balances["1100"] == order.grand_total
    books_balance()


def test_a_foreign_currency_order_is_booked_at_the_latest_rate(warehouse, carrier, boxes, materials):
    eur = ChannelFactory(currency="EUR", shipping_flat_rate=D("0"))
    ExchangeRate.objects.create(currency="EUR", day=timezone.localdate() - timedelta(days=3), rate=D("1.10"))
    ExchangeRate.objects.create(currency="EUR", day=timezone.localdate() - timedelta(days=1), rate=D("1.08"))
    order, fo = shipped(eur, warehouse, carrier, price="50.00", quantity=1, unit_cost="20.00")
    entry = JournalEntry.objects.get(source_ref=f"shipment:{fo.pk}")
    receivable = entry.lines.get(account__code="1200")
    assert (receivable.amount, receivable.currency, receivable.rate) == (order.grand_total, "EUR", D("1.08"))
    assert receivable.debit == (order.grand_total * D("1.08")).quantize(D("0.01"))
    assert entry.lines.get(account__code="5000").currency == "USD"  # cost stays in the cost currency
    books_balance()


def test_without_any_rate_for_the_currency_the_goods_do_not_leave(warehouse, carrier, boxes, materials):
    gbp = ChannelFactory(currency="GBP")
    sku = sku_in_stock(channel=gbp, warehouse=warehouse, quantity=5, price="30.00")
    order = place_order(gbp, [(sku.code, 1)])
    fo = release_whole_order(order, service_id=carrier.services.get(code="ground").pk)
    pack(fo)
    with pytest.raises(InvalidInput) as exc:
        shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    assert exc.value.code == "missing_exchange_rate" and "GBP" in exc.value.message
    fo.refresh_from_db()
    assert fo.status == "packed"
    assert Order.objects.get(pk=order.pk).status != "shipped"
    assert not StockMovement.objects.filter(reference=f"shipment:{fo.pk}").exists()
    assert not JournalEntry.objects.exists()


def test_reconcile_finds_shipments_and_captures_missing_from_the_books(
    channel, warehouse, carrier, boxes, materials
):
    order, fo = shipped(channel, warehouse, carrier)
    [event] = shipped_events()
    capture_shipment(event)
    checks = registered_checks()
    shipments_booked = checks["every shipment that left is in the books"]
    captures_booked = checks["every captured or refunded card payment is in the books"]
    assert shipments_booked() == [] and captures_booked() == []

    JournalEntry.objects.filter(source_type="card_capture").update(source_ref="capture:0")
    JournalEntry.objects.filter(source_type="goods_out").update(source_ref="shipment:0")
    assert shipments_booked() == [f"shipment {fo.number} left but is not in the books"]
    [problem] = captures_booked()
    assert f"of order {order.number}" in problem and "no journal entry" in problem
