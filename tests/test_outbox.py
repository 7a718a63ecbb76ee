"""The transactional outbox: events exist only if the change committed, each
handler succeeds once, failures back off and finally give up, and a claimed
event belongs to the worker that claimed it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from oms import outbox
from oms.models import OutboxEvent
from oms.outbox import dispatch_pending, emit, handler
from oms.tasks import dispatch_outbox

pytestmark = pytest.mark.django_db

TOPIC = "test.outbox"


class Handlers:
    """Test handlers on TOPIC: `ok` always succeeds, `flaky` fails while
    `failures_left` > 0. `calls` counts the runs of each, by event id."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, int]] = Counter()
        self.failures_left = 0
        self.failing_events: set[int] | None = None  # None: every event fails

    def ok(self, event: OutboxEvent) -> None:
        self.calls["ok", event.pk] += 1

    def flaky(self, event: OutboxEvent) -> None:
        self.calls["flaky", event.pk] += 1
        fails_here = self.failing_events is None or event.pk in self.failing_events
        if fails_here and self.failures_left > 0:
            self.failures_left -= 1
            raise ConnectionError("webhook endpoint down")


@pytest.fixture
def handlers():
    h = Handlers()
    handler(TOPIC, name="test.ok")(h.ok)
    handler(TOPIC, name="test.flaky")(h.flaky)
    yield h
    outbox._handlers.pop(TOPIC, None)


def emit_committed(payload: dict | None = None) -> OutboxEvent:
    with transaction.atomic():
        return emit(TOPIC, payload or {}, aggregate="test:1")


def make_due(event: OutboxEvent) -> None:
    """Skip the backoff wait."""
    OutboxEvent.objects.filter(pk=event.pk).update(available_at=timezone.now() - timedelta(seconds=1))


def test_emit_in_a_rolled_back_transaction_leaves_no_event(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        emit(TOPIC, {"n": 1})
        assert OutboxEvent.objects.filter(topic=TOPIC).count() == 1
        raise RuntimeError("business change failed")
    assert not OutboxEvent.objects.filter(topic=TOPIC).exists()
    assert callbacks == []  # and the dispatcher is not woken for it


def test_emit_in_a_committed_transaction_wakes_the_dispatcher(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        event = emit_committed({"n": 1})
    assert OutboxEvent.objects.get(pk=event.pk).payload == {"n": 1}
    assert len(callbacks) == 1


def test_delivery_runs_every_handler_once(handlers):
    event = emit_committed()
    assert dispatch_pending() == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert sorted(event.done_handlers) == ["test.flaky", "test.ok"]
    assert (event.attempts, event.last_error, event.claimed_until) == (1, "", None)
    assert handlers.calls == {("ok", event.pk): 1, ("flaky", event.pk): 1}

    assert dispatch_pending() == 0
    assert handlers.calls == {("ok", event.pk): 1, ("flaky", event.pk): 1}


def test_failing_handler_is_retried_with_backoff_and_the_others_are_not_rerun(handlers):
    handlers.failures_left = 2
    event = emit_committed()

    before = timezone.now()
    assert dispatch_pending() == 0
    event.refresh_from_db()
    assert event.dispatched_at is None and event.failed_at is None
    assert event.attempts == 1
    assert event.done_handlers == ["test.ok"]
    assert "test.flaky: ConnectionError: webhook endpoint down" in event.last_error
    assert event.claimed_until is None
    first_delay = event.available_at - before
    assert first_delay >= timedelta(seconds=4)

    # Not due yet: a dispatch now leaves it alone.
    assert dispatch_pending() == 0
    assert OutboxEvent.objects.get(pk=event.pk).attempts == 1

    make_due(event)
    before = timezone.now()
    assert dispatch_pending() == 0
    event.refresh_from_db()
    assert event.attempts == 2
    assert event.available_at - before > first_delay  # the wait grows

    make_due(event)
    assert dispatch_pending() == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert event.attempts == 3
    assert event.last_error == ""
    assert sorted(event.done_handlers) == ["test.flaky", "test.ok"]
    assert handlers.calls == {("ok", event.pk): 1, ("flaky", event.pk): 3}


def test_event_is_marked_failed_after_the_maximum_attempts(handlers, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    handlers.failures_left = 100
    event = emit_committed()

    for attempt in range(1, 4):
        make_due(event)
        assert dispatch_pending() == 0
        event.refresh_from_db()
        assert event.attempts == attempt
        assert (event.failed_at is not None) == (attempt == 3)
    assert event.available_at < timezone.now()  # no further retry scheduled

    make_due(event)
    assert dispatch_pending() == 0
    event.refresh_from_db()
    assert event.attempts == 3  # never claimed again
    assert event.dispatched_at is None
    assert "webhook endpoint down" in event.last_error
    assert handlers.calls["flaky", event.pk] == 3
    assert handlers.calls["ok", event.pk] == 1


def test_event_claimed_by_another_worker_is_skipped(handlers):
    event = emit_committed()
    OutboxEvent.objects.filter(pk=event.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=1), attempts=1
    )

    assert dispatch_pending() == 0
    event.refresh_from_db()
    assert event.attempts == 1
    assert event.dispatched_at is None
    assert handlers.calls == {}


def test_expired_claim_of_a_dead_worker_is_taken_over(handlers):
    event = emit_committed()
    OutboxEvent.objects.filter(pk=event.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1), attempts=1
    )

    assert dispatch_pending() == 1
    event.refresh_from_db()
    assert event.attempts == 2
    assert event.dispatched_at is not None


def test_events_are_delivered_in_order_up_to_the_limit(handlers):
    events = [emit_committed({"n": n}) for n in range(3)]
    assert dispatch_pending(limit=2) == 2
    delivered = set(OutboxEvent.objects.filter(dispatched_at__isnull=False).values_list("pk", flat=True))
    assert delivered == {events[0].pk, events[1].pk}
    assert dispatch_pending(limit=2) == 1


def test_event_without_handlers_is_marked_dispatched():
    event = emit(f"{TOPIC}.nobody", {})
    assert dispatch_pending() == 1
    assert OutboxEvent.objects.get(pk=event.pk).dispatched_at is not None


def test_dispatch_task_drains_past_a_failing_event(handlers):
    events = [emit_committed({"n": n}) for n in range(5)]
    handlers.failures_left = 100
    handlers.failing_events = {events[0].pk}

    dispatch_outbox(batch=2, rounds=10)

    pending = OutboxEvent.objects.filter(dispatched_at__isnull=True, failed_at__isnull=True)
    assert list(pending.values_list("pk", flat=True)) == [events[0].pk]
