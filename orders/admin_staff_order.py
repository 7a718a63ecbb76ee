"""Staff-entered orders (phone and store) in the admin: find the customer,
see what each location can promise for every line, ship or collect in a
store, pay by card or on the customer's account. The form and the placement
are shared with the dashboard's page (orders.staff_orders)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from customers.models import Customer

from .staff_orders import StaffOrderForm, availability, customer_matches, prefill, staff_order_place

ADD_PERMISSION = "orders.add_order"


def staff_order_view(admin_site: AdminSite, opts):
    def view(request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(ADD_PERMISSION):
            raise PermissionDenied
        if request.method == "POST":
            form = StaffOrderForm(request.POST)
        else:
            initial = {"token": uuid.uuid4().hex, "country": "US", "payment": "card"}
            customer = Customer.objects.filter(pk=request.GET.get("customer") or 0).first()
            if customer is not None:
                initial.update(prefill(customer))
            form = StaffOrderForm(initial=initial)
        stock, matches = None, []
        if request.method == "POST":
            if request.POST.get("action") == "place" and form.is_valid():
                order = staff_order_place(form, request.user)
                if order is not None:
                    held = f" It is on hold: {order.hold_reason}" if order.hold_reason else ""
                    messages.success(
                        request, f"Order {order.number} placed ({order.get_status_display()}).{held}"
                    )
                    return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
            else:
                form.is_valid()  # "check": show what is valid so far
            data = getattr(form, "cleaned_data", {})
            if data.get("channel") and data.get("lines"):
                stock = availability(data["channel"], data["lines"])
            matches = customer_matches(request.POST.get("email", ""), data.get("channel"))
        context = {
            **admin_site.each_context(request),
            "opts": opts,
            "title": "New phone or store order",
            "form": form,
            "stock": stock,
            "matches": matches,
        }
        return TemplateResponse(request, "admin/orders/order/staff_order.html", context)

    return view


def staff_order_urls(admin_site: AdminSite, opts) -> list:
    return [
        path(
            "new-staff-order/",
            admin_site.admin_view(staff_order_view(admin_site, opts)),
            name="orders_order_staff_new",
        )
    ]
