"""Waves: the most urgent released shipments of one carrier and due day,
picked zone by zone under one wave, opened by release, completed when its
lists are done."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from django.utils import timezone

from fulfillment.documents import wave_documents_pdf
from fulfillment.models import FulfillmentOrder, PickList, Wave
from fulfillment.picking import (
    pick_list_cancel,
    pick_scan,
    pick_short,
    wave_cancel,
    wave_create,
    wave_release,
)
from oms.errors import Conflict, InvalidInput, InvalidTransition
from orders.models import Order

from .conftest import make_carrier
from .picking_world import SYSTEM, build_world, status_of, walk

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status


@pytest.fixture
def w(channel, warehouse):
    return build_world(channel, warehouse)


@pytest.fixture
def services(carrier):
    other = make_carrier("zip")
    return {
        "acme": carrier.services.get(code="ground"),
        "acme-express": carrier.services.get(code="express"),
        "zip": other.services.get(code="ground"),
    }


def scan(pick_list, bin_code, sku, quantity=1):
    return pick_scan(
        pick_list_id=pick_list.pk, bin=bin_code, barcode=sku.barcode, quantity=quantity, actor=SYSTEM
    )


def members(wave) -> set[int]:
    return set(FulfillmentOrder.objects.filter(wave=wave).values_list("pk", flat=True))


def test_a_wave_groups_one_carriers_shipments_due_by_a_day(w, services):
    acme_tue = w.shipment((w.mug, 1), service_id=services["acme"].pk, ship_by=date(2030, 1, 1))
    acme_wed = w.shipment((w.book, 1), service_id=services["acme-express"].pk, ship_by=date(2030, 1, 2))
    w.shipment((w.mug, 1), service_id=services["acme"].pk, ship_by=date(2030, 1, 3))  # due later
    w.shipment((w.mug, 1), service_id=services["zip"].pk, ship_by=date(2030, 1, 1))  # other carrier
    w.shipment((w.mug, 1), ship_by=date(2030, 1, 1))  # no carrier yet

    wave = wave_create(
        warehouse_id=w.warehouse.pk,
        carrier_id=services["acme"].carrier_id,
        ship_by=date(2030, 1, 2),
        actor=SYSTEM,
    )

    assert members(wave) == {acme_tue.pk, acme_wed.pk}
    assert wave.status == Wave.Status.PLANNED and wave.carrier_id == services["acme"].carrier_id
    assert wave.consolidation_point == f"CONS-W{wave.pk:06d}"
    # The earliest cut-off: ground (17:00) on the 1st before express (16:00) on the 2nd.
    assert wave.cutoff_at == timezone.make_aware(datetime.combine(date(2030, 1, 1), time(17, 0)))
    lists = list(wave.pick_lists.order_by("id"))
    assert [(pl.mode, pl.zone.code) for pl in lists] == [(PickList.Mode.WAVE, "A"), (PickList.Mode.WAVE, "B")]
    assert walk(lists[0]) == [(1, "A-02", w.mug.code, 1, 1)]
    assert walk(lists[1]) == [(1, "B-01", w.book.code, 1, 2)]
    assert status_of(acme_tue) == Status.PICKING
    assert Order.objects.get(pk=acme_tue.order_id).status == Order.Status.FULFILLING


def test_a_wave_takes_the_highest_priority_then_the_earliest_due(w, services):
    fos = [w.shipment((w.mug, 1), ship_by=date(2030, 1, d)) for d in (3, 1, 2)]
    vip = w.shipment((w.mug, 1), ship_by=date(2030, 1, 9))
    FulfillmentOrder.objects.filter(pk=vip.pk).update(priority=9)
    wave = wave_create(warehouse_id=w.warehouse.pk, max_orders=3, actor=SYSTEM, consolidation_point="DOCK 4")
    assert members(wave) == {vip.pk, fos[1].pk, fos[2].pk}
    [zone_a] = wave.pick_lists.all()
    slots = {ln.fulfillment_line.fulfillment_order_id: ln.tote_slot for ln in zone_a.lines.all()}
    assert slots == {vip.pk: 1, fos[1].pk: 2, fos[2].pk: 3}
    assert wave.consolidation_point == "DOCK 4" and wave.carrier is None and wave.cutoff_at is None
    second = wave_create(warehouse_id=w.warehouse.pk, actor=SYSTEM)
    assert members(second) == {fos[0].pk}  # what the first wave left
    with pytest.raises(Conflict) as exc:
        wave_create(warehouse_id=w.warehouse.pk, actor=SYSTEM)
    assert exc.value.code == "nothing_to_pick"


def test_a_wave_is_picked_only_once_released_and_completes_with_its_lists(w):
    fo = w.shipment((w.mug, 1), (w.book, 2))
    wave = wave_create(warehouse_id=w.warehouse.pk, actor=SYSTEM)
    zone_a, zone_b = wave.pick_lists.order_by("id")
    with pytest.raises(Conflict) as exc:
        scan(zone_a, "A-02", w.mug)
    assert exc.value.code == "wave_not_released"

    released = wave_release(wave_id=wave.pk, actor=SYSTEM)
    assert released.status == Wave.Status.RELEASED and released.released_at
    with pytest.raises(InvalidTransition):
        wave_release(wave_id=wave.pk, actor=SYSTEM)

    scan(zone_a, "A-02", w.mug)
    wave.refresh_from_db()
    assert wave.status == Wave.Status.RELEASED  # zone B is still being picked
    scan(zone_b, "B-01", w.book)
    pick_short(pick_line_id=zone_b.lines.get().pk, quantity=1, actor=SYSTEM)
    wave.refresh_from_db()
    assert wave.status == Wave.Status.COMPLETED and wave.completed_at
    assert status_of(fo) == Status.PICKING
    assert wave_documents_pdf(wave).startswith(b"%PDF")


def test_cancelling_a_wave_gives_its_shipments_back(w):
    fos = [w.shipment((w.mug, 1)), w.shipment((w.pen, 1), (w.book, 1))]
    wave = wave_create(warehouse_id=w.warehouse.pk, actor=SYSTEM)
    cancelled = wave_cancel(wave_id=wave.pk, actor=SYSTEM)
    assert cancelled.status == Wave.Status.CANCELLED
    assert set(wave.pick_lists.values_list("status", flat=True)) == {PickList.Status.CANCELLED}
    assert [status_of(fo) for fo in fos] == [Status.RELEASED, Status.RELEASED]
    assert not members(wave)
    with pytest.raises(InvalidTransition):
        wave_cancel(wave_id=wave.pk, actor=SYSTEM)
    assert members(wave_create(warehouse_id=w.warehouse.pk, actor=SYSTEM)) == {fo.pk for fo in fos}


def test_a_wave_whose_lists_are_all_cancelled_is_cancelled(w):
    w.shipment((w.mug, 1))
    wave = wave_create(warehouse_id=w.warehouse.pk, actor=SYSTEM)
    wave_release(wave_id=wave.pk, actor=SYSTEM)
    [only] = wave.pick_lists.all()
    pick_list_cancel(pick_list_id=only.pk, actor=SYSTEM)
    wave.refresh_from_db()
    assert wave.status == Wave.Status.CANCELLED


def test_wave_bad_input(w):
    w.shipment((w.mug, 1))
    for kwargs, field in [
        ({"carrier_id": 999999}, "carrier"),
        ({"max_orders": 0}, "max_orders"),
        ({"max_orders": 61}, "max_orders"),
        ({"warehouse_id": 999999}, "warehouse"),
        ({"consolidation_point": "x" * 41}, "consolidation_point"),
    ]:
        with pytest.raises(InvalidInput) as exc:
            wave_create(**{"warehouse_id": w.warehouse.pk, "actor": SYSTEM, **kwargs})
        assert field in exc.value.fields
    assert not Wave.objects.exists() and not PickList.objects.exists()
