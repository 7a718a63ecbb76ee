"""Customers, most profitable first (the value metrics of returns.metrics:
margin in the base currency, RFM segment), and one customer's page: profile,
metrics, recent orders and returns, open cases and the timeline across the
apps (returns.customers.customer_timeline)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer, CustomerMetrics
from oms.dashboard import paginate, query_without, staff_page
from oms.errors import NotFound
from orders.models import Order

from ..customers import customer_timeline
from ..models import CustomerCase, ReturnRequest
from .returns_queue import valid_filters

SORTS = {
    "margin": (gettext_lazy("Most profitable"), "metrics__margin"),
    "revenue": (gettext_lazy("Biggest spenders"), "metrics__revenue"),
    "recent": (gettext_lazy("Most recent order"), "metrics__last_order_at"),
}
SEGMENT_BADGE = {
    "champions": "ok",
    "loyal": "ok",
    "new": "",
    "promising": "",
    "needs_attention": "warn",
    "at_risk": "warn",
    "lost": "bad",
    "no_orders": "",
}
RECENT_ORDERS = 20
RECENT_RETURNS = 10


class CustomerFilters(forms.Form):
    q = forms.CharField(required=False, max_length=200, label=gettext_lazy("E-mail or name"))
    segment = forms.ChoiceField(
        choices=[("", gettext_lazy("Any segment")), *list(CustomerMetrics.Segment.choices)],
        required=False,
        label=gettext_lazy("Segment"),
    )
    sort = forms.ChoiceField(
        choices=[(k, v[0]) for k, v in SORTS.items()], required=False, label=gettext_lazy("Order by")
    )


def _search(queryset, text: str):
    """A whole e-mail matches exactly (through the unique index on lower(email)
    and channel, which leads with the e-mail); anything else
    is a prefix of the e-mail, first or last name, or "first last"."""
    text = " ".join(text.split())
    if not text:
        return queryset
    if "@" in text and " " not in text:
        return queryset.annotate(email_lower=Lower("email")).filter(email_lower=text.lower())
    match = Q(email__istartswith=text) | Q(first_name__istartswith=text) | Q(last_name__istartswith=text)
    first, _, last = text.partition(" ")
    if last:
        match |= Q(first_name__iexact=first, last_name__istartswith=last)
    return queryset.filter(match)


@staff_page("customers.view")
def customer_list(request):
    form = CustomerFilters(request.GET or None)
    values = valid_filters(form)
    sort = values.get("sort") or "margin"
    customers = Customer.objects.select_related("metrics")
    if values.get("segment"):
        customers = customers.filter(metrics__segment=values["segment"])
    customers = _search(customers, values.get("q") or "")
    customers = customers.order_by(F(SORTS[sort][1]).desc(nulls_last=True), "pk")
    page = paginate(request, customers)
    for customer in page.items:
        metrics = getattr(customer, "metrics", None)
        customer.m = metrics
        customer.badge = SEGMENT_BADGE.get(metrics.segment, "") if metrics else ""
    refreshed = (
        CustomerMetrics.objects.order_by("-refreshed_at").values_list("refreshed_at", flat=True).first()
    )
    context = {
        "form": form,
        "page": page,
        "query": query_without(request, "page"),
        "currency": settings.BASE_CURRENCY,
        "refreshed": refreshed,
    }
    return render(request, "dashboard/customers/list.html", context)


@staff_page("customers.view")
def customer_detail(request, customer_id: int):
    customer = Customer.objects.select_related("metrics", "channel").filter(pk=customer_id).first()
    if customer is None:
        raise Http404(_("No such customer."))
    try:
        timeline = customer_timeline(customer_id=customer.pk)
    except NotFound as error:  # merged away meanwhile
        raise Http404(error.message) from error
    metrics = getattr(customer, "metrics", None)
    orders = list(
        Order.objects.filter(customer=customer).select_related("channel").order_by("-id")[:RECENT_ORDERS]
    )
    returns = list(
        ReturnRequest.objects.filter(customer=customer)
        .select_related("order")
        .order_by("-id")[:RECENT_RETURNS]
    )
    cases = list(
        CustomerCase.objects.filter(customer=customer)
        .exclude(status=CustomerCase.Status.RESOLVED)
        .select_related("order", "assigned_to")
        .order_by("created_at")
    )
    context = {
        "customer": customer,
        "metrics": metrics,
        "segment_badge": SEGMENT_BADGE.get(metrics.segment, "") if metrics else "",
        "orders": orders,
        "returns": returns,
        "cases": cases,
        "timeline": timeline,
        "currency": metrics.currency if metrics else settings.BASE_CURRENCY,
        "recent_orders": RECENT_ORDERS,
    }
    return render(request, "dashboard/customers/detail.html", context)


urlpatterns = [
    path("customers/", customer_list, name="customers"),
    path("customers/<int:customer_id>/", customer_detail, name="customer"),
]
