"""Bin-level stock: every on-hand movement lands in a bin or in unlocated stock,
removals draw in a fixed order, bin moves leave the level ledger alone, and
the bins are a ledger of their own that reconcile proves."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.admin import helpers
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from inventory.bins import bin_stock, stock_locations
from inventory.models import BinStock, SKUBin, StockLevel, StockMovement, Supplier, SupplierSKU
from inventory.operations import (
    count_approve,
    count_record,
    count_start,
    count_submit,
    stock_adjust,
    stock_bin_move,
    stock_putaway,
    stock_write_off,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from inventory.purchasing import purchase_order_create, purchase_order_receive, purchase_order_send
from inventory.services import (
    _apply,
    _Delta,
    _lock_levels,
    reservations_allocate,
    stock_receive,
    stock_reserve,
)
from oms.actors import Actor
from oms.errors import InsufficientStock, InvalidInput, InvalidTransition
from orders.models import PriceListEntry
from tests.factories import SKUFactory, WarehouseFactory, order_payload, stock_level
from tests.inventory.bin_layout import (
    Layout,
    assign,
    build_layout,
    ledgers_agree,
    located,
    make_bin,
    receive,
    snapshot,
)

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


@pytest.fixture
def lay() -> Layout:
    return build_layout()


def counted(lay: Layout, counts: dict) -> int:
    """A submitted count sheet of the layout's warehouse with these counts (SKU -> units)."""
    sheet = count_start(warehouse_id=lay.wh.pk, sku_ids=[s.pk for s in counts], actor=SYSTEM)
    count_record(sheet_id=sheet.pk, counts={s.pk: n for s, n in counts.items()})
    count_submit(sheet_id=sheet.pk, actor=SYSTEM)
    return sheet.pk


def moved(reference_prefix: str = "") -> list[tuple[str, str | None, int]]:
    """(kind, bin code or None, on-hand delta) of the movements so far, oldest first."""
    return [
        (m.kind, m.bin.code if m.bin else None, m.on_hand_delta)
        for m in StockMovement.objects.filter(reference__startswith=reference_prefix)
        .select_related("bin")
        .order_by("id")
    ]


# --- Receipts ---------------------------------------------------------------------


def test_receipts_land_unlocated_in_a_named_bin_or_in_the_primary_bin(lay):
    receive(lay, 4)
    receive(lay, 3, lay.overflow)
    stock_receive(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=2, reference="t", to_primary_bin=True)
    assert located(lay.sku, lay.wh) == {None: 4, "A-01-01-03": 3, "A-01-01-04": 2}
    assert moved() == [("receipt", None, 4), ("receipt", "A-01-01-03", 3), ("receipt", "A-01-01-04", 2)]
    assert stock_level(lay.sku, lay.wh).on_hand == 9
    # A SKU with no primary bin here stays on the dock.
    other = SKUFactory()
    stock_receive(warehouse_id=lay.wh.pk, sku_id=other.pk, quantity=5, reference="t", to_primary_bin=True)
    assert located(other, lay.wh) == {None: 5}
    assert ledgers_agree()


@pytest.mark.parametrize(
    ("target", "code"),
    [("inactive", "inactive_bin"), ("foreign", "wrong_warehouse"), ("unknown", "unknown_bin")],
)
def test_receipts_refuse_a_bin_they_cannot_use(lay, target, code):
    before = snapshot()
    bin_id = 987654 if target == "unknown" else getattr(lay, target).pk
    with pytest.raises(InvalidInput) as exc, transaction.atomic():
        stock_receive(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=1, reference="t", bin_id=bin_id)
    assert exc.value.code == code and set(exc.value.fields) == {"bin"}
    with pytest.raises(InvalidInput) as exc, transaction.atomic():
        stock_receive(
            warehouse_id=lay.wh.pk,
            sku_id=lay.sku.pk,
            quantity=1,
            reference="t",
            bin_id=lay.primary.pk,
            to_primary_bin=True,
        )
    assert "not both" in exc.value.message
    assert snapshot() == before


