"""Idempotent intake: one order per (channel, Idempotency-Key or external id).

The key row is inserted in its own committed transaction before any work, so
a concurrent duplicate sees it at once and waits for the first request to
finish, then answers with the same order. If the first request fails (no
order was made), its claim is deleted and a waiting duplicate takes over.

A request that dies without cleaning up (its process killed, its database
connection cut while the database stays up) would leave a claim that blocks
the client's retries until it is stale. So the owner also holds a
session-level advisory lock on the key while it works: PostgreSQL drops it
with the session, and a duplicate that finds an unbound claim whose lock is
free knows the owner is gone and takes over at once. The lock is taken before
the claim is inserted and released only after the order is bound (on commit)
or the claim deleted, so it is never free while a live owner works.
"""

from __future__ import annotations

import hashlib
import json
import threading
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


ADVISORY_LOCK_CLASS = 7342  # class id of the advisory locks on idempotency keys (object id: a hash)
# The claim rows this thread's requests own, (channel id, key) -> row id: a
# release deletes its own row only, never one a duplicate made after taking over.
_owned = threading.local()


def _owned_claims() -> dict[tuple[int, str], int]:
    if not hasattr(_owned, "claims"):
        _owned.claims = {}
    return _owned.claims


def _lock_name(channel: Channel, key: str) -> str:
    return f"{channel.pk}:{key}"


def _unlock(channel: Channel, key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_unlock(%s, hashtext(%s))", [ADVISORY_LOCK_CLASS, _lock_name(channel, key)]
        )


def idempotency_claim(
    *, channel: Channel, key: str, fingerprint: str, field: str = "Idempotency-Key"
) -> Order | None:
    """Claim the key for this request. Returns None when the caller owns it and
    must place the order, or the order an earlier identical request made."""
    deadline = time.monotonic() + settings.IDEMPOTENCY_WAIT_SECONDS
    delay = 0.02
    while True:
        # One statement takes the lock and, if it was free (no live request owns
        # the key; a hash collision only makes us wait), inserts the claim.
        # Outside a transaction it commits at once, so duplicates see the claim.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                WITH lock AS MATERIALIZED (SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS got),
                claim AS (
                    INSERT INTO orders_idempotencykey (channel_id, key, request_hash, created_at)
                    SELECT %s, %s, %s, now() FROM lock WHERE got
                    ON CONFLICT (channel_id, key) DO NOTHING RETURNING id
                )
                SELECT got, (SELECT id FROM claim) FROM lock
                """,
                [ADVISORY_LOCK_CLASS, _lock_name(channel, key), channel.pk, key, fingerprint],
            )
            locked, claim_id = cursor.fetchone()
        owned = claim_id is not None
        if owned:
            _owned_claims()[channel.pk, key] = claim_id
            return None  # keeping the lock until the order is bound or the claim released
        try:
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
                if locked or existing.created_at < timezone.now() - _stale_after():
                    # The request that claimed it died (its lock went with its
                    # session, or it is older than any placement): take over.
                    IdempotencyKey.objects.filter(pk=existing.pk, order__isnull=True).delete()
                    continue
        finally:
            if locked and not owned:
                _unlock(channel, key)
        if time.monotonic() > deadline:
            raise Conflict(
                "A request with this idempotency key is still being processed; retry shortly.",
                code="idempotency_in_progress",
            )
        time.sleep(delay)
        delay = min(delay * 1.5, 0.25)


def _reconnect_if_broken() -> None:
    """Replace a connection the database dropped (restart, failover, network
    cut) since the last statement. Django only checks it again at the next
    request, and a request whose connection died mid-placement still owes the
    cleanup: a claim left behind would block the client's retry until it is
    stale. Never inside a transaction: its work is lost with the connection."""
    if connection.errors_occurred and not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def idempotency_release(*, channel: Channel, key: str) -> None:
    """Forget a claim whose request made no order, so the client may retry."""
    _reconnect_if_broken()
    claim_id = _owned_claims().pop((channel.pk, key), None)
    claims = IdempotencyKey.objects.filter(channel=channel, key=key, order__isnull=True)
    (claims.filter(pk=claim_id) if claim_id is not None else claims).delete()
    _unlock(channel, key)


def idempotency_bind(*, channel: Channel, keys: list[str], order: Order) -> None:
    """Bind the claims to the order made and give up their locks, in one statement.

    The locks go before the commit, and that is safe: a duplicate that now
    finds the lock free and the claim (as committed) unbound tries to take
    over by deleting it, which waits for this transaction's row lock; after
    the commit the row is bound and left alone (the duplicate answers with
    the order), after a rollback the claim is indeed abandoned.
    """
    if not keys:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE orders_idempotencykey SET order_id = %s
            WHERE channel_id = %s AND key = ANY(%s)
            RETURNING pg_advisory_unlock(%s, hashtext(%s || ':' || key))
            """,
            [order.pk, channel.pk, list(keys), ADVISORY_LOCK_CLASS, str(channel.pk)],
        )
    owned = _owned_claims()
    for key in keys:
        owned.pop((channel.pk, key), None)
