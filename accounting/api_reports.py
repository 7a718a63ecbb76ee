"""Accounting reports API (staff): /api/v1/accounting/reports/<name>/.

Every report answers JSON by default and CSV (UTF-8, header row, one table)
with the query parameter `?format=csv`; `format` takes `json` or `csv` and
nothing else (the Accept header does not select CSV). Amounts are strings with
four decimals; "base" amounts are in the base currency (`base_currency` in the
JSON), "original" ones in the row's currency. Dates are YYYY-MM-DD; a bad
date, date_from after date_to or an unknown `by` is a 400 naming the parameter.

Reports, their parameters and CSV columns:

trial-balance ?as_of (optional: all postings)
    code, name, type, debit, credit, balance
profit-and-loss ?date_from&date_to[&by=channel|month]
    section, code, name, <one column per report column>, total (with `by` only)
    Columns: "total" alone, or one per channel code (then "no channel"), or
    one per month YYYY-MM. Sections: revenue (4900 returns shows negative),
    revenue_total, expense, expense_total, net_profit.
balance-sheet ?as_of (default today)
    section, code, name, balance
    Sections: asset, total_assets, liability, equity, earnings (earlier years
    not closed to retained earnings; current year to as_of),
    total_liabilities_and_equity (equals total_assets).
sales-by-channel ?date_from&date_to
    channel, currency, original_amount, base_amount, entries
    Net sales on 4000, 4100 and 4900 (credits minus debits).
tax ?date_from&date_to
    currency, collected_original, collected_base, reclaimed_original,
    reclaimed_base, net_original, net_base   (credits / debits to 2200)
ar-aging ?as_of (default today)
    row, customer_id, customer_name, currency, invoices, current, days_1_30,
    days_31_60, days_61_90, days_over_90, total, base_current, base_days_1_30,
    base_days_31_60, base_days_61_90, base_days_over_90, base_total
    `row` is "customer" (a customer's invoices in one currency), "currency_total"
    (every customer, one currency) or "base_total" (everything, base columns
    only). Outstanding as of the day (later payments do not count).
ap-aging ?as_of (default today)
    as ar-aging with supplier_id, supplier_name and row "supplier".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.permissions import IsStaff
from oms.errors import InvalidInput

from .reports import (
    BUCKETS,
    PNL_GROUPINGS,
    AgingAmounts,
    AgingReport,
    BalanceSheet,
    ProfitAndLoss,
    SalesReport,
    TaxReport,
    ap_aging,
    ar_aging,
    balance_sheet,
    check_range,
    profit_and_loss,
    sales_by_channel,
    tax_report,
)
from .selectors import TrialBalanceRow, trial_balance
from .services import base_currency

FORMATS = ("json", "csv")
FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=list(FORMATS), description="json (default) or csv"
)
ERRORS = {400: OpenApiResponse(description="Invalid parameter, named in error.fields")}
CSV_RESPONSE = {(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV (see the module note)")}


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.4f}"


class Money(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=24, decimal_places=4, **kwargs)


# --- Query parameters ----------------------------------------------------------------


class AsOfIn(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="End of this day (default: today)")

    def validate(self, attrs: dict) -> dict:
        attrs.setdefault("as_of", timezone.localdate())
        return attrs


class AllOrAsOfIn(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text="Up to this day (default: all postings)")


class RangeIn(serializers.Serializer):
    date_from = serializers.DateField(help_text="First day, included")
    date_to = serializers.DateField(help_text="Last day, included")

    def validate(self, attrs: dict) -> dict:
        check_range(attrs["date_from"], attrs["date_to"])
        return attrs


class ProfitAndLossIn(RangeIn):
    by = serializers.ChoiceField(
        choices=[g for g in PNL_GROUPINGS if g],
        required=False,
        allow_blank=True,
        default="",
        help_text="channel: one column per channel; month: one column per month",
    )


# --- JSON output ---------------------------------------------------------------------


class TrialBalanceReportRowOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    debit = Money()
    credit = Money()
    balance = Money()


class TrialBalanceReportOut(serializers.Serializer):
    as_of = serializers.DateField(allow_null=True)
    rows = TrialBalanceReportRowOut(many=True)
    total_debit = Money()
    total_credit = Money()


class PnlRowOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    type = serializers.CharField()
    amounts = serializers.ListField(child=Money(), help_text="One per column")
    total = Money()


class ProfitAndLossOut(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    by = serializers.CharField()
    columns = serializers.ListField(child=serializers.CharField())
    revenue = PnlRowOut(many=True)
    expenses = PnlRowOut(many=True)
    revenue_total = serializers.ListField(child=Money())
    expense_total = serializers.ListField(child=Money())
    net_profit = serializers.ListField(child=Money())
    total_revenue = Money()
    total_expenses = Money()
    total_net_profit = Money()


class BalanceRowOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    balance = Money()


class BalanceSheetOut(serializers.Serializer):
    as_of = serializers.DateField()
    assets = BalanceRowOut(many=True)
    liabilities = BalanceRowOut(many=True)
    equity = BalanceRowOut(many=True)
    earlier_earnings = Money(help_text="Earlier years' revenue - expenses not closed to retained earnings")
    current_year_earnings = Money(help_text="Revenue - expenses from 1 January to as_of")
    total_assets = Money()
    total_liabilities = Money()
    total_equity = Money()
    total_liabilities_and_equity = Money(
        help_text="Liabilities + equity + both earnings: equals total_assets"
    )


class SalesRowOut(serializers.Serializer):
    channel = serializers.CharField(help_text='Channel code, or "no channel"')
    currency = serializers.CharField()
    original_amount = Money()
    base_amount = Money()
    entries = serializers.IntegerField()


class SalesOut(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    rows = SalesRowOut(many=True)
    base_total = Money()
    entries = serializers.IntegerField()


class TaxRowOut(serializers.Serializer):
    currency = serializers.CharField()
    collected_original = Money()
    collected_base = Money()
    reclaimed_original = Money()
    reclaimed_base = Money()
    net_original = Money()
    net_base = Money()


class TaxOut(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    rows = TaxRowOut(many=True)
    collected_base = Money()
    reclaimed_base = Money()
    net_base = Money()


class AgingAmountsOut(serializers.Serializer):
    current = Money(help_text="Not yet due")
    days_1_30 = Money()
    days_31_60 = Money()
    days_61_90 = Money()
    days_over_90 = Money()
    total = Money()


class AgingTotalOut(serializers.Serializer):
    currency = serializers.CharField()
    invoices = serializers.IntegerField(source="documents")
    amount = AgingAmountsOut(help_text="In the currency")
    base = AgingAmountsOut(help_text="In the base currency, at each invoice's rate")


def _aging_out(party: str) -> type[serializers.Serializer]:
    row = type(
        f"Aging{party.title()}RowOut",
        (AgingTotalOut,),
        {
            f"{party}_id": serializers.IntegerField(source="party_id"),
            f"{party}_name": serializers.CharField(source="party_name"),
        },
    )
    return type(
        f"{'AR' if party == 'customer' else 'AP'}AgingOut",
        (serializers.Serializer,),
        {
            "as_of": serializers.DateField(),
            "rows": row(many=True),
            "currency_totals": AgingTotalOut(many=True),
            "base_total": AgingAmountsOut(source="base"),
            "invoices": serializers.IntegerField(source="documents"),
        },
    )


ARAgingOut = _aging_out("customer")
APAgingOut = _aging_out("supplier")


# --- CSV output ----------------------------------------------------------------------


def _trial_balance_csv(rows: list[TrialBalanceRow]) -> Iterable[list]:
    yield ["code", "name", "type", "debit", "credit", "balance"]
    for r in rows:
        yield [r.code, r.name, r.type, _amount(r.debit), _amount(r.credit), _amount(r.balance)]


def _pnl_csv(report: ProfitAndLoss) -> Iterable[list]:
    with_total = bool(report.by)

    def line(section: str, code: str, name: str, amounts: tuple[Decimal, ...]) -> list:
        total = [_amount(sum(amounts, Decimal(0)))] if with_total else []
        return [section, code, name, *(_amount(a) for a in amounts), *total]

    yield ["section", "code", "name", *report.columns, *(["total"] if with_total else [])]
    for r in report.revenue:
        yield line("revenue", r.code, r.name, r.amounts)
    yield line("revenue_total", "", "Total revenue", report.revenue_total)
    for r in report.expenses:
        yield line("expense", r.code, r.name, r.amounts)
    yield line("expense_total", "", "Total expenses", report.expense_total)
    yield line("net_profit", "", "Net profit", report.net_profit)


def _balance_sheet_csv(sheet: BalanceSheet) -> Iterable[list]:
    yield ["section", "code", "name", "balance"]
    for r in sheet.assets:
        yield ["asset", r.code, r.name, _amount(r.balance)]
    yield ["total_assets", "", "Total assets", _amount(sheet.total_assets)]
    for section, rows in (("liability", sheet.liabilities), ("equity", sheet.equity)):
        for r in rows:
            yield [section, r.code, r.name, _amount(r.balance)]
    yield ["earnings", "", "Earnings of earlier years not closed", _amount(sheet.earlier_earnings)]
    yield ["earnings", "", "Current-year earnings", _amount(sheet.current_year_earnings)]
    yield [
        "total_liabilities_and_equity",
        "",
        "Total liabilities and equity",
        _amount(sheet.total_liabilities_and_equity),
    ]


def _sales_csv(report: SalesReport) -> Iterable[list]:
    yield ["channel", "currency", "original_amount", "base_amount", "entries"]
    for r in report.rows:
        yield [r.channel, r.currency, _amount(r.original_amount), _amount(r.base_amount), r.entries]


def _tax_csv(report: TaxReport) -> Iterable[list]:
    yield [
        "currency",
        "collected_original",
        "collected_base",
        "reclaimed_original",
        "reclaimed_base",
        "net_original",
        "net_base",
    ]
    for r in report.rows:
        yield [
            r.currency,
            *(_amount(a) for a in (r.collected_original, r.collected_base, r.reclaimed_original)),
            *(_amount(a) for a in (r.reclaimed_base, r.net_original, r.net_base)),
        ]


def _aging_csv(report: AgingReport) -> Iterable[list]:
    party = "customer" if report.kind == "receivable" else "supplier"

    def amounts(a: AgingAmounts | None) -> list[str]:
        return [_amount(x) for x in (*a.buckets, a.total)] if a else [""] * (len(BUCKETS) + 1)

    yield [
        "row",
        f"{party}_id",
        f"{party}_name",
        "currency",
        "invoices",
        *BUCKETS,
        "total",
        *(f"base_{b}" for b in BUCKETS),
        "base_total",
    ]
    for r in report.rows:
        yield [party, r.party_id, r.party_name, r.currency, r.documents, *amounts(r.amount), *amounts(r.base)]
    for t in report.currency_totals:
        yield ["currency_total", "", "", t.currency, t.documents, *amounts(t.amount), *amounts(t.base)]
    yield ["base_total", "", "", "", report.documents, *amounts(None), *amounts(report.base)]


def _csv_response(rows: Iterable[list], filename: str) -> HttpResponse:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response


# --- Views ---------------------------------------------------------------------------


class ReportView(APIView):
    """One report: parse the query, call its selector, answer JSON or CSV."""

    permission_classes = [IsStaff]
    # Each report sets these: its query and output serializers, its URL slug,
    # how it builds the report from the validated query, and its CSV rows.
    query: type[serializers.Serializer]
    output: type[serializers.Serializer]
    slug: str
    build: Callable[[dict], Any]
    to_csv: Callable[[Any], Iterable[list]]

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # `?format=csv` is ours to answer (below), not a renderer's.
        return super().perform_content_negotiation(request, force=True)

    def filename(self, params: dict) -> str:
        days = [params[k].isoformat() for k in ("as_of", "date_from", "date_to") if params.get(k)]
        return "-".join([self.slug, *days, *([params["by"]] if params.get("by") else [])])

    def get(self, request: Request) -> Response | HttpResponse:
        fmt = request.query_params.get("format") or "json"
        if fmt not in FORMATS:
            raise InvalidInput.field("format", f"{fmt[:20]!r} is not one of: json, csv")
        query = self.query(data=request.query_params)
        query.is_valid(raise_exception=True)
        report = self.build(query.validated_data)
        if fmt == "csv":
            return _csv_response(self.to_csv(report), self.filename(query.validated_data))
        return Response({"base_currency": base_currency(), **self.output(report).data})


def _schema(query: type[serializers.Serializer], output: type[serializers.Serializer], summary: str):
    return extend_schema_view(
        get=extend_schema(
            summary=summary,
            parameters=[query, FORMAT_PARAMETER],
            responses={(200, "application/json"): output, **CSV_RESPONSE, **ERRORS},
        )
    )


@_schema(AllOrAsOfIn, TrialBalanceReportOut, "Trial balance: every account's debits and credits up to a day")
class TrialBalanceReport(ReportView):
    """Every account with postings: debit and credit totals (base currency) up to `as_of`."""

    query, output, slug = AllOrAsOfIn, TrialBalanceReportOut, "trial-balance"

    def build(self, params: dict) -> dict:
        rows = trial_balance(as_of=params.get("as_of"))
        return {
            "as_of": params.get("as_of"),
            "rows": rows,
            "total_debit": sum((r.debit for r in rows), Decimal(0)),
            "total_credit": sum((r.credit for r in rows), Decimal(0)),
        }

    def to_csv(self, report: dict) -> Iterable[list]:
        return _trial_balance_csv(report["rows"])


@_schema(ProfitAndLossIn, ProfitAndLossOut, "Profit and loss for a date range, by channel or month")
class ProfitAndLossReport(ReportView):
    """Revenue (4900 returns negative), expenses and net profit; columns per channel or month with `by`."""

    query, output, slug = ProfitAndLossIn, ProfitAndLossOut, "profit-and-loss"

    def build(self, params: dict) -> ProfitAndLoss:
        return profit_and_loss(date_from=params["date_from"], date_to=params["date_to"], by=params["by"])

    to_csv = staticmethod(_pnl_csv)


@_schema(AsOfIn, BalanceSheetOut, "Balance sheet summary at the end of a day")
class BalanceSheetReport(ReportView):
    """Assets, liabilities, equity and unclosed earnings at the end of `as_of`; the two sides are equal."""

    query, output, slug = AsOfIn, BalanceSheetOut, "balance-sheet"

    def build(self, params: dict) -> BalanceSheet:
        return balance_sheet(as_of=params["as_of"])

    to_csv = staticmethod(_balance_sheet_csv)


@_schema(RangeIn, SalesOut, "Net sales by channel and original currency for a date range")
class SalesByChannelReport(ReportView):
    """Net sales on 4000, 4100 and 4900 per channel and original currency, with the number of entries."""

    query, output, slug = RangeIn, SalesOut, "sales-by-channel"

    def build(self, params: dict) -> SalesReport:
        return sales_by_channel(date_from=params["date_from"], date_to=params["date_to"])

    to_csv = staticmethod(_sales_csv)


@_schema(RangeIn, TaxOut, "Tax collected and reclaimed by currency for a date range")
class TaxReportView(ReportView):
    """Tax collected (credits to 2200) and reclaimed (debits) per original currency."""

    query, output, slug = RangeIn, TaxOut, "tax"

    def build(self, params: dict) -> TaxReport:
        return tax_report(date_from=params["date_from"], date_to=params["date_to"])

    to_csv = staticmethod(_tax_csv)


@_schema(AsOfIn, ARAgingOut, "Receivables aging per customer at the end of a day")
class ARAgingReport(ReportView):
    """Invoices outstanding at the end of `as_of` per customer and currency, by days past due."""

    query, output, slug = AsOfIn, ARAgingOut, "ar-aging"

    def build(self, params: dict) -> AgingReport:
        return ar_aging(as_of=params["as_of"])

    to_csv = staticmethod(_aging_csv)


@_schema(AsOfIn, APAgingOut, "Payables aging per supplier at the end of a day")
class APAgingReport(ReportView):
    """Supplier invoices outstanding at the end of `as_of` per supplier and currency, by days past due."""

    query, output, slug = AsOfIn, APAgingOut, "ap-aging"

    def build(self, params: dict) -> AgingReport:
        return ap_aging(as_of=params["as_of"])

    to_csv = staticmethod(_aging_csv)


REPORT_VIEWS: list[type[ReportView]] = [
    TrialBalanceReport,
    ProfitAndLossReport,
    BalanceSheetReport,
    SalesByChannelReport,
    TaxReportView,
    ARAgingReport,
    APAgingReport,
]

urlpatterns = [
    path(f"accounting/reports/{view.slug}/", view.as_view(), name=f"accounting-report-{view.slug}")
    for view in REPORT_VIEWS
]