def test_purchase_order_receipt_into_a_bin_or_the_primary_bins(lay):
    supplier = Supplier.objects.create(code="ACME", name="Acme", email="a@example.com", currency="USD")
    bare = SKUFactory()
    for sku in (lay.sku, bare):
        SupplierSKU.objects.create(supplier=supplier, sku=sku, unit_cost="1.00")
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=lay.wh.pk, lines=[(lay.sku.pk, 10), (bare.pk, 10)], actor=SYSTEM
    )
    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    purchase_order_receive(
        po_id=po.pk, receipts={lay.sku.pk: 4, bare.pk: 4}, actor=SYSTEM, to_primary_bin=True
    )
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-04": 4}
    assert located(bare, lay.wh) == {None: 4}  # no primary bin: unlocated, put away later
    purchase_order_receive(po_id=po.pk, receipts={lay.sku.pk: 1}, actor=SYSTEM, bin_id=lay.overflow.pk)
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-03": 1, "A-01-01-04": 4}
    before = snapshot()
    with pytest.raises(InvalidInput) as exc, transaction.atomic():
        purchase_order_receive(po_id=po.pk, receipts={lay.sku.pk: 1}, actor=SYSTEM, bin_id=lay.foreign.pk)
    assert exc.value.code == "wrong_warehouse"
    assert snapshot() == before
    assert ledgers_agree()


# --- Put-away and bin moves ----------------------------------------------------------


def test_putaway_moves_unlocated_units_to_the_primary_bin_by_default(lay):
    receive(lay, 10)
    assert stock_putaway(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=6, actor=SYSTEM) == lay.primary
    stock_putaway(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=1, bin_id=lay.stray.pk, actor=SYSTEM)
    assert located(lay.sku, lay.wh) == {None: 3, "A-01-01-02": 1, "A-01-01-04": 6}
    assert stock_level(lay.sku, lay.wh).on_hand == 10  # on hand does not change
    assert moved("putaway") == [
        ("bin_move", None, -6),
        ("bin_move", "A-01-01-04", 6),
        ("bin_move", None, -1),
        ("bin_move", "A-01-01-02", 1),
    ]
    before = snapshot()
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        stock_putaway(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=4, actor=SYSTEM)
    assert exc.value.fields == {"quantity": ["only 3 unlocated"]}
    assert snapshot() == before
    stock_putaway(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=None, actor=SYSTEM)  # all of it
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-02": 1, "A-01-01-04": 9}
    assert ledgers_agree()


def test_putaway_needs_a_bin_when_the_sku_has_no_primary(lay):
    bare = SKUFactory()
    receive(lay, 2, sku=bare)
    with pytest.raises(InvalidInput) as exc:
        stock_putaway(warehouse_id=lay.wh.pk, sku_id=bare.pk, quantity=2, actor=SYSTEM)
    assert set(exc.value.fields) == {"bin"}
    with pytest.raises(InvalidInput) as exc:
        stock_putaway(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=0, actor=SYSTEM)
    assert set(exc.value.fields) == {"quantity"}
    with pytest.raises(InvalidInput) as exc:
        stock_putaway(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=None, actor=SYSTEM)
    assert "no unlocated units" in exc.value.message


def test_bin_move_changes_two_bins_and_nothing_else(lay):
    receive(lay, 5, lay.overflow)
    level = stock_level(lay.sku, lay.wh)
    stock_bin_move(
        warehouse_id=lay.wh.pk,
        sku_id=lay.sku.pk,
        quantity=3,
        from_bin_id=lay.overflow.pk,
        to_bin_id=lay.primary.pk,
        actor=SYSTEM,
        note="replenish pick face",
    )
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-03": 2, "A-01-01-04": 3}
    assert moved("bin_move") == [("bin_move", "A-01-01-03", -3), ("bin_move", "A-01-01-04", 3)]
    assert StockMovement.objects.filter(
        reference="bin_move:A-01-01-03>A-01-01-04", note="replenish pick face"
    )
    after = stock_level(lay.sku, lay.wh)
    assert (after.on_hand, after.allocated, after.updated_at) == (
        level.on_hand,
        level.allocated,
        level.updated_at,
    )
    assert ledgers_agree()


