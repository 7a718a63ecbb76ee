"""Outbound webhooks: who subscribes to which public events, and the delivery
log (one row per subscription and outbox event, which is also the queue the
sender drains in order). Logic lives in oms.webhooks."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q


class WebhookSubscription(models.Model):
    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500, help_text="Receives a POST with a JSON body per event.")
    # Kept in clear because every delivery is signed with it (HMAC-SHA256);
    # the API shows it once, on creation.
    secret = models.CharField(max_length=128)
    event_types = ArrayField(
        models.CharField(max_length=40), help_text="Public event types, e.g. order.placed."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    # The outbox event it came from: a plain id, not a foreign key, so pruning
    # old outbox rows never touches the delivery log. Orders the queue.
    event_id = models.BigIntegerField()
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    # A sender owns the row until then (crash safety without holding a row lock over HTTP).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_id"], name="webhookdelivery_unique_event"),
        ]
        indexes = [
            models.Index(
                fields=["subscription", "event_id"],
                name="webhookdelivery_queue_idx",
                condition=Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event_type} -> {self.subscription_id} ({self.status})"
