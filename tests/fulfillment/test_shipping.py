"""Hand-over to the carrier (and collection in store): stock leaves, the order
follows, one outbox event carries the accounting hook, and nothing doubles
when a call is repeated."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from fulfillment.models import FulfillmentOrder
from fulfillment.shipping import pickup_collect, shipment_ship
from inventory.models import StockMovement, Warehouse
from oms.errors import Conflict, InvalidTransition
from oms.models import OutboxEvent
from orders.models import Order, OrderLine
from tests.factories import WarehouseFactory, sku_in_stock, stock_level, tax_rate

from .conftest import place_order, release_whole_order
from .shipping_world import STAFF, pack, reconcile_problems, shipped_events, split_order

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status


@pytest.fixture
def skus(channel, warehouse):
    book = sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=20,
        price="12.50",
        length_mm=200,
        width_mm=150,
        height_mm=30,
        weight_grams=300,
        unit_cost=Decimal("5.10"),
    )
    mug = sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=20,
        price="7.99",
        length_mm=100,
        width_mm=80,
        height_mm=40,
        weight_grams=200,
        unit_cost=Decimal("2.25"),
    )
    return book, mug


@pytest.fixture
def world(skus, carrier, boxes, materials):
    return skus


def ground(carrier):
    return carrier.services.get(code="ground").pk


def test_ship_a_packed_shipment(channel, warehouse, world, carrier):
    book, mug = world
    order = place_order(channel, [(book.code, 2), (mug.code, 1)])
    fo = pack(release_whole_order(order, service_id=ground(carrier)))
    assert fo.status == Status.PACKED
    before = {s.pk: stock_level(s, warehouse) for s in (book, mug)}

    shipped = shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)

    assert shipped.status == Status.SHIPPED and shipped.shipped_at is not None
    for sku, qty in ((book, 2), (mug, 1)):
        level = stock_level(sku, warehouse)
        assert level.on_hand == before[sku.pk].on_hand - qty
        assert level.allocated == before[sku.pk].allocated - qty
    moves = StockMovement.objects.filter(kind=StockMovement.Kind.SHIPMENT, reference=f"shipment:{fo.pk}")
    assert sorted(moves.values_list("on_hand_delta", flat=True)) == [-2, -1]
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    assert [(ln.quantity_shipped, ln.quantity_allocated) for ln in order.lines.all()] == [(2, 0), (1, 0)]
    assert shipped.events.filter(kind="shipped").count() == 1
    assert reconcile_problems() == {}

    [event] = shipped_events()
    p = event.payload
    assert (p["order_id"], p["fulfillment_order_id"], p["warehouse_id"]) == (order.pk, fo.pk, warehouse.pk)
    assert (p["currency"], p["collected"], p["carrier"], p["service"]) == ("USD", False, "acme", "ground")
    assert p["tracking_number"] == shipped.tracking_number
    assert [(ln["sku_id"], ln["quantity"], ln["unit_price"], ln["unit_cost"]) for ln in p["lines"]] == [
        (book.pk, 2, "12.5000", "5.1000"),
        (mug.pk, 1, "7.9900", "2.2500"),
    ]
    assert Decimal(p["goods_value"]) == Decimal("32.99") == order.subtotal
    assert Decimal(p["shipping_charged"]) == order.shipping_total
    assert Decimal(p["total_charged"]) == order.grand_total
    assert p["completes_order"] is True
    assert Decimal(p["carrier_cost"]) == shipped.shipping_cost > 0


def test_shipping_twice_is_refused_and_changes_nothing(channel, warehouse, world, carrier):
    book, _ = world
    order = place_order(channel, [(book.code, 1)])
    fo = pack(release_whole_order(order, service_id=ground(carrier)))
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    level = stock_level(book, warehouse)
    with pytest.raises(Conflict) as exc:
        shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    assert exc.value.code == "already_shipped" and exc.value.status == 409
    assert stock_level(book, warehouse).on_hand == level.on_hand
    assert OrderLine.objects.get(order=order).quantity_shipped == 1
    assert len(shipped_events()) == 1
    assert reconcile_problems() == {}


def test_only_a_packed_parcel_can_be_handed_over(channel, warehouse, world, carrier):
    book, _ = world
    order = place_order(channel, [(book.code, 1)])
    fo = release_whole_order(order, service_id=ground(carrier))
    with pytest.raises(InvalidTransition, match="only a packed shipment"):
        shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    with pytest.raises(InvalidTransition) as exc:
        pickup_collect(fulfillment_order_id=fo.pk, actor=STAFF)
    assert exc.value.code == "not_a_pickup"
    assert stock_level(book, warehouse).on_hand == 20 and shipped_events() == []


def test_partial_shipments_then_the_rest(channel, warehouse, world, carrier):
    book, mug = world
    order = place_order(channel, [(book.code, 2), (mug.code, 3)])
    first, second = split_order(order, [[(1, 2), (2, 1)], [(2, 2)]], service_id=ground(carrier))
    pack(first)
    pack(second)
    shipment_ship(fulfillment_order_id=first.pk, actor=STAFF)
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_SHIPPED
    assert reconcile_problems() == {}
    shipment_ship(fulfillment_order_id=second.pk, actor=STAFF)
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    assert [ln.quantity_shipped for ln in order.lines.all()] == [2, 3]
    one, two = (e.payload for e in shipped_events())
    assert (one["completes_order"], two["completes_order"]) == (False, True)
    # The two slices add up to the order exactly.
    for key, total in (
        ("goods_value", order.subtotal - order.discount_total),
        ("shipping_charged", order.shipping_total),
        ("total_charged", order.grand_total),
    ):
        assert Decimal(one[key]) + Decimal(two[key]) == total, key
    assert reconcile_problems() == {}


def test_awkward_amounts_split_to_the_cent(channel, warehouse, carrier, boxes, materials):
    tax_rate("US", "0.08875", region="NY")
    pen = sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=10,
        price="3.33",
        length_mm=140,
        width_mm=20,
        height_mm=20,
        weight_grams=20,
    )
    order = place_order(channel, [(pen.code, 3)])
    fos = split_order(order, [[(1, 1)], [(1, 1)], [(1, 1)]], service_id=ground(carrier))
    for fo in fos:
        pack(fo)
        shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    payloads = [e.payload for e in shipped_events()]
    order.refresh_from_db()
    assert sum(Decimal(p["total_charged"]) for p in payloads) == order.grand_total
    assert sum(Decimal(p["line_tax"]) + Decimal(p["shipping_tax"]) for p in payloads) == order.tax_total
    assert [p["order_share"]["after"] for p in payloads] == ["1/3", "2/3", "1"]


def test_pickup_is_collected_in_store(channel, carrier, boxes, materials):
    store = WarehouseFactory(kind=Warehouse.Kind.STORE, allows_pickup=True)
    sku = sku_in_stock(channel=channel, warehouse=store, quantity=4, length_mm=100, width_mm=80, height_mm=40)
    order = place_order(channel, [(sku.code, 2)])
    assert order.warehouse_id == store.pk
    fo = pack(release_whole_order(order, method=FulfillmentOrder.Method.PICKUP))
    assert fo.status == Status.PACKED and fo.tracking_number is None
    with pytest.raises(InvalidTransition) as exc:
        shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    assert exc.value.code == "pickup_not_shipped"

    collected = pickup_collect(fulfillment_order_id=fo.pk, actor=STAFF)

    assert collected.status == Status.DELIVERED and collected.delivered_at and collected.shipped_at
    level = stock_level(sku, store)
    assert (level.on_hand, level.allocated) == (2, 0)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED and order.delivered_at is not None
    assert OutboxEvent.objects.filter(topic="order.delivered", payload__order_id=order.pk).count() == 1
    [event] = shipped_events()
    assert event.payload["collected"] is True and event.payload["carrier"] is None
    assert Decimal(event.payload["total_charged"]) == order.grand_total
    with pytest.raises(Conflict) as exc:
        pickup_collect(fulfillment_order_id=fo.pk, actor=STAFF)
    assert exc.value.code == "already_collected"
    assert len(shipped_events()) == 1 and stock_level(sku, store).on_hand == 2
    assert reconcile_problems() == {}


@pytest.mark.django_db(transaction=True)
def test_concurrent_hand_overs_ship_once(channel, warehouse, world, carrier):
    book, _ = world
    order = place_order(channel, [(book.code, 3)])
    fo = pack(release_whole_order(order, service_id=ground(carrier)))
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def hand_over() -> None:
        try:
            barrier.wait()
            shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
            outcomes.append("shipped")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=hand_over) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_shipped"] * 3 + ["shipped"]
    level = stock_level(book, warehouse)
    assert (level.on_hand, level.allocated) == (17, 0)
    assert OrderLine.objects.get(order=order).quantity_shipped == 3
    assert len(shipped_events()) == 1
    assert reconcile_problems() == {}
