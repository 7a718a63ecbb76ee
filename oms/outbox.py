"""Transactional outbox.

`emit()` writes an event row inside the caller's transaction, so the side
effect exists if and only if the business change committed. The dispatcher
claims a batch with a short UPDATE ... FOR UPDATE SKIP LOCKED (so several
workers share the load and no row lock is held while handlers talk to the
network), runs each registered handler that has not yet succeeded for the
event, and records the outcome.

What a crash (a worker killed, its machine gone) can still double, and why
that is as small as it gets:

- Each handler's success is written the moment it returns (one autocommit
  UPDATE appending its name to `done_handlers`), not when the whole event is
  done, so a crash re-runs only the handler that was running.
- A handler registered with `atomic=True` (it only writes to this database)
  runs in one transaction with that mark: its writes and its "done" commit
  together or not at all, so it takes effect exactly once.
- A handler that talks to the outside world (SMTP, HTTP, a gateway) cannot be
  made exactly-once: between the remote side accepting (SMTP "250", HTTP 2xx)
  and the mark committing, a crash makes the next worker run it again once
  the claim (CLAIM_SECONDS) has expired. Delivery is therefore at least once,
  and every such effect carries an id for the receiver to deduplicate on:
  e-mails a Message-ID fixed per event and template (oms.mail), webhooks the
  event id (`X-OMS-Event-Id` and the body's "id", oms.webhooks), gateway calls
  the reference or idempotency key they were made with.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import OutboxEvent

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]
_handlers: dict[str, dict[str, Handler]] = defaultdict(dict)
_atomic: set[tuple[str, str]] = set()  # (topic, name) of handlers run in one transaction with their mark

CLAIM_SECONDS = 120
# After a failed wake-up call, the next ones are skipped for this long: the
# broker is down and beat drains the outbox anyway, so requests must not each
# wait for a connect timeout.
KICK_PAUSE_SECONDS = 5.0
_kick_paused_until = 0.0


def handler(topic: str, name: str | None = None, *, atomic: bool = False) -> Callable[[Handler], Handler]:
    """Register a handler for a topic; the name is how its success is recorded.

    `atomic=True` is for handlers whose only effect is writes to this
    database: they run in one transaction with their success mark, so a
    crash can never make them run twice.
    """

    def register(fn: Handler) -> Handler:
        key = name or f"{fn.__module__}.{fn.__qualname__}"
        _handlers[topic][key] = fn
        if atomic:
            _atomic.add((topic, key))
        else:
            _atomic.discard((topic, key))
        return fn

    return register


def handlers_for(topic: str) -> dict[str, Handler]:
    return dict(_handlers.get(topic, {}))


def emit(topic: str, payload: dict[str, Any], *, aggregate: str = "") -> OutboxEvent:
    """Write an event in the current transaction and wake the dispatcher after commit."""
    event = emitting(topic, payload, aggregate=aggregate)
    event.save()
    return event


def emitting(topic: str, payload: dict[str, Any], *, aggregate: str = "") -> OutboxEvent:
    """The event, not yet saved, for the caller to insert in the current
    transaction together with its other rows (oms.compiled.insert_rows); the
    dispatcher is woken after commit."""
    transaction.on_commit(_kick_dispatcher)
    return OutboxEvent(topic=topic, aggregate=aggregate, payload=payload, available_at=timezone.now())


def kick(task) -> bool:
    """Ask a worker to run `task` now; True if the broker took the message.

    Best effort, for tasks beat also runs: a request that just committed must
    not fail, nor wait, because the broker is down. One connection attempt (no
    retry loop: Kombu's default retries for the connect timeout, seconds per
    call), and after a failure no attempt for KICK_PAUSE_SECONDS.
    """
    global _kick_paused_until
    if settings.CELERY_TASK_ALWAYS_EAGER or time.monotonic() < _kick_paused_until:
        return False
    from .celery import app

    try:
        with app.connection_for_write(transport_options={"max_retries": 0}) as conn:
            task.apply_async(retry=False, ignore_result=True, producer=app.amqp.Producer(conn))
    except Exception as exc:
        _kick_paused_until = time.monotonic() + KICK_PAUSE_SECONDS
        logger.warning("could not wake a worker for %s (beat will run it): %r", task.name, exc)
        return False
    return True


def _kick_dispatcher() -> None:
    from .tasks import dispatch_outbox

    kick(dispatch_outbox)


def _claim(limit: int) -> list[OutboxEvent]:
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE oms_outboxevent SET claimed_until = %s, attempts = attempts + 1
            WHERE id IN (
                SELECT id FROM oms_outboxevent
                WHERE dispatched_at IS NULL AND failed_at IS NULL AND available_at <= %s
                  AND (claimed_until IS NULL OR claimed_until < %s)
                ORDER BY id LIMIT %s
                FOR UPDATE SKIP LOCKED
            )
            RETURNING id
            """,
            [now + timedelta(seconds=CLAIM_SECONDS), now, now, limit],
        )
        ids = [row[0] for row in cursor.fetchall()]
    return list(OutboxEvent.objects.filter(id__in=ids).order_by("id"))


def backoff(attempts: int, *, base_seconds: float = 5, max_seconds: float = 3600) -> timedelta:
    """The wait after the n-th failed attempt: base, twice base, four times... up to max."""
    return timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(0, attempts - 1)))


def _mark_done(event_id: int, name: str) -> None:
    # One statement (autocommit, or inside the handler's transaction): the
    # append is idempotent, so a re-run after a crash adds nothing.
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE oms_outboxevent SET done_handlers = done_handlers || %s::jsonb
            WHERE id = %s AND NOT done_handlers @> %s::jsonb
            """,
            [json.dumps([name]), event_id, json.dumps([name])],
        )


def _run(event: OutboxEvent, name: str, fn: Handler) -> None:
    """Run one handler and record its success at once (see the module note)."""
    if (event.topic, name) in _atomic:
        with transaction.atomic():
            fn(event)
            _mark_done(event.pk, name)
    else:
        fn(event)
        _mark_done(event.pk, name)


def deliver(event: OutboxEvent) -> bool:
    """Run the event's pending handlers; returns True when all have succeeded."""
    done = list(event.done_handlers)
    errors: list[str] = []
    for name, fn in handlers_for(event.topic).items():
        if name in done:
            continue
        try:
            _run(event, name, fn)
        except Exception as exc:
            logger.warning("outbox: handler %s failed for event %s", name, event.pk, exc_info=True)
            errors.append(f"{name}: {exc.__class__.__name__}: {exc}")
        else:
            done.append(name)
    event.done_handlers = done
    now = timezone.now()
    fields: dict[str, Any] = {"claimed_until": None}
    if errors:
        fields["last_error"] = "\n".join(errors)[:4000]
        if event.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            fields["failed_at"] = now
        else:
            fields["available_at"] = now + backoff(event.attempts)
    else:
        fields["dispatched_at"] = now
        fields["last_error"] = ""
    OutboxEvent.objects.filter(pk=event.pk).update(**fields)
    return not errors


def dispatch_batch(limit: int = 100) -> tuple[int, int]:
    """Claim up to `limit` due events and deliver them: (claimed, fully delivered)."""
    events = _claim(limit)
    return len(events), sum(1 for event in events if deliver(event))


def dispatch_pending(limit: int = 100) -> int:
    """Deliver up to `limit` due events; returns how many were fully delivered."""
    return dispatch_batch(limit)[1]
