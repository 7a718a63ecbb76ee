"""The merchant's standard boxes and packaging materials."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from oms.money import MoneyField


class Box(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    inner_length_mm = models.PositiveIntegerField()
    inner_width_mm = models.PositiveIntegerField()
    inner_height_mm = models.PositiveIntegerField()
    empty_weight_grams = models.PositiveIntegerField()
    max_weight_grams = models.PositiveIntegerField()
    cost = MoneyField()
    protection = models.PositiveSmallIntegerField(
        default=1, help_text="0 = none (mailer), 1 = standard, 2 = protective (double wall)."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["inner_length_mm", "inner_width_mm", "inner_height_mm"]
        verbose_name_plural = "boxes"
        constraints = [models.CheckConstraint(condition=Q(cost__gte=0), name="box_cost_gte_0")]

    def __str__(self) -> str:
        return f"{self.code} ({self.inner_length_mm}x{self.inner_width_mm}x{self.inner_height_mm} mm)"


class PackagingMaterial(models.Model):
    """Void fill or wrap: takes `padding_mm` on every side of the contents."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=80)
    padding_mm = models.PositiveIntegerField(default=0)
    cost = MoneyField()
    protection = models.PositiveSmallIntegerField(default=0, help_text="Added to the box's protection level.")
    weight_grams = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name
