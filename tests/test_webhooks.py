"""Outbound webhooks against a real HTTP subscriber on loopback: signed posts,
retries with backoff while the subscriber is down, in-order delivery once it
recovers, giving up and replay, and the staff API's checks."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.conf import settings
from django.utils import timezone

from inventory.operations.stock import stock_adjust
from oms.actors import Actor
from oms.models import OutboxEvent
from oms.models_webhooks import WebhookDelivery, WebhookSubscription
from oms.outbox import dispatch_pending, emit
from oms.webhook_tasks import send_webhooks
from oms.webhooks import webhook_deliveries_send, webhook_fan_out
from tests.factories import order_payload

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-tests-only-0123456789"


class Receiver:
    """A real HTTP server in a thread. It answers `fail_status` (e.g. 500)
    while that is set, 200 otherwise, and records every post it gets."""

    def __init__(self) -> None:
        self.posts: list[tuple[Message, bytes]] = []
        self.fail_status: int | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append((self.headers, body))  # header names are case-insensitive
                receiver.before_answer(self.headers)
                try:
                    self.send_response(receiver.fail_status or 200)
                    self.end_headers()
                    self.wfile.write(b"down" if receiver.fail_status else b"ok")
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def event_ids(self) -> list[str]:
        return [headers["X-OMS-Event-Id"] for headers, _ in self.posts]

    def before_answer(self, headers: Message) -> None:
        """Called with each post's headers before it is answered (a slow subscriber waits here)."""

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def other_receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def stock(sku, warehouse):
    dispatch_pending()  # whatever the fixtures emitted goes before any subscription exists
    return sku, warehouse


def subscribe(staff_api, url: str, event_types: list[str], **extra) -> dict:
    response = staff_api.post(
        "/api/v1/webhooks/subscriptions/",
        {"name": "ERP", "url": url, "event_types": event_types, **extra},
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()


def adjust(stock, quantity: int) -> None:
    sku, warehouse = stock
    stock_adjust(
        warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=quantity, reason="found", actor=Actor.system()
    )


def make_due() -> None:
    """Skip the backoff wait."""
    WebhookDelivery.objects.filter(status="pending").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def wait_seconds(delivery: WebhookDelivery) -> float:
    delivery.refresh_from_db()
    return (delivery.next_attempt_at - timezone.now()).total_seconds()


def test_a_delivery_is_signed_and_carries_the_event(staff_api, receiver, stock):
    sub = subscribe(staff_api, receiver.url, ["stock.changed"], secret=SECRET)
    adjust(stock, 5)
    dispatch_pending()

    assert send_webhooks() == 1  # the Celery task
    [(headers, body)] = receiver.posts
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-OMS-Signature"], expected)
    assert headers["Content-Type"] == "application/json"
    assert headers["X-OMS-Event"] == "stock.changed"
    payload = json.loads(body)
    event = OutboxEvent.objects.get(topic="inventory.stock_adjusted")
    assert payload["id"] == headers["X-OMS-Event-Id"] == f"evt_{event.pk}"
    assert payload["type"] == "stock.changed"
    assert payload["created_at"]
    [line] = payload["data"]["lines"]
    assert line == {
        "sku": stock[0].code,
        "sku_id": stock[0].pk,
        "change": 5,
        "on_hand": 105,
        "allocated": 0,
        "available": 105,
    }
    assert payload["data"]["warehouse"] == stock[1].code

    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription_id, delivery.status, delivery.attempts) == (sub["id"], "delivered", 1)
    assert delivery.last_status_code == 200 and delivery.delivered_at is not None
    assert webhook_deliveries_send() == 0  # delivered once, not again


