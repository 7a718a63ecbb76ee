"""Carriers, their services and rate tables.

A parcel is rated by zone (from the great-circle distance between the
shipping location and the destination) and by the larger of its actual and
dimensional weight, then surcharges apply. Rates are in the carrier's
currency. A carrier whose `adapter` is not "table" is rated by its own API
(fulfillment.carriers) behind the same interface.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from oms.money import CURRENCY_CHOICES, MoneyField


class Carrier(models.Model):
    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    adapter = models.CharField(
        max_length=32,
        default="table",
        help_text="How it is rated, labelled and tracked: 'table' uses the rate tables below; "
        "other names select a registered carrier API adapter.",
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    tracking_url = models.CharField(
        max_length=300,
        blank=True,
        help_text="Public tracking page with {tracking} where the tracking number goes.",
    )
    tracking_prefix = models.CharField(
        max_length=6, help_text="Prefix of the tracking numbers this OMS issues for the carrier."
    )
    webhook_secret = models.CharField(
        max_length=128, blank=True, help_text="Shared secret that signs the carrier's tracking webhooks."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CarrierService(models.Model):
    class Level(models.TextChoices):
        GROUND = "ground"
        EXPRESS = "express"
        OVERNIGHT = "overnight"

    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="services")
    code = models.SlugField(max_length=32)
    name = models.CharField(max_length=120)
    level = models.CharField(max_length=10, choices=Level.choices)
    cutoff_time = models.TimeField(
        help_text="Parcels handed over after this (local time) leave the next day."
    )
    dim_divisor = models.PositiveIntegerField(
        default=5000, help_text="Dimensional weight in kg = length x width x height in cm / divisor."
    )
    max_weight_grams = models.PositiveIntegerField(default=30000)
    max_length_mm = models.PositiveIntegerField(default=1200)
    international = models.BooleanField(default=False, help_text="Also ships across borders.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["carrier", "code"]
        constraints = [models.UniqueConstraint(fields=["carrier", "code"], name="service_unique_code")]

    def __str__(self) -> str:
        return f"{self.carrier.code}/{self.code}"


class CarrierZone(models.Model):
    """Zone `zone` covers destinations up to `max_km` from the origin (and
    beyond the previous zone's limit)."""

    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="zones")
    zone = models.PositiveSmallIntegerField()
    max_km = models.PositiveIntegerField()

    class Meta:
        ordering = ["carrier", "zone"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "zone"], name="zone_unique_number"),
            models.UniqueConstraint(fields=["carrier", "max_km"], name="zone_unique_limit"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier.code} zone {self.zone} (<= {self.max_km} km)"


class ServiceRate(models.Model):
    """Price of a parcel up to `max_weight_grams` (billable weight) in a zone."""

    service = models.ForeignKey(CarrierService, on_delete=models.CASCADE, related_name="rates")
    zone = models.PositiveSmallIntegerField()
    max_weight_grams = models.PositiveIntegerField()
    amount = MoneyField()
    transit_days = models.PositiveSmallIntegerField(validators=[MinValueValidator(0)])

    class Meta:
        ordering = ["service", "zone", "max_weight_grams"]
        constraints = [
            models.UniqueConstraint(fields=["service", "zone", "max_weight_grams"], name="rate_unique_band"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="rate_amount_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.service} z{self.zone} <= {self.max_weight_grams} g: {self.amount}"


class Surcharge(models.Model):
    class AppliesTo(models.TextChoices):
        ALL = "all", "Every parcel (e.g. fuel)"
        CROSS_BORDER = "cross_border", "Parcels crossing a border"
        OVERSIZE = "oversize", "Parcels longer than the threshold"
        HEAVY = "heavy", "Parcels heavier than the threshold"
        REMOTE = "remote", "Destinations in the listed countries"

    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="surcharges")
    service = models.ForeignKey(
        CarrierService,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="surcharges",
        help_text="Only for this service; empty: every service of the carrier.",
    )
    name = models.CharField(max_length=80)
    applies_to = models.CharField(max_length=16, choices=AppliesTo.choices)
    amount = MoneyField(help_text="Flat amount added.")
    percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="Percent of the base rate added."
    )
    threshold = models.PositiveIntegerField(
        default=0, help_text="Oversize: length in mm; heavy: billable weight in grams."
    )
    countries = models.CharField(max_length=200, blank=True, help_text="Remote: ISO codes, space separated.")

    class Meta:
        ordering = ["carrier", "name"]

    def __str__(self) -> str:
        return f"{self.carrier.code}: {self.name}"
