"""Periodic work (beat) for carts and reservations. Tasks take ids or nothing,
call one service, and are safe to run twice or concurrently."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from inventory.services import reservations_expire
from oms.outbox import emit

from .services import backorders_allocate, carts_expire
from .services.backorders import late_orders_digest
from .services.quotes import quotes_expire


@shared_task(ignore_result=True)
def expire_reservations_and_carts() -> dict[str, int]:
    """Abandon expired carts (recording their value, queueing reminders) and
    release every expired soft reservation."""
    now = timezone.now()
    carts = carts_expire(now=now)
    holds = reservations_expire(now=now)
    return {"carts_abandoned": carts, "reservations_expired": holds}


@shared_task(ignore_result=True)
def send_abandoned_cart_digest(hours: int = 24) -> None:
    """Queue the staff digest of carts abandoned in the last `hours`."""
    until = timezone.now()
    since = until - timedelta(hours=hours)
    with transaction.atomic():
        emit(
            "staff.abandoned_cart_digest",
            {"since": since.isoformat(), "until": until.isoformat()},
            aggregate="digest",
        )


@shared_task(ignore_result=True)
def allocate_backorders() -> int:
    """Beat: fill waiting backorders from stock that arrived by any route."""
    return len(backorders_allocate())


@shared_task(ignore_result=True)
def send_late_orders_digest() -> int:
    """Beat: re-promise waiting backorders and tell the warehouse managers which will be late."""
    return len(late_orders_digest())


@shared_task(ignore_result=True)
def expire_quotes() -> int:
    """Beat: sent quotes past their last valid day become expired."""
    return quotes_expire()
