"""Editing an order before it ships: re-priced, stock moved, re-routed, the
difference authorized; refused (changing nothing) once picking started, when
stock is short or when the card declines."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from fulfillment.edits import order_edit
from fulfillment.models import FulfillmentOrder
from fulfillment.services.lifecycle import fo_transition
from fulfillment.sourcing.services import order_source
from inventory.models import StockLevel
from inventory.services import stock_receive
from oms.actors import Actor
from oms.errors import Conflict, InsufficientStock, InvalidInput, PaymentDeclined
from oms.models import OutboxEvent, PostalCode
from orders.models import Order, OrderEvent, Payment
from tests.factories import WarehouseFactory, sku_in_stock, tax_rate

from .conftest import place_order
from .shipping_world import reconcile_problems

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("UTC"))  # a Wednesday morning, before cut-offs


@pytest.fixture(autouse=True)
def _wednesday_morning(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def sites(db, carrier):
    PostalCode.objects.create(
        country="US",
        postal_code="10118",
        place_name="New York",
        latitude=Decimal("40.749"),
        longitude=Decimal("-73.986"),
    )
    return {
        "NJ": WarehouseFactory(code="NJ"),
        "LA": WarehouseFactory(
            code="LA",
            city="Los Angeles",
            region="CA",
            latitude=Decimal("34.0522"),
            longitude=Decimal("-118.2437"),
        ),
    }


def stocked(channel, quantities: dict, price: str = "10.00"):
    sku = sku_in_stock(channel=channel, warehouse=next(iter(quantities)), quantity=0, price=price)
    for wh, qty in quantities.items():
        if qty:
            stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=qty, reference="test")
    return sku


def routed(channel, lines):
    order = place_order(channel, lines)
    order_source(order_id=order.pk, actor=SYSTEM)
    order.refresh_from_db()
    return order


def level(sku, wh) -> StockLevel:
    return StockLevel.objects.get(sku=sku, warehouse=wh)


def line(order, number=1):
    return order.lines.get(line_number=number)


def shipments(order):
    return [
        (fo.warehouse.code, sorted((ln.sku.code, ln.quantity) for ln in fo.lines.all()))
        for fo in order.fulfillment_orders.exclude(status=FulfillmentOrder.Status.CANCELLED).order_by("id")
    ]


def state(order, *skus_at):
    """Everything a refused edit must leave as it was."""
    order.refresh_from_db()
    return (
        order.grand_total,
        order.shipping_address,
        [(ln.sku_id, ln.quantity, ln.quantity_cancelled, ln.quantity_allocated) for ln in order.lines.all()],
        [(s.pk, w.code, level(s, w).allocated, level(s, w).soft_reserved) for s, w in skus_at],
        list(Payment.objects.filter(order=order).values_list("amount_authorized", "status")),
        order.events.filter(kind="edited").count(),
        shipments(order),
    )


def test_more_units_are_allocated_authorized_and_routed(channel, sites):
    sku = stocked(channel, {sites["NJ"]: 10})
    order = routed(channel, [(sku.code, 2)])
    assert order.grand_total == Decimal("25.00")  # 2 x 10 + 5 shipping

    edited = order_edit(
        order_id=order.pk, actor=SYSTEM, reason="customer wants four", set_quantities={line(order).pk: 4}
    )

    assert edited.grand_total == Decimal("45.00")
    assert line(order).quantity_allocated == 4 and level(sku, sites["NJ"]).allocated == 4
    payments = list(Payment.objects.filter(order=order).order_by("id"))
    assert [(p.amount_authorized, p.status) for p in payments] == [
        (Decimal("25.00"), "authorized"),
        (Decimal("20.00"), "authorized"),
    ]
    assert shipments(order) == [("NJ", [(sku.code, 4)])]
    event = order.events.get(kind="edited")
    assert event.data["reason"] == "customer wants four" and event.actor_type == "system"
    assert event.data["before"]["totals"]["grand_total"] == "25.00"
    assert event.data["after"]["lines"][0]["quantity"] == 4
    assert OutboxEvent.objects.filter(topic="order.edited", payload={"order_id": order.pk}).exists()
    assert reconcile_problems() == {}


def test_fewer_units_are_released_and_the_total_drops(channel, sites):
    sku = stocked(channel, {sites["NJ"]: 10})
    order = routed(channel, [(sku.code, 5)])

    edited = order_edit(
        order_id=order.pk, actor=SYSTEM, reason="too many", set_quantities={line(order).pk: 2}
    )

    assert edited.grand_total == Decimal("25.00")
    assert level(sku, sites["NJ"]).allocated == 2
    assert shipments(order) == [("NJ", [(sku.code, 2)])]
    # Nothing was captured: the original authorization stays and capture takes only what ships.
    assert list(Payment.objects.filter(order=order).values_list("status", flat=True)) == ["authorized"]
    assert reconcile_problems() == {}


def test_an_extra_authorization_a_later_edit_no_longer_needs_is_voided(channel, sites):
    sku = stocked(channel, {sites["NJ"]: 10})
    order = routed(channel, [(sku.code, 2)])
    order_edit(order_id=order.pk, actor=SYSTEM, reason="four", set_quantities={line(order).pk: 4})

    order_edit(order_id=order.pk, actor=SYSTEM, reason="back to two", set_quantities={line(order).pk: 2})

    assert list(Payment.objects.filter(order=order).order_by("id").values_list("status", flat=True)) == [
        "authorized",
        "voided",
    ]
    assert level(sku, sites["NJ"]).allocated == 2
    assert reconcile_problems() == {}


def test_lines_are_added_and_removed(channel, sites):
    shirt = stocked(channel, {sites["NJ"]: 10})
    mug = stocked(channel, {sites["NJ"]: 10}, price="3.00")
    cap = stocked(channel, {sites["NJ"]: 10}, price="7.00")
    order = routed(channel, [(shirt.code, 1), (mug.code, 2)])

    edited = order_edit(
        order_id=order.pk,
        actor=SYSTEM,
        reason="swap the mugs for a cap",
        add_lines=[(cap.code, 1)],
        remove_lines=[line(order, 2).pk],
    )

    assert edited.grand_total == Decimal("22.00")  # 10 + 7 + 5 shipping
    removed = line(order, 2)
    assert (removed.quantity_cancelled, removed.quantity_allocated, removed.line_total) == (2, 0, 0)
    assert line(order, 3).sku == cap and line(order, 3).quantity_allocated == 1
    assert (level(mug, sites["NJ"]).allocated, level(cap, sites["NJ"]).allocated) == (0, 1)
    assert shipments(order) == [("NJ", sorted([(shirt.code, 1), (cap.code, 1)]))]
    assert reconcile_problems() == {}

    with pytest.raises(InvalidInput) as exc:
        order_edit(
            order_id=order.pk, actor=SYSTEM, reason="x", remove_lines=[line(order).pk, line(order, 3).pk]
        )
    assert "remove" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        order_edit(order_id=order.pk, actor=SYSTEM, reason="x", add_lines=[("NOPE", 1)])
    assert "add[0].sku" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        order_edit(order_id=order.pk, actor=SYSTEM, reason="x", set_quantities={line(order).pk: 0})
    assert f"lines.{line(order).pk}" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        order_edit(order_id=order.pk, actor=SYSTEM, reason=" ", set_quantities={line(order).pk: 2})
    assert "reason" in exc.value.fields


def test_a_new_address_in_another_region_recomputes_tax_and_reroutes(channel, sites):
    tax_rate("US", "0.08875", "NY")
    tax_rate("US", "0.0725", "CA")
    sku = stocked(channel, {sites["NJ"]: 5, sites["LA"]: 5})
    order = routed(channel, [(sku.code, 2)])
    assert order.tax_total == Decimal("2.22") and shipments(order) == [("NJ", [(sku.code, 2)])]

    edited = order_edit(
        order_id=order.pk,
        actor=SYSTEM,
        reason="moved to LA",
        shipping_address={
            "name": "Ada Lovelace",
            "line1": "200 N Spring St",
            "city": "Los Angeles",
            "region": "CA",
            "postal_code": "90012",
            "country": "US",
            "latitude": "34.0537",
            "longitude": "-118.2428",
        },
    )

    assert edited.tax_total == Decimal("1.81") and edited.grand_total == Decimal("26.81")
    assert edited.ship_country == "US" and edited.shipping_address["region"] == "CA"
    assert shipments(order) == [("LA", [(sku.code, 2)])]
    assert (level(sku, sites["NJ"]).allocated, level(sku, sites["LA"]).allocated) == (0, 2)
    # The lower total needs no new authorization: the first one covers it.
    assert list(Payment.objects.filter(order=order).values_list("status", flat=True)) == ["authorized"]
    assert reconcile_problems() == {}


def test_refused_once_picking_started(channel, sites):
    sku = stocked(channel, {sites["NJ"]: 10})
    order = routed(channel, [(sku.code, 2)])
    fo = order.fulfillment_orders.get()
    fo_transition(fo, FulfillmentOrder.Status.PICKING, actor=SYSTEM)
    before = state(order, (sku, sites["NJ"]))

    with pytest.raises(Conflict) as exc:
        order_edit(order_id=order.pk, actor=SYSTEM, reason="late", set_quantities={line(order).pk: 3})

    assert fo.number in exc.value.message
    assert state(order, (sku, sites["NJ"])) == before
    assert reconcile_problems() == {}


def test_refused_when_stock_is_short_and_nothing_changes(channel, sites):
    sku = stocked(channel, {sites["NJ"]: 3, sites["LA"]: 2})
    order = routed(channel, [(sku.code, 2)])
    before = state(order, (sku, sites["NJ"]), (sku, sites["LA"]))

    with pytest.raises(InsufficientStock) as exc:
        order_edit(order_id=order.pk, actor=SYSTEM, reason="more", set_quantities={line(order).pk: 4})

    assert f"lines.{line(order).pk}" in exc.value.fields
    assert state(order, (sku, sites["NJ"]), (sku, sites["LA"])) == before
    assert reconcile_problems() == {}


def test_a_declined_card_changes_nothing(channel, sites):
    sku = stocked(channel, {sites["NJ"]: 10})
    order = routed(channel, [(sku.code, 2)])
    Payment.objects.filter(order=order).update(token="tok_test_visa_4242_forged0000000000000")
    before = state(order, (sku, sites["NJ"]))

    with pytest.raises(PaymentDeclined):
        order_edit(order_id=order.pk, actor=SYSTEM, reason="more", set_quantities={line(order).pk: 5})

    assert state(order, (sku, sites["NJ"])) == before
    assert reconcile_problems() == {}


def test_api_edits_and_maps_errors(channel, sites, api, staff_api):
    sku = stocked(channel, {sites["NJ"]: 10})
    order = routed(channel, [(sku.code, 1)])
    url = f"/api/v1/orders/{order.pk}/edit/"
    line_id = line(order).pk

    ok = staff_api.post(
        url, {"reason": "phone call", "lines": {str(line_id): 3}, "shipping_speed": "express"}, format="json"
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["grand_total"] == "35.00"
    assert Order.objects.get(pk=order.pk).shipping_speed == "express"
    event = OrderEvent.objects.get(order=order, kind="edited")
    assert event.actor_type == "staff" and event.actor_user.username == "staff"

    by_channel = api.post(url, {"reason": "web", "lines": {str(line_id): 2}}, format="json")
    assert by_channel.status_code == 200, by_channel.content

    bad = staff_api.post(url, {"reason": "x", "add": [{"sku": "NOPE", "quantity": 1}]}, format="json")
    assert bad.status_code == 400 and "add[0].sku" in bad.json()["error"]["fields"]
    missing = staff_api.post(url, {"lines": {str(line_id): 2}}, format="json")
    assert missing.status_code == 400 and "reason" in str(missing.json())
    short = staff_api.post(url, {"reason": "x", "lines": {str(line_id): 50}}, format="json")
    assert short.status_code == 409 and f"lines.{line_id}" in short.json()["error"]["fields"]

    Payment.objects.filter(order=order).update(token="tok_test_visa_4242_forged0000000000000")
    declined = staff_api.post(url, {"reason": "x", "lines": {str(line_id): 6}}, format="json")
    assert declined.status_code == 402

    fo = order.fulfillment_orders.exclude(status="cancelled").get()
    fo_transition(fo, FulfillmentOrder.Status.PICKING, actor=SYSTEM)
    started = staff_api.post(url, {"reason": "x", "lines": {str(line_id): 1}}, format="json")
    assert started.status_code == 409 and fo.number in started.json()["error"]["message"]
    assert reconcile_problems() == {}
