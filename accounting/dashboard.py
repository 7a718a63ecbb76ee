"""Dashboard pages of accounting (/dashboard/accounting/, accounting/dashboard_urls.py).

The overview (receivables, this month's result, whether the books balance,
overdue invoices) and three reports: trial balance, profit and loss, and
receivables aging. The reports are the selectors the API and the admin use
(accounting.reports, accounting.selectors), so the three always agree; each
page links to the same report as CSV from the staff API. Amounts are in the
base currency unless a column says otherwise. A bad date or range shows as a
form error, never a 500. Every page is a fixed handful of aggregate queries.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from django import forms
from django.db.models import F
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oms.charts import bar_chart
from oms.dashboard import paginate, query_without, staff_page
from oms.errors import InvalidInput

from .models import Invoice
from .reports import BUCKETS, ZERO, ar_aging, profit_and_loss
from .selectors import trial_balance
from .services import base_currency, base_value

BUCKET_LABELS = dict(
    zip(
        BUCKETS,
        (
            gettext_lazy("Not yet due"),
            gettext_lazy("1-30 days"),
            gettext_lazy("31-60 days"),
            gettext_lazy("61-90 days"),
            gettext_lazy("Over 90 days"),
        ),
        strict=True,
    )
)
ACCOUNT_TYPE_LABELS = {
    "asset": gettext_lazy("Asset"),
    "liability": gettext_lazy("Liability"),
    "equity": gettext_lazy("Equity"),
    "revenue": gettext_lazy("Revenue"),
    "expense": gettext_lazy("Expense"),
}
OVERDUE_PER_PAGE = 25


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OptionalAsOfForm(forms.Form):
    as_of = forms.DateField(
        required=False,
        label=gettext_lazy("As of"),
        widget=_date_input(),
        help_text=gettext_lazy("Empty: every posting."),
    )


class AsOfForm(forms.Form):
    as_of = forms.DateField(required=False, label=gettext_lazy("As of"), widget=_date_input())


class PeriodForm(forms.Form):
    date_from = forms.DateField(required=False, label=gettext_lazy("From"), widget=_date_input())
    date_to = forms.DateField(required=False, label=gettext_lazy("To"), widget=_date_input())
    by = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Columns"),
        choices=[
            ("", gettext_lazy("Total")),
            ("channel", gettext_lazy("By channel")),
            ("month", gettext_lazy("By month")),
        ],
    )


def _read(form: forms.Form, defaults: dict) -> dict | None:
    """The form's values over the defaults, or None when a field is wrong
    (the form then carries the error to show)."""
    if not form.is_valid():
        return None
    return {
        name: value if value not in (None, "") else defaults.get(name, value)
        for name, value in form.cleaned_data.items()
    }


def _with_defaults(request, defaults: dict) -> dict:
    """The query over the defaults, so the form shows the period the report covers."""
    data = {name: value.isoformat() if isinstance(value, date) else value for name, value in defaults.items()}
    data.update({name: value for name, value in request.GET.items() if value})
    return data


def _report_error(form: forms.Form, error: InvalidInput) -> None:
    """A report's own refusal (e.g. date_from after date_to) as a form error on its field."""
    fields = [name for name in error.fields if name in form.fields]
    form.add_error(
        fields[0] if fields else None,
        error.fields.get(fields[0], [error.message]) if fields else error.message,
    )


def _csv_url(slug: str, params: dict) -> str:
    query = {"format": "csv"}
    for name, value in params.items():
        if value not in (None, ""):
            query[name] = value.isoformat() if isinstance(value, date) else value
    return f"{reverse(f'accounting-report-{slug}')}?{urlencode(query)}"


def _context(request, active: str, **extra) -> dict:
    return {"active": active, "currency": base_currency(), **extra}


# --- Overview ----------------------------------------------------------------------------------


