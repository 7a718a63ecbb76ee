"""Fulfillment admin: carriers, their services, zones, rate tables and
surcharges - configuration staff edit directly. How a parcel is rated from
them is fulfillment.carriers.table; the quote API shows the result."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from oms.admin import format_money

from ..carriers import table as _table  # noqa: F401 - lists the built-in adapter
from ..carriers.base import registered_adapters
from ..models import Carrier, CarrierService, CarrierZone, ServiceRate, Surcharge


class CarrierServiceInline(admin.TabularInline):
    model = CarrierService
    fields = [
        "code",
        "name",
        "level",
        "cutoff_time",
        "dim_divisor",
        "max_weight_grams",
        "max_length_mm",
        "international",
        "is_active",
    ]
    extra = 0
    show_change_link = True


class CarrierZoneInline(admin.TabularInline):
    model = CarrierZone
    fields = ["zone", "max_km"]
    extra = 0


class SurchargeInline(admin.TabularInline):
    model = Surcharge
    fields = ["name", "service", "applies_to", "amount", "percent", "threshold", "countries"]
    extra = 0

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "service":
            kwargs["queryset"] = CarrierService.objects.select_related("carrier")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "adapter", "currency", "tracking_prefix", "service_count", "is_active"]
    list_filter = ["is_active", "adapter", "currency"]
    search_fields = ["code", "name"]
    inlines = [CarrierServiceInline, CarrierZoneInline, SurchargeInline]
    fieldsets = [
        (None, {"fields": ["code", "name", "adapter", "currency", "is_active"]}),
        ("Tracking", {"fields": ["tracking_prefix", "tracking_url", "webhook_secret"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Carrier]:
        return super().get_queryset(request).annotate(n_services=Count("services"))

    @admin.display(description="services", ordering="n_services")
    def service_count(self, obj: Carrier) -> int:
        return obj.n_services  # type: ignore[attr-defined]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        adapters = ", ".join(registered_adapters()) or "table"
        form.base_fields["adapter"].help_text += f" Installed: {adapters}."
        return form


class ServiceRateInline(admin.TabularInline):
    model = ServiceRate
    fields = ["zone", "max_weight_grams", "amount", "transit_days"]
    extra = 0


@admin.register(CarrierService)
class CarrierServiceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "name",
        "level",
        "cutoff_time",
        "international",
        "max_weight_grams",
        "is_active",
    ]
    list_filter = ["carrier", "level", "international", "is_active"]
    search_fields = ["code", "name", "carrier__code", "carrier__name"]
    list_select_related = ["carrier"]
    inlines = [ServiceRateInline]


@admin.register(ServiceRate)
class ServiceRateAdmin(admin.ModelAdmin):
    list_display = ["service", "zone", "max_weight_grams", "price", "transit_days"]
    list_filter = ["service__carrier", "service__level", "zone"]
    search_fields = ["service__code", "service__carrier__code"]
    list_select_related = ["service__carrier"]
    ordering = ["service__carrier__code", "service__code", "zone", "max_weight_grams"]

    @admin.display(description="amount", ordering="amount")
    def price(self, obj: ServiceRate) -> str:
        return f"{format_money(obj.amount, obj.service.carrier.currency)} {obj.service.carrier.currency}"


@admin.register(CarrierZone)
class CarrierZoneAdmin(admin.ModelAdmin):
    list_display = ["carrier", "zone", "max_km"]
    list_filter = ["carrier"]
    list_select_related = ["carrier"]


@admin.register(Surcharge)
class SurchargeAdmin(admin.ModelAdmin):
    list_display = ["name", "carrier", "service", "applies_to", "amount", "percent", "threshold", "countries"]
    list_filter = ["carrier", "applies_to"]
    search_fields = ["name", "carrier__code"]
    list_select_related = ["carrier", "service__carrier"]

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "service":
            kwargs["queryset"] = CarrierService.objects.select_related("carrier")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
