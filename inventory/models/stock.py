"""Stock: levels, the movement ledger and soft reservations.

Stock is a ledger: StockLevel holds the current quantities and every change
to them writes a StockMovement in the same transaction, so the levels always
equal the sum of the movements (`manage.py reconcile` proves it). Database
CHECK constraints make overselling impossible even for code that forgets to
look: available = on_hand - allocated - soft_reserved can never go below 0.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from .catalog import SKU
from .locations import Warehouse


class StockLevel(models.Model):
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.IntegerField(default=0)
    allocated = models.IntegerField(default=0)
    soft_reserved = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="stocklevel_unique_sku_warehouse"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stocklevel_on_hand_gte_0"),
            models.CheckConstraint(condition=Q(allocated__gte=0), name="stocklevel_allocated_gte_0"),
            models.CheckConstraint(condition=Q(soft_reserved__gte=0), name="stocklevel_soft_reserved_gte_0"),
            models.CheckConstraint(
                condition=Q(on_hand__gte=F("allocated") + F("soft_reserved")), name="stocklevel_no_oversell"
            ),
        ]
        indexes = [models.Index(fields=["warehouse", "sku"], name="stocklevel_wh_sku_idx")]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}: {self.on_hand}/{self.allocated}/{self.soft_reserved}"

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated - self.soft_reserved


class StockMovement(models.Model):
    """Append-only (a database trigger refuses UPDATE and DELETE)."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt"
        ADJUSTMENT = "adjustment"
        RESERVE = "reserve"
        RESERVATION_RELEASE = "reservation_release"
        RESERVATION_EXPIRY = "reservation_expiry"
        ALLOCATE = "allocate"
        DEALLOCATE = "deallocate"
        PICK = "pick"
        SHIPMENT = "shipment"
        RETURN = "return"
        TRANSFER_OUT = "transfer_out"
        TRANSFER_IN = "transfer_in"
        COUNT = "count"
        WRITE_OFF = "write_off"

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="movements")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    allocated_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    reason = models.CharField(
        max_length=24, blank=True, help_text="Reason code of an adjustment or write-off."
    )
    note = models.CharField(max_length=255, blank=True)
    actor = models.CharField(max_length=80, blank=True, help_text="Who: staff user, channel or system.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["sku", "warehouse", "id"], name="movement_sku_wh_idx")]

    def __str__(self) -> str:
        deltas = f"on hand {self.on_hand_delta:+}, allocated {self.allocated_delta:+}"
        return f"{self.kind} {self.sku_id}@{self.warehouse_id} ({deltas})"


class Reservation(models.Model):
    """A soft hold on stock with an expiry: a cart line, or an order being placed
    while its payment is authorized."""

    class Status(models.TextChoices):
        ACTIVE = "active"
        RELEASED = "released"
        EXPIRED = "expired"
        CONVERTED = "converted", "Converted to allocation"

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="reservations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    reference = models.CharField(max_length=100, db_index=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=Q(quantity__gt=0), name="reservation_quantity_gt_0")]
        indexes = [
            models.Index(
                fields=["expires_at"], name="reservation_active_expiry_idx", condition=Q(status="active")
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id}@{self.warehouse_id} ({self.status}, {self.reference})"
