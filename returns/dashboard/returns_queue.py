"""The returns queue: returns by where they stand (waiting for review,
authorized and awaiting the parcel, received and awaiting the refund, ...),
one return with its lines and history and the actions its state allows, and
the customer-service case queue.

Every action goes through returns.services with the staff member as actor:
authorize, reject (with the reason the customer is told), cancel, refund
(after a preview of what the units are worth back) and send a replacement
need returns.change; receiving the parcel (per line: units that arrived,
their condition, what becomes of them) needs receiving.change, and a
warehouse user receives only at the locations they work (inventory.access),
the only ones whose returns they see.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from inventory.access import may_work, scope
from inventory.models import Warehouse
from oms.actors import Actor
from oms.dashboard import paginate, query_without, staff_page
from oms.errors import DomainError
from oms.models import Channel
from oms.money import round_money
from oms.roles import can

from ..models import CustomerCase, ReturnEvent, ReturnLine, ReturnRequest
from ..services import (
    Inspection,
    case_update,
    refund_due,
    return_authorize,
    return_cancel,
    return_exchange,
    return_receive,
    return_refund,
    return_reject,
)

Status = ReturnRequest.Status

# The queue's tabs: where a return stands, and the statuses behind it.
QUEUES = {
    "open": (gettext_lazy("Open"), (Status.REQUESTED, Status.AUTHORIZED, Status.RECEIVED)),
    "review": (gettext_lazy("Waiting for review"), (Status.REQUESTED,)),
    "awaiting": (gettext_lazy("Authorized, awaiting the parcel"), (Status.AUTHORIZED,)),
    "received": (gettext_lazy("Received, awaiting refund or replacement"), (Status.RECEIVED,)),
    "completed": (gettext_lazy("Completed"), (Status.COMPLETED,)),
    "closed": (gettext_lazy("Rejected or cancelled"), (Status.REJECTED, Status.CANCELLED)),
    "all": (gettext_lazy("All"), tuple(Status.values)),
}
# Work queues are served oldest first; the history newest first.
OLDEST_FIRST = {"open", "review", "awaiting", "received"}
STATUS_BADGE = {
    Status.REQUESTED: "warn",
    Status.AUTHORIZED: "",
    Status.RECEIVED: "warn",
    Status.COMPLETED: "ok",
    Status.REJECTED: "bad",
    Status.CANCELLED: "",
}


class ReturnFilters(forms.Form):
    queue = forms.ChoiceField(choices=[(k, v[0]) for k, v in QUEUES.items()], required=False)
    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("RMA, order number or e-mail"))
    location = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True).order_by("code"),
        required=False,
        to_field_name="code",
        empty_label=gettext_lazy("Any"),
        label=gettext_lazy("Location"),
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("code"),
        required=False,
        to_field_name="code",
        empty_label=gettext_lazy("Any"),
        label=gettext_lazy("Channel"),
    )
    resolution = forms.ChoiceField(
        choices=[("", gettext_lazy("Any")), *list(ReturnRequest.Resolution.choices)],
        required=False,
        label=gettext_lazy("Resolution"),
    )


def valid_filters(form: forms.Form) -> dict:
    """The filters of a GET form that are valid: a bad one (an unknown
    location in an old link) is left out, the others still apply."""
    if not form.is_bound:
        return {}
    form.is_valid()
    return form.cleaned_data


def _search(queryset, text: str):
    """RMA number (RMA00000012 or 12), order number, or the customer's e-mail:
    exact matches on indexed columns, cheap however many returns there are."""
    text = text.strip()
    if not text:
        return queryset
    if "@" in text:
        return queryset.filter(customer__email__iexact=text)
    digits = text.upper().removeprefix("RMA").lstrip("#")
    if digits.isdigit() and len(digits) <= 12:
        number = int(digits)
        if text.upper().startswith("RMA"):
            return queryset.filter(pk=number)
        return queryset.filter(Q(pk=number) | Q(order_id=number))
    return queryset.none()


def returns_visible(request):
    """The returns the staff member may see: a warehouse user only their locations'."""
    return scope(ReturnRequest.objects.all(), request, "location")


