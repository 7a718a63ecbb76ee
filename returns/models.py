"""Returns, exchanges and refunds, and what customers tell us after delivery.

A return request (RMA) moves only along RETURN_TRANSITIONS (enforced by
returns.services); every move is a ReturnEvent with who and when. Stock comes
back through inventory (a return movement) and the money through the order's
payment gateway; the books follow in the same transactions.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from customers.models import Customer
from inventory.models import SKU, Warehouse
from oms.models import Channel
from oms.money import MoneyField
from orders.models import Order, OrderLine


class ReturnPolicy(models.Model):
    """The return rules of a channel (or the default one, without a channel)."""

    class ShippingPaidBy(models.TextChoices):
        CUSTOMER = "customer"
        MERCHANT = "merchant"

    channel = models.OneToOneField(
        Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="return_policy"
    )
    window_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days after delivery to start a return."
    )
    non_returnable_skus = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    non_returnable_categories = ArrayField(models.CharField(max_length=80), default=list, blank=True)
    restocking_fee_pct = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=0,
        help_text="Kept from the refund of goods returned unwanted.",
    )
    return_shipping_paid_by = models.CharField(
        max_length=8, choices=ShippingPaidBy.choices, default=ShippingPaidBy.CUSTOMER
    )
    refund_original_shipping = models.BooleanField(
        default=False, help_text="Refund the shipping charged when the whole order comes back."
    )
    locations = models.ManyToManyField(
        Warehouse, blank=True, related_name="+", help_text="Where returns are taken; empty: every location."
    )
    instructions = models.TextField(blank=True, help_text="Step-by-step instructions shown to customers.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "return policies"
        constraints = [
            models.UniqueConstraint(
                fields=["channel"], condition=Q(channel__isnull=True), name="return_policy_one_default"
            ),
            models.CheckConstraint(
                condition=Q(restocking_fee_pct__gte=0, restocking_fee_pct__lte=100),
                name="return_policy_fee_pct_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"return policy of {self.channel.code}" if self.channel_id else "default return policy"


class ReturnRequest(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested (needs review)"
        AUTHORIZED = "authorized"
        REJECTED = "rejected"
        RECEIVED = "received"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    class Resolution(models.TextChoices):
        REFUND = "refund"
        EXCHANGE = "exchange"

    class Source(models.TextChoices):
        CUSTOMER = "customer", "Customer self-service"
        STAFF = "staff"
        API = "api", "Channel API"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(max_length=12, choices=Status.choices)
    resolution = models.CharField(max_length=8, choices=Resolution.choices, default=Resolution.REFUND)
    source = models.CharField(max_length=8, choices=Source.choices)
    location = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="returns", help_text="Where it is brought or sent."
    )
    review_reason = models.CharField(
        max_length=500,
        blank=True,
        help_text="Why it needs review (outside the policy), or why it was rejected.",
    )
    customer_note = models.TextField(blank=True)
    label_tracking = models.CharField(max_length=64, blank=True)
    return_shipping_paid_by = models.CharField(max_length=8, choices=ReturnPolicy.ShippingPaidBy.choices)
    restocking_fee = MoneyField()
    shipping_refund = MoneyField()
    refund_total = MoneyField(help_text="Refunded so far, in the order's currency.")
    replacement_order = models.OneToOneField(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="replaces"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    received_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "-id"], name="return_status_recent_idx")]

    def __str__(self) -> str:
        return f"return {self.number}"

    @property
    def number(self) -> str:
        return f"RMA{self.pk:08d}" if self.pk else "(unsaved)"


RETURN_TRANSITIONS: dict[str, set[str]] = {
    ReturnRequest.Status.REQUESTED: {
        ReturnRequest.Status.AUTHORIZED,
        ReturnRequest.Status.REJECTED,
        ReturnRequest.Status.CANCELLED,
    },
    ReturnRequest.Status.AUTHORIZED: {ReturnRequest.Status.RECEIVED, ReturnRequest.Status.CANCELLED},
    ReturnRequest.Status.RECEIVED: {ReturnRequest.Status.COMPLETED},
    ReturnRequest.Status.REJECTED: set(),
    ReturnRequest.Status.COMPLETED: set(),
    ReturnRequest.Status.CANCELLED: set(),
}


class ReturnLine(models.Model):
    class Reason(models.TextChoices):
        DAMAGED = "damaged", "Arrived damaged"
        DEFECTIVE = "defective", "Defective"
        WRONG_ITEM = "wrong_item", "Wrong item sent"
        NOT_AS_DESCRIBED = "not_as_described", "Not as described"
        SIZE_FIT = "size_fit", "Size or fit"
        NO_LONGER_NEEDED = "no_longer_needed", "No longer needed"
        ARRIVED_LATE = "arrived_late", "Arrived too late"
        OTHER = "other"

    class Condition(models.TextChoices):
        NEW = "new", "As new"
        OPENED = "opened", "Opened, resellable"
        DAMAGED = "damaged", "Damaged"
        UNSELLABLE = "unsellable"

    class Disposition(models.TextChoices):
        RESTOCK = "restock", "Restock to available"
        QUARANTINE = "quarantine"
        REFURBISH = "refurbish"
        SCRAP = "scrap"

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    quantity_received = models.PositiveIntegerField(default=0)
    condition = models.CharField(max_length=10, choices=Condition.choices, blank=True)
    disposition = models.CharField(max_length=10, choices=Disposition.choices, blank=True)
    refund_amount = MoneyField(help_text="Goods refunded for this line (tax included where prices are).")
    unit_cost = MoneyField(help_text="Cost of a unit when it shipped, for the books.")

    class Meta:
        ordering = ["request", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=models.F("quantity")),
                name="return_line_received_le_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id} ({self.reason})"

    @property
    def seller_fault(self) -> bool:
        """Reasons that are the merchant's doing: no restocking fee, return shipping on us."""
        return self.reason in {
            self.Reason.DAMAGED,
            self.Reason.DEFECTIVE,
            self.Reason.WRONG_ITEM,
            self.Reason.NOT_AS_DESCRIBED,
        }


class ReturnEvent(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=30)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
    actor_type = models.CharField(max_length=8)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.from_status}->{self.to_status}"


class PostSaleAnswer(models.Model):
    """What the customer answered to the post-delivery follow-up (signed link)."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="post_sale_answer")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="post_sale_answers")
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    everything_arrived = models.BooleanField(null=True, blank=True)
    comment = models.TextField(blank=True)
    answered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="post_sale_rating_1_5",
            )
        ]

    def __str__(self) -> str:
        return f"answer on order {self.order_id}"


class CustomerCase(models.Model):
    """A customer-service case (e.g. "something is missing"), in the staff queue."""

    class Status(models.TextChoices):
        OPEN = "open"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved"

    class Kind(models.TextChoices):
        MISSING_ITEM = "missing_item", "Something is missing"
        RETURN_REVIEW = "return_review", "Return outside the policy"
        OTHER = "other"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="cases")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    subject = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["status", "created_at"]
        indexes = [models.Index(fields=["status", "created_at"], name="case_queue_idx")]

    def __str__(self) -> str:
        return f"case {self.pk}: {self.subject}"


class FollowUp(models.Model):
    """The post-delivery follow-up e-mail of an order: claimed once (this row,
    with an outbox event in the same transaction), then sent by the outbox."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="follow_up")
    claimed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"follow-up of order {self.order_id}"


from .models_dashboard import DashboardDay, DashboardSales  # noqa: E402, F401
