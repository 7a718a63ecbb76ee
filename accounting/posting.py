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


def _by_currency(costs: Iterable[tuple[Decimal, str]]) -> list[tuple[str, Decimal]]:
    """(amount, currency) pairs summed per currency, the ones above zero."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for amount, currency in costs:
        totals[currency] += amount
    return [(currency, amount) for currency, amount in sorted(totals.items()) if amount > 0]


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
    for currency, amount in _by_currency(value.costs):
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


SALES_RETURNS = "4900"


def post_refund(
    *,
    ref: str,
    day: date,
    currency: str,
    goods_net: Decimal,
    shipping_net: Decimal,
    tax: Decimal,
    channel_id: int | None,
    actor: Actor,
    to_card: bool = True,
) -> JournalEntry | None:
    """Money given back for goods (and shipping): sales returns, shipping
    income and tax payable are reduced, against card clearing (refunded to
    the card) or the receivable (a credit note on account). A restocking fee
    kept is simply not refunded. Once per `ref`."""
    c = currency
    refunded = goods_net + shipping_net + tax
    if refunded <= 0:
        return None
    postings = [
        Posting(account, debit=amount, currency=c, channel_id=channel_id)
        for account, amount in (
            (SALES_RETURNS, goods_net),
            (SHIPPING_INCOME, shipping_net),
            (TAX_PAYABLE, tax),
        )
        if amount > 0
    ]
    postings.append(
        Posting(CARD_CLEARING if to_card else RECEIVABLE, credit=refunded, currency=c, channel_id=channel_id)
    )
    return journal_post(
        day=day,
        memo=f"Refund {ref}",
        source_type="card_refund" if to_card else "credit_note",
        source_ref=ref,
        postings=postings,
        actor=actor,
        latest_rate=True,
    )


def post_restock(
    *, ref: str, day: date, costs: Iterable[tuple[Decimal, str]], channel_id: int | None, actor: Actor
) -> JournalEntry | None:
    """Returned goods back on the shelf: inventory at cost, the cost of goods
    sold reduced. Once per `ref`."""
    postings: list[Posting] = []
    for currency, amount in _by_currency(costs):
        postings.append(Posting(INVENTORY, debit=amount, currency=currency))
        postings.append(Posting(COGS, credit=amount, currency=currency, channel_id=channel_id))
    if not postings:
        return None
    return journal_post(
        day=day,
        memo=f"Restock {ref}",
        source_type="restock",
        source_ref=ref,
        postings=postings,
        actor=actor,
        latest_rate=True,
    )
