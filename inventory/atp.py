"""Available-to-promise (ATP): what each location may promise, per SKU and channel.

The rules, in one place so the storefront, routing, promise dates and the
staff view agree:

- available = on hand - allocated - soft-reserved (a CHECK keeps it >= 0);
- held back = the location's safety stock of the SKU: its SafetyStock row if
  there is one, else the location's default (Warehouse.safety_stock);
- ATP = max(available - held back, 0), per SKU and location. Totals add up
  the locations' ATP: stock above the hold-back in one location never covers
  another location's shortfall, because an order is served from one place;
- a channel is promised only what active locations that serve it hold: a
  location with no channels selected serves every channel, one with channels
  only those; and it must fulfil the way asked (ships parcels, allows pickup,
  or either);
- forward ATP: open purchase orders and transfers in transit arrive by their
  ETA (a missing or past ETA counts as today, as everywhere promise dates are
  made) and refill each location's safety stock before anything becomes
  promisable; the timeline gives, per arrival date, the units promisable by
  then in total.

Everything here is set-based: the query count does not depend on how many
SKUs or locations are asked about.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from django.db.models import Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from .models import SafetyStock, StockLevel, Transfer, TransferLine, Warehouse
from .purchasing.selectors import open_po_lines  # what counts as still on order: one definition


class Fulfilment(StrEnum):
    """How a channel's order is to be served from a location."""

    SHIP = "ship"
    PICKUP = "pickup"
    ANY = "any"  # ships or allows pickup


def serving(*, channel_id: int | None = None, fulfilment: Fulfilment | None = None, to: str = "") -> Q:
    """Active locations serving `channel_id` (None: any channel) the way asked
    (None: whatever they do). `to` is the path from the queried model to the
    warehouse, e.g. "warehouse__" for stock levels."""
    q = Q(**{f"{to}is_active": True})
    if fulfilment == Fulfilment.SHIP:
        q &= Q(**{f"{to}ships": True})
    elif fulfilment == Fulfilment.PICKUP:
        q &= Q(**{f"{to}allows_pickup": True})
    elif fulfilment == Fulfilment.ANY:
        q &= Q(**{f"{to}ships": True}) | Q(**{f"{to}allows_pickup": True})
    if channel_id is not None:
        # Exists, not a join: a location serving several channels must not repeat its rows.
        links = Warehouse.channels.through.objects.filter(warehouse_id=OuterRef(f"{to}id"))
        q &= ~Exists(links) | Exists(links.filter(channel_id=channel_id))
    return q


def held_back_expression() -> Coalesce:
    """The held-back rule in SQL, for StockLevel querysets: the SKU's own
    safety stock at the level's location, else the location's default."""
    # No ordering: there is at most one row per (SKU, location), and the model's
    # default ordering joined two tables into every use (planning cost more than running).
    override = SafetyStock.objects.filter(
        sku_id=OuterRef("sku_id"), warehouse_id=OuterRef("warehouse_id")
    ).order_by()
    return Coalesce(
        Subquery(override.values("quantity")[:1]), F("warehouse__safety_stock"), output_field=IntegerField()
    )


def atp_levels(
    sku_ids: Iterable[int] | None = None,
    *,
    channel_id: int | None = None,
    fulfilment: Fulfilment | None = None,
) -> QuerySet[StockLevel]:
    """Stock levels in the locations serving the channel, annotated with
    available_qty, held_back and atp (one query however many SKUs)."""
    levels = StockLevel.objects.filter(
        serving(channel_id=channel_id, fulfilment=fulfilment, to="warehouse__")
    )
    if sku_ids is not None:
        levels = levels.filter(sku_id__in=list(sku_ids))
    return levels.annotate(
        available_qty=F("on_hand") - F("allocated") - F("soft_reserved"), held_back=held_back_expression()
    ).annotate(atp=Greatest(F("available_qty") - F("held_back"), Value(0)))


