"""The books: chart of accounts, exchange rates by day, accounting periods,
and the double-entry journal.

Journal entries are written only by accounting.services.journal_post, which
refuses an entry whose debits and credits differ in the base currency, and
are never edited or deleted afterwards: a correction is a reversing entry.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from oms.money import CURRENCY_CHOICES, MoneyField


class Account(models.Model):
    class Type(models.TextChoices):
        ASSET = "asset"
        LIABILITY = "liability"
        EQUITY = "equity"
        REVENUE = "revenue"
        EXPENSE = "expense"

    code = models.CharField(max_length=20, unique=True, help_text="e.g. 1100")
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=Type.choices)
    is_active = models.BooleanField(default=True, help_text="Inactive accounts take no new postings.")
    description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self) -> bool:
        """Assets and expenses grow with debits; the others with credits."""
        return self.type in (self.Type.ASSET, self.Type.EXPENSE)


class ExchangeRate(models.Model):
    """One unit of `currency` is worth `rate` units of the base currency on `day`."""

    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    day = models.DateField()
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    source = models.CharField(max_length=60, blank=True, help_text="e.g. ECB reference rate, manual")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "day"], name="exchange_rate_once_a_day"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} base on {self.day}"


class Period(models.Model):
    """A calendar month of the books; once closed it takes no new entries."""

    year = models.PositiveSmallIntegerField()
    month = models.PositiveSmallIntegerField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-year", "-month"]
        constraints = [
            models.UniqueConstraint(fields=["year", "month"], name="period_once"),
            models.CheckConstraint(condition=Q(month__gte=1, month__lte=12), name="period_month_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}" + (" (closed)" if self.closed_at else "")


class JournalEntry(models.Model):
    date = models.DateField(help_text="The accounting date: its period must be open.")
    memo = models.CharField(max_length=300)
    source_type = models.CharField(
        max_length=40, help_text="What business event posted it: capture, shipment, manual, ..."
    )
    source_ref = models.CharField(max_length=100, help_text="The source document, e.g. order:123.")
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    actor_type = models.CharField(max_length=8)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name_plural = "journal entries"
        constraints = [
            # A business event posts once: retries and redelivered events find it.
            models.UniqueConstraint(
                fields=["source_type", "source_ref"], name="journal_entry_once_per_source"
            )
        ]
        indexes = [models.Index(fields=["date"], name="journal_entry_date_idx")]

    def __str__(self) -> str:
        return f"JE{self.pk:07d} {self.date} {self.memo}" if self.pk else "journal entry (unsaved)"


class JournalLine(models.Model):
    """One side of an entry: a debit or a credit in the base currency, with
    the amount in the currency of the business event and the rate used."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit = MoneyField()
    credit = MoneyField()
    amount = MoneyField(help_text="Original amount (positive), in `currency`.")
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    rate = models.DecimalField(max_digits=18, decimal_places=8, help_text="Base units per unit of currency.")
    channel = models.ForeignKey(
        "oms.Channel", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    memo = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["entry", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0, credit=0) | Q(debit=0, credit__gt=0)),
                name="journal_line_one_side",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="journal_line_amount_positive"),
        ]
        indexes = [models.Index(fields=["account", "entry"], name="journal_line_account_idx")]

    def __str__(self) -> str:
        side = f"Dr {self.debit}" if self.debit else f"Cr {self.credit}"
        return f"{self.account_id} {side}"