def test_bin_move_refusals_name_the_field_and_change_nothing(lay):
    receive(lay, 2, lay.overflow)
    receive(lay, 5)
    before = snapshot()

    def move(quantity=1, source=lay.overflow, target=lay.primary, sku=lay.sku):
        with transaction.atomic():
            stock_bin_move(
                warehouse_id=lay.wh.pk,
                sku_id=sku.pk,
                quantity=quantity,
                from_bin_id=getattr(source, "pk", source),
                to_bin_id=getattr(target, "pk", target),
                actor=SYSTEM,
            )

    with pytest.raises(InsufficientStock) as exc:
        move(quantity=3)  # the warehouse has 7, the bin only 2
    assert exc.value.fields == {"quantity": [f"only 2 of {lay.sku.code} in bin A-01-01-03"]}
    cases = [
        ({"quantity": 0}, "quantity", "invalid"),
        ({"target": lay.overflow}, "to_bin", "invalid"),
        ({"target": lay.inactive}, "to_bin", "inactive_bin"),
        ({"target": lay.foreign}, "to_bin", "wrong_warehouse"),
        ({"source": 987654}, "from_bin", "unknown_bin"),
        ({"sku": SKUFactory.build(pk=987654)}, "sku", "unknown_sku"),
    ]
    for kwargs, field, code in cases:
        with pytest.raises(InvalidInput) as exc:
            move(**kwargs)
        assert (set(exc.value.fields), exc.value.code) == ({field}, code), kwargs
    assert snapshot() == before


def test_units_can_leave_an_inactive_bin_but_not_enter_it(lay):
    receive(lay, 3, lay.overflow)
    lay.overflow.is_active = False
    lay.overflow.save(update_fields=["is_active"])
    stock_bin_move(
        warehouse_id=lay.wh.pk,
        sku_id=lay.sku.pk,
        quantity=3,
        from_bin_id=lay.overflow.pk,
        to_bin_id=lay.primary.pk,
        actor=SYSTEM,
    )
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-04": 3}
    with pytest.raises(InvalidInput) as exc:
        stock_adjust(
            warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=1, reason="found", bin_id=lay.overflow.pk,
            actor=SYSTEM,
        )  # fmt: skip
    assert exc.value.code == "inactive_bin"


# --- Removals: a named bin, or the draw order ---------------------------------------------


def test_removal_without_a_bin_draws_unlocated_then_other_bins_in_walk_order_then_primary(lay):
    receive(lay, 2)  # unlocated
    receive(lay, 3, lay.primary)  # walk 40
    receive(lay, 2, lay.overflow)  # walk 30
    receive(lay, 2, lay.overflow2)  # walk 10
    receive(lay, 1, lay.stray)  # walk 20, not assigned to the SKU
    stock_write_off(warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=9, reason="damaged", actor=SYSTEM)
    assert moved("write_off") == [
        ("write_off", None, -2),
        ("write_off", "A-01-01-01", -2),
        ("write_off", "A-01-01-02", -1),
        ("write_off", "A-01-01-03", -2),
        ("write_off", "A-01-01-04", -2),
    ]
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-04": 1}
    assert stock_level(lay.sku, lay.wh).on_hand == 1
    assert ledgers_agree()


def test_adjust_both_ways_with_and_without_a_bin(lay):
    adjust = {"warehouse_id": lay.wh.pk, "sku_id": lay.sku.pk, "actor": SYSTEM}
    stock_adjust(**adjust, quantity=4, reason="found")
    stock_adjust(**adjust, quantity=5, reason="found", bin_id=lay.overflow.pk)
    stock_adjust(**adjust, quantity=-2, reason="damaged", bin_id=lay.overflow.pk)
    stock_adjust(**adjust, quantity=-6, reason="lost")  # 4 unlocated, then 2 from the overflow bin
    assert moved("adjust") == [
        ("adjustment", None, 4),
        ("adjustment", "A-01-01-03", 5),
        ("adjustment", "A-01-01-03", -2),
        ("adjustment", None, -4),
        ("adjustment", "A-01-01-03", -2),
    ]
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-03": 1}
    before = snapshot()
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        stock_adjust(**adjust, quantity=-1, reason="lost", bin_id=lay.primary.pk)
    assert exc.value.fields == {"quantity": [f"only 0 of {lay.sku.code} in bin A-01-01-04"]}
    assert snapshot() == before
    assert ledgers_agree()


def test_a_bin_never_gives_up_allocated_stock(lay, api, channel):
    PriceListEntry.objects.create(channel=channel, sku=lay.sku, unit_price=Decimal("10.00"))
    receive(lay, 5, lay.primary)
    assert api.post("/api/v1/orders/", order_payload(lay.sku.code, 4), format="json").status_code == 201
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-04": 5}  # allocations do not touch bins
    assert StockMovement.objects.filter(bin__isnull=False).count() == 1  # the receipt only
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        stock_write_off(
            warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=2, reason="damaged", bin_id=lay.primary.pk,
            actor=SYSTEM,
        )  # fmt: skip
    assert exc.value.fields == {"quantity": ["only 1 available to remove"]}
    # ...but they can move between bins: the allocation is of the warehouse.
    stock_bin_move(
        warehouse_id=lay.wh.pk,
        sku_id=lay.sku.pk,
        quantity=5,
        from_bin_id=lay.primary.pk,
        to_bin_id=lay.overflow.pk,
        actor=SYSTEM,
    )
    assert stock_level(lay.sku, lay.wh).allocated == 4
    assert ledgers_agree()


