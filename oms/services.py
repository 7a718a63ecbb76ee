"""Writes to kernel records other than through the outbox: API keys and
given-up outbox events. Admin actions and commands call these."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from .models import HashedKey, OutboxEvent


def api_keys_revoke(*, model: type[HashedKey], token_ids: Iterable[int]) -> int:
    """Revoke channel or staff API keys (at once: authentication checks
    revoked_at). Returns how many were live."""
    return model.objects.filter(pk__in=list(token_ids), revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def outbox_events_retry(*, event_ids: Iterable[int]) -> int:
    """Queue given-up events for another delivery attempt. Attempts are kept, so
    each gets one more try before it is marked failed again."""
    return OutboxEvent.objects.filter(
        pk__in=list(event_ids), failed_at__isnull=False, dispatched_at__isnull=True
    ).update(failed_at=None, available_at=timezone.now(), claimed_until=None)
