"""Sourcing policies, order rules and the record of every sourcing decision."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from oms.money import MoneyField


class SourcingPolicy(models.Model):
    """How orders of a channel (or, with no channel, of every channel without
    its own policy) are sourced. Costs are in the merchant's base currency."""

    channel = models.OneToOneField(
        "oms.Channel",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sourcing_policy",
        help_text="Empty: the default policy.",
    )
    max_shipments = models.PositiveSmallIntegerField(
        default=2, help_text="At most this many shipments (locations) per order."
    )
    split_penalty = MoneyField(
        default=Decimal("5"), help_text="Cost added per extra shipment (handling, packaging)."
    )
    cost_per_100km = MoneyField(
        default=Decimal("0.50"),
        help_text="Cost added per 100 km between location and customer (transit risk).",
    )
    ship_from_store = models.BooleanField(default=True, help_text="Stores that ship may be sourced from.")
    store_penalty = MoneyField(default=Decimal("2"), help_text="Cost added per shipment from a store.")
    store_safety_stock = models.PositiveIntegerField(
        default=0, help_text="Extra units per SKU a store keeps for walk-in customers, on top of its own."
    )

    class Meta:
        verbose_name_plural = "sourcing policies"
        constraints = [
            models.UniqueConstraint(
                fields=["channel"], condition=Q(channel__isnull=True), name="one_default_sourcing_policy"
            )
        ]

    def __str__(self) -> str:
        return f"sourcing policy {self.channel.code if self.channel else '(default)'}"


class LocationPolicy(models.Model):
    """A shipping location's limits: cut-off, daily capacity and, per channel, priority."""

    warehouse = models.OneToOneField(
        "inventory.Warehouse", on_delete=models.CASCADE, related_name="fulfillment_policy"
    )
    cutoff_time = models.TimeField(
        null=True, blank=True, help_text="Orders sourced after this time leave the next working day."
    )
    daily_capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="Fulfillment orders it can take per day; empty: no limit."
    )
    priority = models.SmallIntegerField(
        default=0, help_text="Higher is preferred: each point takes 1.00 off its cost score."
    )
    works_weekends = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"policy of {self.warehouse.code}"


class RoutingRule(models.Model):
    """A staff-edited order rule: every condition that is set must match; the
    action then applies. Rules run in `sequence` order; `stop` ends the run."""

    class Action(models.TextChoices):
        HOLD = "hold", "Hold for review"
        SET_PRIORITY = "set_priority", "Set priority"
        RESTRICT_LOCATIONS = "restrict_locations", "Only ship from the listed locations"
        EXCLUDE_LOCATIONS = "exclude_locations", "Never ship from the listed locations"
        LIMIT_SPLITS = "limit_splits", "Limit shipments per order"

    class Flag(models.TextChoices):
        GIFT = "gift"
        VIP = "vip"
        REPLACEMENT = "replacement"

    name = models.CharField(max_length=120)
    sequence = models.PositiveIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    stop = models.BooleanField(default=False, help_text="No later rule runs after this one fires.")
    # Conditions (empty = any)
    channels = models.ManyToManyField("oms.Channel", blank=True, related_name="+")
    min_order_value = MoneyField(null=True, blank=True, default=None)
    max_order_value = MoneyField(null=True, blank=True, default=None)
    countries = ArrayField(models.CharField(max_length=2), default=list, blank=True)
    postal_prefixes = ArrayField(models.CharField(max_length=10), default=list, blank=True)
    customer_tag = models.CharField(max_length=40, blank=True)
    sku_codes = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    flag = models.CharField(max_length=12, choices=Flag.choices, blank=True)
    # Action
    action = models.CharField(max_length=20, choices=Action.choices)
    hold_reason = models.CharField(max_length=200, blank=True)
    priority = models.SmallIntegerField(null=True, blank=True)
    locations = models.ManyToManyField("inventory.Warehouse", blank=True, related_name="+")
    max_shipments = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sequence", "id"]

    def __str__(self) -> str:
        return self.name


class SourcingDecision(models.Model):
    """One sourcing run for one order: what was chosen, every candidate
    considered with its score, and why each one lost."""

    class Outcome(models.TextChoices):
        SOURCED = "sourced"
        SPLIT = "split"
        PICKUP = "pickup", "Pick-up in store"
        TRANSFER = "transfer", "Transfer to pick-up store"
        BACKORDERED = "backordered"
        HELD = "held", "Held by a rule"

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="sourcing_decisions")
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    summary = models.CharField(max_length=500)
    chosen = models.JSONField(default=list, help_text="Shipments: location, lines, service, cost.")
    candidates = models.JSONField(default=list, help_text="Every candidate plan: score and why it lost.")
    rules_fired = models.JSONField(default=list)
    total_cost = MoneyField(null=True, blank=True, default=None)
    trigger = models.CharField(max_length=20, default="placement")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "-id"]
        indexes = [models.Index(fields=["order", "-id"], name="decision_order_recent_idx")]

    def __str__(self) -> str:
        return f"sourcing of order {self.order_id}: {self.outcome}"