def test_reservations_and_allocations_never_touch_bins(lay):
    receive(lay, 5, lay.primary)
    holds = stock_reserve(
        warehouse_id=lay.wh.pk,
        quantities={lay.sku.pk: 3},
        expires_at=timezone.now() + timedelta(minutes=5),
        reference="cart",
    )
    reservations_allocate(reservation_ids=[h.pk for h in holds], reference="order")
    assert not StockMovement.objects.filter(bin__isnull=False).exclude(kind="receipt").exists()
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-04": 5}


# --- Transfers and counts --------------------------------------------------------------


def test_transfer_ships_out_of_bins_and_arrives_in_the_primary_bins(lay):
    store = lay.other
    store_bin = lay.foreign
    assign(lay.sku, store_bin, SKUBin.Kind.PRIMARY)
    second = SKUFactory()
    receive(lay, 3, lay.overflow)
    receive(lay, 4, lay.primary)
    receive(lay, 2, sku=second)
    t = transfer_create(
        from_warehouse_id=lay.wh.pk,
        to_warehouse_id=store.pk,
        lines=[(lay.sku.pk, 5), (second.pk, 2)],
        actor=SYSTEM,
    )
    transfer_ship(transfer_id=t.pk, actor=SYSTEM)
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-04": 2}  # overflow first, then primary
    assert located(second, lay.wh) == {None: 0}
    transfer_receive(transfer_id=t.pk, actor=SYSTEM, to_primary_bin=True)
    assert located(lay.sku, store) == {None: 0, "A-01-01-04": 5}
    assert located(second, store) == {None: 2}  # no primary bin there: unlocated
    assert moved(f"transfer:{t.pk}") == [
        ("transfer_out", "A-01-01-03", -3),
        ("transfer_out", "A-01-01-04", -2),
        ("transfer_out", None, -2),
        ("transfer_in", "A-01-01-04", 5),
        ("transfer_in", None, 2),
    ]
    assert ledgers_agree()


def test_transfer_from_a_named_bin_is_all_or_nothing(lay):
    second = SKUFactory()
    receive(lay, 5, lay.overflow)
    receive(lay, 1, lay.overflow, sku=second)
    receive(lay, 4, sku=second)
    t = transfer_create(
        from_warehouse_id=lay.wh.pk, to_warehouse_id=lay.other.pk, lines=[(lay.sku.pk, 5), (second.pk, 2)],
        actor=SYSTEM,
    )  # fmt: skip
    before = snapshot()
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        transfer_ship(transfer_id=t.pk, actor=SYSTEM, bin_id=lay.overflow.pk)
    assert exc.value.fields == {"lines[1].quantity": [f"only 1 of {second.code} in bin A-01-01-03"]}
    assert snapshot() == before
    with pytest.raises(InvalidTransition), transaction.atomic():
        transfer_receive(transfer_id=t.pk, actor=SYSTEM)  # still a draft
    transfer_ship(transfer_id=t.pk, actor=SYSTEM)
    before = snapshot()
    with pytest.raises(InvalidInput) as exc, transaction.atomic():
        transfer_receive(transfer_id=t.pk, actor=SYSTEM, bin_id=lay.primary.pk)  # a bin of the sender
    assert exc.value.code == "wrong_warehouse"
    assert snapshot() == before
    transfer_receive(transfer_id=t.pk, actor=SYSTEM, bin_id=lay.foreign.pk)
    assert located(second, lay.other) == {None: 0, "A-01-01-04": 2}
    assert ledgers_agree()


