"""The dashboard's own pages: sign in, and the audit trail of staff actions."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from oms.audit import TARGET_OF_URL, audit_entry_record
from oms.auth_backends import login_throttled
from oms.dashboard import dashboard_language, page_link, paginate, query_without, staff_page
from oms.models_audit import AuditEntry


class DashboardLogin(LoginView):
    template_name = "dashboard/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if login_throttled(request, request.POST.get("username")):
            # Refused before authenticate() runs, so no failed-sign-in signal: record it here.
            audit_entry_record(
                action=AuditEntry.Action.LOGIN_FAILED,
                request=request,
                username=str(request.POST.get("username") or ""),
                status=429,
            )
            minutes = max(1, settings.LOGIN_FAILURE_WINDOW_SECONDS // 60)
            context = {"throttled": True, "minutes": minutes, "next": request.POST.get("next", "")}
            return render(request, self.template_name, context, status=429)
        return super().post(request, *args, **kwargs)

    def dispatch(self, request, *args, **kwargs):
        with translation.override(dashboard_language(request)):
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render"):
                response.render()
        return response


# --- The audit trail ----------------------------------------------------------------

AUDIT_ACTIONS = {
    AuditEntry.Action.REQUEST: gettext_lazy("Request"),
    AuditEntry.Action.LOGIN: gettext_lazy("Sign-in"),
    AuditEntry.Action.LOGIN_FAILED: gettext_lazy("Failed sign-in"),
    AuditEntry.Action.LOGOUT: gettext_lazy("Sign-out"),
}
# Objects that have a dashboard page of their own, to link the trail's entries to.
AUDIT_TARGET_PAGES = {
    "orders.order": "dashboard:order",
    "returns.returnrequest": "dashboard:return",
    "customers.customer": "dashboard:customer",
    "inventory.sku": "dashboard:sku",
    "fulfillment.wave": "dashboard:warehouse-wave",
    "fulfillment.picklist": "dashboard:warehouse-pick-list",
}


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _target_choices() -> list[tuple[str, str]]:
    labels = set(TARGET_OF_URL.values()) | {model._meta.label_lower for model in admin.site._registry}
    named = sorted((str(apps.get_model(label)._meta.verbose_name), label) for label in labels)
    return [("", gettext_lazy("Any object")), *((label, name) for name, label in named)]


class AuditFilters(forms.Form):
    user = forms.CharField(required=False, max_length=150, label=gettext_lazy("User"))
    action = forms.ChoiceField(
        choices=[("", gettext_lazy("Any action")), *AUDIT_ACTIONS.items()],
        required=False,
        label=gettext_lazy("Action"),
    )
    target_type = forms.ChoiceField(choices=_target_choices, required=False, label=gettext_lazy("Object"))
    target_id = forms.CharField(required=False, max_length=64, label=gettext_lazy("Object id"))
    date_from = forms.DateField(required=False, label=gettext_lazy("From"), widget=_date_input())
    date_to = forms.DateField(required=False, label=gettext_lazy("To"), widget=_date_input())


def audit_rows(request, entries: list[AuditEntry]) -> list[AuditEntry]:
    """`entries` made ready for dashboard/audit_table.html (labels, links to
    the objects' pages), without a query."""
    for entry in entries:
        entry.action_label = AUDIT_ACTIONS.get(entry.action, entry.action)
        page_name = AUDIT_TARGET_PAGES.get(entry.target_type)
        entry.target_url = page_link(request, page_name, entry.target_id) if page_name else ""
        entry.submitted_text = json.dumps(entry.submitted, ensure_ascii=False, sort_keys=True)
    return entries


def audit_of(request, target_type: str, target_id: object, limit: int = 10) -> dict:
    """The newest audit entries about one object, for a section of its page,
    with the link to all of them; empty for staff who may not see the trail."""
    url = page_link(request, "dashboard:audit", target_type=target_type, target_id=target_id)
    if not url:
        return {"entries": [], "url": ""}
    entries = AuditEntry.objects.filter(target_type=target_type, target_id=str(target_id))
    return {"entries": audit_rows(request, list(entries.order_by("-at", "-id")[:limit])), "url": url}


@staff_page("settings.view")
def audit_trail(request):
    """Who did what, newest first: the staff actions oms.audit records."""
    form = AuditFilters(request.GET or None)
    values: dict = {}
    if form.is_bound:
        form.is_valid()
        values = form.cleaned_data  # the valid filters: a bad one (a mistyped date) is left out
    entries = AuditEntry.objects.order_by("-at", "-id")
    if values.get("user"):
        entries = entries.filter(username=values["user"].strip())
    if values.get("action"):
        entries = entries.filter(action=values["action"])
    if values.get("target_type"):
        entries = entries.filter(target_type=values["target_type"])
    if values.get("target_id"):
        # An order number as shown (zero-padded) also finds the order's id.
        wanted = values["target_id"].strip().lstrip("#")
        entries = entries.filter(
            target_id__in={wanted, wanted.lstrip("0") or "0"} if wanted.isdigit() else {wanted}
        )
    zone = timezone.get_current_timezone()
    if values.get("date_from"):
        entries = entries.filter(at__gte=datetime.combine(values["date_from"], time.min, zone))
    if values.get("date_to"):
        entries = entries.filter(
            at__lt=datetime.combine(values["date_to"] + timedelta(days=1), time.min, zone)
        )
    page = paginate(request, entries)
    audit_rows(request, page.items)
    context = {"form": form, "page": page, "query": query_without(request, "page")}
    return render(request, "dashboard/audit.html", context)
