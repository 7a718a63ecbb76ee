"""Shipments API and admin: list (filtered, paginated, constant queries),
detail, ship and collect over HTTP; the admin's "handed to carrier" action."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment.models import FulfillmentOrder
from fulfillment.shipping.selectors import tracking_token
from inventory.models import Warehouse
from tests.factories import WarehouseFactory, sku_in_stock

from .conftest import place_order, release_whole_order
from .shipping_world import pack, shipped_events

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status
LIST = "/api/v1/fulfillment/shipments/"


@pytest.fixture
def book(channel, warehouse, carrier, boxes, materials):
    return sku_in_stock(
        channel=channel, warehouse=warehouse, quantity=40, length_mm=200, width_mm=150, height_mm=30
    )


def packed_shipment(channel, book, carrier, qty: int = 1) -> FulfillmentOrder:
    order = place_order(channel, [(book.code, qty)])
    ground = carrier.services.get(code="ground").pk
    return pack(release_whole_order(order, service_id=ground, promised_delivery=date(2031, 5, 2)))


def test_ship_over_the_api_then_twice_is_409(staff_api, api, channel, book, carrier):
    fo = packed_shipment(channel, book, carrier, qty=2)
    assert api.post(f"{LIST}{fo.pk}/ship/").status_code == 403  # channels cannot
    r = staff_api.post(f"{LIST}{fo.pk}/ship/")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["status"] == "shipped" and body["shipped_at"]
    assert body["tracking_url"] == f"https://track.example.com/acme/{fo.tracking_number}"
    assert body["public_tracking_url"].endswith(f"/track/{tracking_token(fo)}/")
    assert [(ln["quantity"], ln["picked"], ln["packed"], ln["short"]) for ln in body["lines"]] == [
        (2, 2, 2, 0)
    ]
    assert body["events"][-1]["kind"] == "shipped" and body["events"][-1]["user"] == "staff"
    assert (body["carrier"], body["service"], body["units"]) == ("acme", "ground", 2)
    r = staff_api.post(f"{LIST}{fo.pk}/ship/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_shipped"
    assert len(shipped_events()) == 1
    assert staff_api.post(f"{LIST}999999/ship/").status_code == 404


def test_collect_over_the_api(staff_api, channel, carrier, boxes, materials):
    store = WarehouseFactory(kind=Warehouse.Kind.STORE, allows_pickup=True)
    sku = sku_in_stock(channel=channel, warehouse=store, quantity=2, length_mm=100, width_mm=80, height_mm=40)
    fo = pack(release_whole_order(place_order(channel, [(sku.code, 1)]), method="pickup"))
    r = staff_api.post(f"{LIST}{fo.pk}/ship/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "pickup_not_shipped"
    r = staff_api.post(f"{LIST}{fo.pk}/collect/")
    assert r.status_code == 200 and r.json()["status"] == "delivered"
    r = staff_api.post(f"{LIST}{fo.pk}/collect/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_collected"


def test_detail_and_404(staff_api, channel, book, carrier):
    fo = packed_shipment(channel, book, carrier)
    r = staff_api.get(f"{LIST}{fo.pk}/")
    assert r.status_code == 200
    body = r.json()
    assert body["shipment"] == fo.number and body["status"] == "packed"
    assert body["decision_id"] is None and body["shipping_cost_currency"] == "USD"
    assert body["promised_delivery"] == "2031-05-02" and body["tracking"] == []
    assert staff_api.get(f"{LIST}999999/").status_code == 404


def test_list_filters_and_pagination(staff_api, channel, book, carrier):
    a = packed_shipment(channel, book, carrier)
    b = packed_shipment(channel, book, carrier)
    staff_api.post(f"{LIST}{a.pk}/ship/")

    def ids(**params):
        r = staff_api.get(LIST, params)
        assert r.status_code == 200, r.json()
        return [row["id"] for row in r.json()["results"]]

    assert ids() == [b.pk, a.pk]
    assert ids(status="shipped") == [a.pk]
    assert ids(status="packed,shipped") == [b.pk, a.pk]
    assert ids(order=b.order_id) == [b.pk]
    assert ids(warehouse=a.warehouse.code, carrier="acme") == [b.pk, a.pk]
    assert ids(carrier="nobody") == []
    assert ids(tracking_number=b.tracking_number.lower()) == [b.pk]
    assert ids(method="pickup") == []
    page = staff_api.get(LIST, {"page_size": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    for params, field in (
        ({"status": "lost"}, "status"),
        ({"order": "x"}, "order"),
        ({"method": "x"}, "method"),
    ):
        r = staff_api.get(LIST, params)
        assert r.status_code == 400 and field in r.json()["error"]["fields"]


def test_list_queries_do_not_grow_with_rows(staff_api, channel, book, carrier):
    packed_shipment(channel, book, carrier)
    with CaptureQueriesContext(connection) as before:
        assert staff_api.get(LIST).status_code == 200
    for _ in range(3):
        packed_shipment(channel, book, carrier)
    with CaptureQueriesContext(connection) as after:
        assert len(staff_api.get(LIST).json()["results"]) == 4
    assert len(after.captured_queries) == len(before.captured_queries) <= 4


def test_admin_action_hands_over_and_reports_failures(admin_client, channel, book, carrier):
    ready = packed_shipment(channel, book, carrier)
    not_packed = release_whole_order(place_order(channel, [(book.code, 1)]))
    url = reverse("admin:fulfillment_fulfillmentorder_changelist")
    r = admin_client.post(
        url,
        {"action": "mark_shipped", ACTION_CHECKBOX_NAME: [ready.pk, not_packed.pk]},
        follow=True,
    )
    assert r.status_code == 200
    texts = [str(m) for m in r.context["messages"]]
    assert "1 shipment(s) handed to the carrier." in texts
    assert any(t.startswith(f"{not_packed.number}: Shipment {not_packed.number} is released") for t in texts)
    ready.refresh_from_db()
    not_packed.refresh_from_db()
    assert (ready.status, not_packed.status) == (Status.SHIPPED, Status.RELEASED)


def test_admin_search_by_shipment_order_and_tracking_number(admin_client, channel, book, carrier):
    fo = packed_shipment(channel, book, carrier)
    other = packed_shipment(channel, book, carrier)
    url = reverse("admin:fulfillment_fulfillmentorder_changelist")
    for term in (fo.number, fo.tracking_number, str(fo.order_id)):
        r = admin_client.get(url, {"q": term})
        assert r.status_code == 200
        assert [row.pk for row in r.context["cl"].result_list] == [fo.pk], term
    page = admin_client.get(reverse("admin:fulfillment_fulfillmentorder_change", args=[other.pk]))
    assert page.status_code == 200 and other.tracking_number in page.content.decode()
