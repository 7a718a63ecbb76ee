"""Stock alerts: opened and resolved by the alert refresh, acknowledged by staff."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from oms.actors import Actor
from oms.admin import ReadOnlyAdminMixin
from oms.errors import DomainError

from .alerts import stock_alert_acknowledge
from .models import StockAlert


class LiveFilter(admin.SimpleListFilter):
    title = "live"
    parameter_name = "live"

    def lookups(self, request, model_admin):
        return [("yes", "Live (open or acknowledged)"), ("no", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(status=StockAlert.Status.RESOLVED)
        if self.value() == "no":
            return queryset.filter(status=StockAlert.Status.RESOLVED)
        return queryset


class NotifiedFilter(admin.SimpleListFilter):
    title = "e-mailed"
    parameter_name = "notified"

    def lookups(self, request, model_admin):
        return [("yes", "In a digest"), ("no", "Not yet")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(notified_at__isnull=self.value() == "no")
        return queryset


@admin.register(StockAlert)
class StockAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "opened_at",
        "kind",
        "status",
        "sku",
        "warehouse",
        "message",
        "last_seen_at",
        "notified_at",
    ]
    list_filter = [LiveFilter, "status", "kind", "warehouse", NotifiedFilter]
    list_select_related = ["sku", "warehouse"]
    search_fields = ["sku__code", "sku__name", "message"]
    date_hierarchy = "opened_at"
    show_full_result_count = False
    actions = ["acknowledge"]

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        # The admin never edits alerts; the model's change permission is what
        # lets staff acknowledge them.
        return request.user.has_perm("inventory.change_stockalert")

    @admin.action(description="Acknowledge: someone is on it", permissions=["acknowledge"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[StockAlert]) -> None:
        try:
            changed = stock_alert_acknowledge(
                alert_ids=queryset.values_list("pk", flat=True), actor=Actor.for_user(request.user)
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return
        messages.success(request, f"{len(changed)} alert(s) acknowledged.")
