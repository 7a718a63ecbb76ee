"""Receivables and payables in the admin: invoices, supplier invoices and
their payments and reminders. Read-only: they are issued, paid and reminded
only through accounting.invoicing and accounting.dunning (API: accounting/
invoices/, which also records payments), so the books always follow."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline

from .models import (
    Invoice,
    InvoiceLine,
    InvoicePayment,
    InvoiceReminder,
    SupplierInvoice,
    SupplierPayment,
)


class OverdueFilter(admin.SimpleListFilter):
    title = "due"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("current", "Not yet due")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        today = timezone.localdate()
        if self.value() == "overdue":
            return queryset.filter(status="open", due_date__lt=today)
        if self.value() == "current":
            return queryset.filter(status="open", due_date__gte=today)
        return queryset


class InvoiceLineInline(ReadOnlyTabularInline):
    model = InvoiceLine
    fields = ["line_number", "sku", "description", "quantity", "unit_price", "net_amount", "tax"]
    show_change_link = False


class InvoicePaymentInline(ReadOnlyTabularInline):
    model = InvoicePayment
    fields = ["day", "amount", "rate", "reference", "entry"]


class InvoiceReminderInline(ReadOnlyTabularInline):
    model = InvoiceReminder
    fields = ["level", "days_overdue", "sent_to", "sent_at"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "customer_name",
        "order_ref",
        "issue_date",
        "due_date",
        "currency",
        "total",
        "amount_paid",
        "status",
    ]
    list_filter = ["status", OverdueFilter, "currency", "channel"]
    list_select_related = ["channel"]
    search_fields = ["=number", "customer_name", "customer_email", "=order_ref", "=source_ref"]
    date_hierarchy = "issue_date"
    show_full_result_count = False
    inlines = [InvoiceLineInline, InvoicePaymentInline, InvoiceReminderInline]


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["invoice", "line_number", "sku", "quantity", "unit_price", "net_amount", "tax"]
    list_select_related = ["invoice"]
    search_fields = ["=invoice__number", "sku"]
    raw_id_fields = ["invoice"]


@admin.register(InvoicePayment)
class InvoicePaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["invoice", "day", "amount", "rate", "reference"]
    list_select_related = ["invoice"]
    search_fields = ["=invoice__number", "reference"]
    date_hierarchy = "day"
    raw_id_fields = ["invoice", "entry"]


@admin.register(InvoiceReminder)
class InvoiceReminderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["invoice", "level", "days_overdue", "sent_to", "sent_at"]
    list_filter = ["level"]
    list_select_related = ["invoice"]
    search_fields = ["=invoice__number", "sent_to"]
    raw_id_fields = ["invoice"]


class SupplierPaymentInline(ReadOnlyTabularInline):
    model = SupplierPayment
    fields = ["day", "amount", "rate", "reference", "entry"]


@admin.register(SupplierInvoice)
class SupplierInvoiceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "supplier_name",
        "po_ref",
        "issue_date",
        "due_date",
        "currency",
        "total",
        "amount_paid",
        "status",
    ]
    list_filter = ["status", OverdueFilter, "currency"]
    search_fields = ["=number", "supplier_name", "=po_ref"]
    date_hierarchy = "issue_date"
    inlines = [SupplierPaymentInline]


@admin.register(SupplierPayment)
class SupplierPaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["supplier_invoice", "day", "amount", "rate", "reference"]
    list_select_related = ["supplier_invoice"]
    search_fields = ["=supplier_invoice__number", "reference"]
    date_hierarchy = "day"
    raw_id_fields = ["supplier_invoice", "entry"]
