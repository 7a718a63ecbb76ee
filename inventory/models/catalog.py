"""Products and their SKUs (barcode, weight, dimensions, cost)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from oms.money import CURRENCY_CHOICES, MoneyField

from ..barcodes import barcode_problem


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
    is_fragile = models.BooleanField(default=False, help_text="Only packed in protective packaging.")
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
