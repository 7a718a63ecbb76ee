"""Bin stock: where on the shelves the on-hand units are. Read-only: bin
quantities change only through the stock services, which write the ledger.
The "Move stock" page puts away unlocated units or moves units between bins
through inventory.operations, like the API does."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode

from oms.actors import Actor
from oms.admin import ReadOnlyAdminMixin
from oms.errors import DomainError, InvalidInput

from .bins import bin_by_code
from .models import SKU, BinStock, Warehouse
from .operations import stock_bin_move, stock_putaway

MOVE_PERMISSION = "inventory.change_binstock"


class MoveStockForm(forms.Form):
    warehouse = forms.ModelChoiceField(Warehouse.objects.filter(is_active=True))
    sku = forms.CharField(label="SKU code", max_length=64)
    quantity = forms.IntegerField(help_text="Empty with no 'from' bin: every unlocated unit.", required=False)
    from_bin = forms.CharField(
        label="From bin", max_length=32, required=False, help_text="Empty: unlocated units (put-away)."
    )
    to_bin = forms.CharField(
        label="To bin", max_length=32, required=False, help_text="Empty: the SKU's primary bin."
    )
    note = forms.CharField(max_length=255, required=False)

    def add_domain_error(self, exc: DomainError) -> None:
        """Show a service's error on the field it names (put-away's "bin" is this form's "to_bin")."""
        if not exc.fields:
            self.add_error(None, exc.message)
        for name, problems in exc.fields.items():
            field = "to_bin" if name == "bin" else name
            self.add_error(field if field in self.fields else None, problems)


def move_stock(form: MoveStockForm, actor: Actor) -> tuple[SKU, Warehouse, str]:
    """Parse the form's codes and call the service; returns what was done."""
    data = form.cleaned_data
    warehouse: Warehouse = data["warehouse"]
    sku = SKU.objects.filter(code=data["sku"].strip()).first()
    if sku is None:
        raise InvalidInput.field("sku", f"unknown SKU '{data['sku']}'", code="unknown_sku")
    to_bin = bin_by_code(warehouse=warehouse, code=data["to_bin"], field="to_bin") if data["to_bin"] else None
    if not data["from_bin"]:
        target = stock_putaway(
            warehouse_id=warehouse.pk,
            sku_id=sku.pk,
            quantity=data["quantity"],
            bin_id=to_bin.pk if to_bin else None,
            note=data["note"],
            actor=actor,
        )
        return sku, warehouse, f"Put away {sku.code} into {target.code}."
    source = bin_by_code(warehouse=warehouse, code=data["from_bin"], field="from_bin")
    if to_bin is None:
        raise InvalidInput.field("to_bin", "name the bin to move the units to")
    if data["quantity"] is None:
        raise InvalidInput.field("quantity", "how many units to move")
    stock_bin_move(
        warehouse_id=warehouse.pk,
        sku_id=sku.pk,
        quantity=data["quantity"],
        from_bin_id=source.pk,
        to_bin_id=to_bin.pk,
        note=data["note"],
        actor=actor,
    )
    return sku, warehouse, f"Moved {data['quantity']} of {sku.code} from {source.code} to {to_bin.code}."


@admin.register(BinStock)
class BinStockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["bin", "sku", "quantity", "updated_at"]
    list_filter = ["warehouse"]
    list_select_related = ["bin__warehouse", "sku"]
    search_fields = ["sku__code", "bin__code"]
    show_full_result_count = False
    change_list_template = "admin/inventory/binstock/change_list.html"

    def get_urls(self) -> list:
        move = path("move/", self.admin_site.admin_view(self.move_view), name="inventory_binstock_move")
        return [move, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None):
        context = {**(extra_context or {}), "can_move_stock": request.user.has_perm(MOVE_PERMISSION)}
        return super().changelist_view(request, extra_context=context)

    def move_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(MOVE_PERMISSION):
            raise PermissionDenied
        form = MoveStockForm(request.POST or None, initial=request.GET.dict())
        if request.method == "POST" and form.is_valid():
            try:
                sku, warehouse, done = move_stock(form, Actor.for_user(request.user))
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, done)
                query = urlencode({"warehouse__id__exact": warehouse.pk, "q": sku.code})
                return HttpResponseRedirect(f"{reverse('admin:inventory_binstock_changelist')}?{query}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Move stock: put away or bin to bin",
            "form": form,
        }
        return TemplateResponse(request, "admin/inventory/binstock/move.html", context)
