"""Pick lists: single, batch and zone lists in the walking order of the bins,
units promised once per bin, shipments listed once; scans checked against
the list (wrong bin, wrong item, over pick) and counted on the shelf, the
pick line and the shipment line together."""

from __future__ import annotations

import pytest

from fulfillment.documents.picking import pick_list_rows
from fulfillment.models import FulfillmentOrder, PickList
from fulfillment.picking import pick_confirm_line, pick_lists_create, pick_progress, pick_scan
from inventory.models import StockMovement
from inventory.selectors import ledger_mismatches
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition
from orders.models import Order
from tests.factories import WarehouseFactory

from .picking_world import SYSTEM, build_world, in_bin, status_of, unlocated, walk

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status
Mode = PickList.Mode


@pytest.fixture
def w(channel, warehouse):
    return build_world(channel, warehouse)


def make(w, mode, fos=None, **kwargs) -> list[PickList]:
    return pick_lists_create(
        warehouse_id=w.warehouse.pk,
        mode=mode,
        actor=SYSTEM,
        fulfillment_order_ids=[fo.pk for fo in fos] if fos is not None else None,
        **kwargs,
    )


# --- Building lists ---------------------------------------------------------------------


def test_single_list_walks_the_bins_in_order_and_starts_picking(w):
    fo = w.shipment((w.book, 1), (w.tape, 2), (w.mug, 2), (w.pen, 1))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    assert walk(pick_list) == [
        (1, "A-01", w.pen.code, 1, 1),
        (2, "A-02", w.mug.code, 2, 1),
        (3, "B-01", w.book.code, 1, 1),
        (4, None, w.tape.code, 2, 1),  # unlocated units last
    ]
    assert (pick_list.mode, pick_list.status, pick_list.zone) == (Mode.SINGLE, PickList.Status.OPEN, None)
    assert status_of(fo) == Status.PICKING
    assert fo.events.filter(kind="listed", to_status=Status.PICKING).count() == 1
    assert Order.objects.get(pk=fo.order_id).status == Order.Status.FULFILLING


def test_single_mode_makes_one_list_per_shipment(w):
    fos = [w.shipment((w.mug, 1)), w.shipment((w.book, 1))]
    lists = make(w, Mode.SINGLE, fos)
    assert [walk(pl) for pl in lists] == [
        [(1, "A-02", w.mug.code, 1, 1)],
        [(1, "B-01", w.book.code, 1, 1)],
    ]


def test_batch_visits_each_bin_once_per_sku_and_splits_into_tote_slots(w):
    first = w.shipment((w.mug, 2), (w.book, 1))
    second = w.shipment((w.book, 3))
    third = w.shipment((w.mug, 1))
    [batch] = make(w, Mode.BATCH, [first, second, third])
    assert walk(batch) == [
        (1, "A-02", w.mug.code, 2, 1),
        (1, "A-02", w.mug.code, 1, 3),
        (2, "B-01", w.book.code, 1, 1),
        (2, "B-01", w.book.code, 3, 2),
    ]
    rows = pick_list_rows(batch)
    assert [(r["bin"], r["quantity"], r["totes"]) for r in rows] == [
        ("A-02", 3, {1: 2, 3: 1}),
        ("B-01", 4, {1: 1, 2: 3}),
    ]
    assert {status_of(fo) for fo in (first, second, third)} == {Status.PICKING}


def test_units_promised_to_an_open_list_are_not_promised_again(w):
    # A-01 holds 3 pens: the first list takes 2, the second the last one and
    # 2 from the overflow bin B-02, the third all 3 from B-02.
    [one] = make(w, Mode.SINGLE, [w.shipment((w.pen, 2))])
    [two] = make(w, Mode.SINGLE, [w.shipment((w.pen, 3))])
    [three] = make(w, Mode.SINGLE, [w.shipment((w.pen, 3))])
    assert walk(one) == [(1, "A-01", w.pen.code, 2, 1)]
    assert walk(two) == [(1, "A-01", w.pen.code, 1, 1), (2, "B-02", w.pen.code, 2, 1)]
    assert walk(three) == [(1, "B-02", w.pen.code, 3, 1)]


