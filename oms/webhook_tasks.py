"""Celery task of the outbound webhooks (oms.webhooks): beat runs it, and a
fan-out or a replay wakes it after commit."""

from celery import shared_task

from .webhooks import webhook_deliveries_send


@shared_task(ignore_result=True)
def send_webhooks(limit: int = 50, rounds: int = 20) -> int:
    """Post due webhook deliveries in order per subscriber; safe to run concurrently and twice."""
    return webhook_deliveries_send(limit=limit, rounds=rounds)
