"""Moving-average cost on purchase receipts (in any currency), and stock
gained or lost outside buying and selling booked at that cost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import ExchangeRate, JournalEntry
from inventory.models import SKU, StockLevel, Supplier, SupplierSKU
from inventory.operations import (
    count_approve,
    count_record,
    count_start,
    count_submit,
    stock_adjust,
    stock_write_off,
)
from inventory.purchasing import purchase_order_create, purchase_order_receive, purchase_order_send
from inventory.services import stock_receive
from oms.actors import Actor
from oms.errors import InvalidInput
from oms.outbox import dispatch_pending
from oms.reconcile import registered_checks
from tests.factories import SKUFactory

pytestmark = pytest.mark.django_db
D = Decimal
SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


def buy(warehouse, sku, *, currency: str, unit_cost: str, quantity: int):
    supplier, _ = Supplier.objects.get_or_create(
        code=f"S-{currency}", defaults={"name": "Acme", "currency": currency}
    )
    SupplierSKU.objects.update_or_create(supplier=supplier, sku=sku, defaults={"unit_cost": D(unit_cost)})
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=warehouse.pk, lines=[(sku.pk, quantity)], actor=SYSTEM
    )
    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    return purchase_order_receive(po_id=po.pk, receipts={sku.pk: quantity}, actor=SYSTEM)


def lines(source_type: str) -> list[tuple[str, Decimal, Decimal]]:
    entry = JournalEntry.objects.get(source_type=source_type)
    return sorted((ln.account.code, ln.debit, ln.credit) for ln in entry.lines.select_related("account"))


def test_receipts_move_the_average_cost_across_locations_and_currencies(warehouse):
    from tests.factories import WarehouseFactory

    sku = SKUFactory(unit_cost=D("10.00"), cost_currency="USD")
    stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=6, reference="opening")
    stock_receive(
        warehouse_id=WarehouseFactory(code="DC-2").pk, sku_id=sku.pk, quantity=4, reference="opening"
    )
    buy(warehouse, sku, currency="USD", unit_cost="13.00", quantity=10)
    sku.refresh_from_db()
    assert sku.unit_cost == D("11.5000")  # (10 x 10 + 10 x 13) / 20
    ExchangeRate.objects.create(currency="EUR", day=timezone.localdate(), rate=D("1.2"))
    buy(warehouse, sku, currency="EUR", unit_cost="10.00", quantity=20)  # 12 USD each
    sku.refresh_from_db()
    assert sku.unit_cost == D("11.7500")


def test_a_receipt_in_a_currency_without_a_rate_is_refused_and_changes_nothing(warehouse):
    sku = SKUFactory(unit_cost=D("10.00"), cost_currency="USD")
    with pytest.raises(InvalidInput) as err:
        buy(warehouse, sku, currency="GBP", unit_cost="8.00", quantity=5)
    assert err.value.code == "missing_exchange_rate"
    sku.refresh_from_db()
    assert sku.unit_cost == D("10.00")
    assert not StockLevel.objects.filter(sku=sku, on_hand__gt=0).exists()


def test_the_first_receipt_of_a_sku_without_stock_sets_its_cost(warehouse):
    sku = SKUFactory(unit_cost=D("0"), cost_currency="USD")
    buy(warehouse, sku, currency="USD", unit_cost="4.20", quantity=3)
    assert SKU.objects.get(pk=sku.pk).unit_cost == D("4.2000")


def test_write_offs_adjustments_and_counts_are_booked_at_cost_once(warehouse):
    sku = SKUFactory(unit_cost=D("2.50"), cost_currency="USD")
    stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=20, reference="opening")
    stock_write_off(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=2, reason="damaged", actor=SYSTEM)
    dispatch_pending()
    assert lines("stock_adjustment") == [("1300", 0, D("5.00")), ("5100", D("5.00"), 0)]

    stock_adjust(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=3, reason="found", actor=SYSTEM)
    stock_adjust(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=-1, reason="lost", actor=SYSTEM)
    sheet = count_start(warehouse_id=warehouse.pk, actor=SYSTEM, sku_ids=[sku.pk])
    count_record(sheet_id=sheet.pk, counts={sku.pk: 16})  # 20 - 2 + 3 - 1 = 20 expected: 4 short
    count_submit(sheet_id=sheet.pk, actor=SYSTEM)
    count_approve(sheet_id=sheet.pk, actor=SYSTEM)
    dispatch_pending()
    dispatch_pending()  # a second pass books nothing twice
    entries = JournalEntry.objects.filter(source_type="stock_adjustment").order_by("id")
    booked = [
        sorted((ln.account.code, ln.debit, ln.credit) for ln in e.lines.select_related("account"))
        for e in entries
    ]
    assert booked == [
        [("1300", 0, D("5.00")), ("5100", D("5.00"), 0)],
        [("1300", D("7.50"), 0), ("5100", 0, D("7.50"))],
        [("1300", 0, D("2.50")), ("5100", D("2.50"), 0)],
        [("1300", 0, D("10.00")), ("5100", D("10.00"), 0)],
    ]
    checks = registered_checks()
    assert checks["every journal entry balances"]() == checks["the trial balance sums to zero"]() == []
