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
from .locations import Bin, Warehouse


class StockLevel(models.Model):
    # No single-column indexes: (sku, warehouse) and (warehouse, sku) below lead with each,
    # and every index is one more write on the hottest rows of the OMS.
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="stock_levels", db_index=False)
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="stock_levels", db_index=False
    )
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
        BIN_MOVE = "bin_move"

    # sku and bin have no single-column index: movement_sku_wh_idx and movement_bin_sku_idx
    # lead with them (a bin lookup is never for NULL), and every movement writes each index.
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="movements", db_index=False)
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    bin = models.ForeignKey(
        Bin,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        db_index=False,
        related_name="+",
        help_text="The bin the on-hand change happened in; empty: unlocated stock (e.g. the dock).",
    )
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
        indexes = [
            models.Index(fields=["sku", "warehouse", "id"], name="movement_sku_wh_idx"),
            models.Index(fields=["bin", "sku"], name="movement_bin_sku_idx", condition=Q(bin__isnull=False)),
            # Demand reads (days of cover, forecasts, alerts) want one position's
            # allocations in a date window, not its whole ledger.
            models.Index(
                fields=["sku", "warehouse", "created_at"],
                name="movement_demand_idx",
                condition=Q(kind__in=["allocate", "deallocate"]),
            ),
        ]

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


class BinStock(models.Model):
    """Units of a SKU on the shelf in one bin: the bin-level view of on hand.

    The ledger proves it like the levels: quantity = the sum of on_hand_delta
    of the SKU's movements in this bin. A warehouse's on hand minus the units
    in its bins is its unlocated stock (received but not yet put away), which
    can never be negative.
    """

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="bin_stock")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    bin = models.ForeignKey(Bin, on_delete=models.PROTECT, related_name="stock")
    quantity = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["warehouse", "bin__walk_sequence", "sku"]
        verbose_name = "bin stock"
        verbose_name_plural = "bin stock"
        constraints = [
            models.UniqueConstraint(fields=["sku", "bin"], name="binstock_unique_sku_bin"),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="binstock_quantity_gte_0"),
        ]
        indexes = [models.Index(fields=["warehouse", "sku"], name="binstock_wh_sku_idx")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id} in {self.bin_id}"


class SafetyStock(models.Model):
    """Units of one SKU held back in one location from what channels are
    promised; overrides the location's default (Warehouse.safety_stock)."""

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="safety_stock")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="sku_safety_stock")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["sku", "warehouse"]
        verbose_name = "safety stock"
        verbose_name_plural = "safety stock"
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="safetystock_unique_sku_warehouse")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku_id} held back at {self.warehouse_id}"
