"""Admin for suppliers (editable configuration) and purchase orders.

A purchase order is created and edited (while a draft) through a form whose
lines are typed as "SKU-CODE quantity", checked and written by
inventory.purchasing, so MOQ, pack size and pricing rules live in one place.
Sending, cancelling and closing are actions calling the services. Receiving
needs quantities per line and comes with the API and commands, not here.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import F, QuerySet, Sum
from django.http import HttpRequest

from oms.actors import Actor
from oms.admin import ReadOnlyAdminMixin, ReadOnlyTabularInline, format_money
from oms.errors import InvalidInput

from .admin_operations import run_for_each
from .models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, Supplier, SupplierSKU
from .purchasing import (
    purchase_order_cancel,
    purchase_order_check_lines,
    purchase_order_close,
    purchase_order_create,
    purchase_order_send,
    purchase_order_update,
)

# --- Suppliers ------------------------------------------------------------------------


class SupplierSKUInline(admin.TabularInline):
    model = SupplierSKU
    fields = [
        "sku",
        "supplier_sku_code",
        "unit_cost",
        "lead_time_days",
        "min_order_qty",
        "pack_size",
        "is_preferred",
    ]
    raw_id_fields = ["sku"]
    extra = 0
    show_change_link = True


@admin.register(Supplier)
class SupplierAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "currency", "default_lead_time_days", "email", "is_active"]
    list_filter = ["is_active", "currency"]
    search_fields = ["code", "name", "email", "contact_name"]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "currency", "default_lead_time_days", "is_active"]}),
        ("Contact", {"fields": ["contact_name", "email", "phone", "notes"]}),
        (None, {"fields": ["created_at"]}),
    ]
    inlines = [SupplierSKUInline]


@admin.register(SupplierSKU)
class SupplierSKUAdmin(admin.ModelAdmin):
    list_display = [
        "sku",
        "supplier",
        "supplier_sku_code",
        "unit_cost",
        "lead_time_days",
        "min_order_qty",
        "pack_size",
        "is_preferred",
    ]
    list_filter = ["is_preferred", "supplier"]
    list_select_related = ["sku", "supplier"]
    search_fields = ["sku__code", "sku__name", "supplier__code", "supplier_sku_code"]
    raw_id_fields = ["sku"]


# --- Purchase orders -------------------------------------------------------------------


def _format_lines(po: PurchaseOrder) -> str:
    return "\n".join(
        f"{code} {qty}" for code, qty in po.lines.order_by("id").values_list("sku__code", "quantity_ordered")
    )


class PurchaseOrderForm(forms.ModelForm):
    """A draft's header plus its lines as text; the service checks and writes them."""

    order_lines = forms.CharField(
        label="Lines",
        widget=forms.Textarea(attrs={"rows": 6, "cols": 40}),
        help_text="One SKU per line: its code and the quantity, e.g. 'SKU-00012 48'. "
        "Costs come from the supplier's SKU prices.",
    )

    class Meta:
        model = PurchaseOrder
        fields = ["supplier", "warehouse", "expected_at", "over_receipt_tolerance_pct", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expected_at"].help_text = "Empty: today plus the longest lead time of the lines."
        if self.instance.pk:
            self.fields["order_lines"].initial = _format_lines(self.instance)
        self.parsed_lines: list[tuple[str, int]] = []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text = data.get("order_lines") or ""
        lines: list[tuple[str, int]] = []
        problems = []
        for n, raw in enumerate((r for r in text.splitlines() if r.strip()), start=1):
            parts = raw.split()
            if len(parts) != 2 or not parts[1].isdigit():
                problems.append(f"line {n}: write the SKU code and a whole quantity, e.g. 'SKU-00012 48'")
                continue
            lines.append((parts[0], int(parts[1])))
        supplier = data.get("supplier")
        if not problems and supplier is not None:
            try:
                purchase_order_check_lines(supplier=supplier, lines=lines)
            except InvalidInput as exc:
                for name, messages_ in exc.fields.items():
                    where = name.replace("lines[", "").split("]")[0]
                    prefix = f"line {int(where) + 1}: " if where.isdigit() else ""
                    problems.extend(f"{prefix}{m}" for m in messages_)
        if problems:
            self.add_error("order_lines", problems)
        self.parsed_lines = lines
        return data


class PurchaseOrderLineInline(ReadOnlyTabularInline):
    model = PurchaseOrderLine
    fields = ["sku", "quantity_ordered", "quantity_received", "outstanding", "unit_cost"]
    readonly_fields = ["outstanding"]
    show_change_link = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrderLine]:
        return super().get_queryset(request).select_related("sku")

    @admin.display(description="Outstanding")
    def outstanding(self, line: PurchaseOrderLine) -> int:
        return line.outstanding


