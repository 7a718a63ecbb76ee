"""Stock alerts: low stock, stock-out, overstock and count variances.

A position alert (low / out / over) is opened by the alert refresh when a SKU
in a location enters that state and resolved by it when the state clears, so
at most one live alert exists per kind and position. A count-variance alert
belongs to one count sheet line. Staff acknowledge alerts; new ones go out in
an e-mail digest (notified_at says when).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .catalog import SKU
from .locations import Warehouse
from .operations import CountSheet


class StockAlert(models.Model):
    class Kind(models.TextChoices):
        LOW = "low", "Low stock"
        OUT = "out", "Stock-out"
        OVER = "over", "Overstock"
        COUNT_VARIANCE = "count_variance", "Count variance"

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="alerts")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="alerts")
    count_sheet = models.ForeignKey(
        CountSheet, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    message = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True, help_text="The figures behind the alert.")
    opened_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(help_text="When the condition was last found true.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When it went out in a digest.")

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "sku", "warehouse"],
                condition=Q(count_sheet__isnull=True) & ~Q(status="resolved"),
                name="stockalert_one_live_per_position",
            ),
            models.UniqueConstraint(
                fields=["count_sheet", "sku"],
                condition=Q(count_sheet__isnull=False),
                name="stockalert_one_per_count_line",
            ),
            models.CheckConstraint(
                condition=Q(kind="count_variance", count_sheet__isnull=False)
                | (~Q(kind="count_variance") & Q(count_sheet__isnull=True)),
                name="stockalert_count_sheet_iff_variance",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind"], name="stockalert_status_kind_idx"),
            models.Index(
                fields=["opened_at"], name="stockalert_unnotified_idx", condition=Q(notified_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.sku_id}@{self.warehouse_id} ({self.status})"
