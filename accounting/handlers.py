"""Postings from business events other apps announce through the outbox
(apps that may not import accounting: inventory is a leaf too)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from oms.actors import Actor
from oms.outbox import handler

from .services import Posting, journal_post

INVENTORY, GOODS_RECEIVED_NOT_INVOICED = "1300", "2100"


@handler("inventory.po_received", name="accounting.purchase_receipt")
def _purchase_receipt(event) -> None:
    """Goods received from a supplier: inventory at the purchase order's cost
    against goods received not invoiced (cleared when the supplier's invoice
    is booked). Dated the day the goods came in; once per receipt."""
    payload = event.payload
    value = Decimal(payload["value"])
    if value <= 0:
        return
    day = timezone.localdate(event.created_at if isinstance(event.created_at, datetime) else None)
    currency = payload["currency"]
    journal_post(
        day=day,
        memo=f"Receipt on purchase order {payload['po_id']} ({payload.get('reference') or 'no reference'})",
        source_type="purchase_receipt",
        source_ref=f"po-receipt:{payload['event_id']}",
        postings=[
            Posting(INVENTORY, debit=value, currency=currency),
            Posting(GOODS_RECEIVED_NOT_INVOICED, credit=value, currency=currency),
        ],
        actor=Actor.system(),
        latest_rate=True,
    )
