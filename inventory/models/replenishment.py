"""Replenishment: when and how much to reorder, per SKU x warehouse."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from .catalog import SKU
from .locations import Warehouse


class ReorderRule(models.Model):
    """Reorder when available + incoming falls to the reorder point, up to order_up_to.

    A static rule keeps the numbers staff set (min/max). A forecast rule has
    them recomputed from the demand forecast: reorder point = expected demand
    over the lead time + safety stock (z x sigma x sqrt(lead time)).
    """

    class Method(models.TextChoices):
        STATIC = "static", "Static (min / max)"
        FORECAST = "forecast", "From the demand forecast"

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="reorder_rules")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="reorder_rules")
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.STATIC)
    reorder_point = models.PositiveIntegerField(
        help_text="Reorder when available + incoming is at or below this."
    )
    order_up_to = models.PositiveIntegerField(help_text="Order enough to bring available + incoming to this.")
    safety_stock = models.PositiveIntegerField(default=0)
    service_level = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.950"),
        help_text="Forecast rules: the chance of not running out during a lead time (0.5-0.999).",
    )
    is_active = models.BooleanField(default=True)
    review_period_days = models.PositiveIntegerField(
        default=14,
        help_text="Forecast rules: order-up-to covers this many days of demand beyond the reorder point.",
    )
    computed_at = models.DateTimeField(
        null=True, blank=True, help_text="When a forecast rule was last computed."
    )
    computed_from = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the last computation used: method, daily demand, sigma, lead time, z.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="reorderrule_unique_sku_warehouse"),
            models.CheckConstraint(
                condition=Q(order_up_to__gt=F("reorder_point")), name="reorderrule_max_gt_min"
            ),
            models.CheckConstraint(
                condition=Q(service_level__gte=Decimal("0.5"), service_level__lte=Decimal("0.999")),
                name="reorderrule_service_level_range",
            ),
        ]
        indexes = [
            models.Index(
                fields=["warehouse", "sku"], name="reorderrule_active_idx", condition=Q(is_active=True)
            )
        ]

    def __str__(self) -> str:
        return f"{self.sku_id}@{self.warehouse_id}: {self.reorder_point}/{self.order_up_to}"
