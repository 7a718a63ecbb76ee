"""Reads of stock and catalogue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from oms.compiled import CompiledQuery, instance, model_columns
from oms.geo import haversine_km

from .atp import Fulfilment, atp_levels
from .models import SKU, StockLevel, StockMovement, TransferLine, Warehouse
from .purchasing.selectors import incoming_quantity_subquery, next_eta_subquery


@dataclass(frozen=True)
class ShipFrom:
    """A location that can ship a whole order, with the units of each SKU held
    back there (its safety stock): stock_reserve checks them again under the
    row lock, so racing orders cannot eat into them either."""

    warehouse: Warehouse
    held_back: dict[int, int]


def _shipping_levels(any_channel: bool, *, skus: int, channel: int | None = None) -> QuerySet[StockLevel]:
    # Unordered (the candidates are sorted below): the default ordering by SKU
    # and location code joined the SKU table for nothing.
    levels = atp_levels(channel_id=channel, fulfilment=Fulfilment.SHIP)
    levels = levels.filter(sku_id__any=skus).order_by()
    return levels.values(
        "sku_id", "warehouse_id", "available_qty", "held_back", *model_columns(Warehouse, "warehouse__")
    )


# Compiled once: building this query took four times as long as running it.
_SHIPPING_LEVELS = CompiledQuery(_shipping_levels)


def warehouses_that_can_ship(
    quantities: Mapping[int, int],
    *,
    channel_id: int | None,
    destination: tuple[float, float] | None,
    extra_available: Mapping[tuple[int, int], int] | None = None,
) -> list[ShipFrom]:
    """Active shipping locations serving the channel that can promise every
    line in full (available above safety stock: see inventory.atp), nearest
    first, in one query.

    `extra_available` adds stock the requester already holds ((sku, wh) -> qty),
    e.g. its own cart reservations. Without a destination, the one with the
    most spare stock comes first.
    """
    extra = extra_available or {}
    warehouses: dict[int, Warehouse] = {}
    held_back: dict[int, dict[int, int]] = defaultdict(dict)
    spare: dict[int, int] = defaultdict(int)
    scope = {} if channel_id is None else {"channel": channel_id}
    for level in _SHIPPING_LEVELS.rows(channel_id is None, skus=list(quantities), **scope):
        wh = level["warehouse_id"]
        promisable = level["available_qty"] + extra.get((level["sku_id"], wh), 0) - level["held_back"]
        if promisable >= quantities[level["sku_id"]]:
            if wh not in warehouses:
                warehouses[wh] = instance(Warehouse, level, "warehouse__")
            held_back[wh][level["sku_id"]] = level["held_back"]
            spare[wh] += promisable - quantities[level["sku_id"]]
    able = [ShipFrom(warehouses[wh], held) for wh, held in held_back.items() if len(held) == len(quantities)]

    if destination is None:
        return sorted(able, key=lambda c: (-spare[c.warehouse.pk], c.warehouse.pk))
    lat, lng = destination
    return sorted(
        able,
        key=lambda c: (
            haversine_km(lat, lng, float(c.warehouse.latitude), float(c.warehouse.longitude)),
            -spare[c.warehouse.pk],
            c.warehouse.pk,
        ),
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


DEMAND_WINDOW_DAYS = 28


def stock_positions(*, demand_days: int = DEMAND_WINDOW_DAYS) -> QuerySet[StockLevel]:
    """Every SKU x warehouse with what a planner needs, computed in SQL so a page
    of any size costs the same queries:

    available, incoming (transfers in transit to it plus what open purchase
    orders still bring, with the earliest ETA), demand = units allocated in the last `demand_days`
    (net of deallocations, from the ledger, so inventory needs no orders
    import), avg_daily_demand and days_of_cover = available / avg daily demand
    (NULL when there was no demand).
    """
    since = timezone.now() - timedelta(days=demand_days)
    demand = (
        StockMovement.objects.filter(
            sku_id=OuterRef("sku_id"),
            warehouse_id=OuterRef("warehouse_id"),
            kind__in=[StockMovement.Kind.ALLOCATE, StockMovement.Kind.DEALLOCATE],
            created_at__gte=since,
        )
        .order_by()
        .values("sku_id")
        .annotate(total=Sum("allocated_delta"))
        .values("total")
    )
    in_transit = (
        TransferLine.objects.filter(
            sku_id=OuterRef("sku_id"),
            transfer__to_warehouse_id=OuterRef("warehouse_id"),
            transfer__status="in_transit",
        )
        .order_by()
        .values("sku_id")
        .annotate(total=Sum(F("quantity") - F("quantity_received")))
        .values("total")
    )
    decimal = DecimalField(max_digits=14, decimal_places=2)
    daily = Cast("demand", decimal) / Value(demand_days)
    return (
        StockLevel.objects.select_related("sku", "warehouse")
        .filter(warehouse__is_active=True)
        .annotate(
            available_qty=F("on_hand") - F("allocated") - F("soft_reserved"),
            incoming=Coalesce(Subquery(in_transit, output_field=IntegerField()), Value(0))
            + incoming_quantity_subquery(),
            next_eta=next_eta_subquery(),
            demand=Coalesce(Subquery(demand, output_field=IntegerField()), Value(0)),
        )
        .annotate(
            avg_daily_demand=ExpressionWrapper(daily, output_field=decimal),
            days_of_cover=ExpressionWrapper(
                Cast("available_qty", decimal) / NullIf(daily, Value(0)), output_field=decimal
            ),
        )
    )


STATUSES = ("out", "low", "over")


def position_status(available: int, days_of_cover, demand: int) -> str:
    if available <= 0:
        return "out"
    if days_of_cover is not None and days_of_cover < settings.LOW_STOCK_DAYS:
        return "low"
    if demand == 0 or (days_of_cover is not None and days_of_cover > settings.OVERSTOCK_DAYS):
        return "over"
    return "ok"


def status_filter(status: str) -> Q:
    """The SQL form of position_status, so a filtered page is still one query."""
    out = Q(available_qty__lte=0)
    low = ~out & Q(days_of_cover__lt=settings.LOW_STOCK_DAYS)
    over = ~out & (Q(demand=0) | Q(days_of_cover__gt=settings.OVERSTOCK_DAYS))
    return {"out": out, "low": low, "over": over}[status]
