"""Periodic work (beat) for the books. Tasks call one service and are safe to
run twice or concurrently."""

from __future__ import annotations

from celery import shared_task

from .dunning import invoices_remind


@shared_task(ignore_result=True)
def send_invoice_reminders() -> int:
    """Beat (daily): queue the reminder e-mails for overdue invoices."""
    return invoices_remind()
