"""Transactional outbox.

`emit()` writes an event row inside the caller's transaction, so the side
effect exists if and only if the business change committed. The dispatcher
claims a batch with a short UPDATE ... FOR UPDATE SKIP LOCKED (so several
workers share the load and no row lock is held while handlers talk to the
network), runs each registered handler that has not yet succeeded for the
event, and records the outcome. Delivery is at least once: handlers must be
idempotent (they receive the event id to deduplicate on).
"""

from __future__ import annotations

import logging
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

CLAIM_SECONDS = 120


def handler(topic: str, name: str | None = None) -> Callable[[Handler], Handler]:
    """Register a handler for a topic; the name is how its success is recorded."""

    def register(fn: Handler) -> Handler:
        _handlers[topic][name or f"{fn.__module__}.{fn.__qualname__}"] = fn
        return fn

    return register


def handlers_for(topic: str) -> dict[str, Handler]:
    return dict(_handlers.get(topic, {}))


def emit(topic: str, payload: dict[str, Any], *, aggregate: str = "") -> OutboxEvent:
    """Write an event in the current transaction and wake the dispatcher after commit."""
    event = OutboxEvent.objects.create(
        topic=topic, aggregate=aggregate, payload=payload, available_at=timezone.now()
    )
    transaction.on_commit(_kick_dispatcher)
    return event


def _kick_dispatcher() -> None:
    # Best effort: if the broker is down the beat schedule still drains the outbox.
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    try:
        from .tasks import dispatch_outbox

        dispatch_outbox.apply_async(retry=False, ignore_result=True)
    except Exception:
        logger.warning("outbox: could not notify the dispatcher; beat will pick the events up", exc_info=True)


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


def deliver(event: OutboxEvent) -> bool:
    """Run the event's pending handlers; returns True when all have succeeded."""
    done = list(event.done_handlers)
    errors: list[str] = []
    for name, fn in handlers_for(event.topic).items():
        if name in done:
            continue
        try:
            fn(event)
        except Exception as exc:
            logger.warning("outbox: handler %s failed for event %s", name, event.pk, exc_info=True)
            errors.append(f"{name}: {exc.__class__.__name__}: {exc}")
        else:
            done.append(name)
    now = timezone.now()
    fields: dict[str, Any] = {"done_handlers": done, "claimed_until": None}
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