def test_a_failing_subscriber_is_retried_with_backoff_and_gets_its_events_in_order(
    staff_api, receiver, other_receiver, stock
):
    subscribe(staff_api, receiver.url, ["stock.changed"])
    subscribe(staff_api, other_receiver.url, ["stock.changed"])
    receiver.fail_status = 500
    for quantity in (1, 2, 3):
        adjust(stock, quantity)
    dispatch_pending()
    event_ids = [
        f"evt_{pk}"
        for pk in OutboxEvent.objects.filter(topic="inventory.stock_adjusted")
        .values_list("pk", flat=True)
        .order_by("pk")
    ]

    assert webhook_deliveries_send() == 3  # the healthy subscriber is not held up
    assert other_receiver.event_ids() == event_ids
    # The failing one got only its oldest event; the others wait behind it.
    assert receiver.event_ids() == event_ids[:1]
    mine = WebhookDelivery.objects.filter(subscription__url=receiver.url).order_by("event_id")
    head = mine[0]
    assert [d.attempts for d in mine] == [1, 0, 0]
    assert head.last_status_code == 500 and "HTTP 500" in head.last_error
    assert 28 <= wait_seconds(head) <= 30

    webhook_deliveries_send()  # not due yet: nothing is sent
    assert len(receiver.posts) == 1

    make_due()
    webhook_deliveries_send()
    assert receiver.event_ids() == event_ids[:1] * 2
    assert 58 <= wait_seconds(head) <= 60  # the wait doubles
    make_due()
    webhook_deliveries_send()
    assert 118 <= wait_seconds(head) <= 120

    receiver.fail_status = None  # back up
    make_due()
    assert webhook_deliveries_send() == 3
    assert receiver.event_ids() == event_ids[:1] * 4 + event_ids[1:]
    assert [json.loads(body)["data"]["lines"][0]["change"] for _, body in receiver.posts[3:]] == [1, 2, 3]
    assert set(mine.values_list("status", flat=True)) == {"delivered"}


def test_gives_up_after_the_maximum_attempts_and_replay_sends_it_again(staff_api, receiver, stock, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    subscribe(staff_api, receiver.url, ["stock.changed"])
    receiver.fail_status = 503
    adjust(stock, 1)
    adjust(stock, 2)
    dispatch_pending()
    first, second = WebhookDelivery.objects.order_by("event_id")

    webhook_deliveries_send()
    make_due()
    webhook_deliveries_send()  # first fails for good; the next in line is tried at once
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts) == ("failed", 2)
    assert (second.status, second.attempts) == ("pending", 1)

    receiver.fail_status = None
    make_due()
    assert webhook_deliveries_send() == 1
    assert receiver.event_ids()[-1] == second.payload["id"]

    failed = staff_api.get("/api/v1/webhooks/deliveries/", {"status": "failed"}).json()
    assert [d["id"] for d in failed["results"]] == [first.pk]

    response = staff_api.post(f"/api/v1/webhooks/deliveries/{first.pk}/replay/")
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["attempts"]) == ("pending", 0)
    assert webhook_deliveries_send() == 1
    assert receiver.event_ids()[-1] == first.payload["id"]
    first.refresh_from_db()
    assert first.status == "delivered"

    again = staff_api.post(f"/api/v1/webhooks/deliveries/{first.pk}/replay/")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"
    assert staff_api.post("/api/v1/webhooks/deliveries/999999/replay/").status_code == 404


