"""Stock operations with a life of their own: transfers between locations
(with goods in transit) and cycle counts (count, review, approve)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from .catalog import SKU
from .locations import Warehouse


class Transfer(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft"
        IN_TRANSIT = "in_transit", "In transit"
        RECEIVED = "received"
        CANCELLED = "cancelled"

    from_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="transfers_out")
    to_warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="transfers_in")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    expected_at = models.DateField(null=True, blank=True, help_text="When it should arrive.")
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(from_warehouse=F("to_warehouse")), name="transfer_distinct_ends"
            )
        ]

    def __str__(self) -> str:
        return f"T{self.pk:06d} {self.from_warehouse_id}->{self.to_warehouse_id} ({self.status})"


TRANSFER_TRANSITIONS: dict[str, set[str]] = {
    Transfer.Status.DRAFT: {Transfer.Status.IN_TRANSIT, Transfer.Status.CANCELLED},
    Transfer.Status.IN_TRANSIT: {Transfer.Status.RECEIVED},
    Transfer.Status.RECEIVED: set(),
    Transfer.Status.CANCELLED: set(),
}


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["transfer", "id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "sku"], name="transferline_unique_sku"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transferline_quantity_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id}"


class CountSheet(models.Model):
    """A cycle count: expected quantities are snapshotted when it starts; the
    variances are applied to stock only when someone approves them."""

    class Status(models.TextChoices):
        OPEN = "open"
        SUBMITTED = "submitted"
        APPROVED = "approved"
        CANCELLED = "cancelled"

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="count_sheets")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"count C{self.pk:06d} at {self.warehouse_id} ({self.status})"


class CountLine(models.Model):
    sheet = models.ForeignKey(CountSheet, on_delete=models.CASCADE, related_name="lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(help_text="On hand when the count started.")
    counted = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["sheet", "id"]
        constraints = [models.UniqueConstraint(fields=["sheet", "sku"], name="countline_unique_sku")]

    def __str__(self) -> str:
        return f"{self.sku_id}: expected {self.expected}, counted {self.counted}"

    @property
    def variance(self) -> int | None:
        return None if self.counted is None else self.counted - self.expected
