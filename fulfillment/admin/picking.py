"""Fulfillment admin: waves and pick lists, read-only (the picking services
write them), with "release" and "cancel" actions that call those services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from oms.actors import Actor
from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from oms.errors import DomainError

from ..documents import wave_documents_pdf
from ..models import PickList, PickListLine, Wave
from ..picking import pick_list_cancel, wave_cancel, wave_release
from ..picking.selectors import pick_lists, waves
from .printing import print_pdf


def _run(model_admin: admin.ModelAdmin, request: HttpRequest, objects, action, what: str) -> None:
    """Call a service per object, report how many succeeded and why others did not."""
    done = 0
    for obj in objects:
        try:
            action(obj)
            done += 1
        except DomainError as exc:
            model_admin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
    if done:
        model_admin.message_user(request, f"{done} {what}.", messages.SUCCESS)


class PickListLineInline(ReadOnlyTabularInline):
    model = PickListLine
    fields = [
        "sequence",
        "bin",
        "sku",
        "quantity",
        "quantity_picked",
        "quantity_short",
        "tote_slot",
        "fulfillment_line",
    ]
    ordering = ["sequence", "tote_slot", "id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PickListLine]:
        return super().get_queryset(request).select_related("bin__warehouse", "sku", "fulfillment_line")


class WavePickListInline(ReadOnlyTabularInline):
    model = PickList
    fields = ["mode", "status", "zone", "picker", "started_at", "completed_at"]
    ordering = ["id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PickList]:
        return super().get_queryset(request).select_related("zone__warehouse", "picker", "warehouse")


@admin.register(PickList)
class PickListAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "warehouse",
        "mode",
        "status",
        "zone",
        "wave",
        "picker",
        "shipment_count",
        "units_progress",
        "created_at",
    ]
    list_filter = ["status", "mode", "warehouse", "created_at"]
    search_fields = ["=id", "=wave__id", "warehouse__code", "zone__code", "picker__username"]
    date_hierarchy = "created_at"
    inlines = [PickListLineInline]
    actions = ["cancel"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PickList]:
        return pick_lists()

    @admin.display(description="Shipments", ordering="shipments")
    def shipment_count(self, pick_list: PickList) -> int:
        return pick_list.shipments  # type: ignore[attr-defined]

    @admin.display(description="Picked / short / units")
    def units_progress(self, pick_list: PickList) -> str:
        return f"{pick_list.units_picked} / {pick_list.units_short} / {pick_list.units}"  # type: ignore[attr-defined]

    @admin.action(description="Cancel the selected pick lists (unpicked shipments go back to released)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[PickList]) -> None:
        actor = Actor.for_user(request.user)
        _run(
            self,
            request,
            queryset.order_by("id"),
            lambda pl: pick_list_cancel(pick_list_id=pl.pk, actor=actor),
            "pick list(s) cancelled",
        )


@admin.register(Wave)
class WaveAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "warehouse",
        "status",
        "carrier",
        "cutoff_at",
        "consolidation_point",
        "list_count",
        "shipment_count",
        "created_at",
        "released_at",
        "completed_at",
    ]
    list_filter = ["status", "warehouse", "carrier"]
    search_fields = ["=id", "warehouse__code", "carrier__code", "consolidation_point"]
    inlines = [WavePickListInline]
    actions = ["release", "cancel", "print_documents"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Wave]:
        return waves()

    @admin.display(description="Lists (open)")
    def list_count(self, wave: Wave) -> str:
        return f"{wave.lists} ({wave.lists_open})"  # type: ignore[attr-defined]

    @admin.display(description="Shipments", ordering="shipment_count")
    def shipment_count(self, wave: Wave) -> int:
        return wave.shipment_count  # type: ignore[attr-defined]

    @admin.action(description="Release the selected waves to the pickers")
    def release(self, request: HttpRequest, queryset: QuerySet[Wave]) -> None:
        actor = Actor.for_user(request.user)
        _run(
            self,
            request,
            queryset.order_by("id"),
            lambda w: wave_release(wave_id=w.pk, actor=actor),
            "wave(s) released",
        )

    @admin.action(description="Cancel the selected waves (unpicked shipments go back to released)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Wave]) -> None:
        actor = Actor.for_user(request.user)
        _run(
            self,
            request,
            queryset.order_by("id"),
            lambda w: wave_cancel(wave_id=w.pk, actor=actor),
            "wave(s) cancelled",
        )

    @admin.action(description="Print the wave's documents (pick lists, labels, packing slips)")
    def print_documents(self, request: HttpRequest, queryset: QuerySet[Wave]):
        waves = list(queryset.order_by("id")[:2])
        if len(waves) != 1:
            self.message_user(request, "Select one wave to print.", messages.ERROR)
            return None
        return print_pdf(self, request, lambda: wave_documents_pdf(waves[0]), f"wave-{waves[0].pk}.pdf")


@admin.register(PickListLine)
class PickListLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "pick_list",
        "sequence",
        "bin",
        "sku",
        "quantity",
        "quantity_picked",
        "quantity_short",
        "tote_slot",
    ]
    list_select_related = ["pick_list", "bin__warehouse", "sku"]
    list_filter = ["pick_list__status", "pick_list__mode"]
    search_fields = ["=pick_list__id", "sku__code", "bin__code"]
    raw_id_fields = ["pick_list", "fulfillment_line", "sku", "bin"]
