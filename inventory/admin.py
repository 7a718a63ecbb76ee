"""Catalogue and warehouses are configuration; stock is not.

Stock levels, the movement ledger and reservations change only through
inventory.services (which lock, check and write the ledger together), so
their admins are read-only views.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from oms.actors import Actor
from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, admin_changelist_link
from oms.errors import DomainError

from .admin_importexport import ImportExportViews
from .api import STATUSES, position_status, status_filter
from .models import SKU, Product, Reservation, SafetyStock, StockLevel, StockMovement, Warehouse
from .operations import count_start
from .selectors import DEMAND_WINDOW_DAYS, sku_availability, stock_positions


class SKUInline(admin.TabularInline):
    model = SKU
    fields = [
        "code",
        "barcode",
        "name",
        "weight_grams",
        "length_mm",
        "width_mm",
        "height_mm",
        "unit_cost",
        "cost_currency",
        "is_active",
    ]
    extra = 0
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "brand", "sku_count", "is_active", "created_at"]
    list_filter = ["is_active", "category", "brand"]
    search_fields = ["name", "category", "brand"]
    readonly_fields = ["created_at"]
    inlines = [SKUInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return super().get_queryset(request).annotate(sku_total=Count("skus"))

    @admin.display(description="SKUs", ordering="sku_total")
    def sku_count(self, product: Product) -> int:
        return product.sku_total


class StockLevelInline(ReadOnlyTabularInline):
    model = StockLevel
    fields = ["warehouse", "on_hand", "allocated", "soft_reserved", "available", "updated_at"]
    readonly_fields = ["available"]
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockLevel]:
        return super().get_queryset(request).select_related("warehouse")

    @admin.display(description="Available")
    def available(self, level: StockLevel) -> int:
        return level.available


@admin.register(SKU)
class SKUAdmin(ImportExportViews, admin.ModelAdmin):
    list_display = ["code", "name", "product", "barcode", "total_on_hand", "total_available", "is_active"]
    list_filter = ["is_active", "product__category"]
    list_select_related = ["product"]
    search_fields = ["code", "barcode", "name", "product__name"]
    autocomplete_fields = ["product"]
    readonly_fields = ["stock_links", "created_at"]
    fieldsets = [
        (None, {"fields": ["product", "code", "barcode", "name", "is_active"]}),
        ("Dimensions", {"fields": ["weight_grams", ("length_mm", "width_mm", "height_mm")]}),
        ("Cost", {"fields": [("unit_cost", "cost_currency")]}),
        ("Stock", {"fields": ["stock_links", "created_at"]}),
    ]
    inlines = [StockLevelInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[SKU]:
        return sku_availability(super().get_queryset(request))

    @admin.display(description="On hand", ordering="total_on_hand")
    def total_on_hand(self, sku: SKU) -> int:
        return sku.total_on_hand

    @admin.display(description="Available", ordering="total_available")
    def total_available(self, sku: SKU) -> int:
        return sku.total_available

    @admin.display(description="Ledger")
    def stock_links(self, sku: SKU) -> str:
        if sku.pk is None:
            return "-"
        return admin_changelist_link(StockMovement, "Stock movements of this SKU", sku__id__exact=sku.pk)


class SafetyStockInline(admin.TabularInline):
    model = SafetyStock
    fields = ["sku", "quantity"]
    autocomplete_fields = ["sku"]
    extra = 0
    verbose_name_plural = "safety stock of single SKUs (overrides the location's default)"


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "city",
        "country",
        "ships",
        "allows_pickup",
        "serves",
        "safety_stock",
        "is_active",
    ]
    list_filter = ["kind", "ships", "allows_pickup", "is_active", "country"]
    search_fields = ["code", "name", "city", "postal_code"]
    readonly_fields = ["stock_link", "created_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "is_active"]}),
        (
            "Location",
            {"fields": ["line1", ("city", "region", "postal_code"), "country", ("latitude", "longitude")]},
        ),
        ("Services", {"fields": ["ships", "allows_pickup", "channels", "safety_stock"]}),
        ("Staff", {"fields": ["staff"], "description": "Warehouse-role users see and work only here."}),
        ("Stock", {"fields": ["stock_link", "created_at"]}),
    ]
    filter_horizontal = ["channels", "staff"]
    inlines = [SafetyStockInline]
    actions = ["start_cycle_count"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Warehouse]:
        return super().get_queryset(request).prefetch_related("channels")

    @admin.display(description="Serves")
    def serves(self, warehouse: Warehouse) -> str:
        codes = sorted(c.code for c in warehouse.channels.all())
        return ", ".join(codes) if codes else "every channel"

    @admin.action(description="Start a cycle count of everything stocked there")
    def start_cycle_count(self, request: HttpRequest, queryset: QuerySet[Warehouse]) -> None:
        for warehouse in queryset.order_by("code"):
            try:
                sheet = count_start(warehouse_id=warehouse.pk, actor=Actor.for_user(request.user))
            except DomainError as exc:
                messages.error(request, f"{warehouse.code}: {exc.message}")
            else:
                messages.success(request, f"{warehouse.code}: count sheet {sheet.pk} started.")

    @admin.display(description="Stock")
    def stock_link(self, warehouse: Warehouse) -> str:
        if warehouse.pk is None:
            return "-"
        return admin_changelist_link(
            StockLevel, "Stock levels in this warehouse", warehouse__id__exact=warehouse.pk
        )


class PositionStatusFilter(admin.SimpleListFilter):
    title = "stock status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("out", "Out of stock"), ("low", "Low stock"), ("over", "Overstock / no demand")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(status_filter(self.value())) if self.value() in STATUSES else queryset


@admin.register(StockLevel)
class StockLevelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The consolidated inventory view: every SKU in every location, with what is
    coming in and how long it lasts (same figures as /api/v1/inventory/positions/)."""

    list_display = [
        "sku",
        "warehouse",
        "on_hand",
        "allocated",
        "soft_reserved",
        "available",
        "incoming",
        "demand",
        "cover",
        "status",
    ]
    list_filter = [PositionStatusFilter, "warehouse"]
    search_fields = ["sku__code", "sku__barcode", "sku__name"]
    readonly_fields = ["available", "incoming", "demand", "cover", "status"]
    fields = [
        "sku",
        "warehouse",
        "on_hand",
        "allocated",
        "soft_reserved",
        "available",
        "incoming",
        "demand",
        "cover",
        "status",
        "updated_at",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StockLevel]:
        return stock_positions()

    @admin.display(description="Available", ordering="available_qty")
    def available(self, level: StockLevel) -> int:
        return level.available_qty

    @admin.display(description="Incoming", ordering="incoming")
    def incoming(self, level: StockLevel) -> int:
        return level.incoming

    @admin.display(description=f"Sold ({DEMAND_WINDOW_DAYS} d)", ordering="demand")
    def demand(self, level: StockLevel) -> int:
        return level.demand

    @admin.display(description="Days of cover", ordering="days_of_cover")
    def cover(self, level: StockLevel) -> str:
        return "-" if level.days_of_cover is None else f"{level.days_of_cover:.1f}"

    @admin.display(description="Status")
    def status(self, level: StockLevel) -> str:
        return position_status(level.available_qty, level.days_of_cover, level.demand)


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger is append-only (a database trigger refuses UPDATE and DELETE)."""

    list_display = [
        "id",
        "created_at",
        "kind",
        "sku",
        "warehouse",
        "bin",
        "on_hand_delta",
        "allocated_delta",
        "reserved_delta",
        "reference",
        "actor",
    ]
    list_filter = ["kind", "warehouse"]
    list_select_related = ["sku", "warehouse", "bin__warehouse"]
    search_fields = ["sku__code", "=reference", "bin__code"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the ledger grows without bound


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "sku",
        "warehouse",
        "quantity",
        "status",
        "reference",
        "expires_at",
        "created_at",
        "closed_at",
    ]
    list_filter = ["status", "warehouse"]
    list_select_related = ["sku", "warehouse"]
    search_fields = ["=reference", "sku__code"]
    date_hierarchy = "created_at"
    show_full_result_count = False


@admin.register(SafetyStock)
class SafetyStockAdmin(admin.ModelAdmin):
    """Units of one SKU held back in one location from what channels are
    promised (inventory.atp); without a row here the location's default applies."""

    list_display = ["sku", "warehouse", "quantity", "location_default"]
    list_filter = ["warehouse"]
    list_select_related = ["sku", "warehouse"]
    search_fields = ["sku__code", "sku__name", "warehouse__code"]
    autocomplete_fields = ["sku", "warehouse"]

    @admin.display(description="Location default", ordering="warehouse__safety_stock")
    def location_default(self, row: SafetyStock) -> int:
        return row.warehouse.safety_stock


from . import (  # noqa: E402 - the admins below register themselves on import
    admin_alerts,  # noqa: F401 - registers the stock alert admin
    admin_bins,  # noqa: F401 - registers the bin stock admin
    admin_operations,  # noqa: F401 - registers structure, transfer and count admins
    admin_purchasing,  # noqa: F401 - registers the purchasing admin
)
