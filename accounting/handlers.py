"""Postings from business events other apps announce through the outbox
(apps that may not import accounting: inventory is a leaf too)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from oms.actors import Actor
from oms.money import round_money
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


WRITE_OFFS = "5100"


@handler("inventory.stock_adjusted", name="accounting.stock_adjustment")
def _stock_adjustment(event) -> None:
    """Stock lost (write-off, negative adjustment or count) leaves inventory
    for the write-offs expense at cost; stock found comes back the other way.
    Once per event."""
    payload = event.payload
    losses: dict[str, Decimal] = {}
    gains: dict[str, Decimal] = {}
    for line in payload["lines"]:
        value = round_money(Decimal(line["unit_cost"]) * abs(int(line["quantity"])), line["cost_currency"])
        side = losses if int(line["quantity"]) < 0 else gains
        side[line["cost_currency"]] = side.get(line["cost_currency"], Decimal(0)) + value
    postings = []
    for currency, value in sorted(losses.items()):
        if value > 0:
            postings += [
                Posting(WRITE_OFFS, debit=value, currency=currency),
                Posting(INVENTORY, credit=value, currency=currency),
            ]
    for currency, value in sorted(gains.items()):
        if value > 0:
            postings += [
                Posting(INVENTORY, debit=value, currency=currency),
                Posting(WRITE_OFFS, credit=value, currency=currency),
            ]
    if not postings:
        return  # stock without cost: nothing to book
    journal_post(
        day=timezone.localdate(event.created_at if isinstance(event.created_at, datetime) else None),
        memo=f"Stock {payload['kind'].replace('_', ' ')} ({payload['reason']}) "
        f"at warehouse {payload['warehouse_id']}",
        source_type="stock_adjustment",
        source_ref=f"stock-event:{event.pk}",
        postings=postings,
        actor=Actor.system(),
        latest_rate=True,
    )
