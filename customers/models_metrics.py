"""Customer value metrics: one row per customer, rebuilt set-based in SQL by
returns.metrics.customer_metrics_refresh (the top app sees orders, shipments
and returns; this leaf only holds the result). Amounts are in the base
currency that was configured when the row was refreshed (`currency`)."""

from __future__ import annotations

from django.db import models

from oms.money import MoneyField


class CustomerMetrics(models.Model):
    class Segment(models.TextChoices):
        CHAMPIONS = "champions", "Champions"
        LOYAL = "loyal", "Loyal"
        NEW = "new", "New"
        PROMISING = "promising", "Promising"
        NEEDS_ATTENTION = "needs_attention", "Needs attention"
        AT_RISK = "at_risk", "At risk"
        LOST = "lost", "Lost"
        NO_ORDERS = "no_orders", "No orders yet"

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.CASCADE, primary_key=True, related_name="metrics"
    )
    currency = models.CharField(max_length=3, help_text="The base currency of the amounts.")
    revenue = MoneyField(help_text="Grand totals of non-cancelled orders, tax and shipping included.")
    cogs = MoneyField(help_text="Units shipped at their cost, less units restocked from returns.")
    refunds = MoneyField()
    shipping_cost = MoneyField(help_text="Carrier cost of the shipments that left.")
    margin = MoneyField(help_text="revenue - cogs - refunds - shipping cost.")
    order_count = models.PositiveIntegerField(default=0)
    average_order_value = MoneyField()
    units_shipped = models.PositiveIntegerField(default=0)
    units_returned = models.PositiveIntegerField(default=0)
    return_rate = models.DecimalField(
        max_digits=7, decimal_places=4, null=True, blank=True, help_text="Units returned / units shipped."
    )
    first_order_at = models.DateTimeField(null=True, blank=True)
    last_order_at = models.DateTimeField(null=True, blank=True)
    recency_score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (oldest) to 5.")
    frequency_score = models.PositiveSmallIntegerField(null=True, blank=True)
    monetary_score = models.PositiveSmallIntegerField(null=True, blank=True)
    segment = models.CharField(max_length=16, choices=Segment.choices, default=Segment.NO_ORDERS)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = "customer metrics"
        verbose_name_plural = "customer metrics"
        indexes = [
            models.Index(fields=["-margin"], name="customer_metrics_margin_idx"),
            models.Index(fields=["-revenue"], name="customer_metrics_revenue_idx"),
        ]

    def __str__(self) -> str:
        return f"metrics of customer {self.customer_id}"
