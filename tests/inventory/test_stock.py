"""The stock ledger: every operation writes movements that sum to the levels,
nothing goes negative, and the database itself refuses an oversell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from inventory.models import Reservation, StockLevel, StockMovement
from inventory.selectors import ledger_mismatches
from inventory.services import (
    reservations_allocate,
    reservations_expire,
    reservations_release,
    stock_deallocate,
    stock_receive,
    stock_reserve,
)
from oms.errors import InsufficientStock, InvalidInput
from tests.factories import SKUFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


def soon():
    return timezone.now() + timedelta(minutes=5)


@pytest.fixture
def wh():
    return WarehouseFactory()


def test_receive_reserve_allocate_deallocate_round_trip(wh):
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=10, reference="po:1")
    holds = stock_reserve(warehouse_id=wh.pk, quantities={sku.pk: 4}, expires_at=soon(), reference="r")
    level = StockLevel.objects.get(sku=sku, warehouse=wh)
    assert (level.on_hand, level.allocated, level.soft_reserved, level.available) == (10, 0, 4, 6)
    reservations_allocate(reservation_ids=[h.pk for h in holds], reference="order:1")
    level.refresh_from_db()
    assert (level.allocated, level.soft_reserved) == (4, 0)
    stock_deallocate(allocations=[(sku.pk, wh.pk, 4)], reference="order:1:cancel")
    level.refresh_from_db()
    assert (level.on_hand, level.allocated, level.soft_reserved) == (10, 0, 0)
    kinds = list(StockMovement.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["receipt", "reserve", "allocate", "deallocate"]
    assert ledger_mismatches() == []


def test_reserve_is_all_or_nothing(wh):
    a, b = SKUFactory(), SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=a.pk, quantity=5, reference="t")
    stock_receive(warehouse_id=wh.pk, sku_id=b.pk, quantity=1, reference="t")
    # Services make no savepoint of their own: the caller's transaction (here a
    # savepoint) is what rolls back.
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        stock_reserve(warehouse_id=wh.pk, quantities={a.pk: 2, b.pk: 2}, expires_at=soon(), reference="r")
    assert exc.value.details["shortages"] == [
        {"sku": b.code, "warehouse_id": wh.pk, "requested": 2, "available": 1}
    ]
    assert StockLevel.objects.get(sku=a, warehouse=wh).soft_reserved == 0
    assert not Reservation.objects.exists()


def test_expired_reservations_are_reclaimed_by_a_new_request(wh):
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=3, reference="t")
    stock_reserve(
        warehouse_id=wh.pk,
        quantities={sku.pk: 3},
        expires_at=timezone.now() - timedelta(seconds=1),
        reference="stale",
    )
    holds = stock_reserve(warehouse_id=wh.pk, quantities={sku.pk: 3}, expires_at=soon(), reference="fresh")
    assert holds[0].quantity == 3
    assert Reservation.objects.get(reference="stale").status == Reservation.Status.EXPIRED
    assert ledger_mismatches() == []


def test_expiry_job_releases_and_is_idempotent(wh):
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=3, reference="t")
    stock_reserve(
        warehouse_id=wh.pk,
        quantities={sku.pk: 2},
        expires_at=timezone.now() - timedelta(seconds=1),
        reference="stale",
    )
    assert reservations_expire() == 1
    assert reservations_expire() == 0
    assert StockLevel.objects.get(sku=sku, warehouse=wh).soft_reserved == 0
    assert ledger_mismatches() == []


def test_release_twice_frees_once(wh):
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=3, reference="t")
    holds = stock_reserve(warehouse_id=wh.pk, quantities={sku.pk: 2}, expires_at=soon(), reference="r")
    assert reservations_release(reservation_ids=[holds[0].pk], reference="r") == 2
    assert reservations_release(reservation_ids=[holds[0].pk], reference="r") == 0
    assert StockLevel.objects.get(sku=sku, warehouse=wh).soft_reserved == 0


def test_allocating_an_expired_hold_retakes_stock_if_still_there(wh):
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=3, reference="t")
    holds = stock_reserve(warehouse_id=wh.pk, quantities={sku.pk: 2}, expires_at=soon(), reference="r")
    Reservation.objects.filter(pk=holds[0].pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    reservations_expire()
    reservations_allocate(reservation_ids=[holds[0].pk], reference="order:9")
    assert StockLevel.objects.get(sku=sku, warehouse=wh).allocated == 2
    stock_reserve(warehouse_id=wh.pk, quantities={sku.pk: 1}, expires_at=soon(), reference="other")
    holds = stock_reserve(warehouse_id=wh.pk, quantities={}, expires_at=soon(), reference="none")
    assert holds == []
    assert ledger_mismatches() == []


def test_receive_refuses_non_positive(wh):
    sku = SKUFactory()
    with pytest.raises(InvalidInput):
        stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=0, reference="t")


def test_database_refuses_oversell_even_without_the_service(wh):
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=1, reference="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(sku=sku).update(allocated=2)


def test_movements_are_append_only(wh):
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=1, reference="t")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        StockMovement.objects.update(on_hand_delta=5)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        StockMovement.objects.all().delete()


OPS = st.lists(
    st.tuples(
        st.sampled_from(["receive", "reserve", "allocate", "release", "expire", "deallocate"]),
        st.integers(0, 1),
        st.integers(1, 7),
    ),
    max_size=25,
)


class TestLedgerProperty(HypothesisTestCase):
    """Any sequence of stock operations keeps: levels == ledger, nothing negative,
    available == on_hand - allocated - reserved >= 0."""

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(OPS)
    def test_any_sequence_keeps_the_invariants(self, ops):
        wh = WarehouseFactory()
        skus = [SKUFactory(), SKUFactory()]
        holds: list[int] = []
        allocated: dict[int, int] = {s.pk: 0 for s in skus}
        for op, which, qty in ops:
            sku = skus[which]
            try:
                with transaction.atomic():
                    if op == "receive":
                        stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=qty, reference="p")
                    elif op == "reserve":
                        expires = soon() if qty % 2 else timezone.now() - timedelta(seconds=1)
                        holds += [
                            h.pk
                            for h in stock_reserve(
                                warehouse_id=wh.pk,
                                quantities={sku.pk: qty},
                                expires_at=expires,
                                reference="p",
                            )
                        ]
                    elif op == "allocate" and holds:
                        hold = Reservation.objects.get(pk=holds.pop(0))
                        reservations_allocate(reservation_ids=[hold.pk], reference="p")
                        allocated[hold.sku_id] += hold.quantity
                    elif op == "release" and holds:
                        reservations_release(reservation_ids=[holds.pop()], reference="p")
                    elif op == "expire":
                        reservations_expire()
                    elif op == "deallocate" and allocated[sku.pk]:
                        n = min(qty, allocated[sku.pk])
                        stock_deallocate(allocations=[(sku.pk, wh.pk, n)], reference="p")
                        allocated[sku.pk] -= n
            except InsufficientStock:
                pass
            for level in StockLevel.objects.filter(warehouse=wh):
                assert level.on_hand >= 0 and level.allocated >= 0 and level.soft_reserved >= 0
                assert level.available >= 0
            assert ledger_mismatches([s.pk for s in skus]) == []
