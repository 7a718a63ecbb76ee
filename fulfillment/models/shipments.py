"""Fulfillment orders: one shipment (or one pick-up) from one location.

Status moves only along FO_TRANSITIONS (fulfillment.services.lifecycle
enforces it), each move an event row with who and when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from oms.money import CURRENCY_CHOICES, MoneyField


class FulfillmentOrder(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RELEASED = "released"
        PICKING = "picking"
        PACKED = "packed"
        SHIPPED = "shipped"
        IN_TRANSIT = "in_transit", "In transit"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERED = "delivered"
        EXCEPTION = "exception"
        CANCELLED = "cancelled"

    class Method(models.TextChoices):
        SHIP = "ship"
        PICKUP = "pickup", "Pick-up in store"

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="fulfillment_orders")
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.SHIP)
    ship_to = models.JSONField(
        default=dict,
        blank=True,
        help_text="Where the parcel goes: the order's shipping address, or the pick-up store's address "
        "when a pick-up order ships to the store for collection.",
    )
    decision = models.ForeignKey(
        "fulfillment.SourcingDecision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    service = models.ForeignKey(
        "fulfillment.CarrierService", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    service_overridden = models.BooleanField(default=False, help_text="Staff chose the service by hand.")
    shipping_cost = MoneyField(help_text="Quoted carrier cost, in the carrier's currency.")
    shipping_cost_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, blank=True)
    ship_by = models.DateField(null=True, blank=True, help_text="Hand-over day planned at sourcing.")
    promised_delivery = models.DateField(null=True, blank=True)
    wave = models.ForeignKey(
        "fulfillment.Wave",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="fulfillment_orders",
    )
    box = models.ForeignKey(
        "fulfillment.Box", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    material = models.ForeignKey(
        "fulfillment.PackagingMaterial", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    weight_grams = models.PositiveIntegerField(
        null=True, blank=True, help_text="Packed parcel, box included."
    )
    dim_weight_grams = models.PositiveIntegerField(null=True, blank=True)
    tracking_number = models.CharField(max_length=40, unique=True, null=True, blank=True)
    priority = models.SmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["warehouse", "status"], name="fo_location_status_idx"),
            models.Index(fields=["order"], name="fo_order_idx"),
            models.Index(fields=["warehouse", "created_at"], name="fo_location_created_idx"),
        ]

    def __str__(self) -> str:
        return f"shipment {self.number}"

    @property
    def number(self) -> str:
        return f"F{self.pk:08d}" if self.pk else "(unsaved)"


# The only moves a fulfillment order can make.
FO_TRANSITIONS: dict[str, set[str]] = {
    FulfillmentOrder.Status.PENDING: {FulfillmentOrder.Status.RELEASED, FulfillmentOrder.Status.CANCELLED},
    FulfillmentOrder.Status.RELEASED: {
        FulfillmentOrder.Status.PICKING,
        FulfillmentOrder.Status.PACKED,  # store and pick-up orders may skip the pick list
        FulfillmentOrder.Status.PENDING,
        FulfillmentOrder.Status.CANCELLED,
    },
    FulfillmentOrder.Status.PICKING: {
        FulfillmentOrder.Status.PACKED,
        FulfillmentOrder.Status.RELEASED,  # a short pick sends what is left back
        FulfillmentOrder.Status.CANCELLED,
    },
    FulfillmentOrder.Status.PACKED: {
        FulfillmentOrder.Status.SHIPPED,
        FulfillmentOrder.Status.DELIVERED,  # collected in store
        FulfillmentOrder.Status.CANCELLED,
    },
    FulfillmentOrder.Status.SHIPPED: {
        FulfillmentOrder.Status.IN_TRANSIT,
        FulfillmentOrder.Status.OUT_FOR_DELIVERY,
        FulfillmentOrder.Status.DELIVERED,
        FulfillmentOrder.Status.EXCEPTION,
    },
    FulfillmentOrder.Status.IN_TRANSIT: {
        FulfillmentOrder.Status.OUT_FOR_DELIVERY,
        FulfillmentOrder.Status.DELIVERED,
        FulfillmentOrder.Status.EXCEPTION,
    },
    FulfillmentOrder.Status.OUT_FOR_DELIVERY: {
        FulfillmentOrder.Status.IN_TRANSIT,
        FulfillmentOrder.Status.DELIVERED,
        FulfillmentOrder.Status.EXCEPTION,
    },
    FulfillmentOrder.Status.EXCEPTION: {
        FulfillmentOrder.Status.IN_TRANSIT,
        FulfillmentOrder.Status.OUT_FOR_DELIVERY,
        FulfillmentOrder.Status.DELIVERED,
    },
    FulfillmentOrder.Status.DELIVERED: set(),
    FulfillmentOrder.Status.CANCELLED: set(),
}
FO_OPEN = {
    FulfillmentOrder.Status.PENDING,
    FulfillmentOrder.Status.RELEASED,
    FulfillmentOrder.Status.PICKING,
    FulfillmentOrder.Status.PACKED,
}
FO_SHIPPED = {
    FulfillmentOrder.Status.SHIPPED,
    FulfillmentOrder.Status.IN_TRANSIT,
    FulfillmentOrder.Status.OUT_FOR_DELIVERY,
    FulfillmentOrder.Status.EXCEPTION,
    FulfillmentOrder.Status.DELIVERED,
}


class FulfillmentOrderLine(models.Model):
    fulfillment_order = models.ForeignKey(FulfillmentOrder, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.PROTECT, related_name="+")
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    quantity_picked = models.PositiveIntegerField(default=0)
    quantity_packed = models.PositiveIntegerField(default=0)
    quantity_short = models.PositiveIntegerField(
        default=0, help_text="Not found at this location when picking: re-sourced elsewhere."
    )

    class Meta:
        ordering = ["fulfillment_order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="foline_quantity_gt_0"),
            models.CheckConstraint(
                condition=Q(quantity_picked__lte=models.F("quantity") - models.F("quantity_short")),
                name="foline_picked_lte",
            ),
            models.CheckConstraint(
                condition=Q(quantity_packed__lte=models.F("quantity") - models.F("quantity_short")),
                name="foline_packed_lte",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fulfillment_order_id}: {self.quantity} x {self.sku_id}"

    @property
    def quantity_open(self) -> int:
        """Units this shipment still carries (ordered here minus found short)."""
        return self.quantity - self.quantity_short


class FulfillmentEvent(models.Model):
    fulfillment_order = models.ForeignKey(FulfillmentOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    actor_type = models.CharField(max_length=8)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["fulfillment_order", "id"]

    def __str__(self) -> str:
        return f"{self.fulfillment_order_id} {self.kind}"


class TrackingEvent(models.Model):
    """A carrier's scan of a parcel, as its webhook reported it."""

    class Status(models.TextChoices):
        INFO = "info"
        IN_TRANSIT = "in_transit", "In transit"
        OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
        DELIVERED = "delivered"
        EXCEPTION = "exception"

    fulfillment_order = models.ForeignKey(FulfillmentOrder, on_delete=models.CASCADE, related_name="tracking")
    carrier_event_id = models.CharField(max_length=100)
    status = models.CharField(max_length=20, choices=Status.choices)
    description = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=120, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    raw = models.JSONField(default=dict)

    class Meta:
        ordering = ["fulfillment_order", "occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fulfillment_order", "carrier_event_id"], name="tracking_event_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.fulfillment_order_id} {self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"
