"""Filling backorders when stock arrives.

Waiting orders are tried in priority order (VIP first), then oldest first;
each is allocated whole, from the nearest warehouse serving its channel that
can ship all of it above its safety stock (inventory.atp), in its own short
transaction (order row, then stock levels). An order that
cannot be filled yet keeps waiting and a later one that fits may go ahead of
it: stock is not held back for a large order while smaller ones could ship.

Receiving a purchase order triggers this through the outbox (inventory never
imports orders); a beat task also runs it, for stock that arrives any other
way (transfers, counts, cancellations).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory.atp import Fulfilment, sku_atp
from inventory.purchasing import PO_RECEIVED_TOPIC
from inventory.selectors import warehouses_that_can_ship
from inventory.services import reservations_allocate, stock_reserve
from oms.actors import Actor
from oms.errors import InsufficientStock
from oms.geo import destination_point
from oms.outbox import emit, handler

from ..models import Order, OrderLine
from .lifecycle import order_transition


def backorders_allocate(*, sku_ids: Iterable[int] | None = None, limit: int = 500) -> list[int]:
    """Allocate the waiting orders stock now allows; returns the ids filled."""
    waiting = Order.objects.filter(status=Order.Status.BACKORDERED)
    if sku_ids is not None:
        waiting = waiting.filter(lines__sku_id__in=list(sku_ids)).distinct()
    order_ids = list(waiting.order_by("-priority", "placed_at", "id").values_list("id", flat=True)[:limit])
    return [order_id for order_id in order_ids if _fill(order_id)]


def _fill(order_id: int) -> bool:
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(no_key=True)
            .filter(pk=order_id, status=Order.Status.BACKORDERED)
            .first()
        )
        if order is None:  # filled or cancelled meanwhile
            return False
        lines = list(order.lines.all())
        quantities: dict[int, int] = defaultdict(int)
        for line in lines:
            quantities[line.sku_id] += line.quantity
        address = order.shipping_address
        destination = destination_point(order.ship_country, address.get("latitude"), address.get("longitude"))
        for candidate in warehouses_that_can_ship(
            quantities, channel_id=order.channel_id, destination=destination
        )[:3]:
            warehouse = candidate.warehouse
            try:
                with transaction.atomic():
                    holds = stock_reserve(
                        warehouse_id=warehouse.pk,
                        quantities=quantities,
                        expires_at=timezone.now() + timedelta(seconds=settings.PLACEMENT_RESERVATION_SECONDS),
                        reference=f"order:{order.pk}:backorder",
                        held_back=candidate.held_back,
                    )
                    reservations_allocate(
                        reservation_ids=[h.pk for h in holds], reference=f"order:{order.pk}"
                    )
            except InsufficientStock:
                continue
            for line in lines:
                line.warehouse = warehouse
                line.quantity_allocated = line.quantity
            OrderLine.objects.bulk_update(lines, ["warehouse", "quantity_allocated"])
            order.warehouse = warehouse
            order.save(update_fields=["warehouse", "updated_at"])
            order_transition(
                order,
                Order.Status.ALLOCATED,
                actor=Actor.system(),
                kind="backorder_allocated",
                message=f"Stock arrived: allocated from {warehouse.code}.",
                data={"warehouse": warehouse.code},
            )
            emit("order.allocated", {"order_id": order.pk}, aggregate=f"order:{order.pk}")
            return True
    return False


@handler(PO_RECEIVED_TOPIC, name="orders.fill_backorders")
def _on_purchase_order_received(event) -> None:
    backorders_allocate(sku_ids=[int(sku_id) for sku_id in event.payload.get("receipt", {})])


@dataclass
class Repromise:
    order_id: int
    old: date | None
    new: date | None


def backorders_repromise(*, today: date | None = None) -> list[Repromise]:
    """Recompute every waiting backorder's promise date, in the order they will
    be filled, and return those that will be late: pushed back, unknown, or
    promised for a day already past."""
    today = today or timezone.localdate()
    ahead: dict[int, int] = defaultdict(int)
    late: list[Repromise] = []
    changed: list[Order] = []
    orders = list(
        Order.objects.filter(status=Order.Status.BACKORDERED)
        .order_by("-priority", "placed_at", "id")
        .prefetch_related("lines")
    )
    # One ATP read per channel (its locations, above their safety stock), not
    # one per order. `ahead` is shared by every channel: an order of another
    # channel counts as ahead even where it draws on other locations, so a
    # promise can come out later than needed, never earlier.
    skus_by_channel: dict[int, set[int]] = defaultdict(set)
    for order in orders:
        skus_by_channel[order.channel_id].update(line.sku_id for line in order.lines.all())
    atp = {
        channel_id: sku_atp(sku_ids, channel_id=channel_id, fulfilment=Fulfilment.SHIP, today=today)
        for channel_id, sku_ids in skus_by_channel.items()
    }
    for order in orders:
        needs: dict[int, int] = defaultdict(int)
        for line in order.lines.all():
            needs[line.sku_id] += line.quantity
        dates = [
            atp[order.channel_id][sku_id].promise_date(qty + ahead[sku_id], today=today)
            for sku_id, qty in needs.items()
        ]
        new = (
            None
            if any(d is None for d in dates)
            else max(dates) + timedelta(days=settings.BACKORDER_HANDLING_DAYS)  # type: ignore[type-var]
        )
        for sku_id, qty in needs.items():
            ahead[sku_id] += qty
        old = order.promised_at
        if new != old:
            order.promised_at = new
            changed.append(order)
        if new is None or (old is not None and new > old) or new < today:
            late.append(Repromise(order.pk, old, new))
    Order.objects.bulk_update(changed, ["promised_at"])
    return late


def late_orders_digest() -> list[Repromise]:
    """Re-promise the backorders and queue the warehouse managers' digest of the late ones."""
    late = backorders_repromise()
    if late:
        with transaction.atomic():
            emit(
                "orders.late_digest",
                {
                    "orders": [
                        {
                            "order_id": r.order_id,
                            "old": str(r.old) if r.old else None,
                            "new": str(r.new) if r.new else None,
                        }
                        for r in late
                    ]
                },
                aggregate="late-orders",
            )
    return late
