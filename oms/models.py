"""Kernel models: sales channels with their API tokens, and the outbox.

Channel lives in the kernel rather than in `orders` because every app scopes
by it (customers, orders, accounting reports, return policies) and the API
authenticates channels: keeping it here keeps the leaf apps leaves.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from .money import CURRENCY_CHOICES, MoneyField


class Channel(models.Model):
    class Kind(models.TextChoices):
        WEB = "web", "Web store"
        STORE = "store", "Physical store"
        PHONE = "phone", "Phone / customer service"
        MARKETPLACE = "marketplace", "Marketplace"
        B2B = "b2b", "B2B"

    code = models.CharField(
        max_length=32,
        unique=True,
        validators=[RegexValidator(r"^[A-Z0-9][A-Z0-9_-]*$", "Upper-case letters, digits, - and _ only.")],
    )
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    price_authority = models.BooleanField(
        default=False,
        help_text="The channel sets its own prices (e.g. a marketplace): the OMS accepts them and checks "
        "that the totals add up instead of pricing from the price list.",
    )
    prices_include_tax = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    cart_ttl_minutes = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])
    allow_backorders = models.BooleanField(
        default=False,
        help_text="Accept orders that cannot be filled from stock now; they wait for incoming stock "
        "with a promise date and are allocated when it arrives (VIP first, then oldest).",
    )
    send_cart_reminders = models.BooleanField(
        default=False, help_text="E-mail customers who abandon a cart that has an e-mail address."
    )
    shipping_flat_rate = MoneyField()
    free_shipping_threshold = MoneyField(
        null=True,
        blank=True,
        default=None,
        help_text="Orders whose merchandise subtotal reaches this amount ship free.",
    )
    sender_email = models.EmailField(
        blank=True, help_text="From: address of this channel's customer e-mails."
    )
    support_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shipping_flat_rate__gte=0), name="channel_shipping_rate_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()}, {self.currency})"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class HashedKey(models.Model):
    """An API key of which only the SHA-256 is stored: a copy of the database
    hands out no key. Found by its public prefix, then compared by hash in
    constant time (oms.api.auth)."""

    prefix = models.CharField(max_length=12, editable=False, db_index=True)  # keys are looked up by it
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    KEY_PREFIX = "oms_"  # what new keys of the kind start with

    class Meta:
        abstract = True

    @classmethod
    def new_key(cls) -> str:
        return f"{cls.KEY_PREFIX}{secrets.token_urlsafe(32)}"

    def assign_key(self, raw: str | None = None) -> str:
        """Give the (unsaved) key `raw`, or a new random one; returns the raw key,
        of which only the prefix and the hash are kept."""
        raw = raw or self.new_key()
        self.prefix, self.key_hash = raw[:12], hash_token(raw)
        return raw

    @classmethod
    def issue(cls, *, raw_key: str | None = None, **fields):
        """Create a key with `fields` (its owner and name); returns it with the raw
        key, which is shown once and never stored."""
        token = cls(**fields)
        raw = token.assign_key(raw_key)
        token.save()
        return token, raw


class ChannelToken(HashedKey):
    """An API key for one channel."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["channel", "name"]

    def __str__(self) -> str:
        return f"{self.channel.code}: {self.name} ({self.prefix}...)"


class StaffToken(HashedKey):
    """A staff member's API key (`Authorization: Token <key>`). DRF's own tokens
    were stored in plain text; migration 0008 turned them into these."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What the key is for, e.g. the script that uses it.")

    class Meta:
        ordering = ["user", "name"]

    KEY_PREFIX = "staff_"

    def __str__(self) -> str:
        return f"{self.user}: {self.name} ({self.prefix}...)"


class OutboxEvent(models.Model):
    """A side effect (e-mail, webhook, ...) written in the same transaction as the
    change that causes it, and delivered at least once by the dispatcher."""

    topic = models.CharField(max_length=64, db_index=True)
    aggregate = models.CharField(max_length=64, blank=True, help_text="What it is about, e.g. order:42.")
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField(help_text="Not delivered before this time (retry backoff).")
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    done_handlers = models.JSONField(default=list, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True, help_text="Gave up after the maximum attempts.")
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["available_at", "id"],
                name="outbox_pending_idx",
                condition=Q(dispatched_at__isnull=True, failed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} {self.aggregate}"


class PostalCode(models.Model):
    """A postal code's centroid, loaded from a GeoNames postal-code file
    (`manage.py load_postal_codes`); routing uses it when an address comes
    without coordinates."""

    country = models.CharField(max_length=2)
    postal_code = models.CharField(max_length=20)
    place_name = models.CharField(max_length=180, blank=True)
    admin_name = models.CharField(max_length=100, blank=True, help_text="State / province.")
    admin_code = models.CharField(max_length=20, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)
    accuracy = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["country", "postal_code"]
        constraints = [
            models.UniqueConstraint(fields=["country", "postal_code"], name="postal_code_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.postal_code} {self.place_name}"


from .models_audit import AuditEntry  # noqa: E402, F401
from .models_webhooks import WebhookDelivery, WebhookSubscription  # noqa: E402, F401
