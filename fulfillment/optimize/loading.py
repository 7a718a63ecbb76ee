"""Reading a wave: the backordered orders, what each still needs, the stock
free for them at each location, and what a shipment from each location
would cost each order. A constant number of queries per channel, plus at
most one per order whose address has no coordinates (its postal code).

A line's open quantity (ordered - cancelled - shipped) is placed whole at
one location, as the sourcing engine does; units already allocated to it
are given back when the order is re-sourced, so the model counts them as
stock the order frees (its net new allocation is open - allocated).

Costs are the sourcing engine's shipment scores (carrier rate shopping for
the order's promise, distance, store penalty, lateness, less the location's
priority) for the parcel of the order's lines a location could ship; the
split penalty is the channel's policy. Routing rules apply as in sourcing:
a hold keeps the order out of the wave, location rules narrow its
candidates, a split limit or priority from a rule counts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.db.models import Subquery
from django.utils import timezone

from inventory.models import SKU
from oms.geo import resolve_destination
from orders.models import Order, OrderLine

from ..rates import RateBook
from ..sourcing import engine
from ..sourcing.candidates import BookRater, locations_for, policy_for, settings_for
from ..sourcing.rules import active_rules, evaluate
from .model import Key, Problem, WaveLine, WaveOrder


@dataclass
class Wave:
    problem: Problem
    excluded: dict[int, str] = field(default_factory=dict)  # order id -> why it is not in the wave
    locations: dict[int, str] = field(default_factory=dict)  # id -> code
    skus: dict[int, str] = field(default_factory=dict)  # id -> code
    book: RateBook | None = None

    def order(self, order_id: int) -> WaveOrder:
        return next(o for o in self.problem.orders if o.id == order_id)


def wave_load(
    *,
    sku_ids: Sequence[int] = (),
    channel_id: int | None = None,
    limit: int | None = None,
    max_shipments: int | None = None,
    book: RateBook | None = None,
    now: datetime | None = None,
) -> Wave:
    """The backordered orders (those with a line of `sku_ids` when given),
    first come first (placed_at, then id), at most `limit`."""
    now = now or timezone.now()
    orders_qs = Order.objects.filter(status=Order.Status.BACKORDERED)
    if sku_ids:
        with_sku = OrderLine.objects.filter(sku_id__in=list(sku_ids)).values("order_id")
        orders_qs = orders_qs.filter(pk__in=Subquery(with_sku))
    if channel_id is not None:
        orders_qs = orders_qs.filter(channel_id=channel_id)
    orders_qs = orders_qs.select_related("customer").order_by("placed_at", "id")
    orders = list(orders_qs[:limit] if limit else orders_qs)
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    for line in OrderLine.objects.filter(order__in=[o.pk for o in orders]).order_by(
        "order_id", "line_number"
    ):
        lines[line.order_id].append(line)
    skus = SKU.objects.in_bulk({ln.sku_id for group in lines.values() for ln in group})
    rules = active_rules()
    book = book or RateBook.load()
    wave = Wave(Problem([], {}), book=book, skus={pk: s.code for pk, s in skus.items()})

    kept = []
    for order in orders:
        open_lines = [ln for ln in lines[order.pk] if _open(ln) > 0]
        outcome = evaluate(order, [skus[ln.sku_id].code for ln in open_lines], rules)
        if order.pickup_location_id is not None:
            wave.excluded[order.pk] = (
                "click and collect: the store is tried first, so normal sourcing runs it"
            )
        elif not open_lines:
            wave.excluded[order.pk] = "nothing left to allocate"
        elif outcome.hold_reason:
            wave.excluded[order.pk] = f"held: {outcome.hold_reason}"
        else:
            kept.append((order, open_lines, outcome))

    # Candidate locations once per channel; the stock free for the wave at a
    # (SKU, location) is the least any channel's view allows (store safety
    # stock comes from the channel's policy), so no order can oversell it.
    channels: dict[int, tuple] = {}
    for channel in sorted({order.channel_id for order, _, _ in kept}):
        policy = policy_for(channel)
        channel_skus = {ln.sku_id for order, group, _ in kept if order.channel_id == channel for ln in group}
        locations, warehouses, _ = locations_for(
            channel_id=channel, sku_ids=channel_skus, destination=None, own={}, policy=policy, now=now
        )
        channels[channel] = (policy, locations, warehouses)
        for loc in locations:
            wave.locations[loc.id] = loc.code
            for sku_id, qty in loc.stock.items():
                key = (sku_id, loc.id)
                wave.problem.stock[key] = min(qty, wave.problem.stock.get(key, qty))

    stock = wave.problem.stock
    for order, open_lines, outcome in kept:
        policy, locations, warehouses = channels[order.channel_id]
        own: dict[Key, int] = defaultdict(int)
        for ln in open_lines:
            if ln.warehouse_id and ln.quantity_allocated:
                own[(ln.sku_id, ln.warehouse_id)] += ln.quantity_allocated
        settings = settings_for(order, policy, max_shipments=max_shipments or outcome.max_shipments)
        destination = resolve_destination(order.shipping_address)
        scorer = engine._Scorer(settings, BookRater(book, warehouses, skus, destination, settings))
        needs = [engine.LineNeed(ln.pk, ln.sku_id, skus[ln.sku_id].code, _open(ln)) for ln in open_lines]
        costs = {}
        for loc in locations:
            if loc.ineligible or (outcome.allowed is not None and loc.id not in outcome.allowed):
                continue
            if loc.id in outcome.excluded:
                continue
            here = [
                n
                for n in needs
                if n.quantity <= stock.get((n.sku_id, loc.id), 0) + own.get((n.sku_id, loc.id), 0)
            ]
            if not here:
                continue
            shipment = scorer.shipment(
                replace(loc, distance_km=engine.distance(loc.point, destination.point)), here
            )
            if shipment is not None:
                costs[loc.id] = shipment.score
        wave.problem.orders.append(
            WaveOrder(
                id=order.pk,
                lines=[WaveLine(n.line_id, n.sku_id, n.quantity) for n in needs],
                costs=costs,
                priority=order.priority if outcome.priority is None else outcome.priority,
                max_shipments=settings.max_shipments,
                split_penalty=settings.split_penalty,
                own=dict(own),
            )
        )
    return wave


def _open(line: OrderLine) -> int:
    return line.quantity - line.quantity_cancelled - line.quantity_shipped
