"""The orders list's filters and search (dashboard), and the actions' forms."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from oms.models import Channel

from .models import Order

# The order's status in the staff member's language (the model's labels are not translated).
STATUS_LABELS = {
    Order.Status.ON_HOLD: _("On hold"),
    Order.Status.BACKORDERED: _("Backordered"),
    Order.Status.ALLOCATED: _("Allocated"),
    Order.Status.FULFILLING: _("Fulfilling"),
    Order.Status.PARTIALLY_SHIPPED: _("Partially shipped"),
    Order.Status.SHIPPED: _("Shipped"),
    Order.Status.DELIVERED: _("Delivered"),
    Order.Status.CLOSED: _("Closed"),
    Order.Status.CANCELLED: _("Cancelled"),
}
STATUS_BADGES = {
    Order.Status.ON_HOLD: "warn",
    Order.Status.BACKORDERED: "warn",
    Order.Status.SHIPPED: "ok",
    Order.Status.DELIVERED: "ok",
    Order.Status.CLOSED: "ok",
    Order.Status.CANCELLED: "bad",
}
# Shipment (fulfillment order) states. The orders app does not import
# fulfillment (it sits above orders); the filter goes through the reverse
# relation fulfillment adds, and these are its status values.
SHIPMENT_LABELS = {
    "pending": _("Pending"),
    "released": _("Released to the warehouse"),
    "picking": _("Picking"),
    "packed": _("Packed"),
    "shipped": _("Shipped"),
    "in_transit": _("In transit"),
    "out_for_delivery": _("Out for delivery"),
    "delivered": _("Delivered"),
    "exception": _("Delivery exception"),
    "cancelled": _("Cancelled"),
}
CREDIT_HOLD_PREFIX = "Credit limit:"  # orders.services.credit.credit_hold_reason

FLAGS = {
    "gift": (_("Gift"), Q(is_gift=True)),
    "vip": (_("VIP"), Q(is_vip=True)),
    "replacement": (_("Replacement"), Q(is_replacement=True)),
    "on_hold": (_("On hold"), Q(status=Order.Status.ON_HOLD)),
    "credit_hold": (
        _("Credit hold"),
        Q(status=Order.Status.ON_HOLD, hold_reason__startswith=CREDIT_HOLD_PREFIX),
    ),
    "backordered": (_("Backordered"), Q(status=Order.Status.BACKORDERED)),
    "on_account": (_("On account"), Q(payment_terms_days__isnull=False)),
    "pickup": (_("Pick-up in store"), Q(pickup_location__isnull=False)),
}
# Order numbers are the id zero-padded to this many digits (Order.number).
NUMBER_DIGITS = 8


def ship_name():
    """The ship-to name of an order, lower-cased: the expression the name index covers."""
    return Lower(KT("shipping_address__name"))


def search_q(term: str) -> Q | None:
    """What a search box term matches, each through an index on orders_order:
    - an e-mail (has "@"): the customer's e-mail, exactly (case-insensitive);
    - digits: the order number (exactly, or as the start of a full number),
      or the channel's order reference;
    - anything else: the channel's order reference exactly, or the start of
      the ship-to name (case-insensitive)."""
    term = term.strip().lstrip("#").strip()
    if not term:
        return None
    if "@" in term:
        customers = Customer.objects.annotate(e=Lower("email")).filter(e=term.lower()).values("pk")
        return Q(customer_id__in=Subquery(customers))
    found = Q(external_id=term)
    if term.isdigit():
        number = int(term)
        found |= Q(pk=number)
        if len(term) < NUMBER_DIGITS:
            # "000123" is the start of the numbers 00012300..00012399.
            scale = 10 ** (NUMBER_DIGITS - len(term))
            found |= Q(pk__gte=number * scale, pk__lt=(number + 1) * scale)
        return found
    return found | Q(ship_name__startswith=term.lower())


class OrderFilters(forms.Form):
    q = forms.CharField(
        required=False,
        max_length=200,
        label=_("Search"),
        help_text=_("Order number, customer e-mail, ship-to name or channel order reference"),
    )
    status = forms.ChoiceField(required=False, label=_("Status"))
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("code"),
        to_field_name="code",
        required=False,
        label=_("Channel"),
        empty_label=_("All"),
    )
    shipment = forms.ChoiceField(required=False, label=_("Shipment"))
    flag = forms.ChoiceField(required=False, label=_("Flag"))
    placed_from = forms.DateField(
        required=False, label=_("Placed from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    placed_to = forms.DateField(
        required=False, label=_("Placed to"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["status"].choices = every + list(STATUS_LABELS.items())
        self.fields["shipment"].choices = every + list(SHIPMENT_LABELS.items())
        self.fields["flag"].choices = every + [(code, label) for code, (label, _q) in FLAGS.items()]

    def clean(self):
        data = super().clean()
        start, end = data.get("placed_from"), data.get("placed_to")
        if start and end and start > end:
            self.add_error("placed_to", _("The end is before the start."))
        return data

    def filter(self, queryset: QuerySet[Order]) -> QuerySet[Order]:
        """The orders matching the valid filters (an invalid one is ignored and
        shown as an error on the form)."""
        self.is_valid()
        data = self.cleaned_data
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("channel"):
            queryset = queryset.filter(channel=data["channel"])
        if data.get("flag"):
            queryset = queryset.filter(FLAGS[data["flag"]][1])
        if data.get("shipment"):
            with_shipment = Order.objects.filter(fulfillment_orders__status=data["shipment"]).values("pk")
            queryset = queryset.filter(pk__in=with_shipment)
        # Whole days in the local time zone, as a range on the indexed placed_at,
        # newest first by that index: the planner cannot know that ids grow
        # with placed_at, and would walk the ids down from today to an old range.
        if data.get("placed_from") or data.get("placed_to"):
            queryset = queryset.order_by("-placed_at", "-id")
        if data.get("placed_from"):
            queryset = queryset.filter(placed_at__gte=_day_start(data["placed_from"]))
        if data.get("placed_to"):
            queryset = queryset.filter(placed_at__lt=_day_start(data["placed_to"] + timedelta(days=1)))
        found = search_q(data.get("q") or "")
        if found is not None:
            queryset = queryset.annotate(ship_name=ship_name()).filter(found)
        return queryset


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class ReasonForm(forms.Form):
    """Why staff cancel or hold an order (kept on the order's event)."""

    reason = forms.CharField(max_length=255, label=_("Reason"))
