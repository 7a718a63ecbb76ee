"""Accounting admin: the chart of accounts and exchange rates (edited by
staff), periods (closed with an action), and the journal (read-only: entries
are posted only by the accounting service; corrections are reversals)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet, Sum
from django.http import HttpRequest

from oms.actors import Actor
from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from oms.errors import DomainError

from .models import Account, ExchangeRate, JournalEntry, JournalLine, Period
from .services import period_close


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "type", "is_active"]
    list_filter = ["type", "is_active"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request: HttpRequest, obj: Account | None = None) -> bool:
        # An account with postings stays (make it inactive instead).
        return super().has_delete_permission(request, obj) and (obj is None or not obj.lines.exists())


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["day", "currency", "rate", "source"]
    list_filter = ["currency"]
    search_fields = ["currency", "source"]
    date_hierarchy = "day"


@admin.register(Period)
class PeriodAdmin(admin.ModelAdmin):
    list_display = ["__str__", "year", "month", "closed_at", "closed_by"]
    list_filter = ["year"]
    search_fields = ["=year"]
    readonly_fields = ["closed_at", "closed_by"]
    actions = ["close_periods"]
    list_select_related = ["closed_by"]

    @admin.action(description="Close the selected periods (no new entries)")
    def close_periods(self, request: HttpRequest, queryset: QuerySet[Period]) -> None:
        actor = Actor.for_user(request.user)
        for period in queryset.order_by("year", "month"):
            try:
                period_close(year=period.year, month=period.month, actor=actor)
            except DomainError as exc:
                messages.error(request, f"{period}: {exc.message}")
        messages.success(request, "Periods closed.")


class JournalLineInline(ReadOnlyTabularInline):
    model = JournalLine
    fields = ["account", "debit", "credit", "amount", "currency", "rate", "channel", "memo"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[JournalLine]:
        return super().get_queryset(request).select_related("account", "channel")


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "date", "source_type", "source_ref", "total", "actor_type", "created_at"]
    list_filter = ["source_type"]
    search_fields = ["=source_ref", "memo"]
    date_hierarchy = "date"
    show_full_result_count = False
    inlines = [JournalLineInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[JournalEntry]:
        return super().get_queryset(request).annotate(_total=Sum("lines__debit"))

    @admin.display(description="Total (base)", ordering="_total")
    def total(self, entry: JournalEntry):
        return entry._total  # type: ignore[attr-defined]


@admin.register(JournalLine)
class JournalLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["entry", "account", "debit", "credit", "amount", "currency", "rate", "channel"]
    list_filter = ["currency", "account__type"]
    list_select_related = ["entry", "account", "channel"]
    search_fields = ["account__code", "=entry__source_ref"]
    raw_id_fields = ["entry", "account", "channel"]


from . import admin_invoices, admin_reports  # noqa: E402, F401 - receivables / payables, the reports pages
