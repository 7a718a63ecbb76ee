"""A dispatcher that dies between two handlers of an event, in process: the
process-level fault of test_worker_killed.py, at every point of interest,
without a worker (fast). A BaseException that is not an Exception stands for
the kill: nothing in the dispatcher may catch it and go on."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from oms import outbox
from oms.models import Channel, OutboxEvent
from oms.outbox import dispatch_pending, emit, handler

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

TOPIC = "test.crash"


class Killed(BaseException):
    """The process is gone: no except-Exception clause sees this."""


class Handlers:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.crash_in: str | None = None

    def make(self, name: str, *, writes: bool = False):
        def run(event: OutboxEvent) -> None:
            self.calls[name] += 1
            if writes:  # a database-only handler: its effect is a row
                Channel.objects.create(code=f"CRASH-{event.pk}", name="by a handler", currency="USD")
            if self.crash_in == name:
                self.crash_in = None
                raise Killed

        return run


@pytest.fixture
def handlers():
    h = Handlers()
    handler(TOPIC, name="mail")(h.make("mail"))
    handler(TOPIC, name="rows", atomic=True)(h.make("rows", writes=True))
    handler(TOPIC, name="hook")(h.make("hook"))
    yield h
    outbox._handlers.pop(TOPIC, None)


def take_over(event: OutboxEvent) -> None:
    """The dead dispatcher's claim expires (CLAIM_SECONDS); skip the wait."""
    OutboxEvent.objects.filter(pk=event.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))


def test_a_crash_after_a_handler_succeeded_does_not_run_it_again(handlers):
    with transaction.atomic():
        event = emit(TOPIC, {})
    handlers.crash_in = "hook"  # mail and rows have succeeded when it dies

    with pytest.raises(Killed):
        dispatch_pending()
    assert OutboxEvent.objects.get(pk=event.pk).done_handlers == ["mail", "rows"]

    take_over(event)
    assert dispatch_pending() == 1
    assert handlers.calls == {"mail": 1, "rows": 1, "hook": 2}
    event.refresh_from_db()
    assert (event.done_handlers, event.last_error) == (["mail", "rows", "hook"], "")
    assert event.dispatched_at is not None


def test_a_database_only_handler_and_its_mark_commit_together(handlers):
    with transaction.atomic():
        event = emit(TOPIC, {})
    handlers.crash_in = "rows"  # dies after writing its row, before its mark

    with pytest.raises(Killed):
        dispatch_pending()
    # Neither the row nor the mark: the re-run is its only effect.
    assert not Channel.objects.filter(code=f"CRASH-{event.pk}").exists()
    assert OutboxEvent.objects.get(pk=event.pk).done_handlers == ["mail"]

    take_over(event)
    assert dispatch_pending() == 1
    assert Channel.objects.filter(code=f"CRASH-{event.pk}").count() == 1
    assert handlers.calls == {"mail": 1, "rows": 2, "hook": 1}