@staff_page("accounting.view")
def accounting_overview(request):
    today = timezone.localdate()
    aging = ar_aging(as_of=today)
    month = profit_and_loss(date_from=today.replace(day=1), date_to=today)
    rows = trial_balance()
    debit, credit = sum((r.debit for r in rows), ZERO), sum((r.credit for r in rows), ZERO)
    overdue = (
        Invoice.objects.filter(status=Invoice.Status.OPEN, due_date__lt=today)
        .annotate(open_amount=F("total") - F("amount_paid"))
        .order_by("due_date", "id")
    )
    page = paginate(request, overdue, per_page=OVERDUE_PER_PAGE)
    for invoice in page.items:
        invoice.days_overdue = (today - invoice.due_date).days
        invoice.open_base = base_value(invoice.open_amount, invoice.rate)
    context = _context(
        request,
        "overview",
        today=today,
        aging=aging,
        overdue_base=aging.base.total - aging.base.current,
        month=month,
        debit=debit,
        credit=credit,
        balanced=debit == credit,
        page=page,
        query=query_without(request, "page"),
    )
    return render(request, "dashboard/accounting/overview.html", context)


# --- Trial balance ----------------------------------------------------------------------------


@staff_page("accounting.view")
def accounting_trial_balance(request):
    form = OptionalAsOfForm(request.GET)
    params = _read(form, {})
    report = None
    if params is not None:
        rows = trial_balance(as_of=params["as_of"])
        report = {
            "rows": [{"row": r, "type_label": ACCOUNT_TYPE_LABELS.get(r.type, r.type)} for r in rows],
            "debit": sum((r.debit for r in rows), ZERO),
            "credit": sum((r.credit for r in rows), ZERO),
            "as_of": params["as_of"],
            "csv": _csv_url("trial-balance", params),
        }
    return render(
        request,
        "dashboard/accounting/trial_balance.html",
        _context(request, "trial_balance", form=form, report=report),
    )


# --- Profit and loss ---------------------------------------------------------------------------


@staff_page("accounting.view")
def accounting_profit_and_loss(request):
    today = timezone.localdate()
    defaults = {"date_from": today.replace(day=1), "date_to": today, "by": ""}
    form = PeriodForm(_with_defaults(request, defaults))
    params = _read(form, defaults)
    report = chart = None
    if params is not None:
        try:
            report = profit_and_loss(
                date_from=params["date_from"], date_to=params["date_to"], by=params["by"]
            )
        except InvalidInput as error:
            _report_error(form, error)
    if report is not None and len(report.columns) > 1 and (report.revenue or report.expenses):
        chart = bar_chart(
            report.columns,
            {
                _("Revenue"): [float(v) for v in report.revenue_total],
                _("Expenses"): [float(v) for v in report.expense_total],
                _("Net profit"): [float(v) for v in report.net_profit],
            },
            title=_("By month") if report.by == "month" else _("By channel"),
            stacked=False,
        )
    context = _context(
        request,
        "profit_and_loss",
        form=form,
        report=report,
        chart=chart,
        csv=_csv_url("profit-and-loss", params) if report is not None else None,
    )
    return render(request, "dashboard/accounting/profit_and_loss.html", context)


# --- Receivables aging -------------------------------------------------------------------------


@staff_page("accounting.view")
def accounting_ar_aging(request):
    today = timezone.localdate()
    form = AsOfForm(_with_defaults(request, {"as_of": today}))
    params = _read(form, {"as_of": today})
    report = chart = None
    if params is not None:
        report = ar_aging(as_of=params["as_of"])
        chart = bar_chart(
            [str(BUCKET_LABELS[b]) for b in BUCKETS],
            {_("Outstanding"): [float(v) for v in report.base.buckets]},
            title=_("Outstanding by days past due (%(currency)s)") % {"currency": base_currency()},
        )
    context = _context(
        request,
        "ar_aging",
        form=form,
        report=report,
        chart=chart,
        buckets=[BUCKET_LABELS[b] for b in BUCKETS],
        csv=_csv_url("ar-aging", params) if report is not None else None,
    )
    return render(request, "dashboard/accounting/ar_aging.html", context)