def test_zone_lists_split_the_shipments_by_zone_with_the_same_tote_slots(w):
    first = w.shipment((w.book, 1), (w.mug, 1))
    second = w.shipment((w.pen, 2), (w.tape, 1))
    lists = make(w, Mode.ZONE, [first, second])
    assert [(pl.mode, pl.zone.code if pl.zone else None) for pl in lists] == [
        (Mode.ZONE, "A"),
        (Mode.ZONE, "B"),
        (Mode.ZONE, None),  # the unlocated units
    ]
    zone_a, zone_b, dock = (walk(pl) for pl in lists)
    assert zone_a == [(1, "A-01", w.pen.code, 2, 2), (2, "A-02", w.mug.code, 1, 1)]
    assert zone_b == [(1, "B-01", w.book.code, 1, 1)]
    assert dock == [(1, None, w.tape.code, 1, 2)]


def test_a_zone_restricted_list_takes_only_shipments_wholly_in_that_zone(w):
    in_a = w.shipment((w.mug, 1), (w.pen, 1))
    w.shipment((w.mug, 1), (w.book, 1))  # also zone B
    w.shipment((w.tape, 1))  # unlocated
    [batch] = make(w, Mode.BATCH, zone_code="A")
    assert batch.zone.code == "A"
    assert {ln.fulfillment_line.fulfillment_order_id for ln in batch.lines.all()} == {in_a.pk}
    with pytest.raises(InvalidInput) as exc:
        make(w, Mode.BATCH, [w.shipment((w.book, 1))], zone_code="A")
    assert exc.value.code == "outside_zone" and "shipments" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        make(w, Mode.BATCH, zone_code="Q")
    assert exc.value.fields == {"zone": [f"no zone 'Q' in {w.warehouse.code}"]}


def test_default_selection_takes_the_most_urgent_released_shipments(w):
    low = w.shipment((w.mug, 1))
    late = w.shipment((w.mug, 1), ship_by="2030-01-05")
    early = w.shipment((w.mug, 1), ship_by="2030-01-02")
    urgent = w.shipment((w.mug, 1))
    FulfillmentOrder.objects.filter(pk=urgent.pk).update(priority=5)
    [batch] = make(w, Mode.BATCH, max_orders=3)
    slots = {ln.fulfillment_line.fulfillment_order_id: ln.tote_slot for ln in batch.lines.all()}
    assert slots == {urgent.pk: 1, early.pk: 2, late.pk: 3}
    [rest] = make(w, Mode.BATCH)
    assert {ln.fulfillment_line.fulfillment_order_id for ln in rest.lines.all()} == {low.pk}
    with pytest.raises(Conflict) as exc:
        make(w, Mode.BATCH)
    assert exc.value.code == "nothing_to_pick"


def test_a_shipment_already_on_an_open_list_is_refused(w):
    fo = w.shipment((w.mug, 1))
    [first] = make(w, Mode.SINGLE, [fo])
    other = w.shipment((w.book, 1))
    lists_before = PickList.objects.count()
    with pytest.raises(Conflict) as exc:
        make(w, Mode.BATCH, [other, fo])
    assert exc.value.code == "already_listed"
    assert exc.value.fields == {"shipments": [f"{fo.number} is already on open pick list P{first.pk:06d}"]}
    assert PickList.objects.count() == lists_before
    assert status_of(other) == Status.RELEASED  # nothing half-written


def test_only_released_ship_shipments_of_the_location_are_accepted(w, channel):
    elsewhere = WarehouseFactory(code="WH-FAR")
    foreign = w.shipment((w.mug, 1))
    FulfillmentOrder.objects.filter(pk=foreign.pk).update(warehouse=elsewhere)
    pickup = w.shipment((w.mug, 1), method=FulfillmentOrder.Method.PICKUP)
    pending = w.shipment((w.mug, 1), release=False)
    with pytest.raises(InvalidInput) as exc:
        make(w, Mode.BATCH, [foreign, pickup])
    assert exc.value.fields["shipments"] == [
        f"{foreign.number} ships from WH-FAR, not {w.warehouse.code}",
        f"{pickup.number} is a pick-up: it is packed from the shelf, not picked",
    ]
    with pytest.raises(Conflict) as exc:
        make(w, Mode.SINGLE, [pending])
    assert exc.value.code == "not_released"
    assert exc.value.fields == {"shipments": [f"{pending.number} is pending, not released"]}
    with pytest.raises(InvalidInput) as exc:
        pick_lists_create(
            warehouse_id=w.warehouse.pk, mode=Mode.BATCH, actor=SYSTEM, fulfillment_order_ids=[999999]
        )
    assert exc.value.fields == {"shipments": ["no such shipment: 999999"]}
    for kwargs, field in [
        ({"mode": "wave"}, "mode"),
        ({"mode": Mode.BATCH, "max_orders": 0}, "max_orders"),
        ({"mode": Mode.BATCH, "warehouse_id": 999999}, "warehouse"),
    ]:
        with pytest.raises(InvalidInput) as exc:
            pick_lists_create(**{"warehouse_id": w.warehouse.pk, "actor": SYSTEM, **kwargs})
        assert field in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        make(w, Mode.BATCH, [w.shipment((w.mug, 1)) for _ in range(3)], max_orders=2)
    assert "shipments" in exc.value.fields
    assert not PickList.objects.exists()


