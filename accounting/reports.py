"""Accounting reports: read-only selectors, each returning plain dataclasses.

Every figure is summed by PostgreSQL (GROUP BY with filtered aggregates);
Python only arranges the aggregated rows into columns and adds up the few
rows a report has. Amounts in the base currency come from the journal's
debit and credit columns (booked at the day's rate); "original" amounts are
in the currency of the business event.

Signs: revenue, liability and equity figures are credit minus debit,
asset and expense figures debit minus credit, so every report reads with
positive numbers in the normal case. 4900 (sales returns) is a revenue
account with debits, so it shows negative and reduces revenue.

Aging (receivables and payables) is "as of" a day: a document counts when it
was issued on or before that day, and only payments dated on or before that
day reduce what it owed then, so the report for a past day does not change
when later payments come in. Void invoices are left out (they owe nothing).
Buckets by days past the due date: current (due on or after the day), 1-30,
31-60, 61-90 and over 90.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round, TruncMonth

from oms.errors import InvalidInput
from oms.money import minor_units

from .models import Account, Invoice, InvoicePayment, JournalLine, SupplierInvoice, SupplierPayment
from .services import base_currency

ZERO = Decimal(0)
NO_CHANNEL = "no channel"
SALES_ACCOUNTS = ("4000", "4100", "4900")
TAX_ACCOUNT = "2200"
PNL_GROUPINGS = ("", "channel", "month")
MAX_MONTH_COLUMNS = 120
MONEY = DecimalField(max_digits=18, decimal_places=4)
Sums = tuple[Decimal, ...]


def check_range(date_from: date, date_to: date) -> None:
    if date_from > date_to:
        raise InvalidInput.field(
            "date_from", f"{date_from.isoformat()} is after date_to {date_to.isoformat()}"
        )


def _add(a: Sums, b: Sums) -> Sums:
    return tuple(x + y for x, y in zip(a, b, strict=True))


# --- Profit and loss ----------------------------------------------------------------


@dataclass(frozen=True)
class PnlRow:
    code: str
    name: str
    type: str
    amounts: Sums  # one per column of the report

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, ZERO)


@dataclass(frozen=True)
class ProfitAndLoss:
    date_from: date
    date_to: date
    by: str  # "" (one column), "channel" or "month"
    columns: tuple[str, ...]
    revenue: tuple[PnlRow, ...]
    expenses: tuple[PnlRow, ...]
    revenue_total: Sums
    expense_total: Sums

    @property
    def net_profit(self) -> Sums:
        return tuple(r - e for r, e in zip(self.revenue_total, self.expense_total, strict=True))

    @property
    def total_revenue(self) -> Decimal:
        return sum(self.revenue_total, ZERO)

    @property
    def total_expenses(self) -> Decimal:
        return sum(self.expense_total, ZERO)

    @property
    def total_net_profit(self) -> Decimal:
        return self.total_revenue - self.total_expenses


def _months(date_from: date, date_to: date) -> list[date]:
    first, last = date_from.replace(day=1), date_to.replace(day=1)
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [
        date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(count)
    ]


def profit_and_loss(*, date_from: date, date_to: date, by: str = "") -> ProfitAndLoss:
    """Revenue and expense accounts over [date_from, date_to], with net profit;
    `by="channel"` splits into one column per channel (lines without one
    under "no channel"), `by="month"` into one column per calendar month."""
    check_range(date_from, date_to)
    if by not in PNL_GROUPINGS:
        raise InvalidInput.field("by", f"{by[:20]!r} is not one of: channel, month (or leave it out)")
    months = _months(date_from, date_to) if by == "month" else []
    if len(months) > MAX_MONTH_COLUMNS:
        raise InvalidInput.field("by", f"a monthly breakdown covers at most {MAX_MONTH_COLUMNS} months")

    group = {"": [], "channel": ["channel__code"], "month": ["month"]}[by]
    lines = JournalLine.objects.filter(
        entry__date__gte=date_from,
        entry__date__lte=date_to,
        account__type__in=[Account.Type.REVENUE, Account.Type.EXPENSE],
    )
    if by == "month":
        lines = lines.annotate(month=TruncMonth("entry__date"))
    sums = list(
        lines.values("account__code", "account__name", "account__type", *group).annotate(
            net_credit=Sum(F("credit") - F("debit"))
        )
    )

    def key(row: dict) -> str:
        if by == "channel":
            return row["channel__code"] or NO_CHANNEL
        if by == "month":
            return row["month"].strftime("%Y-%m")
        return "total"

    if by == "month":
        columns = [m.strftime("%Y-%m") for m in months]
    elif by == "channel":
        codes = {key(row) for row in sums}
        columns = sorted(codes - {NO_CHANNEL}) + ([NO_CHANNEL] if NO_CHANNEL in codes else [])
    else:
        columns = ["total"]
    index = {c: i for i, c in enumerate(columns)}

    accounts: dict[str, dict] = {}
    for row in sums:
        account = accounts.setdefault(
            row["account__code"],
            {"name": row["account__name"], "type": row["account__type"], "amounts": [ZERO] * len(columns)},
        )
        sign = 1 if row["account__type"] == Account.Type.REVENUE else -1
        account["amounts"][index[key(row)]] += sign * row["net_credit"]

    def section(type_: str) -> tuple[PnlRow, ...]:
        return tuple(
            PnlRow(code, a["name"], a["type"], tuple(a["amounts"]))
            for code, a in sorted(accounts.items())
            if a["type"] == type_
        )

    revenue, expenses = section(Account.Type.REVENUE), section(Account.Type.EXPENSE)
    zeros = (ZERO,) * len(columns)
    revenue_total, expense_total = zeros, zeros
    for r in revenue:
        revenue_total = _add(revenue_total, r.amounts)
    for e in expenses:
        expense_total = _add(expense_total, e.amounts)
    return ProfitAndLoss(
        date_from, date_to, by, tuple(columns), revenue, expenses, revenue_total, expense_total
    )


# --- Balance sheet ------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceRow:
    code: str
    name: str
    balance: Decimal  # assets: debit - credit; liabilities and equity: credit - debit


@dataclass(frozen=True)
class BalanceSheet:
    as_of: date
    assets: tuple[BalanceRow, ...]
    liabilities: tuple[BalanceRow, ...]
    equity: tuple[BalanceRow, ...]
    # Revenue minus expenses of the years before as_of's (calendar) year that
    # no year-end entry has moved to retained earnings yet.
    earlier_earnings: Decimal
    # Revenue minus expenses from 1 January of as_of's year to as_of.
    current_year_earnings: Decimal

    @property
    def total_assets(self) -> Decimal:
        return sum((r.balance for r in self.assets), ZERO)

    @property
    def total_liabilities(self) -> Decimal:
        return sum((r.balance for r in self.liabilities), ZERO)

    @property
    def total_equity(self) -> Decimal:
        return sum((r.balance for r in self.equity), ZERO)

    @property
    def total_liabilities_and_equity(self) -> Decimal:
        """Equals total_assets: the books balance."""
        return self.total_liabilities + self.total_equity + self.earlier_earnings + self.current_year_earnings


def balance_sheet(*, as_of: date) -> BalanceSheet:
    """Balances of asset, liability and equity accounts at the end of `as_of`,
    and the earnings not yet closed into equity, so that
    assets = liabilities + equity + earlier earnings + current-year earnings."""
    year_start = as_of.replace(month=1, day=1)
    sums = (
        JournalLine.objects.filter(entry__date__lte=as_of)
        .values("account__code", "account__name", "account__type")
        .annotate(
            net_debit=Sum(F("debit") - F("credit")),
            this_year=Coalesce(Sum(F("debit") - F("credit"), filter=Q(entry__date__gte=year_start)), ZERO),
        )
        .order_by("account__code")
    )
    sections: dict[str, list[BalanceRow]] = {"asset": [], "liability": [], "equity": []}
    earlier, current = ZERO, ZERO
    for row in sums:
        type_ = row["account__type"]
        if type_ in (Account.Type.REVENUE, Account.Type.EXPENSE):
            # Earnings are credits minus debits across both kinds of account.
            current -= row["this_year"]
            earlier -= row["net_debit"] - row["this_year"]
            continue
        sign = 1 if type_ == Account.Type.ASSET else -1
        sections[type_].append(
            BalanceRow(row["account__code"], row["account__name"], sign * row["net_debit"])
        )
    return BalanceSheet(
        as_of,
        tuple(sections["asset"]),
        tuple(sections["liability"]),
        tuple(sections["equity"]),
        earlier,
        current,
    )


# --- Sales by channel and currency --------------------------------------------------


@dataclass(frozen=True)
class SalesRow:
    channel: str  # channel code, or NO_CHANNEL
    currency: str
    original_amount: Decimal  # credits minus debits, in `currency`
    base_amount: Decimal
    entries: int


@dataclass(frozen=True)
class SalesReport:
    date_from: date
    date_to: date
    rows: tuple[SalesRow, ...]
    entries: int  # distinct entries over all rows

    @property
    def base_total(self) -> Decimal:
        return sum((r.base_amount for r in self.rows), ZERO)


def sales_by_channel(*, date_from: date, date_to: date) -> SalesReport:
    """Net sales (goods 4000, shipping 4100, less returns 4900) per channel
    and original currency over [date_from, date_to]."""
    check_range(date_from, date_to)
    lines = JournalLine.objects.filter(
        entry__date__gte=date_from, entry__date__lte=date_to, account__code__in=SALES_ACCOUNTS
    )
    signed_amount = Sum("amount", filter=Q(credit__gt=0), default=ZERO) - Sum(
        "amount", filter=Q(debit__gt=0), default=ZERO
    )
    sums = (
        lines.values("channel__code", "currency")
        .annotate(
            original=signed_amount,
            base=Sum(F("credit") - F("debit")),
            entries=Count("entry", distinct=True),
        )
        .order_by(F("channel__code").asc(nulls_last=True), "currency")
    )
    rows = tuple(
        SalesRow(r["channel__code"] or NO_CHANNEL, r["currency"], r["original"], r["base"], r["entries"])
        for r in sums
    )
    entries = lines.aggregate(n=Count("entry", distinct=True))["n"]
    return SalesReport(date_from, date_to, rows, entries)


# --- Tax ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxRow:
    currency: str
    collected_original: Decimal  # credits to 2200, in `currency`
    collected_base: Decimal
    reclaimed_original: Decimal  # debits to 2200
    reclaimed_base: Decimal

    @property
    def net_original(self) -> Decimal:
        return self.collected_original - self.reclaimed_original

    @property
    def net_base(self) -> Decimal:
        return self.collected_base - self.reclaimed_base


@dataclass(frozen=True)
class TaxReport:
    date_from: date
    date_to: date
    rows: tuple[TaxRow, ...]

    @property
    def collected_base(self) -> Decimal:
        return sum((r.collected_base for r in self.rows), ZERO)

    @property
    def reclaimed_base(self) -> Decimal:
        return sum((r.reclaimed_base for r in self.rows), ZERO)

    @property
    def net_base(self) -> Decimal:
        return self.collected_base - self.reclaimed_base


def tax_report(*, date_from: date, date_to: date) -> TaxReport:
    """Tax collected (credits to 2200) and reclaimed or refunded (debits to
    2200) over [date_from, date_to], per original currency."""
    check_range(date_from, date_to)
    sums = (
        JournalLine.objects.filter(
            entry__date__gte=date_from, entry__date__lte=date_to, account__code=TAX_ACCOUNT
        )
        .values("currency")
        .annotate(
            collected_original=Sum("amount", filter=Q(credit__gt=0), default=ZERO),
            collected_base=Sum("credit"),
            reclaimed_original=Sum("amount", filter=Q(debit__gt=0), default=ZERO),
            reclaimed_base=Sum("debit"),
        )
        .order_by("currency")
    )
    return TaxReport(
        date_from,
        date_to,
        tuple(
            TaxRow(
                r["currency"],
                r["collected_original"],
                r["collected_base"],
                r["reclaimed_original"],
                r["reclaimed_base"],
            )
            for r in sums
        ),
    )


# --- Aging of receivables and payables ----------------------------------------------

BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")
BUCKET_LABELS = ("Current", "1-30 days", "31-60 days", "61-90 days", "Over 90 days")


@dataclass(frozen=True)
class AgingAmounts:
    """Outstanding amounts by days past due (BUCKETS)."""

    current: Decimal = ZERO
    days_1_30: Decimal = ZERO
    days_31_60: Decimal = ZERO
    days_61_90: Decimal = ZERO
    days_over_90: Decimal = ZERO

    @property
    def buckets(self) -> Sums:
        return tuple(getattr(self, b) for b in BUCKETS)

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, ZERO)

    def __add__(self, other: AgingAmounts) -> AgingAmounts:
        return AgingAmounts(*_add(self.buckets, other.buckets))


@dataclass(frozen=True)
class AgingRow:
    party_id: int  # customer or supplier id
    party_name: str  # as printed on its documents (the greatest, should they differ)
    currency: str
    documents: int
    amount: AgingAmounts  # in `currency`
    base: AgingAmounts  # each document's outstanding at its own booked rate


@dataclass(frozen=True)
class AgingTotal:
    currency: str
    documents: int
    amount: AgingAmounts
    base: AgingAmounts


@dataclass(frozen=True)
class AgingReport:
    as_of: date
    kind: str  # "receivable" or "payable"
    rows: tuple[AgingRow, ...]
    currency_totals: tuple[AgingTotal, ...]
    base: AgingAmounts  # all currencies, in the base currency

    @property
    def documents(self) -> int:
        return sum(r.documents for r in self.rows)


def _bucket_filters(as_of: date) -> list[Q]:
    def days_ago(n: int) -> date:
        return as_of - timedelta(days=n)

    return [
        Q(due_date__gte=as_of),
        Q(due_date__lt=as_of, due_date__gte=days_ago(30)),
        Q(due_date__lt=days_ago(30), due_date__gte=days_ago(60)),
        Q(due_date__lt=days_ago(60), due_date__gte=days_ago(90)),
        Q(due_date__lt=days_ago(90)),
    ]


def _aging(*, as_of: date, kind: str, documents, payments, document_field: str, party: str) -> AgingReport:
    paid_to_date = (
        payments.filter(**{document_field: OuterRef("pk")}, day__lte=as_of)
        .values(document_field)
        .annotate(paid=Sum("amount"))
        .values("paid")
    )
    # Open now, or paid in full only after the day: the others owed nothing
    # then, and skipping them keeps the per-document payment sums few.
    open_then = Q(status="open") | Q(paid_at__gt=as_of)
    open_documents = (
        documents.filter(open_then, issue_date__lte=as_of)
        .annotate(
            paid_to_date=Coalesce(Subquery(paid_to_date, output_field=MONEY), Value(ZERO), output_field=MONEY)
        )
        .annotate(open_amount=F("total") - F("paid_to_date"))
        .filter(open_amount__gt=0)
        .annotate(
            open_base=Round(
                F("open_amount") * F("rate"), precision=minor_units(base_currency()), output_field=MONEY
            )
        )
    )
    buckets = {}
    for bucket, where in zip(BUCKETS, _bucket_filters(as_of), strict=True):
        buckets[f"amount_{bucket}"] = Sum("open_amount", filter=where, default=ZERO)
        buckets[f"base_{bucket}"] = Sum("open_base", filter=where, default=ZERO)
    sums = (
        open_documents.values(f"{party}_id", "currency")
        .annotate(name=Max(f"{party}_name"), documents=Count("pk"), **buckets)
        .order_by("name", f"{party}_id", "currency")
    )
    rows = tuple(
        AgingRow(
            r[f"{party}_id"],
            r["name"],
            r["currency"],
            r["documents"],
            AgingAmounts(**{b: r[f"amount_{b}"] for b in BUCKETS}),
            AgingAmounts(**{b: r[f"base_{b}"] for b in BUCKETS}),
        )
        for r in sums
    )
    totals: dict[str, AgingTotal] = {}
    for row in rows:
        t = totals.get(row.currency, AgingTotal(row.currency, 0, AgingAmounts(), AgingAmounts()))
        totals[row.currency] = AgingTotal(
            row.currency, t.documents + row.documents, t.amount + row.amount, t.base + row.base
        )
    base = AgingAmounts()
    for row in rows:
        base = base + row.base
    return AgingReport(as_of, kind, rows, tuple(totals[c] for c in sorted(totals)), base)


def ar_aging(*, as_of: date) -> AgingReport:
    """Customer invoices outstanding at the end of `as_of`, per customer and
    currency, by days past due (see the module note)."""
    return _aging(
        as_of=as_of,
        kind="receivable",
        documents=Invoice.objects.all(),
        payments=InvoicePayment.objects.all(),
        document_field="invoice",
        party="customer",
    )


def ap_aging(*, as_of: date) -> AgingReport:
    """Supplier invoices outstanding at the end of `as_of`, per supplier and
    currency, by days past due (see the module note)."""
    return _aging(
        as_of=as_of,
        kind="payable",
        documents=SupplierInvoice.objects.all(),
        payments=SupplierPayment.objects.all(),
        document_field="supplier_invoice",
        party="supplier",
    )