def test_count_variances_go_into_and_out_of_bins(lay):
    gain = SKUFactory()
    receive(lay, 1)
    receive(lay, 4, lay.overflow)
    receive(lay, 2, lay.primary)
    receive(lay, 1, sku=gain)
    count_approve(sheet_id=counted(lay, {lay.sku: 3, gain: 4}), actor=SYSTEM)
    # -4 drawn: the unlocated unit, then 3 of the overflow bin; +3 lands unlocated.
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-03": 1, "A-01-01-04": 2}
    assert located(gain, lay.wh) == {None: 4}
    # A count of one bin: its losses come out of that bin, its gains go into it.
    sheet = counted(lay, {lay.sku: 1, gain: 6})
    before = snapshot()
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        count_approve(sheet_id=sheet, actor=SYSTEM, bin_id=lay.overflow.pk)  # holds 1, 2 to remove
    assert exc.value.fields == {f"counts.{lay.sku.code}": [f"only 1 of {lay.sku.code} in bin A-01-01-03"]}
    assert snapshot() == before
    count_approve(sheet_id=sheet, actor=SYSTEM, bin_id=lay.primary.pk)
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-03": 1}
    assert located(gain, lay.wh) == {None: 4, "A-01-01-04": 2}
    assert ledgers_agree()


# --- The ledger core ------------------------------------------------------------------------


def test_a_bin_unaware_caller_cannot_take_units_that_are_on_a_shelf(lay):
    """_apply itself refuses to drive unlocated stock below zero, and the CHECK
    refuses a negative bin, whoever the caller."""
    receive(lay, 2)
    receive(lay, 3, lay.primary)
    key = (lay.sku.pk, lay.wh.pk)
    before = snapshot()
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        levels = _lock_levels([key])
        _apply(levels, [(key, StockMovement.Kind.SHIPMENT, _Delta(on_hand=-3))], reference="naive")
    assert exc.value.fields == {"bin": [f"only 2 of {lay.sku.code} not in a bin"]}
    with pytest.raises(InsufficientStock), transaction.atomic():
        levels = _lock_levels([key])
        _apply(
            levels,
            [(key, StockMovement.Kind.SHIPMENT, _Delta(on_hand=-4, bin_id=lay.primary.pk))],
            reference="naive",
        )
    with pytest.raises(InsufficientStock), transaction.atomic():  # a bin row that does not exist yet
        levels = _lock_levels([key])
        _apply(
            levels,
            [(key, StockMovement.Kind.SHIPMENT, _Delta(on_hand=-1, bin_id=lay.stray.pk))],
            reference="naive",
        )
    assert snapshot() == before


def test_many_bins_change_in_one_statement(lay):
    key = (lay.sku.pk, lay.wh.pk)
    receive(lay, 1, lay.primary)
    with transaction.atomic():
        levels = _lock_levels([key])
        changes = [
            (key, StockMovement.Kind.RECEIPT, _Delta(on_hand=q, bin_id=b.pk))
            for b, q in [(lay.primary, 2), (lay.overflow, 3), (lay.overflow2, 4), (lay.primary, 1)]
        ]
        with CaptureQueriesContext(connection) as ctx:
            _apply(levels, changes, reference="many")
    # The levels and movements in one statement, the bins in another.
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["WITH", "WITH"]
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-01": 4, "A-01-01-03": 3, "A-01-01-04": 4}
    assert ledgers_agree()


# --- Reads -------------------------------------------------------------------------------


def test_bin_stock_and_locations_in_walk_order(lay):
    other = SKUFactory()
    receive(lay, 2)
    receive(lay, 3, lay.primary)
    receive(lay, 1, lay.overflow2)
    receive(lay, 4, lay.stray, sku=other)
    rows = [(r.bin.code, r.sku.code, r.quantity, r.assignment) for r in bin_stock(warehouse_id=lay.wh.pk)]
    assert rows == [
        ("A-01-01-01", lay.sku.code, 1, "overflow"),
        ("A-01-01-02", other.code, 4, None),
        ("A-01-01-04", lay.sku.code, 3, "primary"),
    ]
    assert [r.sku_id for r in bin_stock(bin_id=lay.stray.pk)] == [other.pk]  # what is in a bin
    [where] = stock_locations(sku_id=lay.sku.pk)  # where a SKU is
    assert (where.level.on_hand, where.unlocated, [b.bin.code for b in where.bins]) == (
        6,
        2,
        ["A-01-01-01", "A-01-01-04"],
    )


# --- reconcile ---------------------------------------------------------------------------