def atp_total(
    *, channel_id: int | None = None, fulfilment: Fulfilment | None = None, sku: str = "pk"
) -> Coalesce:
    """The outer row's SKU's total ATP over the locations serving the channel,
    as an expression (annotating a SKU queryset keeps a page one query)."""
    per_sku = (
        atp_levels(channel_id=channel_id, fulfilment=fulfilment)
        .filter(sku_id=OuterRef(sku))
        .order_by()
        .values("sku_id")
        .annotate(total=Sum("atp"))
        .values("total")
    )
    return Coalesce(Subquery(per_sku, output_field=IntegerField()), Value(0))


class Promisable(NamedTuple):
    available: int
    held_back: int

    @property
    def atp(self) -> int:
        return max(self.available - self.held_back, 0)


def promisable_by_location(
    sku_ids: Iterable[int], *, channel_id: int | None = None, fulfilment: Fulfilment | None = None
) -> dict[int, dict[int, Promisable]]:
    """sku_id -> {warehouse_id: (available, held back)} in the locations
    serving the channel (one query)."""
    out: dict[int, dict[int, Promisable]] = defaultdict(dict)
    rows = atp_levels(sku_ids, channel_id=channel_id, fulfilment=fulfilment).values_list(
        "sku_id", "warehouse_id", "available_qty", "held_back"
    )
    for sku_id, warehouse_id, available, held_back in rows:
        out[sku_id][warehouse_id] = Promisable(available, held_back)
    return out


@dataclass
class LocationATP:
    warehouse: Warehouse
    on_hand: int = 0
    allocated: int = 0
    reserved: int = 0
    held_back: int = 0
    arrivals: dict[date, int] = field(default_factory=dict)  # ETA -> units on the way

    @property
    def available(self) -> int:
        return self.on_hand - self.allocated - self.reserved

    @property
    def atp(self) -> int:
        return max(self.available - self.held_back, 0)

    @property
    def incoming(self) -> int:
        return sum(self.arrivals.values())

    @property
    def next_eta(self) -> date | None:
        return min(self.arrivals, default=None)

    def atp_with(self, arrived: int) -> int:
        """ATP here once `arrived` more units are on hand: they refill the hold-back first."""
        return max(self.available + arrived - self.held_back, 0)


TOTALLED = ("on_hand", "allocated", "reserved", "available", "held_back", "atp", "incoming")


@dataclass(frozen=True)
class TimelinePoint:
    date: date
    incoming: int  # units arriving that day in the locations counted
    atp: int  # units promisable by then, in total


@dataclass
class SKUATP:
    sku_id: int
    locations: list[LocationATP]
    timeline: list[TimelinePoint]

    @property
    def atp(self) -> int:
        return sum(loc.atp for loc in self.locations)

    def totals(self) -> dict[str, int]:
        """The locations' figures added up (ATP too, location by location: see the module doc)."""
        return {name: sum(getattr(loc, name) for loc in self.locations) for name in TOTALLED}

    def promise_date(self, quantity: int, *, today: date) -> date | None:
        """The first day `quantity` units are promisable (today if they are
        now); None if nothing on the way covers them."""
        if self.atp >= quantity:
            return today
        return next((p.date for p in self.timeline if p.atp >= quantity), None)


