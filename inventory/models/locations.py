"""Where stock is: warehouses and stores."""

from __future__ import annotations

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