# --- Scanning ---------------------------------------------------------------------------------


def scan(pick_list, bin_code, sku, quantity=1, **kwargs):
    return pick_scan(
        pick_list_id=pick_list.pk,
        bin=bin_code,
        barcode=sku.barcode,
        quantity=quantity,
        actor=SYSTEM,
        **kwargs,
    )


def test_a_scan_counts_the_units_everywhere_and_says_where_to_go_next(w, admin_user):
    fo = w.shipment((w.pen, 1), (w.mug, 2))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    result = pick_scan(
        pick_list_id=pick_list.pk,
        bin="a-01",  # codes are compared case-insensitively
        barcode=f" {w.pen.barcode}\r\n",
        actor=Actor.for_user(admin_user),
    )
    assert result.placed == [{"slot": 1, "quantity": 1, "shipment": fo.number}]
    assert (result.units, result.picked, result.left) == (3, 1, 2)
    assert result.next.as_dict() == {
        "sequence": 2,
        "bin": "A-02",
        "sku": w.mug.code,
        "name": w.mug.name,
        "barcode": w.mug.barcode,
        "quantity": 2,
        "totes": [{"slot": 1, "quantity": 2}],
    }
    pick_list.refresh_from_db()
    assert pick_list.status == PickList.Status.IN_PROGRESS and pick_list.started_at
    assert pick_list.picker == admin_user
    assert in_bin(w.pen, w.bins["A-01"]) == 2 and unlocated(w.pen, w.warehouse) == 1
    assert fo.lines.get(sku=w.pen).quantity_picked == 1
    assert StockMovement.objects.filter(kind="pick", reference=f"picklist:{pick_list.pk}").count() == 2
    event = fo.events.get(kind="picked")
    assert event.data["bin"] == "A-01" and event.data["quantity"] == 1

    done = scan(pick_list, "A-02", w.mug, 2)
    assert done.complete and done.next is None and done.status == PickList.Status.DONE
    pick_list.refresh_from_db()
    assert pick_list.status == PickList.Status.DONE and pick_list.completed_at
    assert status_of(fo) == Status.PICKING  # packed next, by the pack station
    assert not ledger_mismatches()


def test_a_batch_scan_fills_the_tote_slots_in_order(w):
    first, second = w.shipment((w.mug, 2)), w.shipment((w.mug, 1))
    [batch] = make(w, Mode.BATCH, [first, second])
    result = scan(batch, "A-02", w.mug, 3)
    assert result.placed == [
        {"slot": 1, "quantity": 2, "shipment": first.number},
        {"slot": 2, "quantity": 1, "shipment": second.number},
    ]
    assert result.complete
    assert [fo.lines.get().quantity_picked for fo in (first, second)] == [2, 1]


def test_unlocated_units_are_confirmed_without_a_bin(w):
    fo = w.shipment((w.tape, 2))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    with pytest.raises(Conflict) as exc:
        scan(pick_list, "A-01", w.tape)
    assert exc.value.code == "wrong_bin" and exc.value.details["expected_bin"] is None
    assert scan(pick_list, "", w.tape, 2).complete
    assert unlocated(w.tape, w.warehouse) == 5  # nothing moved: it was not on a shelf
    assert not StockMovement.objects.filter(kind="pick").exists()


