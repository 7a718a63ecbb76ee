"""Staff-entered orders (phone and store): the form, the customer look-up, the
availability per location and the placement, shared by the admin page
(orders.admin_staff_order) and the dashboard page (orders.dashboard).

The order goes through the same placement service as the API (source
"staff", the user as the actor), once per form: its token is the
idempotency key, so a double submit makes one order."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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


class StaffOrderForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(is_active=True).order_by("code"), label=_("Channel")
    )
    email = forms.EmailField(label=_("Customer e-mail"))
    first_name = forms.CharField(max_length=100, required=False, label=_("First name"))
    last_name = forms.CharField(max_length=100, required=False, label=_("Last name"))
    phone = forms.CharField(max_length=40, required=False, label=_("Phone"))
    name = forms.CharField(max_length=200, label=_("Ship to name"))
    company = forms.CharField(max_length=200, required=False, label=_("Company"))
    line1 = forms.CharField(max_length=200, label=_("Address"))
    line2 = forms.CharField(max_length=200, required=False, label=_("Address line 2"))
    city = forms.CharField(max_length=100, label=_("City"))
    region = forms.CharField(
        max_length=100, required=False, label=_("Region"), help_text=_("State or province code.")
    )
    postal_code = forms.CharField(max_length=20, required=False, label=_("Postal code"))
    country = forms.CharField(max_length=2, label=_("Country"), help_text=_("ISO code, e.g. US."))
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "cols": 40}),
        label=_("Items"),
        help_text=_("One line per item: SKU code and quantity, e.g. TEE-BLK-M 2."),
    )
    pickup_store = forms.ModelChoiceField(
        queryset=Warehouse.objects.filter(is_active=True, allows_pickup=True).order_by("code"),
        required=False,
        empty_label=_("Ship it"),
        label=_("Delivery"),
        help_text=_("Or the store the customer collects from."),
    )
    shipping_speed = forms.ChoiceField(
        choices=Order.ShippingSpeed.choices, initial="standard", label=_("Shipping speed")
    )
    payment = forms.ChoiceField(
        choices=[("card", _("Card")), ("account", _("On account (invoice)"))],
        initial="card",
        label=_("Payment"),
    )
    card_number = forms.CharField(
        max_length=23,
        required=False,
        label=_("Card number"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    exp_month = forms.IntegerField(min_value=1, max_value=12, required=False, label=_("Expiry month"))
    exp_year = forms.IntegerField(min_value=2000, max_value=2100, required=False, label=_("Expiry year"))
    cvc = forms.CharField(
        max_length=4, required=False, label=_("CVC"), widget=forms.PasswordInput(render_value=False)
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}), required=False, label=_("Notes")
    )

    def clean_country(self) -> str:
        return self.cleaned_data["country"].strip().upper()

    def clean_lines(self) -> list[tuple[str, int]]:
        parsed = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) < 1:
                raise forms.ValidationError(
                    gettext("Line %(number)s: give a SKU code and a quantity of 1 or more.")
                    % {"number": number}
                )
            parsed.append((parts[0], int(parts[1])))
        if not parsed:
            raise forms.ValidationError(gettext("Add at least one item."))
        return parsed

    def clean(self) -> dict:
        data = super().clean()
        if data.get("payment") == "card" and self.data.get("action") == "place":
            for name in ("card_number", "exp_month", "exp_year", "cvc"):
                if not data.get(name):
                    self.add_error(name, gettext("Required to pay by card."))
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


def staff_order_place(form: StaffOrderForm, user) -> Order | None:
    """Place the (valid) form's order as `user`; None, with the service's errors
    put on the form's fields, when placement refuses it."""
    try:
        result = order_place(
            data=order_input(form.cleaned_data, Actor.for_user(user)),
            idempotency_key=f"staff-form:{form.cleaned_data['token']}",
        )
    except DomainError as exc:
        form.add_domain_error(exc)
        return None
    return result.order


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
                "name": sku.name if sku else gettext("unknown SKU"),
                "known": sku is not None,
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
    return list(found.select_related("channel").prefetch_related("addresses").order_by("email")[:10])


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
