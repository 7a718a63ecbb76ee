"""Adjustments, write-offs, transfers and cycle counts: each writes the ledger,
refuses bad input whole, and never touches allocated or reserved stock."""

from __future__ import annotations

import pytest
from django.db import transaction

from inventory.models import CountSheet, StockMovement, Transfer
from inventory.operations import (
    count_approve,
    count_cancel,
    count_record,
    count_start,
    count_submit,
    stock_adjust,
    stock_write_off,
    transfer_cancel,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive
from oms.actors import Actor
from oms.errors import InsufficientStock, InvalidInput, InvalidTransition
from tests.factories import SKUFactory, WarehouseFactory, order_payload, sku_in_stock, stock_level

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


@pytest.fixture
def wh():
    return WarehouseFactory()


def stocked(wh, quantity=10):
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=quantity, reference="t")
    return sku


def test_adjust_both_ways_with_reason_and_actor(wh, admin_user):
    sku = stocked(wh)
    stock_adjust(
        warehouse_id=wh.pk, sku_id=sku.pk, quantity=3, reason="found", actor=Actor.for_user(admin_user)
    )
    stock_adjust(
        warehouse_id=wh.pk, sku_id=sku.pk, quantity=-5, reason="damaged", actor=SYSTEM, note="forklift"
    )
    assert stock_level(sku, wh).on_hand == 8
    last = StockMovement.objects.filter(kind="adjustment").order_by("id").last()
    assert (last.on_hand_delta, last.reason, last.note, last.actor) == (-5, "damaged", "forklift", "system")
    first = StockMovement.objects.filter(kind="adjustment").order_by("id").first()
    assert first.actor == "staff admin"
    assert ledger_mismatches() == []


