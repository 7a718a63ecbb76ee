"""Catalogue, locations and stock.

Stock is a ledger: StockLevel holds the current quantities and every change
to them writes a StockMovement in the same transaction, so the levels always
equal the sum of the movements (`manage.py reconcile` proves it). Database
CHECK constraints make overselling impossible even for code that forgets to
look: available = on_hand - allocated - soft_reserved can never go below 0.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from oms.money import CURRENCY_CHOICES, MoneyField

from .barcodes import barcode_problem


class Product(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    brand = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class SKU(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="skus")
    code = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(
        max_length=48, unique=True, help_text="GTIN/EAN/UPC, or an internal Code128 value."
    )
    name = models.CharField(max_length=200)
    weight_grams = models.PositiveIntegerField()
    length_mm = models.PositiveIntegerField()
    width_mm = models.PositiveIntegerField()
    height_mm = models.PositiveIntegerField()
    unit_cost = MoneyField()
    cost_currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "SKU"
        constraints = [models.CheckConstraint(condition=Q(unit_cost__gte=0), name="sku_unit_cost_gte_0")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        problem = barcode_problem(self.barcode)
        if problem:
            raise ValidationError({"barcode": f"Barcode {problem}."})


class Warehouse(models.Model):
    class Kind(models.TextChoices):
        DC = "dc", "Distribution centre"
        STORE = "store", "Store"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    line1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    ships = models.BooleanField(default=True, help_text="Ships parcels to customers.")
    allows_pickup = models.BooleanField(default=False, help_text="Customers can collect orders here.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90), name="warehouse_lat_range"
            ),
            models.CheckConstraint(
                condition=Q(longitude__gte=-180, longitude__lte=180), name="warehouse_lng_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


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

    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="movements")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    on_hand_delta = models.IntegerField(default=0)
    allocated_delta = models.IntegerField(default=0)
    reserved_delta = models.IntegerField(default=0)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    note = models.CharField(max_length=255, blank=True)
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