def test_reconcile_names_a_drifted_bin_and_negative_unlocated_stock(lay):
    receive(lay, 4, lay.primary)
    receive(lay, 1)
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "ok    bin stock equals the bin ledger" in out.getvalue()
    with connection.cursor() as cursor:  # someone edits a bin behind the services' back
        cursor.execute("UPDATE inventory_binstock SET quantity = quantity + 2")
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("reconcile", stdout=out)
    assert exc.value.returncode == 1
    text = out.getvalue()
    code = lay.sku.code
    assert f"{code} @ DC bin A-01-01-04: bin stock 6 != ledger 4" in text
    assert f"{code} @ DC: unlocated -1 (on hand 5, in bins 6: A-01-01-04 6)" in text


# --- Property: any sequence keeps both ledgers ----------------------------------------------

OPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["receive", "receive_bin", "adjust", "write_off", "putaway", "move", "count", "reserve", "ship"]
        ),
        st.integers(0, 3),  # which bin (3: none)
        st.integers(0, 3),  # another bin
        st.integers(-6, 8),
    ),
    max_size=20,
)


class TestBinLedgerProperty(HypothesisTestCase):
    """Random sequences of bin-aware operations keep: levels == ledger, bins ==
    their ledger, no bin below zero, unlocated = on hand - bins >= 0."""

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(OPS)
    def test_any_sequence_keeps_both_ledgers(self, ops):
        wh, store = WarehouseFactory(), WarehouseFactory()
        sku = SKUFactory()
        bins = [make_bin(wh, f"A-01-01-0{i}", walk) for i, walk in enumerate([30, 10, 20])]
        assign(sku, bins[2], SKUBin.Kind.PRIMARY)
        assign(sku, bins[0], SKUBin.Kind.OVERFLOW)
        base = {"warehouse_id": wh.pk, "sku_id": sku.pk, "actor": SYSTEM}
        for op, a, b, qty in ops:
            bin_a = bins[a].pk if a < 3 else None
            bin_b = bins[b].pk if b < 3 else None
            units = abs(qty) or 1
            try:
                with transaction.atomic():
                    if op == "receive":
                        stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=units, reference="p")
                    elif op == "receive_bin":
                        stock_receive(
                            warehouse_id=wh.pk,
                            sku_id=sku.pk,
                            quantity=units,
                            reference="p",
                            bin_id=bin_a,
                            to_primary_bin=bin_a is None,
                        )
                    elif op == "adjust":
                        stock_adjust(**base, quantity=qty, reason="correction", bin_id=bin_a)
                    elif op == "write_off":
                        stock_write_off(**base, quantity=qty, reason="damaged", bin_id=bin_a)
                    elif op == "putaway":
                        stock_putaway(**base, quantity=qty, bin_id=bin_a)
                    elif op == "move":
                        stock_bin_move(
                            **base, quantity=qty, from_bin_id=bin_a or bins[0].pk, to_bin_id=bin_b or 0
                        )
                    elif op == "count":
                        sheet = count_start(warehouse_id=wh.pk, sku_ids=[sku.pk], actor=SYSTEM)
                        count_record(sheet_id=sheet.pk, counts={sku.pk: abs(qty)})
                        count_submit(sheet_id=sheet.pk, actor=SYSTEM)
                        count_approve(sheet_id=sheet.pk, actor=SYSTEM, bin_id=bin_a)
                    elif op == "reserve":
                        stock_reserve(
                            warehouse_id=wh.pk,
                            quantities={sku.pk: units},
                            expires_at=timezone.now() + timedelta(minutes=5),
                            reference="p",
                        )
                    elif op == "ship":
                        t = transfer_create(
                            from_warehouse_id=wh.pk, to_warehouse_id=store.pk, lines=[(sku.pk, units)],
                            actor=SYSTEM,
                        )  # fmt: skip
                        transfer_ship(transfer_id=t.pk, actor=SYSTEM, bin_id=bin_a)
            except (InsufficientStock, InvalidInput):
                pass
            assert ledgers_agree(), (op, a, b, qty)
            assert not BinStock.objects.filter(quantity__lt=0).exists()
            level = StockLevel.objects.filter(sku=sku, warehouse=wh).first()
            if level:
                assert level.available >= 0
                assert located(sku, wh)[None] >= 0


# --- Concurrency on PostgreSQL ------------------------------------------------------------


