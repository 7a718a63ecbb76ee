"""Dashboard pages of the orders app: the orders list (filters, search, live
refresh) and the phone / store order form. The order detail page joins
fulfillment, returns and accounting, so it lives in returns/dashboard/orders.py.

The list must answer fast over a million orders: newest first by id, each
filter and the search on an index of orders_order (see dashboard_forms and
migration 0008), the page fetched without a count, the lines counted per
row of the page only (a correlated subquery, not a join over every order).
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from customers.models import Customer
from oms.dashboard import paginate, query_without, staff_page
from oms.roles import can

from .dashboard_forms import STATUS_BADGES, STATUS_LABELS, OrderFilters
from .models import Order, OrderLine
from .staff_orders import StaffOrderForm, availability, customer_matches, prefill, staff_order_place


def orders_listed() -> QuerySet[Order]:
    """Orders newest first with what a row of the list shows (one query a page)."""
    lines = (
        OrderLine.objects.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Order.objects.select_related("channel", "customer")
        .only(
            "id",
            "placed_at",
            "status",
            "currency",
            "grand_total",
            "email",
            "external_id",
            "is_gift",
            "is_vip",
            "is_replacement",
            "hold_reason",
            "shipping_address",
            "channel__code",
            "channel__name",
            "customer__first_name",
            "customer__last_name",
            "customer__email",
            "customer__company",
        )
        .annotate(line_count=Coalesce(Subquery(lines, output_field=IntegerField()), 0))
        .order_by("-id")
    )


@staff_page("orders.view")
def order_list(request):
    filters = OrderFilters(request.GET)
    page = paginate(request, filters.filter(orders_listed()))
    for order in page.items:
        order.status_label = STATUS_LABELS.get(order.status, order.status)
        order.badge = STATUS_BADGES.get(order.status, "")
    context = {
        "filters": filters,
        "page": page,
        "query": query_without(request, "page"),
        "filtered": bool(query_without(request, "page")),
        "can_change": can(request, "orders.change"),
    }
    template = "dashboard/orders/_list_table.html" if request.htmx else "dashboard/orders/list.html"
    return render(request, template, context)


@staff_page("orders.change")
def order_new(request):
    """A phone or store order: check the customer and stock, then place it
    through the placement service (orders.staff_orders), once per form."""
    if request.method == "POST":
        form = StaffOrderForm(request.POST)
        if request.POST.get("action") == "place" and form.is_valid():
            order = staff_order_place(form, request.user)
            if order is not None:
                status = STATUS_LABELS.get(order.status, order.status)
                if order.hold_reason:
                    messages.warning(
                        request,
                        _("Order %(number)s placed (%(status)s). It is on hold: %(reason)s")
                        % {"number": order.number, "status": status, "reason": order.hold_reason},
                    )
                else:
                    messages.success(
                        request,
                        _("Order %(number)s placed (%(status)s).")
                        % {"number": order.number, "status": status},
                    )
                return redirect("dashboard:order", order.number)
        else:
            form.is_valid()  # "check": show what is valid so far
        data = getattr(form, "cleaned_data", {})
        stock = (
            availability(data["channel"], data["lines"])
            if data.get("channel") and data.get("lines")
            else None
        )
        matches = customer_matches(request.POST.get("email", ""), data.get("channel"))
    else:
        initial = {"token": uuid.uuid4().hex, "country": "US", "payment": "card"}
        customer_id = request.GET.get("customer", "")
        customer = (
            Customer.objects.prefetch_related("addresses").filter(pk=customer_id).first()
            if customer_id.isdigit()
            else None
        )
        if customer is not None:
            initial.update(prefill(customer))
        form = StaffOrderForm(initial=initial)
        stock, matches = None, []
    return render(request, "dashboard/orders/new.html", {"form": form, "stock": stock, "matches": matches})
