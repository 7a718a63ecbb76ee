"""Posting rules: the entries business events make, called by the other apps
inside the transaction of the event itself (accounting imports no other app:
callers pass plain figures).

Revenue is recognised when goods leave (shipment or collection in store):
receivable vs revenue, shipping income and tax payable, and the cost of the
goods vs inventory. The card capture then settles that receivable into card
clearing. Automatic postings convert at the newest rate on or before the day,
so an event never waits for the day's rate to be loaded.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from oms.actors import Actor

from .models import JournalEntry
from .services import Posting, journal_post

RECEIVABLE, CARD_CLEARING, INVENTORY = "1200", "1100", "1300"
TAX_PAYABLE, REVENUE, SHIPPING_INCOME, COGS = "2200", "4000", "4100", "5000"
ZERO = Decimal(0)


@dataclass(frozen=True)
class GoodsOut:
    """What a shipment carried, net of tax, in the order's currency, and at cost."""

    currency: str
    goods_net: Decimal
    shipping_net: Decimal
    tax: Decimal
    costs: Iterable[tuple[Decimal, str]]  # (amount at cost, its currency) per line


def post_goods_out(
    *, ref: str, day: date, memo: str, value: GoodsOut, channel_id: int | None, actor: Actor
) -> JournalEntry | None:
    """Revenue, tax and cost of goods for goods that left (once per `ref`)."""
    c = value.currency
    receivable = value.goods_net + value.shipping_net + value.tax
    postings: list[Posting] = []
    if receivable > 0:
        postings.append(Posting(RECEIVABLE, debit=receivable, currency=c, channel_id=channel_id))
        for account, amount in (
            (REVENUE, value.goods_net),
            (SHIPPING_INCOME, value.shipping_net),
            (TAX_PAYABLE, value.tax),
        ):
            if amount > 0:
                postings.append(Posting(account, credit=amount, currency=c, channel_id=channel_id))
    at_cost: dict[str, Decimal] = defaultdict(Decimal)
    for amount, currency in value.costs:
        at_cost[currency] += amount
    for currency, amount in sorted(at_cost.items()):
        if amount > 0:
            postings.append(Posting(COGS, debit=amount, currency=currency, channel_id=channel_id))
            postings.append(Posting(INVENTORY, credit=amount, currency=currency))
    if not postings:
        return None  # a free shipment of goods without cost: nothing to book
    return journal_post(
        day=day,
        memo=memo,
        source_type="goods_out",
        source_ref=ref,
        postings=postings,
        actor=actor,
        latest_rate=True,
    )


def post_card_capture(
    *, ref: str, day: date, amount: Decimal, currency: str, channel_id: int | None, actor: Actor
) -> JournalEntry | None:
    """A captured card payment settles the customer's receivable."""
    if amount <= 0:
        return None
    return journal_post(
        day=day,
        memo=f"Card capture {ref}",
        source_type="card_capture",
        source_ref=ref,
        postings=[
            Posting(CARD_CLEARING, debit=amount, currency=currency, channel_id=channel_id),
            Posting(RECEIVABLE, credit=amount, currency=currency, channel_id=channel_id),
        ],
        actor=actor,
        latest_rate=True,
    )
