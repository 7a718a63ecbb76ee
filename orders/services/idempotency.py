"""Idempotent intake: one order per (channel, Idempotency-Key or external id).

The key row is inserted in its own committed transaction before any work, so
a concurrent duplicate sees it at once and waits for the first request to
finish, then answers with the same order. If the first request fails (no
order was made), its claim is deleted and a waiting duplicate takes over.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from oms.errors import Conflict
from oms.models import Channel

from ..models import IdempotencyKey, Order


def request_fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _stale_after() -> timedelta:
    # Longer than a placement can take (its stock hold expires before this).
    return timedelta(seconds=settings.PLACEMENT_RESERVATION_SECONDS + 60)


def idempotency_claim(
    *, channel: Channel, key: str, fingerprint: str, field: str = "Idempotency-Key"
) -> Order | None:
    """Claim the key for this request. Returns None when the caller owns it and
    must place the order, or the order an earlier identical request made."""
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    delay = 0.02
    while True:
        # Outside a transaction this INSERT commits at once, so duplicates see it.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO orders_idempotencykey (channel_id, key, request_hash, created_at)
                VALUES (%s, %s, %s, now())
                ON CONFLICT (channel_id, key) DO NOTHING RETURNING id
                """,
                [channel.pk, key, fingerprint],
            )
            if cursor.fetchone():
                return None
        existing = IdempotencyKey.objects.filter(channel=channel, key=key).select_related("order").first()
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise Conflict(
                    f"This {field} was already used for a different request.",
                    code="idempotency_key_reused",
                    fields={field: ["already used for a different request"]},
                )
            if existing.order is not None:
                return existing.order
            if existing.created_at < timezone.now() - _stale_after():
                # The request that claimed it died; take over.
                IdempotencyKey.objects.filter(pk=existing.pk, order__isnull=True).delete()
                continue
        if time.monotonic() > deadline:
            raise Conflict(
                "A request with this idempotency key is still being processed; retry shortly.",
                code="idempotency_in_progress",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def idempotency_release(*, channel: Channel, key: str) -> None:
    """Forget a claim whose request made no order, so the client may retry."""
    IdempotencyKey.objects.filter(channel=channel, key=key, order__isnull=True).delete()


def idempotency_bind(*, channel: Channel, keys: list[str], order: Order) -> None:
    if keys:
        IdempotencyKey.objects.filter(channel=channel, key__in=keys).update(order=order)
