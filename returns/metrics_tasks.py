"""Beat task: rebuild the customer value metrics (returns.metrics)."""

from __future__ import annotations

from celery import shared_task

from .metrics import customer_metrics_refresh


@shared_task(ignore_result=True)
def refresh_customer_metrics() -> int:
    """Beat (hourly by default): recompute every customer's metrics in one
    statement. Safe to run twice or concurrently."""
    return customer_metrics_refresh()