def sku_atp(
    sku_ids: Iterable[int],
    *,
    channel_id: int | None = None,
    fulfilment: Fulfilment | None = None,
    warehouse_ids: Iterable[int] | None = None,
    timeline: bool = True,
    today: date | None = None,
) -> dict[int, SKUATP]:
    """ATP of each SKU per location serving the channel (with stock or stock on
    the way), in total, and with `timeline` its forward ATP.

    Five queries (locations, levels, safety stock, purchase orders, transfers;
    three without the timeline), whatever the number of SKUs."""
    today = today or timezone.localdate()
    sku_ids = list(dict.fromkeys(sku_ids))
    locations_q = Warehouse.objects.filter(serving(channel_id=channel_id, fulfilment=fulfilment))
    if warehouse_ids is not None:
        locations_q = locations_q.filter(id__in=list(warehouse_ids))
    locations = {w.pk: w for w in locations_q.order_by("code")}
    overrides = {
        (s, w): q
        for s, w, q in SafetyStock.objects.filter(
            sku_id__in=sku_ids, warehouse_id__in=list(locations)
        ).values_list("sku_id", "warehouse_id", "quantity")
    }
    rows: dict[tuple[int, int], LocationATP] = {}

    def row(sku_id: int, warehouse_id: int) -> LocationATP:
        key = (sku_id, warehouse_id)
        if key not in rows:
            warehouse = locations[warehouse_id]
            # The held-back rule of held_back_expression(), for rows read without it.
            held_back = overrides.get(key, warehouse.safety_stock)
            rows[key] = LocationATP(warehouse=warehouse, held_back=held_back)
        return rows[key]

    levels = StockLevel.objects.filter(sku_id__in=sku_ids, warehouse_id__in=list(locations)).values_list(
        "sku_id", "warehouse_id", "on_hand", "allocated", "soft_reserved"
    )
    for sku_id, warehouse_id, on_hand, allocated, reserved in levels:
        loc = row(sku_id, warehouse_id)
        loc.on_hand, loc.allocated, loc.reserved = on_hand, allocated, reserved
    if timeline:
        for sku_id, warehouse_id, eta, quantity in _arrivals(sku_ids, locations):
            day = max(eta or today, today)
            arrivals = row(sku_id, warehouse_id).arrivals
            arrivals[day] = arrivals.get(day, 0) + quantity

    by_sku: dict[int, list[LocationATP]] = defaultdict(list)
    for (sku_id, _), loc in sorted(rows.items(), key=lambda item: (item[0][0], item[1].warehouse.code)):
        by_sku[sku_id].append(loc)
    return {
        sku_id: SKUATP(sku_id, by_sku.get(sku_id, []), _timeline(by_sku.get(sku_id, [])))
        for sku_id in sku_ids
    }


def _arrivals(
    sku_ids: list[int], locations: Mapping[int, Warehouse]
) -> list[tuple[int, int, date | None, int]]:
    """(sku_id, warehouse_id, ETA, units) still to come on open purchase orders
    and transfers in transit to these locations (two queries)."""
    outstanding_po = Sum(F("quantity_ordered") - F("quantity_received"))
    on_order = (
        open_po_lines()
        .filter(sku_id__in=sku_ids, po__warehouse_id__in=list(locations))
        .order_by()
        .values_list("sku_id", "po__warehouse_id", "po__expected_at")
        .annotate(units=outstanding_po)
    )
    in_transit = (
        TransferLine.objects.filter(
            sku_id__in=sku_ids,
            transfer__to_warehouse_id__in=list(locations),
            transfer__status=Transfer.Status.IN_TRANSIT,
            quantity_received__lt=F("quantity"),
        )
        .order_by()
        .values_list("sku_id", "transfer__to_warehouse_id", "transfer__expected_at")
        .annotate(units=Sum(F("quantity") - F("quantity_received")))
    )
    return [*on_order, *in_transit]


def _timeline(locations: list[LocationATP]) -> list[TimelinePoint]:
    days = sorted({day for loc in locations for day in loc.arrivals})
    arrived = [0] * len(locations)
    points = []
    for day in days:
        for i, loc in enumerate(locations):
            arrived[i] += loc.arrivals.get(day, 0)
        points.append(
            TimelinePoint(
                date=day,
                incoming=sum(loc.arrivals.get(day, 0) for loc in locations),
                atp=sum(loc.atp_with(arrived[i]) for i, loc in enumerate(locations)),
            )
        )
    return points


def atp_promise_dates(
    needs: Mapping[int, int],
    *,
    channel_id: int | None,
    ahead: Mapping[int, int] | None = None,
    today: date | None = None,
) -> dict[int, date | None]:
    """sku_id -> the first day `needs[sku]` units can be promised to the
    channel's shipped orders, after the `ahead` units already promised to
    earlier waiting orders; None when nothing on the way covers it."""
    today = today or timezone.localdate()
    ahead = ahead or {}
    atp = sku_atp(needs, channel_id=channel_id, fulfilment=Fulfilment.SHIP, today=today)
    return {s: atp[s].promise_date(qty + ahead.get(s, 0), today=today) for s, qty in needs.items()}
