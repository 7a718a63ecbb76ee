"""Purchasing reads: incoming stock on open purchase orders, preferred suppliers,
and purchase orders and suppliers with what their pages show."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, IntegerField, Min, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Greatest

from oms.errors import NotFound

from ..models import (
    PO_OPEN_STATUSES,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    Supplier,
    SupplierSKU,
)


def open_po_lines() -> QuerySet[PurchaseOrderLine]:
    """Lines still to come: on a sent or partially received order, not yet fully received."""
    return PurchaseOrderLine.objects.filter(
        po__status__in=PO_OPEN_STATUSES, quantity_received__lt=F("quantity_ordered")
    )


def incoming_by_sku_warehouse(
    sku_ids: Iterable[int] | None = None, warehouse_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], dict[str, Any]]:
    """(sku_id, warehouse_id) -> {"quantity", "next_eta"} still to come on open
    purchase orders (sent or partially received), in one aggregate query.
    Over-received lines count as nothing outstanding."""
    lines = open_po_lines()
    if sku_ids is not None:
        lines = lines.filter(sku_id__in=list(sku_ids))
    if warehouse_ids is not None:
        lines = lines.filter(po__warehouse_id__in=list(warehouse_ids))
    rows = (
        lines.order_by()
        .values("sku_id", "po__warehouse_id")
        .annotate(
            quantity=Sum(F("quantity_ordered") - F("quantity_received")), next_eta=Min("po__expected_at")
        )
    )
    return {
        (r["sku_id"], r["po__warehouse_id"]): {"quantity": r["quantity"], "next_eta": r["next_eta"]}
        for r in rows
    }


def incoming_quantity_subquery(sku_ref: str = "sku_id", warehouse_ref: str = "warehouse_id") -> Coalesce:
    """Units still to come on open purchase orders for the outer row's SKU and
    warehouse, as an expression for annotating StockLevel-like querysets."""
    outstanding = (
        open_po_lines()
        .filter(sku_id=OuterRef(sku_ref), po__warehouse_id=OuterRef(warehouse_ref))
        .order_by()
        .values("sku_id")
        .annotate(total=Sum(F("quantity_ordered") - F("quantity_received")))
        .values("total")
    )
    return Coalesce(Subquery(outstanding, output_field=IntegerField()), 0)


def next_eta_subquery(sku_ref: str = "sku_id", warehouse_ref: str = "warehouse_id") -> Subquery:
    """The earliest expected date of an open purchase order still bringing the
    outer row's SKU to its warehouse (NULL when none)."""
    earliest = (
        open_po_lines()
        .filter(sku_id=OuterRef(sku_ref), po__warehouse_id=OuterRef(warehouse_ref))
        .order_by()
        .values("sku_id")
        .annotate(eta=Min("po__expected_at"))
        .values("eta")
    )
    return Subquery(earliest)


def preferred_supplier_sku(sku_ids: Iterable[int]) -> dict[int, SupplierSKU]:
    """sku_id -> its preferred SupplierSKU (with the supplier), for SKUs that
    have one from an active supplier."""
    items = SupplierSKU.objects.filter(
        sku_id__in=list(sku_ids), is_preferred=True, supplier__is_active=True
    ).select_related("supplier")
    return {item.sku_id: item for item in items}


def purchase_order_lines_summary(po: PurchaseOrder) -> list[dict[str, Any]]:
    """Ordered / received / outstanding per line, for pages that show an order."""
    return [
        {
            "sku": ln.sku.code,
            "ordered": ln.quantity_ordered,
            "received": ln.quantity_received,
            "outstanding": ln.outstanding,
            "unit_cost": ln.unit_cost,
        }
        for ln in po.lines.select_related("sku").order_by("id")
    ]


def purchase_orders() -> QuerySet[PurchaseOrder]:
    """Orders with their supplier, warehouse and line totals, in one query."""
    return PurchaseOrder.objects.select_related("supplier", "warehouse", "created_by").annotate(
        line_count=Count("lines"),
        units_ordered=Sum("lines__quantity_ordered", default=0),
        units_received=Sum("lines__quantity_received", default=0),
        units_outstanding=Sum(
            Greatest(F("lines__quantity_ordered") - F("lines__quantity_received"), 0), default=0
        ),
        total=Sum(F("lines__quantity_ordered") * F("lines__unit_cost"), default=Decimal(0)),
    )


def purchase_order_detail() -> QuerySet[PurchaseOrder]:
    return purchase_orders().prefetch_related(
        Prefetch("lines", queryset=PurchaseOrderLine.objects.select_related("sku").order_by("id")),
        Prefetch("events", queryset=PurchaseOrderEvent.objects.select_related("actor_user").order_by("id")),
    )


def supplier_detail(code: str) -> Supplier:
    # The items' supplier is the prefetching one, so effective_lead_time_days costs no query.
    items = SupplierSKU.objects.select_related("sku").order_by("sku__code")
    supplier = Supplier.objects.prefetch_related(Prefetch("items", queryset=items)).filter(code=code).first()
    if supplier is None:
        raise NotFound(f"No supplier {code}.")
    return supplier
