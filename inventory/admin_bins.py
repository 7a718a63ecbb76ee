"""Bin stock: where on the shelves the on-hand units are. Read-only: bin
quantities change only through the stock services, which write the ledger."""

from __future__ import annotations

from django.contrib import admin

from oms.admin import ReadOnlyAdminMixin

from .models import BinStock


@admin.register(BinStock)
class BinStockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["bin", "sku", "quantity", "updated_at"]
    list_filter = ["warehouse"]
    list_select_related = ["bin__warehouse", "sku"]
    search_fields = ["sku__code", "bin__code"]
    show_full_result_count = False
