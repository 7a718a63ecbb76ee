"""Purchasing reads: incoming stock on open purchase orders, preferred suppliers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from django.db.models import F, IntegerField, Min, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ..models import PO_OPEN_STATUSES, PurchaseOrder, PurchaseOrderLine, StockLevel, SupplierSKU


def _open_lines() -> QuerySet[PurchaseOrderLine]:
    return PurchaseOrderLine.objects.filter(
        po__status__in=PO_OPEN_STATUSES, quantity_received__lt=F("quantity_ordered")
    )


def incoming_by_sku_warehouse(
    sku_ids: Iterable[int] | None = None, warehouse_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], dict[str, Any]]:
    """(sku_id, warehouse_id) -> {"quantity", "next_eta"} still to come on open
    purchase orders (sent or partially received), in one aggregate query.
    Over-received lines count as nothing outstanding."""
    lines = _open_lines()
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
        _open_lines()
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
        _open_lines()
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


def stock_arrival_dates(
    needs: Mapping[int, int], *, ahead: Mapping[int, int] | None = None, today: date | None = None
) -> dict[int, date | None]:
    """sku_id -> the first day `needs[sku]` units can be had, counting what is
    available now in shipping warehouses and what open purchase orders bring,
    by ETA, after the `ahead` units already promised to earlier waiting orders.
    None when nothing on order covers it. Warehouses are pooled: the answer is
    a promise, not an allocation."""
    today = today or timezone.localdate()
    ahead = ahead or {}
    sku_ids = list(needs)
    on_hand = dict(
        StockLevel.objects.filter(sku_id__in=sku_ids, warehouse__is_active=True, warehouse__ships=True)
        .values("sku_id")
        .annotate(avail=Sum(F("on_hand") - F("allocated") - F("soft_reserved")))
        .values_list("sku_id", "avail")
    )
    arrivals: dict[int, list[tuple[date, int]]] = {s: [] for s in sku_ids}
    for sku_id, eta, qty in (
        _open_lines()
        .filter(sku_id__in=sku_ids, po__warehouse__is_active=True)
        .values_list("sku_id", "po__expected_at", F("quantity_ordered") - F("quantity_received"))
        .order_by("po__expected_at", "po_id")
    ):
        arrivals[sku_id].append((eta or today, qty))
    out: dict[int, date | None] = {}
    for sku_id, qty in needs.items():
        have = max(on_hand.get(sku_id) or 0, 0) - ahead.get(sku_id, 0)
        when: date | None = today if have >= qty else None
        for eta, incoming in arrivals[sku_id]:
            if when is not None:
                break
            have += incoming
            if have >= qty:
                when = max(eta, today)
        out[sku_id] = when
    return out
