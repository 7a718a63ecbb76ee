"""A Celery worker killed (SIGKILL) in the middle of its work: every event is
delivered, and nothing that had succeeded before the kill is done again.

The kill lands at a known point, not after a sleep: the test holds a row lock
that the next handler needs, waits until the worker's session is seen
blocked on it, then kills; or a webhook subscriber holds its answer."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from oms.models import OutboxEvent
from oms.models_webhooks import WebhookDelivery
from oms.tasks import dispatch_outbox
from oms.webhook_tasks import send_webhooks
from oms.webhooks import webhook_subscription_create
from orders.models import Order
from tests.factories import order_payload

from .conftest import backend_alive, backends_waiting_on_a_lock, manage_reconcile, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

HANDLERS = ["email.order_confirmation", "fulfillment.source", "webhooks.fan_out"]


def expire_claims() -> None:
    """The dead worker's claims run out (CLAIM_SECONDS: two minutes of outbox,
    one of webhooks); skip that wait."""
    past = timezone.now() - timedelta(seconds=1)
    OutboxEvent.objects.filter(dispatched_at=None).exclude(claimed_until=None).update(claimed_until=past)
    WebhookDelivery.objects.filter(status="pending").exclude(claimed_until=None).update(claimed_until=past)


def kill_when_blocked(worker, what: str) -> int:
    """Kill the worker once its database session waits on the test's lock;
    returns that session's pid (it outlives the process until PostgreSQL
    notices the client is gone)."""
    (pid,) = worker.wait_for(what, backends_waiting_on_a_lock, timeout=30)
    worker.kill()
    return pid


def test_a_worker_killed_mid_dispatch_delivers_everything_once(
    broker, workers, smtp_server, receivers, side_connection, api, sku
):
    fast, slow = receivers(), receivers()
    for name, receiver in (("fast", fast), ("slow", slow)):
        webhook_subscription_create(name=name, url=receiver.url, event_types=["order.placed"])
    ids = []
    for n in range(3):
        response = api.post(
            "/api/v1/orders/", order_payload(sku.code, 1), format="json", HTTP_IDEMPOTENCY_KEY=f"kill-{n}"
        )
        assert response.status_code == 201, response.json()
        ids.append(response.json()["id"])
    events = {e.payload["order_id"]: e for e in OutboxEvent.objects.filter(topic="order.placed")}
    first, second, third = (events[i].pk for i in ids)
    slow.hold_ids = {f"evt_{first}"}
    slow.hold.set()

    # 1. Killed while the second event's last handler (sourcing) waits on the
    # order row: its e-mail and fan-out have succeeded by then.
    side_connection.execute("SELECT id FROM orders_order WHERE id = %s FOR UPDATE", [ids[1]])
    worker = workers.start()
    orphan = kill_when_blocked(worker, "the worker to block sourcing the second order")
    side_connection.rollback()
    wait_until("the killed worker's session to end", lambda: not backend_alive(orphan), timeout=15)

    state = {e.pk: e for e in OutboxEvent.objects.filter(pk__in=[first, second, third])}
    assert state[first].dispatched_at is not None
    assert sorted(state[second].done_handlers) == ["email.order_confirmation", "webhooks.fan_out"]
    assert state[second].dispatched_at is None
    assert (state[third].done_handlers, state[third].dispatched_at) == ([], None)
    assert len(smtp_server.messages) == 2

    # 2. Another worker takes over; the sender it runs is killed while the
    # slow subscriber sits on its first post and the fast one has answered.
    expire_claims()
    worker = workers.start()
    dispatch_outbox.delay()
    drained = lambda: not OutboxEvent.objects.filter(dispatched_at=None).exists()  # noqa: E731
    worker.wait_for("the outbox to drain", drained)
    assert slow.held.wait(timeout=30), worker.log_tail()
    worker.wait_for(
        "the fast subscriber's post to be recorded",
        lambda: WebhookDelivery.objects.filter(
            subscription__name="fast", event_id=first, status="delivered"
        ).exists(),
        timeout=4,  # the slow post times out after 5 s: the kill must come before
    )
    worker.kill()
    slow.released.set()

    # 3. A third worker sends what is left.
    expire_claims()
    worker = workers.start()
    send_webhooks.delay()
    worker.wait_for(
        "every webhook to be delivered",
        lambda: WebhookDelivery.objects.filter(status="delivered").count() == 6,
    )

    numbers = {order.number: 0 for order in Order.objects.filter(pk__in=ids)}
    for _, _, message in smtp_server.messages:
        numbers.update({n: numbers[n] + 1 for n in numbers if n in message["Subject"]})
    assert numbers == dict.fromkeys(numbers, 1), "one confirmation per order, none again"
    message_ids = [message["Message-ID"] for _, _, message in smtp_server.messages]
    assert len(set(message_ids)) == 3
    for event in OutboxEvent.objects.filter(pk__in=[first, second, third]):
        assert sorted(event.done_handlers) == HANDLERS
        assert event.last_error == ""
    for order in Order.objects.filter(pk__in=ids):
        assert order.fulfillment_orders.count() == 1

    every_event = {f"evt_{pk}": 1 for pk in (first, second, third)}
    assert Counter(fast.event_ids()) == every_event
    # The slow subscriber never answered the post it held when the sender
    # died, so it gets it again: same event id, same signed body, to dedupe on.
    assert Counter(slow.event_ids()) == {**every_event, f"evt_{first}": 2}
    held, again = [(h, body) for h, body in slow.posts if h["X-OMS-Event-Id"] == f"evt_{first}"]
    assert held[1] == again[1]
    assert held[0]["X-OMS-Signature"] == again[0]["X-OMS-Signature"]
    manage_reconcile()
