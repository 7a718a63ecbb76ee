"""Reading what the sourcing engine needs: locations, the stock each can
promise an order, their cut-offs and capacity, the policy, and a rater.
A constant number of queries per order, whatever the number of locations."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q
from django.utils import timezone

from inventory.atp import Fulfilment, promisable_by_location, serving
from inventory.models import SKU, Warehouse
from oms.geo import resolve_destination
from orders.models import Order

from ..carriers import Lane, Quote
from ..models import FulfillmentOrder, LocationPolicy, SourcingPolicy
from ..rates import RateBook, lane_for, parcel_for, rate_shop
from .engine import LineNeed, Location, Rater, Settings, distance

OPENING = time(8, 0)  # a parcel delayed to the next working day is ready at this local time
LEVELS = {Order.ShippingSpeed.EXPRESS: "express", Order.ShippingSpeed.OVERNIGHT: "overnight"}


def policy_for(channel_id: int) -> SourcingPolicy:
    """The channel's policy, else the default one, else the built-in defaults."""
    # (`channel_id__in=[x, None]` would drop the None: NULL never matches IN.)
    policies = {
        p.channel_id: p
        for p in SourcingPolicy.objects.filter(Q(channel_id=channel_id) | Q(channel__isnull=True))
    }
    return policies.get(channel_id) or policies.get(None) or SourcingPolicy()


def next_working_start(moment: datetime, *, weekends: bool) -> datetime:
    day = timezone.localtime(moment).date() + timedelta(days=1)
    while not weekends and day.weekday() >= 5:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, OPENING))


def locations_for(
    *,
    channel_id: int,
    sku_ids: Iterable[int],
    destination: tuple[float, float] | None,
    own: Mapping[tuple[int, int], int],
    policy: SourcingPolicy,
    now: datetime,
    fulfilment: Fulfilment = Fulfilment.SHIP,
    only: Iterable[int] | None = None,
) -> tuple[list[Location], dict[int, Warehouse], dict[tuple[int, int], int]]:
    """Candidate locations with what each can promise this order (its own
    allocation there included), and the safety stock to leave at each
    ((sku, warehouse) -> units) for the allocation step to re-check."""
    sku_ids = list(sku_ids)
    qs = Warehouse.objects.filter(serving(channel_id=channel_id, fulfilment=fulfilment))
    if only is not None:
        qs = qs.filter(pk__in=list(only))
    warehouses = {w.pk: w for w in qs}
    policies = {p.warehouse_id: p for p in LocationPolicy.objects.filter(warehouse_id__in=list(warehouses))}
    today = timezone.localtime(now).date()
    start = timezone.make_aware(datetime.combine(today, time.min))
    booked = dict(
        FulfillmentOrder.objects.filter(warehouse_id__in=list(warehouses), created_at__gte=start)
        .exclude(status=FulfillmentOrder.Status.CANCELLED)
        .values("warehouse_id")
        .annotate(n=Count("id"))
        .values_list("warehouse_id", "n")
    )
    promisable = promisable_by_location(sku_ids, channel_id=channel_id, fulfilment=fulfilment)
    stock: dict[int, dict[int, int]] = defaultdict(dict)
    held_back: dict[tuple[int, int], int] = {}
    for sku_id, per_location in promisable.items():
        for wh, p in per_location.items():
            if wh not in warehouses:
                continue
            extra = policy.store_safety_stock if warehouses[wh].kind == Warehouse.Kind.STORE else 0
            held_back[(sku_id, wh)] = p.held_back + extra
            stock[wh][sku_id] = max(p.available + own.get((sku_id, wh), 0) - p.held_back - extra, 0)
    for (sku_id, wh), qty in own.items():  # allocated here, though no longer promisable to others
        if wh in warehouses and sku_id not in stock[wh]:
            stock[wh][sku_id] = qty
    local = timezone.localtime(now)
    out = []
    for wh, w in sorted(warehouses.items()):
        lp = policies.get(wh)
        ready, delay = now, ""
        weekends = bool(lp and lp.works_weekends)
        if not weekends and local.weekday() >= 5:
            ready, delay = next_working_start(now, weekends=False), "closed at weekends"
        elif lp and lp.cutoff_time and local.time() > lp.cutoff_time:
            ready, delay = next_working_start(now, weekends=weekends), f"past cut-off {lp.cutoff_time:%H:%M}"
        if lp and lp.daily_capacity is not None and booked.get(wh, 0) >= lp.daily_capacity:
            ready = next_working_start(now, weekends=weekends)
            delay = f"capacity reached ({lp.daily_capacity}/day)"
        point = (float(w.latitude), float(w.longitude))
        out.append(
            Location(
                id=wh,
                code=w.code,
                is_store=w.kind == Warehouse.Kind.STORE,
                point=point,
                country=w.country,
                stock=stock.get(wh, {}),
                ready_at=ready,
                priority=lp.priority if lp else 0,
                ineligible="ship from store is off for this channel"
                if w.kind == Warehouse.Kind.STORE
                and not policy.ship_from_store
                and fulfilment == Fulfilment.SHIP
                else "",
                delay_reason=delay,
                distance_km=distance(point, destination),
            )
        )
    return out, warehouses, held_back


