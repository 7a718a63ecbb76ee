"""B2B quotes: prices offered to a customer until a date, which become an
order billed on account when the customer accepts.

A quote is priced exactly as an order would be (orders.services.quotes calls
the placement pricing), so accepting it places an order for the same lines,
prices and totals. Status moves only along QUOTE_TRANSITIONS, and every move
writes a QuoteEvent with who and when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from customers.models import Customer
from inventory.models import SKU
from oms.models import Channel
from oms.money import CURRENCY_CHOICES, MoneyField


class Quote(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        SENT = "sent"
        ACCEPTED = "accepted"
        REJECTED = "rejected"
        EXPIRED = "expired"

    number = models.CharField(max_length=20, unique=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="quotes")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="quotes")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    valid_until = models.DateField(help_text="The customer may accept it up to and including this day.")
    subtotal = MoneyField(help_text="Merchandise before discounts.")
    discount_total = MoneyField()
    shipping_total = MoneyField()
    tax_total = MoneyField()
    grand_total = MoneyField()
    prices_include_tax = models.BooleanField(default=False)
    shipping_address = models.JSONField()
    billing_address = models.JSONField(null=True, blank=True)
    notes = models.TextField(blank=True, help_text="Printed on the quote.")
    order = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quote",
        help_text="The order it became when accepted.",
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(grand_total__gte=0), name="quote_grand_total_gte_0"),
            models.CheckConstraint(
                condition=Q(order__isnull=True) | Q(status="accepted"), name="quote_order_only_when_accepted"
            ),
        ]
        indexes = [
            models.Index(fields=["valid_until"], name="quote_sent_validity_idx", condition=Q(status="sent")),
            models.Index(fields=["customer", "-id"], name="quote_customer_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"quote {self.number}"


# The only moves a quote can make; orders.services.quotes enforces them.
QUOTE_TRANSITIONS: dict[str, set[str]] = {
    Quote.Status.DRAFT: {Quote.Status.SENT},
    Quote.Status.SENT: {Quote.Status.ACCEPTED, Quote.Status.REJECTED, Quote.Status.EXPIRED},
    Quote.Status.ACCEPTED: set(),
    Quote.Status.REJECTED: set(),
    Quote.Status.EXPIRED: set(),
}


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="quote_lines")
    quantity = models.PositiveIntegerField()
    unit_price = MoneyField()
    discount = MoneyField(help_text="Discount on the whole line.")
    tax_rate = models.DecimalField(max_digits=6, decimal_places=5, default=0)
    tax_amount = MoneyField()
    line_total = MoneyField(help_text="quantity x unit price - discount (+ tax when prices exclude it).")

    class Meta:
        ordering = ["quote", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "line_number"], name="quoteline_unique_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quoteline_quantity_gt_0"),
            models.CheckConstraint(condition=Q(discount__gte=0), name="quoteline_discount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quote_id}#{self.line_number}: {self.quantity} x {self.sku_id}"


class QuoteEvent(models.Model):
    """One row per thing that happened to a quote: created, sent, accepted..."""

    class Actor(models.TextChoices):
        STAFF = "staff"
        CHANNEL = "channel"
        SYSTEM = "system"

    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    actor_type = models.CharField(max_length=8, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_channel = models.ForeignKey(
        Channel, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quote", "id"]

    def __str__(self) -> str:
        return f"{self.quote_id} {self.kind} by {self.actor_type}"