def test_refused_scans_say_why_and_change_nothing(w):
    fo = w.shipment((w.pen, 1), (w.mug, 2))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    with pytest.raises(Conflict) as exc:
        scan(pick_list, "B-01", w.pen)
    assert exc.value.code == "wrong_bin"
    assert exc.value.message == (
        f"Wrong bin: Bin B-01 has nothing to pick on this list; go to bin A-01 for 1 x {w.pen.code}."
    )
    assert exc.value.details["expected_bin"] == "A-01" and "bin" in exc.value.fields
    with pytest.raises(Conflict) as exc:
        scan(pick_list, "A-01", w.mug)
    assert exc.value.code == "wrong_item"
    assert exc.value.fields == {
        "barcode": [f"{w.mug.code} is not to be picked from bin A-01; take {w.pen.code}"]
    }
    with pytest.raises(Conflict) as exc:
        scan(pick_list, "A-01", w.book)  # not on the list at all
    assert exc.value.code == "wrong_item"
    with pytest.raises(Conflict) as exc:
        scan(pick_list, "A-02", w.mug, 3)
    assert exc.value.code == "over_pick"
    assert exc.value.fields == {"quantity": [f"only 2 x {w.mug.code} left to pick from bin A-02; 3 scanned"]}
    with pytest.raises(InvalidInput) as exc:
        pick_scan(pick_list_id=pick_list.pk, bin="A-01", barcode="0000000000000", actor=SYSTEM)
    assert exc.value.code == "unknown_barcode"
    with pytest.raises(InvalidInput) as exc:
        scan(pick_list, "A-01", w.pen, 0)
    assert "quantity" in exc.value.fields
    pick_list.refresh_from_db()
    assert pick_list.status == PickList.Status.OPEN
    assert sum(fo.lines.values_list("quantity_picked", flat=True)) == 0
    assert in_bin(w.pen, w.bins["A-01"]) == 3 and not fo.events.filter(kind="picked").exists()


def test_an_over_pick_after_the_stop_is_done(w):
    [pick_list] = make(w, Mode.SINGLE, [w.shipment((w.mug, 1), (w.book, 1))])
    scan(pick_list, "A-02", w.mug)
    with pytest.raises(Conflict) as exc:
        scan(pick_list, "A-02", w.mug)
    assert exc.value.code == "wrong_bin"  # nothing is left at A-02: go to B-01
    assert exc.value.details["expected_bin"] == "B-01"


def test_a_retried_scan_is_not_counted_twice(w):
    fo = w.shipment((w.mug, 3))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    scan(pick_list, "A-02", w.mug, 1, scan_id="hh-7-0001")
    again = scan(pick_list, "A-02", w.mug, 1, scan_id="hh-7-0001")
    assert again.replayed and again.picked == 1
    assert scan(pick_list, "A-02", w.mug, 1, scan_id="hh-7-0002").picked == 2
    assert fo.lines.get().quantity_picked == 2 and in_bin(w.mug, w.bins["A-02"]) == 8


def test_the_books_say_the_bin_is_short(w):
    [pick_list] = make(w, Mode.SINGLE, [w.shipment((w.mug, 2))])
    from inventory.operations.stock import stock_bin_move  # a colleague moved units away meanwhile

    stock_bin_move(
        warehouse_id=w.warehouse.pk,
        sku_id=w.mug.pk,
        quantity=9,
        from_bin_id=w.bins["A-02"].pk,
        to_bin_id=w.bins["A-03"].pk,
        actor=SYSTEM,
    )
    with pytest.raises(Conflict) as exc:
        scan(pick_list, "A-02", w.mug, 2)
    assert exc.value.code == "bin_short"
    assert scan(pick_list, "A-02", w.mug, 1).picked == 1


def test_confirm_a_line_without_a_scanner(w):
    fo = w.shipment((w.book, 2))
    [pick_list] = make(w, Mode.SINGLE, [fo])
    line = pick_list.lines.get()
    assert pick_confirm_line(pick_line_id=line.pk, quantity=1, actor=SYSTEM).left == 1
    with pytest.raises(Conflict) as exc:
        pick_confirm_line(pick_line_id=line.pk, quantity=2, actor=SYSTEM)
    assert exc.value.code == "over_pick"
    assert pick_confirm_line(pick_line_id=line.pk, quantity=1, actor=SYSTEM).complete
    with pytest.raises(InvalidTransition):
        pick_confirm_line(pick_line_id=line.pk, quantity=1, actor=SYSTEM)
    assert fo.lines.get().quantity_picked == 2 and in_bin(w.book, w.bins["B-01"]) == 8
    assert pick_progress(pick_list_id=pick_list.pk).status == PickList.Status.DONE