class PurchaseOrderEventInline(ReadOnlyTabularInline):
    model = PurchaseOrderEvent
    fields = ["created_at", "kind", "from_status", "to_status", "actor", "message", "data"]
    show_change_link = False


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "supplier",
        "warehouse",
        "status",
        "expected_at",
        "units_ordered",
        "units_received",
        "value",
        "created_at",
    ]
    list_filter = ["status", "supplier", "warehouse"]
    list_select_related = ["supplier", "warehouse"]
    search_fields = ["=id", "supplier__code", "supplier__name", "note"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "status",
        "currency",
        "created_by",
        "created_at",
        "sent_at",
        "received_at",
        "closed_at",
        "cancelled_at",
    ]
    actions = ["send", "cancel", "close_short"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PurchaseOrder]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                ordered_total=Sum("lines__quantity_ordered", default=0),
                received_total=Sum("lines__quantity_received", default=0),
                value_total=Sum(F("lines__quantity_ordered") * F("lines__unit_cost")),
            )
        )

    def _editable(self, obj: PurchaseOrder | None) -> bool:
        return obj is None or obj.status == PurchaseOrder.Status.DRAFT

    def get_form(self, request: HttpRequest, obj: PurchaseOrder | None = None, **kwargs: Any) -> Any:
        if self._editable(obj):
            kwargs["form"] = PurchaseOrderForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request: HttpRequest, obj: PurchaseOrder | None = None) -> list[str]:
        header = ["supplier", "warehouse", "expected_at", "over_receipt_tolerance_pct", "note"]
        if obj is None:
            return [*header, "order_lines"]
        if self._editable(obj):
            return [*header, "order_lines", *self.readonly_fields]
        return [*header, *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: PurchaseOrder | None = None) -> list[str]:
        if obj is None:
            return []
        if self._editable(obj):
            return list(self.readonly_fields)
        return [
            "supplier",
            "warehouse",
            "expected_at",
            "over_receipt_tolerance_pct",
            "note",
            *self.readonly_fields,
        ]

    def get_inlines(self, request: HttpRequest, obj: PurchaseOrder | None) -> list:
        return [] if obj is None else [PurchaseOrderLineInline, PurchaseOrderEventInline]

    def has_delete_permission(self, request: HttpRequest, obj: PurchaseOrder | None = None) -> bool:
        return False  # cancel instead: the history stays

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request: HttpRequest, obj: PurchaseOrder, form: Any, change: bool) -> None:
        if not isinstance(form, PurchaseOrderForm):
            return  # past draft every field is read-only: nothing to save
        actor = Actor.for_user(request.user)
        fields = form.cleaned_data
        if change:
            po = purchase_order_update(
                po_id=obj.pk,
                actor=actor,
                lines=form.parsed_lines,
                supplier_id=fields["supplier"].pk,
                warehouse_id=fields["warehouse"].pk,
                expected_at=fields.get("expected_at"),
                over_receipt_tolerance_pct=fields.get("over_receipt_tolerance_pct"),
                note=fields.get("note", ""),
            )
        else:
            po = purchase_order_create(
                supplier_id=fields["supplier"].pk,
                warehouse_id=fields["warehouse"].pk,
                lines=form.parsed_lines,
                actor=actor,
                expected_at=fields.get("expected_at"),
                over_receipt_tolerance_pct=fields.get("over_receipt_tolerance_pct"),
                note=fields.get("note", ""),
            )
        # The service wrote the row; the admin's response and log need its id.
        obj.pk = po.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Lines are written by the service and the inlines are read-only; the
        # admin's change message still reads these.
        for formset in formsets:
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    @admin.display(description="Units ordered", ordering="ordered_total")
    def units_ordered(self, po: PurchaseOrder) -> int:
        return po.ordered_total

    @admin.display(description="Units received", ordering="received_total")
    def units_received(self, po: PurchaseOrder) -> int:
        return po.received_total

    @admin.display(description="Value", ordering="value_total")
    def value(self, po: PurchaseOrder) -> str:
        return f"{format_money(po.value_total, po.currency)} {po.currency}"

    @admin.action(description="Send to the supplier", permissions=["change"])
    def send(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        run_for_each(request, queryset, purchase_order_send, "po_id", "purchase order(s) sent")

    @admin.action(description="Cancel (nothing received yet)", permissions=["change"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        service = partial(purchase_order_cancel, reason="Cancelled by staff in admin")
        run_for_each(request, queryset, service, "po_id", "purchase order(s) cancelled")

    @admin.action(description="Close short: the rest will not come", permissions=["change"])
    def close_short(self, request: HttpRequest, queryset: QuerySet[PurchaseOrder]) -> None:
        service = partial(purchase_order_close, reason="Closed short by staff in admin")
        run_for_each(request, queryset, service, "po_id", "purchase order(s) closed")


@admin.register(PurchaseOrderLine)
class PurchaseOrderLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["po", "sku", "quantity_ordered", "quantity_received", "outstanding", "unit_cost"]
    list_select_related = ["po", "sku"]
    list_filter = ["po__status"]
    search_fields = ["sku__code", "=po__id"]

    @admin.display(description="Outstanding")
    def outstanding(self, line: PurchaseOrderLine) -> int:
        return line.outstanding


@admin.register(PurchaseOrderEvent)
class PurchaseOrderEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["po", "kind", "from_status", "to_status", "actor", "created_at"]
    list_filter = ["kind"]
    list_select_related = ["po"]
    search_fields = ["=po__id", "actor", "message"]
    date_hierarchy = "created_at"
