"""Where stock is: warehouses and stores."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


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
    safety_stock = models.PositiveIntegerField(
        default=0,
        help_text="Units of every SKU held back here from what channels are promised (a SKU's own "
        "safety stock setting for this location overrides it).",
    )
    channels = models.ManyToManyField(
        "oms.Channel",
        blank=True,
        related_name="warehouses",
        help_text="Channels whose orders this location's stock may serve; none selected: every channel.",
    )
    staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="work_locations",
        help_text="Warehouse staff who work here: a user in the warehouse role sees and works only "
        "the locations they are assigned.",
    )
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


class Zone(models.Model):
    """An area of a warehouse (e.g. ambient, cold, bulk) picked as a unit."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="zones")
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=80)
    walk_sequence = models.PositiveIntegerField(default=0, help_text="Order in which pickers visit zones.")

    class Meta:
        ordering = ["warehouse", "walk_sequence", "code"]
        constraints = [models.UniqueConstraint(fields=["warehouse", "code"], name="zone_unique_code")]

    def __str__(self) -> str:
        return f"{self.warehouse.code}/{self.code}"


class Bin(models.Model):
    """A bin location, aisle-rack-shelf-position, with its place in the walking order."""

    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="bins")
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="bins")
    code = models.CharField(max_length=32, help_text="e.g. A-01-02-03")
    aisle = models.CharField(max_length=8)
    rack = models.CharField(max_length=8)
    shelf = models.CharField(max_length=8)
    position = models.CharField(max_length=8)
    walk_sequence = models.PositiveIntegerField(help_text="Pick lists visit bins in this order.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["warehouse", "walk_sequence", "code"]
        constraints = [models.UniqueConstraint(fields=["warehouse", "code"], name="bin_unique_code")]
        indexes = [models.Index(fields=["warehouse", "walk_sequence"], name="bin_walk_idx")]

    def __str__(self) -> str:
        return f"{self.warehouse.code}/{self.code}"


class SKUBin(models.Model):
    """Where a SKU is kept in a warehouse: one primary bin, any overflow bins."""

    class Kind(models.TextChoices):
        PRIMARY = "primary"
        OVERFLOW = "overflow"

    sku = models.ForeignKey("inventory.SKU", on_delete=models.CASCADE, related_name="bin_assignments")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+")
    bin = models.ForeignKey(Bin, on_delete=models.CASCADE, related_name="assignments")
    kind = models.CharField(max_length=8, choices=Kind.choices)

    class Meta:
        ordering = ["sku", "warehouse", "kind", "bin__walk_sequence"]
        verbose_name = "SKU bin assignment"
        constraints = [
            models.UniqueConstraint(fields=["sku", "bin"], name="skubin_unique_sku_bin"),
            models.UniqueConstraint(
                fields=["sku", "warehouse"],
                condition=Q(kind="primary"),
                name="skubin_one_primary_per_warehouse",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_id} in {self.bin} ({self.kind})"
