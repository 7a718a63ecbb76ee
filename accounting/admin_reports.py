"""Admin pages for the accounting reports (staff only).

admin/accounting/reports/ lists the reports; admin/accounting/reports/<slug>/
shows one, with a form for its dates and a link to its CSV (the staff API's
`?format=csv`, which the admin session authenticates). The pages only parse
the form and call accounting.reports; the selector's own checks (date_from
after date_to, ...) come back as form errors.

The admin has no model for reports, so the URLs are added by wrapping the
default site's get_urls, and a "Reports" entry is added to the accounting
section of the admin index and sidebar by wrapping get_app_list. Loaded by
the import at the end of accounting/admin.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin
from django.http import Http404, HttpRequest
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from oms.errors import DomainError

from .reports import (
    BUCKET_LABELS,
    ap_aging,
    ar_aging,
    balance_sheet,
    profit_and_loss,
    sales_by_channel,
    tax_report,
)
from .selectors import trial_balance


class AsOfForm(forms.Form):
    as_of = forms.DateField(label="As of", widget=forms.DateInput(attrs={"type": "date"}))


class OptionalAsOfForm(forms.Form):
    as_of = forms.DateField(
        label="As of", required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="Blank: all"
    )


class RangeForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))


class ProfitAndLossForm(RangeForm):
    by = forms.ChoiceField(
        label="Columns",
        required=False,
        choices=[("", "Total"), ("channel", "By channel"), ("month", "By month")],
    )


def _trial_balance(params: dict) -> dict:
    rows = trial_balance(as_of=params.get("as_of"))
    return {
        "rows": rows,
        "total_debit": sum((r.debit for r in rows), Decimal(0)),
        "total_credit": sum((r.credit for r in rows), Decimal(0)),
    }


@dataclass(frozen=True)
class Report:
    slug: str  # as in the API's URL: /api/v1/accounting/reports/<slug>/
    title: str
    description: str
    form: type[forms.Form]
    build: Callable[[dict], Any]  # the form's cleaned data -> what the template shows
    template: str


REPORTS = [
    Report(
        "trial-balance",
        "Trial balance",
        "Every account's debits and credits up to a day (base currency).",
        OptionalAsOfForm,
        _trial_balance,
        "admin/accounting/report_trial_balance.html",
    ),
    Report(
        "profit-and-loss",
        "Profit and loss",
        "Revenue, expenses and net profit for a date range, in total, by channel or by month.",
        ProfitAndLossForm,
        lambda p: profit_and_loss(date_from=p["date_from"], date_to=p["date_to"], by=p["by"]),
        "admin/accounting/report_profit_and_loss.html",
    ),
    Report(
        "balance-sheet",
        "Balance sheet",
        "Assets, liabilities, equity and earnings at the end of a day.",
        AsOfForm,
        lambda p: balance_sheet(as_of=p["as_of"]),
        "admin/accounting/report_balance_sheet.html",
    ),
    Report(
        "sales-by-channel",
        "Sales by channel",
        "Net sales (goods, shipping, less returns) per channel and currency for a date range.",
        RangeForm,
        lambda p: sales_by_channel(date_from=p["date_from"], date_to=p["date_to"]),
        "admin/accounting/report_sales.html",
    ),
    Report(
        "tax",
        "Tax",
        "Tax collected and reclaimed (account 2200) per currency for a date range.",
        RangeForm,
        lambda p: tax_report(date_from=p["date_from"], date_to=p["date_to"]),
        "admin/accounting/report_tax.html",
    ),
    Report(
        "ar-aging",
        "Receivables aging",
        "Customer invoices outstanding at the end of a day, by days past due.",
        AsOfForm,
        lambda p: ar_aging(as_of=p["as_of"]),
        "admin/accounting/report_aging.html",
    ),
    Report(
        "ap-aging",
        "Payables aging",
        "Supplier invoices outstanding at the end of a day, by days past due.",
        AsOfForm,
        lambda p: ap_aging(as_of=p["as_of"]),
        "admin/accounting/report_aging.html",
    ),
]
REPORTS_BY_SLUG = {r.slug: r for r in REPORTS}


def _defaults(form: type[forms.Form], today: date) -> dict[str, str]:
    """What a report shows before the form is used: today, or this year to date."""
    values = {
        "as_of": today.isoformat(),
        "date_from": today.replace(month=1, day=1).isoformat(),
        "date_to": today.isoformat(),
    }
    return {name: values[name] for name, field in form.base_fields.items() if field.required}


def reports_index(request: HttpRequest) -> TemplateResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Accounting reports",
        "reports": [
            (r, reverse("admin:accounting_report", args=[r.slug]), reverse(f"accounting-report-{r.slug}"))
            for r in REPORTS
        ],
    }
    return TemplateResponse(request, "admin/accounting/reports.html", context)


def report_page(request: HttpRequest, slug: str) -> TemplateResponse:
    report = REPORTS_BY_SLUG.get(slug)
    if report is None:
        raise Http404("No such report.")
    form = report.form(request.GET or _defaults(report.form, timezone.localdate()))
    result = None
    if form.is_valid():
        try:
            result = report.build(form.cleaned_data)
        except DomainError as exc:
            for name, problems in (exc.fields or {None: [exc.message]}).items():
                for problem in problems:
                    form.add_error(name if name in form.fields else None, problem)
    query = {name: form.data[name] for name in form.fields if form.data.get(name)}
    csv_url = f"{reverse(f'accounting-report-{slug}')}?{urlencode({**query, 'format': 'csv'})}"
    context = {
        **admin.site.each_context(request),
        "title": report.title,
        "report": report,
        "form": form,
        "result": result,
        "csv_url": csv_url,
        "bucket_labels": BUCKET_LABELS,
        "party": "Supplier" if slug == "ap-aging" else "Customer",
    }
    return TemplateResponse(request, ["admin/accounting/report.html"], context)


def _install(site: admin.AdminSite) -> None:
    if getattr(site, "accounting_reports_installed", False):
        return
    get_urls, get_app_list = site.get_urls, site.get_app_list

    def get_urls_with_reports() -> list:
        return [
            path("accounting/reports/", site.admin_view(reports_index), name="accounting_reports"),
            path("accounting/reports/<slug:slug>/", site.admin_view(report_page), name="accounting_report"),
            *get_urls(),
        ]

    def get_app_list_with_reports(request: HttpRequest, app_label: str | None = None) -> list:
        app_list = get_app_list(request, app_label)
        for app in app_list:
            if app["app_label"] == "accounting":
                app["models"].append(
                    {
                        "model": None,
                        "name": "Reports",
                        "object_name": "Reports",
                        "perms": {"add": False, "change": False, "delete": False, "view": True},
                        "admin_url": reverse("admin:accounting_reports", current_app=site.name),
                        "add_url": None,
                        "view_only": True,
                    }
                )
                app["models"].sort(key=lambda m: m["name"])
        return app_list

    site.get_urls = get_urls_with_reports  # type: ignore[method-assign]
    site.get_app_list = get_app_list_with_reports  # type: ignore[method-assign]
    site.accounting_reports_installed = True  # type: ignore[attr-defined]


_install(admin.site)
