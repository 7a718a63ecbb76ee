"""Channel order intake: every delivery from a shop platform or an import file
is kept as an InboundOrder, placed or not, so nothing a channel sent is lost.

One row per (channel, external id): a repeated delivery finds the first row
and never makes a second order. A delivery that cannot be placed (unknown SKU,
totals that do not add up, another currency, no stock) waits on hold with
the reason until staff fix the cause and retry it, or reject it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from oms.models import Channel


class Platform(models.TextChoices):
    SHOPIFY = "shopify", "Shopify"
    WOOCOMMERCE = "woocommerce", "WooCommerce"
    CSV = "csv", "CSV import"


class ChannelIntegration(models.Model):
    """How a channel's platform reaches us: which platform, and the secret its
    webhooks are signed with. The secret has to be kept readable (an HMAC is
    computed with it), so the admin never shows it back."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="integration")
    platform = models.CharField(max_length=12, choices=Platform.choices)
    webhook_secret = models.CharField(
        max_length=255,
        blank=True,
        help_text="Shopify: the app's client secret. WooCommerce: the webhook's secret. "
        "Webhooks are refused while it is empty.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} for channel {self.channel_id}"


class InboundOrder(models.Model):
    class Status(models.TextChoices):
        # Stored, placement under way (or interrupted: a retry picks it up).
        RECEIVED = "received"
        PLACED = "placed"
        HELD = "held"
        REJECTED = "rejected"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="inbound_orders")
    platform = models.CharField(max_length=12, choices=Platform.choices)
    external_id = models.CharField(max_length=100, help_text="The platform's order id.")
    payload = models.JSONField(help_text="The order as the platform sent it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    reason = models.CharField(max_length=500, blank=True, help_text="Why it is held or was rejected.")
    problems = models.JSONField(default=dict, blank=True, help_text="Field -> problems, when held.")
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="inbound"
    )
    deliveries = models.PositiveIntegerField(default=1, help_text="How many times the platform sent it.")
    attempts = models.PositiveIntegerField(default=0, help_text="Placement attempts.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="inbound_unique_external_id"),
            models.CheckConstraint(
                condition=Q(status="placed", order__isnull=False) | ~Q(status="placed"),
                name="inbound_placed_has_order",
            ),
        ]
        indexes = [models.Index(fields=["status", "-id"], name="inbound_status_recent_idx")]

    def __str__(self) -> str:
        return f"{self.platform} order {self.external_id} ({self.status})"
