"""A purchase receipt reaches the books through the outbox: inventory against
goods received not invoiced, at the order's cost, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import ExchangeRate, JournalEntry
from inventory.models import Supplier, SupplierSKU
from inventory.purchasing import purchase_order_create, purchase_order_receive, purchase_order_send
from oms.actors import Actor
from oms.models import OutboxEvent
from oms.outbox import deliver, dispatch_pending
from oms.reconcile import registered_checks
from tests.factories import SKUFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


def receive(warehouse, currency: str, unit_cost: str, quantity: int):
    supplier = Supplier.objects.create(code=f"S-{currency}", name="Acme", currency=currency)
    sku = SKUFactory()
    SupplierSKU.objects.create(supplier=supplier, sku=sku, unit_cost=Decimal(unit_cost), is_preferred=True)
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=warehouse.pk, lines=[(sku.pk, 10)], actor=SYSTEM
    )
    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    purchase_order_receive(po_id=po.pk, receipts={sku.pk: quantity}, actor=SYSTEM)
    return po


def test_a_receipt_books_inventory_against_goods_received_not_invoiced_once(warehouse):
    po = receive(warehouse, "USD", "3.25", 4)
    dispatch_pending()
    entry = JournalEntry.objects.get(source_type="purchase_receipt")
    assert sorted((ln.account.code, ln.debit, ln.credit) for ln in entry.lines.select_related("account")) == [
        ("1300", Decimal("13.00"), 0),
        ("2100", 0, Decimal("13.00")),
    ]
    assert str(po.pk) in entry.memo
    event = OutboxEvent.objects.get(topic="inventory.po_received")
    deliver(event)  # delivered again
    assert JournalEntry.objects.filter(source_type="purchase_receipt").count() == 1
    checks = registered_checks()
    assert checks["every journal entry balances"]() == checks["the trial balance sums to zero"]() == []


def test_a_receipt_in_a_foreign_currency_is_booked_at_the_latest_rate(warehouse):
    ExchangeRate.objects.create(
        currency="EUR", day=timezone.localdate() - timedelta(days=2), rate=Decimal("1.1")
    )
    receive(warehouse, "EUR", "2.00", 5)
    dispatch_pending()
    line = JournalEntry.objects.get(source_type="purchase_receipt").lines.get(account__code="1300")
    assert (line.amount, line.currency, line.rate, line.debit) == (
        Decimal("10.00"),
        "EUR",
        Decimal("1.1"),
        Decimal("11.00"),
    )
