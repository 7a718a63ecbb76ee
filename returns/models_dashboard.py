"""The home dashboard's daily summary: what a closed day adds up to, so the
KPIs over 30 days read 30 small rows per channel instead of every order.

Filled by returns.dashboard.kpis.dashboard_days_refresh (set-based SQL over a
range of days; the outbox handlers of order cancellations and edits recompute
the order's day; a periodic run summarizes the days just closed).
A day counts as summarized only once its DashboardDay row exists, for the
base currency it was computed in: the KPIs compute every other day (today
always) live from the orders, so a missing or stale-currency summary makes
the page slower, never wrong.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from oms.models import Channel
from oms.money import MoneyField


class DashboardDay(models.Model):
    """A summarized day (in settings.TIME_ZONE): its totals that have no channel."""

    day = models.DateField(primary_key=True)
    base_currency = models.CharField(max_length=3, help_text="The base currency of the sales rows.")
    units_shipped = models.PositiveIntegerField(
        default=0, help_text="Units that left a location (the stock ledger's shipment movements)."
    )
    units_returned = models.PositiveIntegerField(
        default=0, help_text="Units received back on returns that arrived that day."
    )
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"dashboard day {self.day}"


class DashboardSales(models.Model):
    """Orders placed on a day through a channel in a currency, not cancelled."""

    day = models.ForeignKey(DashboardDay, on_delete=models.CASCADE, related_name="sales", db_column="day")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    orders = models.PositiveIntegerField()
    revenue = MoneyField(help_text="Grand totals in the orders' currency.")
    revenue_base = MoneyField(help_text="The same at the books' rate of the day, in the base currency.")
    unconverted = models.PositiveIntegerField(
        default=0, help_text="Orders left out of revenue_base: no exchange rate on or before the day."
    )

    class Meta:
        ordering = ["day", "channel", "currency"]
        verbose_name_plural = "dashboard sales"
        constraints = [
            models.UniqueConstraint(fields=["day", "channel", "currency"], name="dashboard_sales_once"),
            models.CheckConstraint(condition=Q(orders__gt=0), name="dashboard_sales_orders_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.day_id} {self.channel_id} {self.currency}: {self.orders}"
