from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from oms.models import Channel
from oms.money import MoneyField


class Customer(models.Model):
    """A person or a business that buys. Scoped to the channel that created it,
    so a channel's API key only ever sees its own customers."""

    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="customers", null=True, blank=True
    )
    external_id = models.CharField(max_length=100, blank=True)
    email = models.EmailField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    company = models.CharField(max_length=200, blank=True)
    is_vip = models.BooleanField(default=False)
    language = models.CharField(
        max_length=12,
        blank=True,
        help_text="Language of the customer's e-mails (e.g. en, zh-hant, el); empty: the site default.",
    )
    payment_terms_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="B2B: may order on account, invoiced net N days. Empty: pays when ordering.",
    )
    credit_limit = MoneyField(
        null=True,
        blank=True,
        default=None,
        help_text="B2B, in the base currency: open invoices and on-account orders above it go on hold "
        "for approval. Empty: no limit.",
    )
    tags = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(Lower("email"), "channel", name="customer_unique_email_per_channel"),
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="customer_unique_external_id_per_channel",
            ),
        ]
        # No separate lower(email) index: customer_unique_email_per_channel leads with it.

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>" if self.full_name else self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Contact(models.Model):
    """A person at a business customer: who buys, who pays, who receives."""

    class Role(models.TextChoices):
        PURCHASING = "purchasing"
        ACCOUNTS_PAYABLE = "accounts_payable", "Accounts payable"
        RECEIVING = "receiving"
        OTHER = "other"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PURCHASING)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer", "-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=Q(is_primary=True), name="contact_one_primary_per_customer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_role_display()})"


class Consent(models.Model):
    """A customer's yes or no to a purpose, as recorded (append-only: the
    newest row per purpose is the current answer)."""

    class Purpose(models.TextChoices):
        EMAIL_MARKETING = "email_marketing", "Marketing e-mails"
        SMS_MARKETING = "sms_marketing", "Marketing text messages"
        PROFILING = "profiling", "Personalised offers"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    granted = models.BooleanField()
    source = models.CharField(max_length=60, help_text="Where it was given: checkout, phone, form, ...")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer", "purpose", "-recorded_at", "-id"]
        indexes = [models.Index(fields=["customer", "purpose", "-recorded_at"], name="consent_current_idx")]

    def __str__(self) -> str:
        return f"{self.purpose}: {'yes' if self.granted else 'no'}"


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(max_length=200)
    company = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, help_text="State, province or county code.")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2.")
    phone = models.CharField(max_length=40, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_default_shipping = models.BooleanField(default=False)
    is_default_billing = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["customer", "-is_default_shipping", "id"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return f"{self.name}, {self.line1}, {self.city} {self.country}"


from .models_metrics import CustomerMetrics  # noqa: E402, F401
