"""Posting to the books: the one way journal entries are written.

Callers (capture, shipment, receipt, refund, ...) post inside their own
transaction, so goods, money and the books never disagree. An entry is a
list of postings, each a debit or a credit to an account in the currency of
the business event; each is booked in the base currency at the day's rate
(ExchangeRate for that day; the base currency is 1) and keeps its original
amount, currency and rate. The entry must balance in the base currency: when
every currency's postings balance among themselves, the few minor units that
converting them one by one can leave go to the rounding account; any other
difference is refused, and nothing is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, NotFound
from oms.money import MINOR_UNITS, has_valid_precision, quantum, round_money

from .models import Account, ExchangeRate, JournalEntry, JournalLine, Period

ROUNDING_ACCOUNT = "7990"
ZERO = Decimal(0)


def base_currency() -> str:
    return settings.BASE_CURRENCY


@dataclass(frozen=True)
class Posting:
    """A debit or a credit (one of them, positive) to `account` (its code),
    in `currency` (default: the base currency)."""

    account: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    currency: str = ""
    channel_id: int | None = None
    memo: str = ""
    rate: Decimal | None = None  # a historical rate (settling a receivable as booked); default: the day's
    base_amount: Decimal | None = None  # the base amount to book, when it must match an earlier booking


def exchange_rate(*, currency: str, day: date, latest: bool = False) -> Decimal:
    """Base-currency units per unit of `currency` on `day` (with `latest`: the
    newest rate on or before `day`, for postings made by business events that
    must not wait for the day's rate to be loaded)."""
    if currency not in MINOR_UNITS:
        raise InvalidInput.field("currency", f"unknown currency {currency[:8]!r}", code="unknown_currency")
    if currency == base_currency():
        return Decimal(1)
    rates = ExchangeRate.objects.filter(currency=currency)
    rates = rates.filter(day__lte=day).order_by("-day") if latest else rates.filter(day=day)
    rate = rates.values_list("rate", flat=True).first()
    if rate is None:
        when = f"on or before {day.isoformat()}" if latest else f"on {day.isoformat()}"
        raise InvalidInput.field(
            "currency",
            f"no exchange rate for {currency} {when}; add the rate first",
            code="missing_exchange_rate",
        )
    return rate


def base_value(amount: Decimal, rate: Decimal) -> Decimal:
    """`amount` at `rate` in the base currency, rounded to its minor units; a
    non-zero amount is worth at least the smallest unit (a line never
    vanishes: the rounding account takes the difference)."""
    base = base_currency()
    value = round_money(amount * rate, base)
    return max(value, quantum(base)) if amount > 0 and value == 0 else value


@transaction.atomic
def journal_post(
    *,
    day: date,
    memo: str,
    source_type: str,
    source_ref: str,
    postings: Sequence[Posting],
    actor: Actor,
    reverses: JournalEntry | None = None,
    latest_rate: bool = False,
) -> JournalEntry:
    """Post one balanced entry (see the module note). The same business event
    (source_type, source_ref) posts once: a retry gets the entry it made.
    `latest_rate`: convert at the newest rate on or before the day."""
    existing = JournalEntry.objects.filter(source_type=source_type, source_ref=source_ref).first()
    if existing is not None:
        return existing
    _check_open(day)
    lines = _book(day, postings, latest_rate)
    try:
        with transaction.atomic():
            entry = JournalEntry.objects.create(
                date=day,
                memo=memo[:300],
                source_type=source_type,
                source_ref=source_ref,
                reverses=reverses,
                actor_type=actor.type,
                actor_user=actor.user if actor.type == "staff" else None,
            )
    except IntegrityError:  # a concurrent retry of the same event posted first
        return JournalEntry.objects.get(source_type=source_type, source_ref=source_ref)
    for line in lines:
        line.entry = entry
    JournalLine.objects.bulk_create(lines)
    return entry


def _book(day: date, postings: Sequence[Posting], latest_rate: bool = False) -> list[JournalLine]:
    if not postings:
        raise InvalidInput.field("postings", "an entry needs at least one debit and one credit")
    base = base_currency()
    codes = {p.account for p in postings} | {ROUNDING_ACCOUNT}
    accounts = {a.code: a for a in Account.objects.filter(code__in=codes)}
    rates: dict[str, Decimal] = {}
    lines: list[JournalLine] = []
    by_currency: dict[str, Decimal] = defaultdict(Decimal)
    for i, p in enumerate(postings):
        field = f"postings[{i}]"
        currency = p.currency or base
        account = accounts.get(p.account)
        if account is None:
            raise InvalidInput.field(f"{field}.account", f"no account {p.account[:20]!r} in the chart")
        if not account.is_active:
            raise InvalidInput.field(f"{field}.account", f"account {account} is inactive")
        if currency not in rates:
            rates[currency] = exchange_rate(currency=currency, day=day, latest=latest_rate)
        debit, credit = Decimal(p.debit), Decimal(p.credit)
        if debit < 0 or credit < 0:
            raise InvalidInput.field(f"{field}.amount", "must not be negative", code="negative_amount")
        if (debit > 0) == (credit > 0):
            raise InvalidInput.field(f"{field}.amount", "give either a debit or a credit, above zero")
        amount = debit or credit
        if not has_valid_precision(amount, currency):
            raise InvalidInput.field(f"{field}.amount", f"{amount} has more decimals than {currency} allows")
        rate = rates[currency] if p.rate is None or currency == base else Decimal(p.rate)
        booked = base_value(amount, rate) if p.base_amount is None else round_money(p.base_amount, base)
        by_currency[currency] += debit - credit
        lines.append(
            JournalLine(
                account=account,
                debit=booked if debit else ZERO,
                credit=booked if credit else ZERO,
                amount=amount,
                currency=currency,
                rate=rate,
                channel_id=p.channel_id,
                memo=p.memo[:200],
            )
        )
    debits = sum((ln.debit for ln in lines), ZERO)
    credits = sum((ln.credit for ln in lines), ZERO)
    if not lines or not debits or not credits:
        raise InvalidInput.field("postings", "an entry needs at least one debit and one credit")
    difference = debits - credits
    if difference:
        rounding_only = all(v == 0 for v in by_currency.values())
        if not rounding_only or abs(difference) > quantum(base) * len(lines):
            raise InvalidInput.field(
                "postings",
                f"debits {debits} and credits {credits} {base} differ by {abs(difference)}",
                code="unbalanced",
            )
        lines.append(_rounding_line(accounts, difference, base))
    return lines


def _rounding_line(accounts: dict[str, Account], difference: Decimal, base: str) -> JournalLine:
    account = accounts.get(ROUNDING_ACCOUNT)
    if account is None:
        raise InvalidInput.field("postings", f"the chart has no rounding account {ROUNDING_ACCOUNT}")
    side = abs(difference)
    return JournalLine(
        account=account,
        debit=side if difference < 0 else ZERO,
        credit=side if difference > 0 else ZERO,
        amount=side,
        currency=base,
        rate=Decimal(1),
        memo="currency conversion rounding",
    )


def _check_open(day: date) -> None:
    closed = Period.objects.filter(year=day.year, month=day.month, closed_at__isnull=False).exists()
    if closed:
        raise Conflict(
            f"The period {day.year}-{day.month:02d} is closed: post a correction in an open period.",
            code="period_closed",
        )


def journal_reverse(*, entry_id: int, day: date, actor: Actor, memo: str = "") -> JournalEntry:
    """A correction: the entry's lines with debits and credits swapped, at
    the original rates, dated `day` (an open period)."""
    entry = JournalEntry.objects.filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(f"Journal entry {entry_id} does not exist.")
    if hasattr(entry, "reversed_by"):
        raise Conflict(f"{entry} is already reversed by {entry.reversed_by}.", code="already_reversed")
    with transaction.atomic():
        _check_open(day)
        reversal = JournalEntry.objects.create(
            date=day,
            memo=(memo or f"Reversal of {entry}")[:300],
            source_type="reversal",
            source_ref=f"JE{entry.pk}",
            reverses=entry,
            actor_type=actor.type,
            actor_user=actor.user if actor.type == "staff" else None,
        )
        JournalLine.objects.bulk_create(
            [
                JournalLine(
                    entry=reversal,
                    account_id=ln.account_id,
                    debit=ln.credit,
                    credit=ln.debit,
                    amount=ln.amount,
                    currency=ln.currency,
                    rate=ln.rate,
                    channel_id=ln.channel_id,
                    memo=ln.memo,
                )
                for ln in entry.lines.all()
            ]
        )
    return reversal


@transaction.atomic
def period_close(*, year: int, month: int, actor: Actor) -> Period:
    """Close a month: it takes no new entries from now on."""
    if not 1 <= month <= 12:
        raise InvalidInput.field("month", "must be 1 to 12")
    period, _ = Period.objects.select_for_update().get_or_create(year=year, month=month)
    if period.closed_at is None:
        period.closed_at = timezone.now()
        period.closed_by = actor.user if actor.type == "staff" else None
        period.save(update_fields=["closed_at", "closed_by"])
    return period