def settings_for(order: Order, policy: SourcingPolicy, *, max_shipments: int | None = None) -> Settings:
    return Settings(
        max_shipments=max_shipments or policy.max_shipments,
        split_penalty=policy.split_penalty,
        cost_per_100km=policy.cost_per_100km,
        store_penalty=policy.store_penalty,
        deliver_by=order.deliver_by,
        level=LEVELS.get(order.shipping_speed),
    )


def make_rater(
    *,
    book: RateBook,
    warehouses: Mapping[int, Warehouse],
    skus: Mapping[int, SKU],
    destination_address: dict,
    settings: Settings,
) -> Rater:
    """rate(location, lines): the quote rate shopping picks for the parcel those
    lines make: the cheapest that meets the promised date (at or above the
    level asked for); when none can, the earliest one, which the engine then
    scores as late."""
    return BookRater(book, warehouses, skus, resolve_destination(destination_address), settings)


class BookRater:
    """rate(location, lines): the quote rate shopping picks for the parcel those
    lines make (see make_rater); floor(location): the least any parcel from
    there can cost, for the engine to skip plans that cannot win."""

    def __init__(self, book, warehouses, skus, destination, settings: Settings) -> None:
        self.book, self.warehouses, self.skus = book, warehouses, skus
        self.destination, self.settings = destination, settings
        self.lanes: dict[int, Lane] = {}

    def lane(self, loc: Location) -> Lane:
        lane = self.lanes.get(loc.id)
        if lane is None:
            lane = self.lanes[loc.id] = lane_for(self.warehouses[loc.id], self.destination)
        return lane

    def floor(self, loc: Location) -> Decimal:
        return self.book.floor_price(self.lane(loc))

    def __call__(self, loc: Location, lines: Sequence[LineNeed]) -> Quote | None:
        settings = self.settings
        if not self.book.services:
            # No carrier is set up yet: route on distance and policy alone
            # rather than backorder everything; packing rates the parcel later.
            return unrated_quote(loc)
        parcel = parcel_for([(self.skus[ln.sku_id], ln.quantity) for ln in lines])
        quotes = self.book.quotes(self.lane(loc), parcel, loc.ready_at)
        if settings.level:
            quotes = [q for q in quotes if _level_rank(q.level) >= _level_rank(settings.level)] or quotes
        if not quotes:
            return None
        best = rate_shop(quotes, deliver_by=settings.deliver_by) if settings.deliver_by else None
        if best is None:
            best = (
                min(quotes, key=lambda q: (q.delivery_date, q.amount))
                if settings.deliver_by
                else rate_shop(quotes)
            )
        return best


def pickup_quote(loc: Location, *, carrier_code: str = "pickup", service_code: str = "collect") -> Quote:
    """Collect in store: no carrier, ready when the store can prepare it."""
    ready = timezone.localtime(loc.ready_at).date()
    return Quote(
        service_id=0,
        carrier_code=carrier_code,
        service_code=service_code,
        level="pickup" if carrier_code == "pickup" else "ground",
        amount=Decimal(0),
        currency="",
        zone=0,
        billable_weight_grams=0,
        transit_days=0,
        ship_date=ready,
        delivery_date=ready,
    )


def unrated_quote(loc: Location) -> Quote:
    """A shipment with no carrier service to rate it (none is configured):
    no cost, leaving when the location is ready; the arrival is unknown."""
    return pickup_quote(loc, carrier_code="none", service_code="unrated")


def _level_rank(level: str) -> int:
    return {"ground": 0, "express": 1, "overnight": 2}.get(level, 0)
