"""Redis (broker and cache) stopped while orders come in: intake does not
need it, and what was written meanwhile goes out once it is back."""

from __future__ import annotations

import time
from collections import Counter

import pytest

import oms.outbox
from oms.models import OutboxEvent
from oms.models_webhooks import WebhookDelivery
from oms.outbox import kick
from oms.tasks import dispatch_outbox
from oms.webhooks import webhook_subscription_create
from orders.models import Order
from tests.factories import order_payload

from .conftest import manage_reconcile, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ORDERS = 3


def test_orders_are_taken_while_redis_is_down_and_go_out_when_it_is_back(
    broker, workers, smtp_server, receivers, api, sku, monkeypatch
):
    monkeypatch.setattr(oms.outbox, "KICK_PAUSE_SECONDS", 1.0)
    receiver = receivers()
    webhook_subscription_create(name="ERP", url=receiver.url, event_types=["order.placed"])
    # With Redis up an order's wake-up reaches the broker (no worker yet to take it).
    warm = api.post("/api/v1/orders/", order_payload(sku.code, 1), format="json", HTTP_IDEMPOTENCY_KEY="warm")
    assert warm.status_code == 201, warm.json()
    assert broker.llen("celery") == 1
    ids = [warm.json()["id"]]
    broker.stop()

    for n in range(ORDERS):
        started = time.monotonic()
        response = api.post(
            "/api/v1/orders/", order_payload(sku.code, 1), format="json", HTTP_IDEMPOTENCY_KEY=f"down-{n}"
        )
        took = time.monotonic() - started
        assert response.status_code == 201, response.json()
        # No wait on the broker: Kombu's own connection retries take 4-6 s per
        # call; the bound leaves room for a loaded CI machine.
        assert took < 3, f"order {n} took {took:.1f}s with Redis down"
        ids.append(response.json()["id"])
    events = list(OutboxEvent.objects.filter(topic="order.placed").order_by("id"))
    assert len(events) == ORDERS + 1
    assert not any(e.dispatched_at for e in events)

    broker.start()  # back, and empty: even the wake-up it had taken is lost
    time.sleep(oms.outbox.KICK_PAUSE_SECONDS)
    assert kick(dispatch_outbox), "the broker is back: wake-ups go through again"
    # Only beat is left to find the events (every second here, every 10 s by default).
    every_second = {"OUTBOX_INTERVAL_SECONDS": "1", "WEBHOOK_INTERVAL_SECONDS": "1"}
    worker = workers.start(beat=True, extra_env=every_second)

    worker.wait_for(
        "the outbox to drain",
        lambda: not OutboxEvent.objects.filter(topic="order.placed", dispatched_at__isnull=True).exists(),
    )
    worker.wait_for(
        "every webhook to be delivered",
        lambda: WebhookDelivery.objects.filter(status="delivered").count() == len(events),
    )
    worker.wait_for("every confirmation e-mail", lambda: len(smtp_server.messages) >= len(events))
    time.sleep(1.5)  # a duplicate would come from the next beat round: give it one

    numbers = [order.number for order in Order.objects.filter(pk__in=ids)]
    subjects = Counter(
        number for _, _, message in smtp_server.messages for number in numbers if number in message["Subject"]
    )
    assert subjects == dict.fromkeys(numbers, 1)
    assert Counter(receiver.event_ids()) == {f"evt_{e.pk}": 1 for e in events}
    for event in OutboxEvent.objects.filter(topic="order.placed"):
        assert sorted(event.done_handlers) == [
            "email.order_confirmation",
            "fulfillment.source",
            "webhooks.fan_out",
        ]
    sourced = Order.objects.filter(pk__in=ids, fulfillment_orders__isnull=False).distinct()
    assert sourced.count() == len(events)
    wait_until("no claim left", lambda: not OutboxEvent.objects.filter(claimed_until__isnull=False).exists())
    manage_reconcile()