def test_adjust_refuses_bad_input_and_allocated_stock(api, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    api.post("/api/v1/orders/", order_payload(sku.code, 7), format="json")
    before = StockMovement.objects.count()
    with pytest.raises(InvalidInput) as exc:
        stock_adjust(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=-1, reason="oops", actor=SYSTEM)
    assert "reason" in exc.value.fields
    with pytest.raises(InvalidInput):
        stock_adjust(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=0, reason="lost", actor=SYSTEM)
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        stock_adjust(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=-4, reason="lost", actor=SYSTEM)
    assert exc.value.fields == {"quantity": ["only 3 available to remove"]}
    with pytest.raises(InvalidInput) as exc:
        stock_adjust(warehouse_id=warehouse.pk, sku_id=999999, quantity=1, reason="found", actor=SYSTEM)
    assert exc.value.code == "unknown_sku"
    assert StockMovement.objects.count() == before
    assert stock_level(sku, warehouse).on_hand == 10


def test_write_off(wh):
    sku = stocked(wh)
    stock_write_off(warehouse_id=wh.pk, sku_id=sku.pk, quantity=2, reason="expired", actor=SYSTEM)
    assert stock_level(sku, wh).on_hand == 8
    assert StockMovement.objects.filter(kind="write_off", on_hand_delta=-2, reason="expired").exists()
    with pytest.raises(InvalidInput):
        stock_write_off(warehouse_id=wh.pk, sku_id=sku.pk, quantity=-2, reason="expired", actor=SYSTEM)
    with pytest.raises(InsufficientStock), transaction.atomic():
        stock_write_off(warehouse_id=wh.pk, sku_id=sku.pk, quantity=9, reason="expired", actor=SYSTEM)
    assert ledger_mismatches() == []


def test_transfer_lifecycle_moves_stock_through_transit(wh):
    store = WarehouseFactory(code="STORE")
    a, b = stocked(wh, 10), stocked(wh, 4)
    t = transfer_create(
        from_warehouse_id=wh.pk, to_warehouse_id=store.pk, lines=[(a.pk, 6), (b.pk, 4)], actor=SYSTEM
    )
    assert t.status == Transfer.Status.DRAFT and stock_level(a, wh).on_hand == 10
    transfer_ship(transfer_id=t.pk, actor=SYSTEM)
    assert (stock_level(a, wh).on_hand, stock_level(b, wh).on_hand) == (4, 0)
    t.refresh_from_db()
    assert t.status == Transfer.Status.IN_TRANSIT and t.shipped_at
    transfer_receive(transfer_id=t.pk, actor=SYSTEM)
    assert (stock_level(a, store).on_hand, stock_level(b, store).on_hand) == (6, 4)
    assert list(t.lines.values_list("quantity_received", flat=True)) == [6, 4]
    with pytest.raises(InvalidTransition):
        transfer_receive(transfer_id=t.pk, actor=SYSTEM)
    kinds = set(StockMovement.objects.filter(reference=f"transfer:{t.pk}").values_list("kind", flat=True))
    assert kinds == {"transfer_out", "transfer_in"}
    assert ledger_mismatches() == []


def test_transfer_bad_input_and_short_stock(wh):
    store = WarehouseFactory(code="STORE")
    a = stocked(wh, 3)
    with pytest.raises(InvalidInput) as exc:
        transfer_create(from_warehouse_id=wh.pk, to_warehouse_id=wh.pk, lines=[(a.pk, 1)], actor=SYSTEM)
    assert "to_warehouse" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        transfer_create(
            from_warehouse_id=wh.pk, to_warehouse_id=store.pk, lines=[(a.pk, 0), (424242, 1)], actor=SYSTEM
        )
    assert set(exc.value.fields) == {"lines[0].quantity", "lines[1].sku"}
    assert not Transfer.objects.exists()
    t = transfer_create(from_warehouse_id=wh.pk, to_warehouse_id=store.pk, lines=[(a.pk, 5)], actor=SYSTEM)
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        transfer_ship(transfer_id=t.pk, actor=SYSTEM)
    assert exc.value.fields == {"lines[0].quantity": ["only 3 available to remove"]}
    t.refresh_from_db()
    assert t.status == Transfer.Status.DRAFT and stock_level(a, wh).on_hand == 3
    transfer_cancel(transfer_id=t.pk, actor=SYSTEM)
    with pytest.raises(InvalidTransition):
        transfer_ship(transfer_id=t.pk, actor=SYSTEM)


def test_cycle_count_applies_variances_on_approval(wh, admin_user):
    a, b, c = stocked(wh, 10), stocked(wh, 5), stocked(wh, 7)
    sheet = count_start(warehouse_id=wh.pk, actor=SYSTEM)
    assert {ln.sku_id: ln.expected for ln in sheet.lines.all()} == {a.pk: 10, b.pk: 5, c.pk: 7}
    count_record(sheet_id=sheet.pk, counts={a.pk: 9, b.pk: 5})
    with pytest.raises(InvalidInput) as exc:
        count_submit(sheet_id=sheet.pk, actor=SYSTEM)
    assert c.code in exc.value.message
    count_record(sheet_id=sheet.pk, counts={c.pk: 8})
    with pytest.raises(InvalidTransition):
        count_approve(sheet_id=sheet.pk, actor=SYSTEM)  # not submitted yet
    count_submit(sheet_id=sheet.pk, actor=SYSTEM)
    assert stock_level(a, wh).on_hand == 10  # nothing moves before approval
    count_approve(sheet_id=sheet.pk, actor=Actor.for_user(admin_user))
    assert (stock_level(a, wh).on_hand, stock_level(b, wh).on_hand, stock_level(c, wh).on_hand) == (9, 5, 8)
    sheet.refresh_from_db()
    assert sheet.status == CountSheet.Status.APPROVED and sheet.approved_by == admin_user
    assert StockMovement.objects.filter(kind="count").count() == 2
    assert ledger_mismatches() == []


def test_count_bad_input(wh):
    a = stocked(wh, 10)
    with pytest.raises(InvalidInput):
        count_start(warehouse_id=wh.pk, sku_ids=[a.pk, 777777], actor=SYSTEM)
    sheet = count_start(warehouse_id=wh.pk, sku_ids=[a.pk], actor=SYSTEM)
    with pytest.raises(InvalidInput) as exc:
        count_record(sheet_id=sheet.pk, counts={a.pk: -1})
    assert exc.value.fields == {f"counts.{a.code}": ["must be a whole number of units, 0 or more"]}
    with pytest.raises(InvalidInput):
        count_record(sheet_id=sheet.pk, counts={888888: 1})
    assert sheet.lines.get().counted is None
    count_cancel(sheet_id=sheet.pk, actor=SYSTEM)
    with pytest.raises(InvalidTransition):
        count_record(sheet_id=sheet.pk, counts={a.pk: 1})


def test_count_cannot_remove_allocated_stock(api, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    sheet = count_start(warehouse_id=warehouse.pk, sku_ids=[sku.pk], actor=SYSTEM)
    api.post("/api/v1/orders/", order_payload(sku.code, 8), format="json")
    count_record(sheet_id=sheet.pk, counts={sku.pk: 5})
    count_submit(sheet_id=sheet.pk, actor=SYSTEM)
    with pytest.raises(InsufficientStock), transaction.atomic():
        count_approve(sheet_id=sheet.pk, actor=SYSTEM)
    assert stock_level(sku, warehouse).on_hand == 10
    sheet.refresh_from_db()
    assert sheet.status == CountSheet.Status.SUBMITTED