def run_concurrently(calls) -> list:
    """Run each call on its own thread (own connection), all released at once."""
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


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_bin_moves_race_for_the_last_units_of_a_bin():
    lay = build_layout()
    receive(lay, 5, lay.overflow)
    receive(lay, 3)  # the warehouse has more, the bin does not

    def move_to(target):
        return lambda: stock_bin_move(
            warehouse_id=lay.wh.pk,
            sku_id=lay.sku.pk,
            quantity=4,
            from_bin_id=lay.overflow.pk,
            to_bin_id=target.pk,
            actor=SYSTEM,
        )

    results = run_concurrently([move_to(lay.primary), move_to(lay.stray)])
    won = [r for r in results if not isinstance(r, Exception)]
    lost = [r for r in results if isinstance(r, Exception)]
    assert len(won) == 1 and len(lost) == 1 and isinstance(lost[0], InsufficientStock), results
    assert lost[0].fields == {"quantity": [f"only 1 of {lay.sku.code} in bin A-01-01-03"]}
    assert located(lay.sku, lay.wh) == {None: 3, "A-01-01-03": 1, won[0].code: 4}
    assert StockMovement.objects.filter(kind="bin_move").count() == 2
    assert ledgers_agree()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_many_removals_and_moves_race_on_one_bin():
    lay = build_layout()
    receive(lay, 6, lay.overflow)
    receive(lay, 2, lay.primary)

    def move():
        return stock_bin_move(
            warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=2, from_bin_id=lay.overflow.pk,
            to_bin_id=lay.primary.pk, actor=SYSTEM,
        )  # fmt: skip

    def write_off():
        return stock_write_off(
            warehouse_id=lay.wh.pk, sku_id=lay.sku.pk, quantity=2, reason="damaged", bin_id=lay.overflow.pk,
            actor=SYSTEM,
        )  # fmt: skip

    results = run_concurrently([move, write_off] * 4)
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientStock)]
    assert sum(not isinstance(r, Exception) for r in results) == 3  # 6 units, 2 at a time
    where = located(lay.sku, lay.wh)
    assert where.get("A-01-01-03", 0) == 0 and where[None] == 0
    assert stock_level(lay.sku, lay.wh).on_hand == where["A-01-01-04"]
    assert ledgers_agree()


# --- Admin --------------------------------------------------------------------------------


def test_admin_move_stock_page_puts_away_and_moves_through_the_services(admin_client, lay):
    receive(lay, 5)
    changelist = admin_client.get(reverse("admin:inventory_binstock_changelist"))
    url = reverse("admin:inventory_binstock_move")
    assert url in changelist.content.decode()
    assert admin_client.get(url).status_code == 200
    form = {
        "warehouse": lay.wh.pk,
        "sku": lay.sku.code,
        "quantity": "",
        "from_bin": "",
        "to_bin": "",
        "note": "",
    }
    response = admin_client.post(url, form, follow=True)
    assert [str(m) for m in response.context["messages"]] == [f"Put away {lay.sku.code} into A-01-01-04."]
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-04": 5}
    move = {**form, "quantity": 2, "from_bin": "A-01-01-04", "to_bin": "A-01-01-02"}
    assert admin_client.post(url, move).status_code == 302
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-02": 2, "A-01-01-04": 3}
    before = snapshot()
    response = admin_client.post(url, {**move, "quantity": 4})
    assert response.status_code == 200
    assert response.context["form"].errors == {"quantity": [f"only 3 of {lay.sku.code} in bin A-01-01-04"]}
    response = admin_client.post(url, {**move, "to_bin": "A-01-01-05"})
    assert "inactive" in response.context["form"].errors["to_bin"][0]
    assert snapshot() == before
    assert ledgers_agree()


def test_admin_move_stock_needs_the_permission(client, django_user_model, lay):
    user = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(user)
    assert client.get(reverse("admin:inventory_binstock_move")).status_code == 403


def test_admin_action_puts_away_every_unlocated_unit_into_the_selected_bins(admin_client, lay):
    receive(lay, 7)
    assignment = SKUBin.objects.get(sku=lay.sku, bin=lay.overflow)
    response = admin_client.post(
        reverse("admin:inventory_skubin_changelist"),
        {"action": "put_away_unlocated", helpers.ACTION_CHECKBOX_NAME: [assignment.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-03": 7}
    again = admin_client.post(
        reverse("admin:inventory_skubin_changelist"),
        {"action": "put_away_unlocated", helpers.ACTION_CHECKBOX_NAME: [assignment.pk]},
        follow=True,
    )
    assert any("no unlocated units" in str(m) for m in again.context["messages"])
    assert ledgers_agree()
