"""Waves and pick lists: what pickers walk for, in bin walking order."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Wave(models.Model):
    """Fulfillment orders of one location released together (by cut-off or
    carrier), picked in all zones at once and consolidated at one point."""

    class Status(models.TextChoices):
        PLANNED = "planned"
        RELEASED = "released"
        COMPLETED = "completed"
        CANCELLED = "cancelled"

    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PLANNED)
    carrier = models.ForeignKey("fulfillment.Carrier", on_delete=models.PROTECT, null=True, blank=True)
    cutoff_at = models.DateTimeField(null=True, blank=True)
    consolidation_point = models.CharField(max_length=40, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"wave W{self.pk:06d}" if self.pk else "wave (unsaved)"


class PickList(models.Model):
    class Mode(models.TextChoices):
        SINGLE = "single", "Single order"
        BATCH = "batch"
        ZONE = "zone"
        WAVE = "wave"

    class Status(models.TextChoices):
        OPEN = "open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done"
        CANCELLED = "cancelled"

    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, related_name="+")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    zone = models.ForeignKey(
        "inventory.Zone", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    wave = models.ForeignKey(Wave, on_delete=models.PROTECT, null=True, blank=True, related_name="pick_lists")
    picker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["warehouse", "status"], name="picklist_location_status_idx")]

    def __str__(self) -> str:
        return f"pick list P{self.pk:06d}" if self.pk else "pick list (unsaved)"


class PickListLine(models.Model):
    """Pick `quantity` of a SKU from a bin for one fulfillment order line,
    into the tote slot of its order. `sequence` is the walking order."""

    pick_list = models.ForeignKey(PickList, on_delete=models.CASCADE, related_name="lines")
    fulfillment_line = models.ForeignKey(
        "fulfillment.FulfillmentOrderLine", on_delete=models.PROTECT, related_name="pick_lines"
    )
    sku = models.ForeignKey("inventory.SKU", on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(
        "inventory.Bin", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    quantity = models.PositiveIntegerField()
    quantity_picked = models.PositiveIntegerField(default=0)
    quantity_short = models.PositiveIntegerField(default=0)
    sequence = models.PositiveIntegerField()
    tote_slot = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["pick_list", "sequence", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity_picked__lte=models.F("quantity") - models.F("quantity_short")),
                name="pickline_picked_lte",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pick_list_id}#{self.sequence}: {self.quantity} x {self.sku_id}"
