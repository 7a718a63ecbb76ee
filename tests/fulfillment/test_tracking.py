"""The carriers' tracking webhook (signed, idempotent, never moving a parcel
backwards) and the public tracking page (the parcel, never the person)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from fulfillment.models import FulfillmentOrder, TrackingEvent
from fulfillment.shipping import shipment_ship
from fulfillment.shipping.selectors import public_tracking_url, tracking_token
from oms.models import OutboxEvent
from orders.models import Order
from tests.factories import sku_in_stock

from .conftest import make_carrier, place_order, release_whole_order
from .shipping_world import STAFF, pack, post_tracking, scan, split_order

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status
T0 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def book(channel, warehouse, carrier, boxes, materials):
    return sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=20,
        length_mm=200,
        width_mm=150,
        height_mm=30,
        weight_grams=300,
    )


def shipped(order, carrier, *, ship=True, **kwargs) -> FulfillmentOrder:
    fo = pack(release_whole_order(order, service_id=carrier.services.get(code="ground").pk, **kwargs))
    if ship:
        fo = shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    return fo


@pytest.fixture
def parcel(channel, book, carrier):
    order = place_order(channel, [(book.code, 1)], phone="+1 212 555 0100", postal_code="10118")
    return shipped(order, carrier, promised_delivery=date(2031, 3, 7))


def stored(fo) -> list[tuple[str, str]]:
    return list(fo.tracking.order_by("occurred_at", "id").values_list("carrier_event_id", "status"))


# --- Webhook ---------------------------------------------------------------------------


def test_signed_scans_are_stored_and_move_the_parcel(client, carrier, parcel):
    tn = parcel.tracking_number
    r = post_tracking(
        client,
        carrier,
        {
            "events": [
                scan("e1", tn, "info", T0, description="Label scanned"),
                scan("e2", tn, "in_transit", T0 + timedelta(hours=5), location="Edison, NJ"),
            ]
        },
    )
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["received"], body["stored"], body["duplicates"], body["unknown"]) == (2, 2, 0, [])
    assert body["moved"] == [{"tracking_number": tn, "from": "shipped", "to": "in_transit"}]
    parcel.refresh_from_db()
    assert parcel.status == Status.IN_TRANSIT
    assert stored(parcel) == [("e1", "info"), ("e2", "in_transit")]
    assert parcel.events.get(kind="tracking").message == "Acme: In transit at Edison, NJ"


@pytest.mark.parametrize(
    "signature",
    ["", "sha256=" + "0" * 64, "not-hex", "sha256=deadbeef"],
    ids=["none", "zeros", "junk", "short"],
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(client, carrier, parcel, signature):
    payload = {"events": [scan("e1", parcel.tracking_number, "delivered", T0)]}
    r = post_tracking(client, carrier, payload, signature=signature)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_signature"
    assert not TrackingEvent.objects.exists()
    parcel.refresh_from_db()
    assert parcel.status == Status.SHIPPED


def test_another_carriers_secret_does_not_sign(client, carrier, parcel):
    payload = {"events": [scan("e1", parcel.tracking_number, "delivered", T0)]}
    r = post_tracking(client, carrier, payload, secret="someone-elses-secret")
    assert r.status_code == 401 and not TrackingEvent.objects.exists()


AT = "2031-03-03T09:00:00Z"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{not json", "body"),
        (b"\xff\xfe", "body"),
        ({"evts": []}, "events"),
        ({"events": ["x"]}, "events[0]"),
        ({"events": [{"id": "e1", "status": "in_transit", "occurred_at": AT}]}, "events[0].tracking_number"),
        ({"events": [{"id": "e1", "tracking_number": "X", "status": "lost", "occurred_at": AT}]},
         "events[0].status"),
        ({"events": [{"id": "e1", "tracking_number": "X", "status": "info", "occurred_at": "today"}]},
         "events[0].occurred_at"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_refused_naming_the_field(client, carrier, parcel, payload, field):
    good = scan("ok", parcel.tracking_number, "in_transit", T0)
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        payload = {"events": [good, *payload["events"]]}
        field = field.replace("events[0]", "events[1]")
    r = post_tracking(client, carrier, payload)
    assert r.status_code == 400, r.content
    assert field in r.json()["error"]["fields"], r.json()
    assert not TrackingEvent.objects.exists()  # not even the good event before the bad one


def test_a_repeated_delivery_is_stored_once(client, carrier, parcel):
    payload = {"events": [scan("e1", parcel.tracking_number, "in_transit", T0)] * 2}
    first = post_tracking(client, carrier, payload).json()
    again = post_tracking(client, carrier, payload).json()
    assert (first["stored"], first["duplicates"]) == (1, 1)
    assert (again["stored"], again["duplicates"], again["moved"]) == (0, 2, [])
    assert stored(parcel) == [("e1", "in_transit")]
    assert parcel.events.filter(kind="tracking").count() == 1


def test_a_late_scan_is_kept_but_never_moves_the_parcel_back(client, carrier, parcel):
    tn = parcel.tracking_number
    post_tracking(client, carrier, {"events": [scan("e3", tn, "delivered", T0 + timedelta(days=2))]})
    parcel.refresh_from_db()
    assert parcel.status == Status.DELIVERED
    r = post_tracking(
        client,
        carrier,
        {
            "events": [
                scan("e1", tn, "in_transit", T0),
                scan("e2", tn, "out_for_delivery", T0 + timedelta(days=1)),
            ]
        },
    )
    assert r.json()["stored"] == 2 and r.json()["moved"] == []
    parcel.refresh_from_db()
    assert parcel.status == Status.DELIVERED
    assert [s for _, s in stored(parcel)] == ["in_transit", "out_for_delivery", "delivered"]


def test_the_newest_scan_wins_within_a_batch(client, carrier, parcel):
    tn = parcel.tracking_number
    r = post_tracking(
        client,
        carrier,
        {
            "events": [
                scan("e2", tn, "out_for_delivery", T0 + timedelta(days=1)),
                scan("e1", tn, "in_transit", T0),
            ]
        },
    )
    assert r.json()["moved"] == [{"tracking_number": tn, "from": "shipped", "to": "out_for_delivery"}]
    # A later scan back at the depot (failed delivery attempt) is a real move.
    post_tracking(client, carrier, {"events": [scan("e4", tn, "exception", T0 + timedelta(days=1, hours=8))]})
    parcel.refresh_from_db()
    assert parcel.status == Status.EXCEPTION


def test_delivery_starts_the_post_sale_clock(client, carrier, parcel):
    delivered_at = T0 + timedelta(days=2, hours=3)
    r = post_tracking(
        client, carrier, {"events": [scan("d1", parcel.tracking_number, "delivered", delivered_at)]}
    )
    assert r.status_code == 200
    parcel.refresh_from_db()
    assert parcel.status == Status.DELIVERED and parcel.delivered_at == delivered_at
    order = Order.objects.get(pk=parcel.order_id)
    assert order.status == Order.Status.DELIVERED and order.delivered_at is not None
    assert OutboxEvent.objects.filter(topic="order.delivered", payload={"order_id": order.pk}).count() == 1
    post_tracking(
        client, carrier, {"events": [scan("d1", parcel.tracking_number, "delivered", delivered_at)]}
    )
    assert OutboxEvent.objects.filter(topic="order.delivered").count() == 1


def test_one_parcel_of_two_delivered_leaves_the_order_shipped(client, channel, book, carrier):
    order = place_order(channel, [(book.code, 2)])
    service = carrier.services.get(code="ground").pk
    first, second = split_order(order, [[(1, 1)], [(1, 1)]], service_id=service)
    for fo in (first, second):
        pack(fo)
        shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    first.refresh_from_db()
    post_tracking(client, carrier, {"events": [scan("d1", first.tracking_number, "delivered", T0)]})
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED and order.delivered_at is None
    assert not OutboxEvent.objects.filter(topic="order.delivered").exists()


def test_unknown_numbers_are_reported_and_the_rest_applied(client, carrier, parcel, channel, book):
    other = make_carrier("zoom", price_factor=Decimal("0.5"))  # cheaper: rating picks it
    theirs = shipped(place_order(channel, [(book.code, 1)]), other)
    assert theirs.service.carrier == other
    r = post_tracking(
        client,
        carrier,
        {
            "events": [
                scan("e1", "AC999", "in_transit", T0),
                scan("e2", parcel.tracking_number, "in_transit", T0),
                scan("e3", theirs.tracking_number, "delivered", T0),  # not this carrier's parcel
            ]
        },
    )
    assert r.status_code == 200
    assert r.json()["unknown"] == sorted(["AC999", theirs.tracking_number])
    assert r.json()["stored"] == 1
    theirs.refresh_from_db()
    assert theirs.status == Status.SHIPPED and not theirs.tracking.exists()


def test_scans_before_the_hand_over_wait(client, channel, book, carrier):
    packed = shipped(place_order(channel, [(book.code, 1)]), carrier, ship=False)
    r = post_tracking(client, carrier, {"events": [scan("e1", packed.tracking_number, "delivered", T0)]})
    assert r.json()["waiting"] == [packed.tracking_number] and r.json()["moved"] == []
    packed.refresh_from_db()
    assert packed.status == Status.PACKED and packed.tracking.count() == 1


def test_unknown_carrier_is_404(client, carrier, parcel):
    carrier.code = "nobody"
    r = post_tracking(client, carrier, {"events": []})
    assert r.status_code == 404


# --- Public tracking page ------------------------------------------------------------------


def test_public_page_shows_the_parcel_and_hides_the_person(client, carrier, parcel):
    tn = parcel.tracking_number
    post_tracking(
        client,
        carrier,
        {
            "events": [
                scan("e1", tn, "in_transit", T0, location="Edison, NJ"),
                scan("e2", tn, "out_for_delivery", T0 + timedelta(days=1), location="Manhattan, NY"),
            ]
        },
    )
    r = client.get(public_tracking_url(parcel))
    assert r.status_code == 200
    html = r.content.decode()
    for shown in (
        tn,
        parcel.number,
        "Acme",
        "Acme ground",
        "Out for delivery",
        "In transit",
        "Edison, NJ",
        "Manhattan, NY",
        "Friday 7 March 2031",
        "New York, US",
        "https://track.example.com/acme/",
    ):
        assert shown in html, shown
    assert html.index("Manhattan, NY") < html.index("Edison, NJ")  # newest first
    order = Order.objects.get(pk=parcel.order_id)
    for hidden in ("Ada", "Lovelace", "350 5th Ave", "5th Ave", "10118", "555 0100", order.email):
        assert hidden not in html, hidden
    assert "noindex" in r["X-Robots-Tag"]


def test_public_page_needs_the_signed_link_not_the_tracking_number(client, parcel):
    assert client.get(f"/track/{parcel.tracking_number}/").status_code == 404
    token = tracking_token(parcel)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    r = client.get(f"/track/{forged}/")
    assert r.status_code == 404
    assert "Tracking link not found" in r.content.decode()
    assert client.get("/track/" + "9" * 300 + "/").status_code == 404
    # A parcel that was given a new label gets a new link; the old one stops.
    old = public_tracking_url(parcel)
    FulfillmentOrder.objects.filter(pk=parcel.pk).update(tracking_number="ZZ000000001")
    assert client.get(old).status_code == 404