@staff_page("returns.view")
def return_list(request):
    form = ReturnFilters(request.GET or None)
    values = valid_filters(form)
    queue = values.get("queue") or "open"
    visible = returns_visible(request)
    counts = dict(visible.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    tabs = [
        {"key": key, "label": label, "count": sum(counts.get(s, 0) for s in statuses)}
        for key, (label, statuses) in QUEUES.items()
    ]
    returns = visible.filter(status__in=QUEUES[queue][1])
    if values.get("location"):
        returns = returns.filter(location=values["location"])
    if values.get("channel"):
        returns = returns.filter(channel=values["channel"])
    if values.get("resolution"):
        returns = returns.filter(resolution=values["resolution"])
    returns = _search(returns, values.get("q") or "")
    returns = (
        returns.select_related("order", "customer", "channel", "location")
        .annotate(units=Sum("lines__quantity"), received=Sum("lines__quantity_received"))
        .order_by("id" if queue in OLDEST_FIRST else "-id")
    )
    page = paginate(request, returns)
    for item in page.items:
        item.badge = STATUS_BADGE[item.status]
    context = {
        "form": form,
        "queue": queue,
        "tabs": tabs,
        "page": page,
        "query": query_without(request, "page"),
        "tab_query": query_without(request, "page", "queue"),
    }
    template = "dashboard/returns/_table.html" if request.htmx else "dashboard/returns/list.html"
    return render(request, template, context)


def _return_or_404(request, return_id: int) -> ReturnRequest:
    found = (
        returns_visible(request)
        .select_related("order", "customer", "channel", "location", "replacement_order", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=ReturnLine.objects.select_related("sku", "order_line").order_by("id")),
            Prefetch("events", queryset=ReturnEvent.objects.select_related("actor_user").order_by("-id")),
        )
        .filter(pk=return_id)
        .first()
    )
    if found is None:
        raise Http404(_("No such return, or not at a location you work."))
    return found


@staff_page("returns.view")
def return_detail(request, return_id: int):
    found = _return_or_404(request, return_id)
    currency = found.order.currency
    preview = None
    if found.status == Status.RECEIVED and found.resolution == ReturnRequest.Resolution.REFUND:
        split, fee = refund_due(found)
        preview = {
            "goods": round_money(split.goods_net, currency),
            "shipping": round_money(split.shipping_net, currency),
            "tax": round_money(split.tax, currency),
            "fee": round_money(fee, currency),
            "total": round_money(split.total, currency),
        }
    may_change = can(request, "returns.change")
    may_receive = can(request, "receiving.change") and may_work(request, found.location_id)
    context = {
        "ret": found,
        "currency": currency,
        "lines": list(found.lines.all()),
        "events": list(found.events.all()),
        "preview": preview,
        "badge": STATUS_BADGE[found.status],
        "conditions": ReturnLine.Condition.choices,
        "dispositions": ReturnLine.Disposition.choices,
        "can_authorize": may_change and found.status == Status.REQUESTED,
        "can_cancel": may_change and found.status in (Status.REQUESTED, Status.AUTHORIZED),
        "can_receive": may_receive and found.status == Status.AUTHORIZED,
        "can_refund": may_change and preview is not None and found.order.payment_terms_days is None,
        "on_account": preview is not None and found.order.payment_terms_days is not None,
        "can_exchange": may_change
        and found.resolution == ReturnRequest.Resolution.EXCHANGE
        and not found.replacement_order_id
        and found.status in (Status.AUTHORIZED, Status.RECEIVED),
    }
    return render(request, "dashboard/returns/detail.html", context)


def _act(request, return_id: int, action, done: str):
    """Run `action(actor)` on a return the staff member may see; report the
    outcome as a message and go back to the return (POST-redirect-GET)."""
    found = returns_visible(request).filter(pk=return_id).values_list("pk", flat=True).first()
    if found is None:
        raise Http404(_("No such return, or not at a location you work."))
    try:
        result = action(Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done % {"number": result.number})
    return redirect("dashboard:return", return_id=return_id)


@require_POST
@staff_page("returns.change")
def return_authorize_view(request, return_id: int):
    message = request.POST.get("message", "")[:500]
    return _act(
        request,
        return_id,
        lambda actor: return_authorize(return_id=return_id, actor=actor, message=message),
        _("Return %(number)s authorized: the customer is told where to send it."),
    )


@require_POST
@staff_page("returns.change")
def return_reject_view(request, return_id: int):
    reason = request.POST.get("reason", "")[:500]
    return _act(
        request,
        return_id,
        lambda actor: return_reject(return_id=return_id, actor=actor, reason=reason),
        _("Return %(number)s rejected; the customer is told why."),
    )


@require_POST
@staff_page("returns.change")
def return_cancel_view(request, return_id: int):
    reason = request.POST.get("reason", "")[:500]
    return _act(
        request,
        return_id,
        lambda actor: return_cancel(return_id=return_id, actor=actor, reason=reason),
        _("Return %(number)s cancelled."),
    )


@require_POST
@staff_page("receiving.change")
def return_receive_view(request, return_id: int):
    found = returns_visible(request).select_related("location").filter(pk=return_id).first()
    if found is None:
        raise Http404(_("No such return, or not at a location you work."))
    if not may_work(request, found.location_id):
        messages.error(request, _("You do not work at %(location)s.") % {"location": found.location.code})
        return redirect("dashboard:return", return_id=return_id)
    inspections = []
    problems = []
    for line_id in found.lines.order_by("id").values_list("id", flat=True):
        raw = request.POST.get(f"quantity_{line_id}", "").strip()
        try:
            quantity = int(raw or "0")
        except ValueError:
            problems.append(
                _("Line %(line)s: %(value)s is not a number of units.") % {"line": line_id, "value": raw[:20]}
            )
            continue
        inspections.append(
            Inspection(
                line_id=line_id,
                quantity=quantity,
                condition=request.POST.get(f"condition_{line_id}", ""),
                disposition=request.POST.get(f"disposition_{line_id}", ""),
            )
        )
    if problems:
        for problem in problems:
            messages.error(request, problem)
        return redirect("dashboard:return", return_id=return_id)
    return _act(
        request,
        return_id,
        lambda actor: return_receive(return_id=return_id, inspections=inspections, actor=actor),
        _("Return %(number)s received and inspected."),
    )


