"""Fulfillment admin: the standard boxes and packaging materials the pack
station chooses from (fulfillment.boxes). Retire one with "active" rather
than deleting it: shipments keep pointing at the box they went out in."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import F

from ..models import Box, PackagingMaterial


@admin.register(Box)
class BoxAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "inner_dimensions",
        "empty_weight_grams",
        "max_weight_grams",
        "cost",
        "protection",
        "is_active",
    ]
    list_filter = ["is_active", "protection"]
    search_fields = ["code", "name"]
    ordering = ["inner_length_mm", "inner_width_mm", "inner_height_mm"]
    fieldsets = [
        (None, {"fields": ["code", "name", "is_active"]}),
        (
            "Size and weight",
            {
                "fields": [
                    "inner_length_mm",
                    "inner_width_mm",
                    "inner_height_mm",
                    "empty_weight_grams",
                    "max_weight_grams",
                ]
            },
        ),
        ("Cost and protection", {"fields": ["cost", "protection"]}),
    ]

    @admin.display(
        description="Inside (L x W x H mm)",
        ordering=F("inner_length_mm") * F("inner_width_mm") * F("inner_height_mm"),
    )
    def inner_dimensions(self, box: Box) -> str:
        return f"{box.inner_length_mm} x {box.inner_width_mm} x {box.inner_height_mm}"


@admin.register(PackagingMaterial)
class PackagingMaterialAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "padding_mm", "protection", "weight_grams", "cost", "is_active"]
    list_filter = ["is_active", "protection"]
    search_fields = ["code", "name"]
