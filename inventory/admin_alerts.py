"""Stock alerts: opened and resolved by the alert refresh, acknowledged by staff."""

from __future__ import annotations

from django.contrib import admin

from oms.admin import ReadOnlyAdminMixin

from .models import StockAlert


@admin.register(StockAlert)
class StockAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["opened_at", "kind", "status", "sku", "warehouse", "message", "last_seen_at"]
    list_filter = ["status", "kind", "warehouse"]
    list_select_related = ["sku", "warehouse"]
    search_fields = ["sku__code"]
    date_hierarchy = "opened_at"
    show_full_result_count = False
