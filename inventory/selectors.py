"""Reads of stock and catalogue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db.models import F, Q, QuerySet, Sum

from oms.geo import haversine_km

from .models import SKU, StockLevel, Warehouse


def available_by_warehouse(
    sku_ids: Iterable[int], *, shipping_only: bool = False
) -> dict[int, dict[int, int]]:
    """sku_id -> {warehouse_id: available} over active warehouses (one query)."""
    levels = StockLevel.objects.filter(sku_id__in=set(sku_ids), warehouse__is_active=True)
    if shipping_only:
        levels = levels.filter(warehouse__ships=True)
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for sku_id, warehouse_id, available in levels.values_list(
        "sku_id", "warehouse_id", F("on_hand") - F("allocated") - F("soft_reserved")
    ):
        out[sku_id][warehouse_id] = available
    return out


def warehouses_that_can_ship(
    quantities: Mapping[int, int],
    *,
    destination: tuple[float, float] | None,
    extra_available: Mapping[tuple[int, int], int] | None = None,
) -> list[Warehouse]:
    """Active shipping warehouses that hold every line in full, nearest first.

    `extra_available` adds stock the requester already holds ((sku, wh) -> qty),
    e.g. its own cart reservations. Without a destination, the one with the
    most spare stock comes first.
    """
    extra = extra_available or {}
    stock = available_by_warehouse(quantities, shipping_only=True)
    candidates: set[int] | None = None
    for sku_id, qty in quantities.items():
        able = {
            wh for wh, avail in stock.get(sku_id, {}).items() if avail + extra.get((sku_id, wh), 0) >= qty
        }
        candidates = able if candidates is None else candidates & able
        if not candidates:
            return []
    warehouses = list(Warehouse.objects.filter(id__in=candidates or ()))

    def spare(wh: Warehouse) -> int:
        return sum(stock[s].get(wh.id, 0) + extra.get((s, wh.id), 0) - q for s, q in quantities.items())

    if destination is None:
        return sorted(warehouses, key=lambda wh: (-spare(wh), wh.id))
    lat, lng = destination
    return sorted(
        warehouses,
        key=lambda wh: (haversine_km(lat, lng, float(wh.latitude), float(wh.longitude)), -spare(wh), wh.id),
    )


def sku_availability(skus: QuerySet[SKU] | None = None) -> QuerySet[SKU]:
    """SKUs annotated with total on hand / available over active warehouses."""
    qs = skus if skus is not None else SKU.objects.all()
    active = Q(stock_levels__warehouse__is_active=True)
    return qs.annotate(
        total_on_hand=Sum("stock_levels__on_hand", filter=active, default=0),
        total_available=Sum(
            F("stock_levels__on_hand") - F("stock_levels__allocated") - F("stock_levels__soft_reserved"),
            filter=active,
            default=0,
        ),
    )


def ledger_mismatches(sku_ids: Iterable[int] | None = None) -> list[dict]:
    """Stock levels that differ from the sum of their movements (should be none)."""
    from django.db import connection

    where, params = "", []
    if sku_ids is not None:
        ids = list(sku_ids)
        if not ids:
            return []
        where, params = "WHERE COALESCE(l.sku_id, m.sku_id) = ANY(%s)", [ids]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT COALESCE(l.sku_id, m.sku_id), COALESCE(l.warehouse_id, m.warehouse_id),
                   COALESCE(l.on_hand, 0), COALESCE(m.on_hand, 0),
                   COALESCE(l.allocated, 0), COALESCE(m.allocated, 0),
                   COALESCE(l.soft_reserved, 0), COALESCE(m.reserved, 0)
            FROM inventory_stocklevel l
            FULL OUTER JOIN (
                SELECT sku_id, warehouse_id, SUM(on_hand_delta) AS on_hand,
                       SUM(allocated_delta) AS allocated, SUM(reserved_delta) AS reserved
                FROM inventory_stockmovement GROUP BY sku_id, warehouse_id
            ) m ON m.sku_id = l.sku_id AND m.warehouse_id = l.warehouse_id
            {where}
            """,  # noqa: S608 - the only interpolation is a fixed clause
            params,
        )
        rows = cursor.fetchall()
    return [
        {
            "sku_id": r[0],
            "warehouse_id": r[1],
            "on_hand": (r[2], r[3]),
            "allocated": (r[4], r[5]),
            "soft_reserved": (r[6], r[7]),
        }
        for r in rows
        if (r[2], r[4], r[6]) != (r[3], r[5], r[7])
    ]
