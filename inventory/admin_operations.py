"""Admin for warehouse structure (zones, bins, SKU bin assignments: editable
configuration) and for transfers and cycle counts, whose stock effects only
happen through the actions, which call inventory.operations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from oms.actors import Actor
from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline
from oms.errors import DomainError

from .models import Bin, CountLine, CountSheet, ReorderRule, SKUBin, Transfer, TransferLine, Zone
from .operations import (
    count_approve,
    count_cancel,
    count_record,
    count_submit,
    stock_putaway,
    transfer_cancel,
    transfer_receive,
    transfer_ship,
)
from .replenishment import reorder_check


def run_for_each(
    request: HttpRequest, queryset: QuerySet, service: Callable[..., Any], key: str, done: str
) -> None:
    """Call a service per selected row; domain errors become messages, never a 500."""
    actor = Actor.for_user(request.user)
    ok = 0
    for obj in queryset.order_by("pk"):
        try:
            service(**{key: obj.pk}, actor=actor)
        except DomainError as exc:
            messages.error(request, f"{obj}: {exc.message}")
        else:
            ok += 1
    if ok:
        messages.success(request, f"{ok} {done}.")


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    list_display = ["warehouse", "code", "name", "walk_sequence"]
    list_filter = ["warehouse"]
    list_select_related = ["warehouse"]
    search_fields = ["code", "name", "warehouse__code"]


class BinForm(forms.ModelForm):
    class Meta:
        model = Bin
        fields = [
            "warehouse",
            "zone",
            "code",
            "aisle",
            "rack",
            "shelf",
            "position",
            "walk_sequence",
            "is_active",
        ]

    def clean(self):
        data = super().clean()
        zone, warehouse = data.get("zone"), data.get("warehouse")
        if zone and warehouse and zone.warehouse_id != warehouse.pk:
            raise ValidationError({"zone": f"Zone {zone} is not in warehouse {warehouse.code}."})
        return data


@admin.register(Bin)
class BinAdmin(admin.ModelAdmin):
    form = BinForm
    list_display = ["code", "warehouse", "zone", "walk_sequence", "is_active"]
    list_filter = ["warehouse", "is_active"]  # a zone filter would list every zone with its warehouse
    list_select_related = ["warehouse", "zone__warehouse"]
    search_fields = ["code", "warehouse__code", "zone__code"]
    ordering = ["warehouse", "walk_sequence"]


class SKUBinForm(forms.ModelForm):
    class Meta:
        model = SKUBin
        fields = ["sku", "warehouse", "bin", "kind"]

    def clean(self):
        data = super().clean()
        bin_, warehouse = data.get("bin"), data.get("warehouse")
        if bin_ and warehouse and bin_.warehouse_id != warehouse.pk:
            raise ValidationError({"bin": f"Bin {bin_} is not in warehouse {warehouse.code}."})
        return data


@admin.register(SKUBin)
class SKUBinAdmin(admin.ModelAdmin):
    form = SKUBinForm
    list_display = ["sku", "warehouse", "bin", "kind"]
    list_filter = ["warehouse", "kind"]
    list_select_related = ["sku", "warehouse", "bin__warehouse"]
    search_fields = ["sku__code", "bin__code"]
    raw_id_fields = ["sku", "bin"]
    actions = ["put_away_unlocated"]

    @admin.action(description="Put away every unlocated unit of the SKU into this bin")
    def put_away_unlocated(self, request: HttpRequest, queryset: QuerySet[SKUBin]) -> None:
        run_for_each(request, queryset, _put_away_into, "assignment_id", "bin(s) filled from unlocated stock")


def _put_away_into(*, assignment_id: int, actor: Actor) -> None:
    assignment = SKUBin.objects.get(pk=assignment_id)
    stock_putaway(
        warehouse_id=assignment.warehouse_id,
        sku_id=assignment.sku_id,
        quantity=None,
        bin_id=assignment.bin_id,
        actor=actor,
    )


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    extra = 0
    raw_id_fields = ["sku"]
    readonly_fields = ["quantity_received"]

    def has_change_permission(self, request: HttpRequest, obj: Transfer | None = None) -> bool:
        return obj is None or obj.status == Transfer.Status.DRAFT

    has_add_permission = has_delete_permission = has_change_permission


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "from_warehouse",
        "to_warehouse",
        "status",
        "expected_at",
        "created_at",
        "shipped_at",
        "received_at",
    ]
    list_filter = ["status", "from_warehouse", "to_warehouse"]
    list_select_related = ["from_warehouse", "to_warehouse"]
    search_fields = ["=id", "note"]
    readonly_fields = ["status", "created_by", "created_at", "shipped_at", "received_at"]
    inlines = [TransferLineInline]
    actions = ["ship", "receive", "cancel"]

    def get_readonly_fields(self, request: HttpRequest, obj: Transfer | None = None) -> list[str]:
        if obj is not None and obj.status != Transfer.Status.DRAFT:
            return [*self.readonly_fields, "from_warehouse", "to_warehouse", "expected_at"]
        return list(self.readonly_fields)

    def save_model(self, request: HttpRequest, obj: Transfer, form: Any, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Ship: take the goods out of the sending location")
    def ship(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        run_for_each(request, queryset, transfer_ship, "transfer_id", "transfer(s) shipped")

    @admin.action(description="Receive: put the goods into the receiving location")
    def receive(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        run_for_each(request, queryset, transfer_receive, "transfer_id", "transfer(s) received")

    @admin.action(description="Cancel draft transfers")
    def cancel(self, request: HttpRequest, queryset: QuerySet[Transfer]) -> None:
        run_for_each(request, queryset, transfer_cancel, "transfer_id", "transfer(s) cancelled")


class CountLineInline(ReadOnlyTabularInline):
    model = CountLine
    fields = ["sku", "expected", "counted", "variance"]
    readonly_fields = fields


class CountLineForm(forms.ModelForm):
    class Meta:
        model = CountLine
        fields = ["counted"]


class OpenCountLineInline(admin.TabularInline):
    """While a sheet is open, the counted column is entered here; the save goes
    through count_record, like any other client."""

    model = CountLine
    form = CountLineForm
    fields = ["sku", "expected", "counted"]
    readonly_fields = ["sku", "expected"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: CountSheet | None = None) -> bool:
        return False


@admin.register(CountSheet)
class CountSheetAdmin(admin.ModelAdmin):
    list_display = ["id", "warehouse", "status", "created_by", "created_at", "approved_by", "approved_at"]
    list_filter = ["status", "warehouse"]
    list_select_related = ["warehouse", "created_by", "approved_by"]
    search_fields = ["=id", "note"]
    readonly_fields = [
        "warehouse",
        "status",
        "created_by",
        "approved_by",
        "created_at",
        "submitted_at",
        "approved_at",
    ]
    actions = ["submit", "approve", "cancel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a sheet snapshots expected stock: started by inventory.operations.count_start

    def get_inlines(self, request: HttpRequest, obj: CountSheet | None) -> list:
        return (
            [OpenCountLineInline]
            if obj is not None and obj.status == CountSheet.Status.OPEN
            else [CountLineInline]
        )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not CountLine:
            return super().save_formset(request, form, formset, change)
        counts = {
            f.instance.sku_id: f.cleaned_data["counted"]
            for f in formset.forms
            if f.has_changed() and f.cleaned_data.get("counted") is not None
        }
        # The admin's change message reads these; the rows are written by the service.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        if counts:
            try:
                count_record(sheet_id=form.instance.pk, counts=counts)
            except DomainError as exc:
                messages.error(request, exc.message)
        return None

    @admin.action(description="Submit counted sheets for approval")
    def submit(self, request: HttpRequest, queryset: QuerySet[CountSheet]) -> None:
        run_for_each(request, queryset, count_submit, "sheet_id", "sheet(s) submitted")

    @admin.action(description="Approve: apply the variances to stock")
    def approve(self, request: HttpRequest, queryset: QuerySet[CountSheet]) -> None:
        run_for_each(request, queryset, count_approve, "sheet_id", "sheet(s) approved")

    @admin.action(description="Cancel sheets")
    def cancel(self, request: HttpRequest, queryset: QuerySet[CountSheet]) -> None:
        run_for_each(request, queryset, count_cancel, "sheet_id", "sheet(s) cancelled")


@admin.register(TransferLine)
class TransferLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["transfer", "sku", "quantity", "quantity_received"]
    list_select_related = ["transfer", "sku"]
    search_fields = ["sku__code", "=transfer__id"]


@admin.register(CountLine)
class CountLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["sheet", "sku", "expected", "counted", "variance"]
    list_select_related = ["sheet", "sku"]
    search_fields = ["sku__code", "=sheet__id"]


@admin.register(ReorderRule)
class ReorderRuleAdmin(admin.ModelAdmin):
    list_display = [
        "sku",
        "warehouse",
        "method",
        "reorder_point",
        "order_up_to",
        "safety_stock",
        "is_active",
        "computed_at",
    ]
    list_filter = ["method", "is_active", "warehouse"]
    list_select_related = ["sku", "warehouse"]
    search_fields = ["sku__code", "sku__name"]
    raw_id_fields = ["sku"]
    readonly_fields = ["computed_at", "updated_at"]
    actions = ["run_reorder_check"]

    @admin.action(description="Run the reorder check now (all active rules)")
    def run_reorder_check(self, request: HttpRequest, queryset: QuerySet[ReorderRule]) -> None:
        result = reorder_check(actor=Actor.for_user(request.user))
        if not result.ran:
            messages.warning(request, "A reorder check is already running; try again in a moment.")
            return
        messages.success(
            request,
            f"{result.positions_below} position(s) at or below their reorder point; "
            f"{len(result.purchase_orders)} draft purchase order(s) with {result.lines} line(s), "
            f"{len(result.without_supplier)} SKU(s) without a preferred supplier.",
        )