@require_POST
@staff_page("returns.change")
def return_refund_view(request, return_id: int):
    raw = request.POST.get("amount", "").strip().replace(",", ".")
    amount = None
    if raw:
        try:
            amount = Decimal(raw)
            if not amount.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            messages.error(request, _("amount: %(value)s is not an amount.") % {"value": raw[:20]})
            return redirect("dashboard:return", return_id=return_id)
    return _act(
        request,
        return_id,
        lambda actor: return_refund(return_id=return_id, actor=actor, amount=amount),
        _("Return %(number)s refunded to the original payment."),
    )


@require_POST
@staff_page("returns.change")
def return_exchange_view(request, return_id: int):
    return _act(
        request,
        return_id,
        lambda actor: return_exchange(return_id=return_id, actor=actor),
        _("Replacement order sent for return %(number)s."),
    )


# --- The case queue ---------------------------------------------------------------------


class CaseFilters(forms.Form):
    status = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("Not resolved")),
            *list(CustomerCase.Status.choices),
            ("all", gettext_lazy("All")),
        ],
        required=False,
        label=gettext_lazy("Status"),
    )
    assigned = forms.ChoiceField(
        choices=[
            ("", gettext_lazy("Anyone")),
            ("me", gettext_lazy("Me")),
            ("none", gettext_lazy("Unassigned")),
        ],
        required=False,
        label=gettext_lazy("Assigned to"),
    )


def _staff_choices():
    return list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .order_by("username")
        .values_list("pk", "username")
    )


@staff_page("returns.view")
def case_list(request):
    form = CaseFilters(request.GET or None)
    values = valid_filters(form)
    cases = CustomerCase.objects.select_related("customer", "order", "assigned_to")
    status = values.get("status") or ""
    if status == "":
        cases = cases.exclude(status=CustomerCase.Status.RESOLVED)
    elif status != "all":
        cases = cases.filter(status=status)
    if values.get("assigned") == "me":
        cases = cases.filter(assigned_to=request.user)
    elif values.get("assigned") == "none":
        cases = cases.filter(assigned_to__isnull=True)
    page = paginate(request, cases.order_by("status", "created_at", "id"))
    context = {
        "form": form,
        "page": page,
        "query": query_without(request, "page"),
        "staff": _staff_choices() if can(request, "returns.change") else [],
        "statuses": CustomerCase.Status.choices,
        "may_change": can(request, "returns.change"),
    }
    return render(request, "dashboard/returns/cases.html", context)


@require_POST
@staff_page("returns.change")
def case_update_view(request, case_id: int):
    values: dict = {}
    status = request.POST.get("status", "")
    if status:
        if status not in CustomerCase.Status.values:
            messages.error(request, _("status: %(value)s is not a case status.") % {"value": status[:20]})
            return redirect(_back_to_cases(request))
        values["status"] = status
    if "assigned_to" in request.POST:
        raw = request.POST["assigned_to"].strip()
        if raw and not raw.isdigit():
            messages.error(request, _("assigned_to: %(value)s is not a staff member.") % {"value": raw[:20]})
            return redirect(_back_to_cases(request))
        values["assigned_to"] = int(raw) if raw else None
    try:
        case = case_update(case_id=case_id, values=values)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Case %(id)s updated.") % {"id": case.pk})
    return redirect(_back_to_cases(request))


def _back_to_cases(request) -> str:
    back = request.POST.get("next", "")
    url = reverse("dashboard:cases")
    return back if back.startswith(url) else url


urlpatterns = [
    path("returns/", return_list, name="returns"),
    path("returns/cases/", case_list, name="cases"),
    path("returns/cases/<int:case_id>/update/", case_update_view, name="case_update"),
    path("returns/<int:return_id>/", return_detail, name="return"),
    path("returns/<int:return_id>/authorize/", return_authorize_view, name="return_authorize"),
    path("returns/<int:return_id>/reject/", return_reject_view, name="return_reject"),
    path("returns/<int:return_id>/cancel/", return_cancel_view, name="return_cancel"),
    path("returns/<int:return_id>/receive/", return_receive_view, name="return_receive"),
    path("returns/<int:return_id>/refund/", return_refund_view, name="return_refund"),
    path("returns/<int:return_id>/exchange/", return_exchange_view, name="return_exchange"),
]
