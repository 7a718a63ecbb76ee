"""Periodic work (beat) for post-sale. Tasks call one service and are safe to
run twice or concurrently."""

from __future__ import annotations

from celery import shared_task

from .dashboard.kpis import dashboard_days_catch_up
from .notifications import follow_ups_queue


@shared_task(ignore_result=True)
def send_follow_ups() -> int:
    """Beat (hourly): queue the follow-up e-mails of orders delivered
    FOLLOW_UP_DAYS ago (rating, "did everything arrive?")."""
    return follow_ups_queue()


@shared_task(ignore_result=True)
def summarize_dashboard_days() -> int:
    """Beat (hourly): summarize the closed days of the home dashboard's window
    that are not summarized yet, and yesterday again."""
    return dashboard_days_catch_up()


from .metrics_tasks import refresh_customer_metrics  # noqa: E402, F401 - autodiscovery finds only tasks.py