def test_an_unreachable_subscriber_is_a_failed_attempt_not_a_crash(staff_api, stock):
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subscribe(staff_api, f"http://127.0.0.1:{port}/hooks", ["stock.changed"])
    adjust(stock, 1)
    dispatch_pending()
    assert webhook_deliveries_send() == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert "refused" in delivery.last_error.lower()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://erp.example.com/hooks"}, "url"),
        ({"event_types": ["order.teleported"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"secret": "short"}, "secret"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_subscription_is_a_400_naming_the_field(staff_api, body, field):
    data = {"name": "CRM", "url": "https://crm.example.com/hooks", "event_types": ["order.placed"], **body}
    response = staff_api.post("/api/v1/webhooks/subscriptions/", data, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not WebhookSubscription.objects.exists()


def test_subscription_api_shows_the_secret_once_and_is_staff_only(staff_api, api):
    created = subscribe(staff_api, "https://crm.example.com/hooks", ["order.placed", "order.shipped"])
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    url = f"/api/v1/webhooks/subscriptions/{created['id']}/"
    assert "secret" not in staff_api.get(url).json()
    assert all("secret" not in s for s in staff_api.get("/api/v1/webhooks/subscriptions/").json()["results"])

    patched = staff_api.patch(url, {"event_types": ["order.refunded"], "is_active": False}, format="json")
    assert patched.status_code == 200, patched.content
    assert (patched.json()["event_types"], patched.json()["is_active"]) == (["order.refunded"], False)
    bad = staff_api.patch(url, {"event_types": ["nope"]}, format="json")
    assert bad.status_code == 400 and "event_types" in bad.json()["error"]["fields"]
    assert WebhookSubscription.objects.get().event_types == ["order.refunded"]

    assert api.get("/api/v1/webhooks/subscriptions/").status_code == 403  # a channel key
    assert api.get("/api/v1/webhooks/deliveries/").status_code == 403
    assert staff_api.delete(url).status_code == 204
    assert staff_api.get(url).status_code == 404


def test_fan_out_is_idempotent_and_only_for_active_subscribers_of_the_type(staff_api, stock):
    wanted = subscribe(staff_api, "https://erp.example.com/a", ["stock.changed"])
    subscribe(staff_api, "https://erp.example.com/b", ["order.placed"])
    subscribe(staff_api, "https://erp.example.com/c", ["stock.changed"], is_active=False)
    adjust(stock, 4)
    event = OutboxEvent.objects.get(topic="inventory.stock_adjusted")
    webhook_fan_out(event)
    webhook_fan_out(event)  # a handler re-run after a crash
    dispatch_pending()  # and through the outbox
    delivery = WebhookDelivery.objects.get()
    assert (delivery.subscription_id, delivery.event_type) == (wanted["id"], "stock.changed")

    # Only a return that was received is order.returned; other status changes are not public.
    subscribe(staff_api, "https://erp.example.com/d", ["order.returned"])
    assert webhook_fan_out(emit("return.status_changed", {"return_id": 1, "status": "authorized"})) == 0
    assert webhook_fan_out(emit("return.status_changed", {"return_id": 1, "status": "received"})) == 1
    assert WebhookDelivery.objects.filter(event_type="order.returned").count() == 1


def test_a_placed_order_reaches_its_subscriber_with_the_order_read_at_fan_out(staff_api, api, receiver, sku):
    dispatch_pending()
    subscribe(staff_api, receiver.url, ["order.placed"])
    response = api.post("/api/v1/orders/", order_payload(sku.code, 2), format="json")
    assert response.status_code == 201, response.content
    dispatch_pending()
    assert webhook_deliveries_send() == 1
    [(headers, body)] = receiver.posts
    data = json.loads(body)["data"]
    assert headers["X-OMS-Event"] == "order.placed"
    assert data["order_id"] == response.json()["id"]
    assert data["grand_total"] == response.json()["grand_total"]
    assert [(line["sku"], line["quantity"]) for line in data["lines"]] == [(sku.code, 2)]


def test_beat_runs_the_sender():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == send_webhooks.name)
    assert entry["schedule"] > 0


def test_admin_adds_a_subscription_showing_its_secret_once_and_replays_failed_deliveries(admin_client):
    add = "/admin/oms/webhooksubscription/add/"
    assert admin_client.get(add).status_code == 200
    bad = admin_client.post(
        add, {"name": "ERP", "url": "ftp://erp.example.com", "event_types": ["order.placed"]}
    )
    assert bad.status_code == 200 and not WebhookSubscription.objects.exists()  # the form shows the error

    response = admin_client.post(
        add,
        {
            "name": "ERP",
            "url": "https://erp.example.com/hooks",
            "event_types": ["order.placed"],
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    sub = WebhookSubscription.objects.get()
    assert sub.secret.startswith("whsec_") and sub.secret in response.content.decode()
    assert (
        sub.secret
        not in admin_client.get(f"/admin/oms/webhooksubscription/{sub.pk}/change/").content.decode()
    )

    failed = WebhookDelivery.objects.create(
        subscription=sub,
        event_id=1,
        event_type="order.placed",
        payload={"id": "evt_1"},
        status="failed",
        attempts=10,
        next_attempt_at=timezone.now(),
    )
    assert admin_client.get("/admin/oms/webhookdelivery/").status_code == 200
    assert admin_client.get(f"/admin/oms/webhookdelivery/{failed.pk}/change/").status_code == 200
    admin_client.post(
        "/admin/oms/webhookdelivery/", {"action": "replay", "_selected_action": [failed.pk]}, follow=True
    )
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == ("pending", 0)
