"""Staff-entered orders (phone and store) in the admin: find the customer,
see what each location can promise for every line, ship or collect in a
store, pay by card or on the customer's account. The order goes through the
same placement service as the API (source "staff", the user as the actor),
once per form (its token is the idempotency key: a double submit makes one
order)."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from customers.models import Customer
from inventory.atp import Fulfilment, promisable_by_location
from inventory.models import SKU, Warehouse
from oms.actors import Actor
from oms.errors import DomainError
from oms.models import Channel

from .models import Order
from .payments import CardDetails
from .services.placement import CustomerInput, LineInput, OrderInput, PaymentInput, order_place

ADDRESS_FIELDS = ["name", "company", "line1", "line2", "city", "region", "postal_code", "country"]
ADD_PERMISSION = "orders.add_order"


class StaffOrderForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    channel = forms.ModelChoiceField(queryset=Channel.objects.filter(is_active=True).order_by("code"))
    email = forms.EmailField(label="Customer e-mail")
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    phone = forms.CharField(max_length=40, required=False)
    name = forms.CharField(max_length=200, label="Ship to name")
    company = forms.CharField(max_length=200, required=False)
    line1 = forms.CharField(max_length=200, label="Address")
    line2 = forms.CharField(max_length=200, required=False)
    city = forms.CharField(max_length=100)
    region = forms.CharField(max_length=100, required=False, help_text="State or province code.")
    postal_code = forms.CharField(max_length=20, required=False)
    country = forms.CharField(max_length=2, help_text="ISO code, e.g. US.")
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "cols": 40}),
        help_text="One line per item: SKU code and quantity, e.g. TEE-BLK-M 2.",
    )
    pickup_store = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True, allows_pickup=True).order_by("code"),
        required=False,
        empty_label="Ship it",
        label="Delivery",
        help_text="Or the store the customer collects from.",
    )
    shipping_speed = forms.ChoiceField(choices=Order.ShippingSpeed.choices, initial="standard")
    payment = forms.ChoiceField(
        choices=[("card", "Card"), ("account", "On account (invoice)")], initial="card"
    )
    card_number = forms.CharField(max_length=23, required=False)
    exp_month = forms.IntegerField(min_value=1, max_value=12, required=False)
    exp_year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
    cvc = forms.CharField(max_length=4, required=False, widget=forms.PasswordInput(render_value=False))
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 40}), required=False)

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def clean_lines(self) -> list[tuple[str, int]]:
        parsed = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) < 1:
                raise forms.ValidationError(f"Line {number}: give a SKU code and a quantity of 1 or more.")
            parsed.append((parts[0], int(parts[1])))
        if not parsed:
            raise forms.ValidationError("Add at least one item.")
        return parsed

    def clean(self) -> dict:
        data = super().clean()
        if data.get("payment") == "card" and self.data.get("action") == "place":
            for name in ("card_number", "exp_month", "exp_year", "cvc"):
                if not data.get(name):
                    self.add_error(name, "Required to pay by card.")
        return data

    def add_domain_error(self, exc: DomainError) -> None:
        """A service error on the field it names (lines[0].sku -> lines,
        payment.card.number -> card_number)."""
        if not exc.fields:
            self.add_error(None, exc.message)
        for name, problems in exc.fields.items():
            field = _form_field(name)
            self.add_error(field if field in self.fields else None, [f"{name}: {p}" for p in problems])


def _form_field(name: str) -> str:
    if name.startswith("lines"):
        return "lines"
    if name.startswith("payment.card."):
        return {"number": "card_number", "cvc": "cvc"}.get(name.rsplit(".", 1)[1], name.rsplit(".", 1)[1])
    if name.startswith("shipping_address."):
        return name.split(".", 1)[1]
    if name.startswith("customer."):
        return name.split(".", 1)[1]
    return {"on_account": "payment", "pickup_store": "pickup_store"}.get(name, name)


def order_input(data: dict, actor: Actor) -> OrderInput:
    store = data.get("pickup_store")
    card = None
    if data["payment"] == "card":
        card = CardDetails(
            number=data["card_number"].replace(" ", "").replace("-", ""),
            exp_month=data["exp_month"],
            exp_year=data["exp_year"],
            cvc=data["cvc"],
            holder=data["name"],
        )
    return OrderInput(
        channel=data["channel"],
        actor=actor,
        currency=data["channel"].currency,
        customer=CustomerInput(
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            phone=data["phone"],
        ),
        shipping_address={k: data[k] for k in ADDRESS_FIELDS if data.get(k)},
        lines=[LineInput(sku=code, quantity=qty) for code, qty in data["lines"]],
        payment=PaymentInput(gateway="test", card=card) if card else None,
        on_account=data["payment"] == "account",
        shipping_speed=data["shipping_speed"],
        pickup_store=store.code if store else "",
        notes=data["notes"],
        source=Order.Source.STAFF,
    )


def availability(channel: Channel, lines: list[tuple[str, int]]) -> list[dict]:
    """Per line: what each location serving the channel can promise now (one query)."""
    skus = {s.code: s for s in SKU.objects.filter(code__in=[c for c, _ in lines])}
    stock = promisable_by_location(
        [s.pk for s in skus.values()], channel_id=channel.pk, fulfilment=Fulfilment.SHIP
    )
    names = dict(Warehouse.objects.values_list("pk", "code"))
    rows = []
    for code, qty in lines:
        sku = skus.get(code)
        here = stock.get(sku.pk, {}) if sku else {}
        places = sorted(((names[w], p.atp) for w, p in here.items()), key=lambda x: -x[1])
        total = sum(atp for _, atp in places)
        rows.append(
            {
                "code": code,
                "name": sku.name if sku else "unknown SKU",
                "quantity": qty,
                "places": places,
                "total": total,
                "ok": sku is not None and total >= qty,
                "one_place": any(atp >= qty for _, atp in places),
            }
        )
    return rows


def customer_matches(email: str, channel: Channel | None) -> list[Customer]:
    term = email.strip()
    if len(term) < 3:
        return []
    found = Customer.objects.filter(
        Q(email__icontains=term) | Q(phone__icontains=term) | Q(last_name__iexact=term)
    )
    if channel is not None:
        found = found.filter(channel=channel)
    return list(found.prefetch_related("addresses").order_by("email")[:10])


def prefill(customer: Customer) -> dict:
    initial = {
        "channel": customer.channel_id,
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
        "name": customer.full_name,
        "company": customer.company,
        "payment": "account" if customer.payment_terms_days is not None else "card",
    }
    address = next((a for a in customer.addresses.all() if a.is_default_shipping), None) or next(
        iter(customer.addresses.all()), None
    )
    if address is not None:
        initial.update({k: getattr(address, k) for k in ADDRESS_FIELDS})
    return initial


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
                try:
                    result = order_place(
                        data=order_input(form.cleaned_data, Actor.for_user(request.user)),
                        idempotency_key=f"staff-form:{form.cleaned_data['token']}",
                    )
                except DomainError as exc:
                    form.add_domain_error(exc)
                else:
                    order = result.order
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
