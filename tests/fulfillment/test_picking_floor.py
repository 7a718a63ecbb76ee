"""On the floor: units not found are re-sourced (or wait), a cancelled list
gives its shipments back, what is picked is packed, and two pickers or two
planners racing each other neither double-count nor double-list."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from fulfillment.models import FulfillmentOrder, PickList, SourcingDecision
from fulfillment.packing import pack_complete, pack_scan
from fulfillment.picking import pick_list_cancel, pick_lists_create, pick_scan, pick_short
from inventory.models import CountSheet, StockLevel
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive
from oms.errors import Conflict, InvalidInput, InvalidTransition
from oms.models import PostalCode
from orders.models import Order, OrderLine
from tests.factories import WarehouseFactory

from .picking_world import SYSTEM, build_world, in_bin, status_of, unlocated, walk

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status
Mode = PickList.Mode


@pytest.fixture
def w(channel, warehouse):
    return build_world(channel, warehouse)


def make(w, mode, fos=None, **kwargs) -> list[PickList]:
    ids = [fo.pk for fo in fos] if fos is not None else None
    return pick_lists_create(
        warehouse_id=w.warehouse.pk, mode=mode, actor=SYSTEM, fulfillment_order_ids=ids, **kwargs
    )


def scan(pick_list, bin_code, sku, quantity=1):
    return pick_scan(
        pick_list_id=pick_list.pk, bin=bin_code, barcode=sku.barcode, quantity=quantity, actor=SYSTEM
    )


def line_of(pick_list, sku):
    return pick_list.lines.get(sku=sku)


# --- Short picks ------------------------------------------------------------------------------


@pytest.fixture
def second_location(w, carrier):
    """Philadelphia also stocks pens; Edison (the world's DC) is nearer to the New York customer."""
    PostalCode.objects.create(
        country="US",
        postal_code="10118",
        place_name="New York",
        latitude=Decimal("40.749"),
        longitude=Decimal("-73.986"),
    )
    pa = WarehouseFactory(
        code="PA",
        city="Philadelphia",
        region="PA",
        latitude=Decimal("39.9526"),
        longitude=Decimal("-75.1652"),
    )
    stock_receive(warehouse_id=pa.pk, sku_id=w.pen.pk, quantity=5, reference="test")
    return pa


def test_a_short_pick_is_re_sourced_to_another_location(w, second_location):
    fo = w.shipment((w.pen, 3), (w.mug, 1), service_id=None)
    [pick_list] = make(w, Mode.SINGLE, [fo])
    assert walk(pick_list)[0] == (1, "A-01", w.pen.code, 3, 1)
    scan(pick_list, "A-01", w.pen, 1)
    allocated_before = StockLevel.objects.get(sku=w.pen, warehouse=w.warehouse).allocated

    result = pick_short(pick_line_id=line_of(pick_list, w.pen).pk, quantity=2, actor=SYSTEM)

    new = result.resourced_to
    assert new is not None and new.warehouse == second_location and new.status == Status.RELEASED
    assert [(ln.sku_id, ln.quantity) for ln in new.lines.all()] == [(w.pen.pk, 2)]
    assert result.as_dict()["resourced"] == {"shipment_id": new.pk, "shipment": new.number, "warehouse": "PA"}
    assert (result.shipment, result.progress.short, result.progress.left) == (fo.number, 2, 1)
    assert line_of(pick_list, w.pen).quantity_short == 2
    fo_line = fo.lines.get(sku=w.pen)
    assert (fo_line.quantity_picked, fo_line.quantity_short, fo_line.quantity_open) == (1, 2, 1)
    assert StockLevel.objects.get(sku=w.pen, warehouse=w.warehouse).allocated == allocated_before - 2
    assert StockLevel.objects.get(sku=w.pen, warehouse=second_location).allocated == 2
    assert CountSheet.objects.filter(warehouse=w.warehouse, status=CountSheet.Status.OPEN).exists()
    assert fo.events.filter(kind="short_pick").exists()

    assert scan(pick_list, "A-02", w.mug).complete  # short units count as done
    pick_list.refresh_from_db()
    assert pick_list.status == PickList.Status.DONE
    assert status_of(fo) == Status.PICKING  # ships what was found
    assert not ledger_mismatches()


def test_a_short_pick_with_no_stock_elsewhere_leaves_the_units_waiting(w):
    fo = w.shipment((w.book, 2), (w.mug, 1))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    result = pick_short(pick_line_id=line_of(pick_list, w.book).pk, quantity=2, actor=SYSTEM)
    assert result.resourced_to is None and result.as_dict()["resourced"] is None
    order_line = OrderLine.objects.get(order_id=fo.order_id, sku=w.book)
    assert order_line.quantity_allocated == 0  # waiting for stock (shortfalls_retry)
    decision = SourcingDecision.objects.filter(order_id=fo.order_id, trigger="short_pick").get()
    assert decision.outcome == SourcingDecision.Outcome.BACKORDERED
    assert FulfillmentOrder.objects.filter(order_id=fo.order_id).count() == 1
    pick_list.refresh_from_db()
    assert pick_list.status == PickList.Status.IN_PROGRESS and pick_list.started_at


def test_a_short_pick_of_everything_cancels_the_shipment_and_closes_the_list(w):
    fo = w.shipment((w.book, 1))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    result = pick_short(pick_line_id=line_of(pick_list, w.book).pk, quantity=1, actor=SYSTEM)
    assert result.progress.complete
    assert status_of(fo) == Status.CANCELLED
    pick_list.refresh_from_db()
    assert pick_list.status == PickList.Status.DONE


def test_short_pick_bad_quantities(w):
    fo = w.shipment((w.book, 2))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    line = line_of(pick_list, w.book)
    scan(pick_list, "B-01", w.book)
    with pytest.raises(InvalidInput) as exc:
        pick_short(pick_line_id=line.pk, quantity=2, actor=SYSTEM)
    assert exc.value.fields == {"quantity": ["only 1 unit(s) of this line are left to pick"]}
    with pytest.raises(InvalidInput):
        pick_short(pick_line_id=line.pk, quantity=0, actor=SYSTEM)
    line.refresh_from_db()
    assert line.quantity_short == 0 and fo.lines.get().quantity_short == 0


# --- Cancelling -------------------------------------------------------------------------------


def test_cancelling_an_open_list_gives_its_shipments_back(w):
    fos = [w.shipment((w.mug, 1)), w.shipment((w.book, 1))]
    [batch] = make(w, Mode.BATCH, fos)
    cancelled = pick_list_cancel(pick_list_id=batch.pk, actor=SYSTEM)
    assert cancelled.status == PickList.Status.CANCELLED
    assert [status_of(fo) for fo in fos] == [Status.RELEASED, Status.RELEASED]
    assert fos[0].events.filter(kind="unlisted", to_status=Status.RELEASED).exists()
    with pytest.raises(InvalidTransition):
        pick_list_cancel(pick_list_id=batch.pk, actor=SYSTEM)
    [again] = make(w, Mode.BATCH, fos)  # the units promised to the cancelled list are free again
    assert walk(again) == [(1, "A-02", w.mug.code, 1, 1), (2, "B-01", w.book.code, 1, 2)]


def test_cancelling_a_started_list_keeps_what_was_picked_and_relists_the_rest(w):
    started, untouched = w.shipment((w.mug, 2), (w.book, 1)), w.shipment((w.book, 1))
    [batch] = make(w, Mode.BATCH, [started, untouched])
    scan(batch, "A-02", w.mug, 2)
    pick_list_cancel(pick_list_id=batch.pk, actor=SYSTEM)
    assert status_of(started) == Status.PICKING  # 2 mugs are in its tote
    assert status_of(untouched) == Status.RELEASED
    [rest] = make(w, Mode.BATCH)
    assert walk(rest) == [(1, "B-01", w.book.code, 1, 1), (1, "B-01", w.book.code, 1, 2)]
    scan(rest, "B-01", w.book, 2)
    assert [fo.lines.get(sku=w.book).quantity_picked for fo in (started, untouched)] == [1, 1]
    assert started.lines.get(sku=w.mug).quantity_picked == 2
    assert not ledger_mismatches()


def test_a_done_list_cannot_be_cancelled_and_its_shipments_cannot_be_listed_again(w):
    fo = w.shipment((w.mug, 1))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    scan(pick_list, "A-02", w.mug)
    with pytest.raises(InvalidTransition):
        pick_list_cancel(pick_list_id=pick_list.pk, actor=SYSTEM)
    with pytest.raises(Conflict) as exc:
        make(w, Mode.SINGLE, [fo])
    assert exc.value.code == "not_released"
    assert exc.value.fields == {"shipments": [f"{fo.number} has nothing left to pick"]}


# --- Pick, then pack ----------------------------------------------------------------------------


def test_batch_pick_two_orders_then_pack_one(w, carrier, boxes, materials):
    ground = carrier.services.get(code="ground")
    first = w.shipment((w.pen, 2), (w.book, 1), service_id=ground.pk)
    second = w.shipment((w.pen, 1), service_id=ground.pk)
    [batch] = make(w, Mode.BATCH, [first, second])
    assert Order.objects.get(pk=first.order_id).status == Order.Status.FULFILLING
    with pytest.raises(Conflict) as exc:  # nothing picked yet: nothing to pack
        pack_scan(fulfillment_order_id=first.pk, barcode=w.pen.barcode, actor=SYSTEM)
    assert exc.value.code == "not_picked"

    scan(batch, "A-01", w.pen, 3)
    assert scan(batch, "B-01", w.book).complete

    pack_scan(fulfillment_order_id=first.pk, barcode=w.pen.barcode, quantity=2, actor=SYSTEM)
    assert pack_scan(fulfillment_order_id=first.pk, barcode=w.book.barcode, actor=SYSTEM).complete
    packed = pack_complete(fulfillment_order_id=first.pk, actor=SYSTEM)
    assert packed.status == Status.PACKED and packed.tracking_number
    assert status_of(second) == Status.PICKING
    assert in_bin(w.pen, w.bins["A-01"]) == 0 and unlocated(w.pen, w.warehouse) == 3
    assert not ledger_mismatches()


# --- Races (real PostgreSQL, one connection per thread) -----------------------------------------


def run_concurrently(calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "an operation hung"
    return results


@pytest.mark.django_db(transaction=True)
def test_two_planners_racing_for_one_shipment_list_it_once(w):
    fo = w.shipment((w.mug, 2))
    results = run_concurrently([lambda: make(w, Mode.SINGLE, [fo]), lambda: make(w, Mode.BATCH, [fo])])
    lists = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(lists) == 1 and len(errors) == 1, results
    assert isinstance(errors[0], Conflict) and errors[0].code == "already_listed"
    assert PickList.objects.count() == 1 and status_of(fo) == Status.PICKING


@pytest.mark.django_db(transaction=True)
def test_two_pickers_racing_for_the_last_units_count_them_once(w):
    first, second = w.shipment((w.mug, 1)), w.shipment((w.mug, 2))
    [batch] = make(w, Mode.BATCH, [first, second])
    results = run_concurrently([lambda: scan(batch, "A-02", w.mug, 2) for _ in range(2)])
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1, results
    assert isinstance(lost[0], Conflict) and lost[0].code == "over_pick"
    assert [fo.lines.get().quantity_picked for fo in (first, second)] == [1, 1]
    assert in_bin(w.mug, w.bins["A-02"]) == 8 and not ledger_mismatches()
