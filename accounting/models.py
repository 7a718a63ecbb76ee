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


# --- Receivables and payables ---------------------------------------------------------
#
# Accounting imports no other app, so an invoice names its customer (or
# supplier) by id and keeps a copy of what it printed: the name, e-mail and
# address on the invoice stay as issued whatever later happens to the record.


class Invoice(models.Model):
    """A customer invoice with payment terms (B2B, billed on account). Issued
    by accounting.invoicing.invoice_issue, which posts receivable vs revenue,
    shipping income and tax in the same transaction."""

    class Status(models.TextChoices):
        OPEN = "open"
        PAID = "paid"
        VOID = "void"

    number = models.CharField(max_length=20, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    source_ref = models.CharField(
        max_length=100, unique=True, help_text="What it bills, e.g. shipment:42; one invoice per source."
    )
    order_ref = models.CharField(max_length=40, blank=True, help_text="The order number it belongs to.")
    customer_id = models.BigIntegerField(db_index=True, help_text="customers.Customer id.")
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField()
    billing_address = models.JSONField(default=dict, blank=True)
    channel = models.ForeignKey(
        "oms.Channel", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    issue_date = models.DateField()
    terms_days = models.PositiveSmallIntegerField(help_text="Net N: days from issue to due.")
    due_date = models.DateField(db_index=True)
    net_total = MoneyField(help_text="Goods net of discounts and tax.")
    shipping_total = MoneyField(help_text="Shipping net of tax.")
    tax_total = MoneyField()
    total = MoneyField()
    amount_paid = MoneyField()
    rate = models.DecimalField(
        max_digits=18, decimal_places=8, help_text="Base units per unit of currency it was booked at."
    )
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="invoice")
    paid_at = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="invoice_total_positive"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=models.F("total")),
                name="invoice_paid_within_total",
            ),
        ]
        indexes = [models.Index(fields=["customer_id", "status"], name="invoice_customer_status_idx")]

    def __str__(self) -> str:
        return f"invoice {self.number}"

    @property
    def outstanding(self):
        return self.total - self.amount_paid


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveSmallIntegerField()
    sku = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=200)
    quantity = models.PositiveIntegerField()
    unit_price = MoneyField(help_text="Net of tax.")
    tax = MoneyField()
    net_amount = MoneyField(help_text="quantity x unit price - discount, net of tax.")

    class Meta:
        ordering = ["invoice", "line_number"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku or self.description}"


class InvoicePayment(models.Model):
    """Money received against an invoice: cash vs receivable at the invoice's
    rate, the difference to the day's rate booked as a realised FX result."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    day = models.DateField()
    amount = MoneyField(help_text="In the invoice currency.")
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    reference = models.CharField(max_length=100, help_text="Bank reference; one payment per reference.")
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="invoice_payment")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "reference"], name="invoice_payment_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.invoice.currency} on {self.invoice.number}"


class InvoiceReminder(models.Model):
    """A dunning reminder sent for an overdue invoice; one per level."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="reminders")
    level = models.PositiveSmallIntegerField()
    days_overdue = models.PositiveIntegerField()
    sent_to = models.EmailField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice", "level"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], name="invoice_reminder_once_per_level")
        ]

    def __str__(self) -> str:
        return f"reminder {self.level} for {self.invoice.number}"


class SupplierInvoice(models.Model):
    """A supplier's invoice: clears goods received not invoiced (the receipt
    booked it at the purchase order's cost), books input tax and any price
    difference, and owes the total on accounts payable."""

    class Status(models.TextChoices):
        OPEN = "open"
        PAID = "paid"

    supplier_id = models.BigIntegerField(db_index=True, help_text="inventory.Supplier id.")
    supplier_name = models.CharField(max_length=200)
    number = models.CharField(max_length=60, help_text="The supplier's invoice number.")
    po_ref = models.CharField(max_length=40, blank=True, help_text="Purchase order it bills, e.g. po:12.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES)
    issue_date = models.DateField()
    due_date = models.DateField(db_index=True)
    net_total = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    amount_paid = MoneyField()
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="supplier_invoice")
    paid_at = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["supplier_id", "number"], name="supplier_invoice_once"),
            models.CheckConstraint(condition=Q(total__gt=0), name="supplier_invoice_total_positive"),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0, amount_paid__lte=models.F("total")),
                name="supplier_invoice_paid_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.supplier_name} invoice {self.number}"

    @property
    def outstanding(self):
        return self.total - self.amount_paid


class SupplierPayment(models.Model):
    supplier_invoice = models.ForeignKey(SupplierInvoice, on_delete=models.PROTECT, related_name="payments")
    day = models.DateField()
    amount = MoneyField()
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    reference = models.CharField(max_length=100)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="supplier_payment")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["supplier_invoice", "reference"], name="supplier_payment_once"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="supplier_payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.supplier_invoice.currency} on {self.supplier_invoice}"
