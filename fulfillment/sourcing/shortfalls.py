"""A picker finds fewer units than the system expected: re-source the rest.

The units missing at the location are released from the order's allocation
there (the shelf count is wrong, so a cycle count of the SKU is opened), and
the engine looks for another location that can ship them, as one more
shipment of the order. If none can, the line waits: the order cannot be
complete until `shortfalls_retry` (beat, and on stock arrival) finds them.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.operations import count_start
from inventory.services import stock_reallocate
from oms.actors import Actor
from oms.errors import DomainError, InvalidInput
from orders.models import Order, OrderLine
from orders.services.lifecycle import event_for

from ..models import FulfillmentOrder, FulfillmentOrderLine, SourcingDecision
from ..rates import RateBook
from ..services.lifecycle import fo_event, fo_transition, fulfillment_order_create
from . import engine
from .candidates import locations_for, make_rater, policy_for, settings_for

logger = logging.getLogger(__name__)


def shortfall_resource(
    *, fulfillment_line: FulfillmentOrderLine, quantity: int, bin_id: int | None, actor: Actor
) -> FulfillmentOrder | None:
    """Record `quantity` units of a fulfillment order line as not found and
    ship them from elsewhere. The caller holds the order's lock (then the
    fulfillment order's). Returns the new fulfillment order, or None when no
    location can ship them now (they wait, see the module note)."""
    fo_line = FulfillmentOrderLine.objects.select_related("fulfillment_order", "order_line", "sku").get(
        pk=fulfillment_line.pk
    )
    fo = fo_line.fulfillment_order
    left = fo_line.quantity_open - fo_line.quantity_picked
    if not 1 <= quantity <= left:
        raise InvalidInput.field("quantity", f"must be between 1 and {left}, the units still to pick")
    FulfillmentOrderLine.objects.filter(pk=fo_line.pk).update(quantity_short=F("quantity_short") + quantity)
    OrderLine.objects.filter(pk=fo_line.order_line_id).update(
        quantity_allocated=F("quantity_allocated") - quantity
    )
    stock_reallocate(
        release=[(fo_line.sku_id, fo.warehouse_id, quantity)],
        allocate=[],
        reference=f"shipment:{fo.pk}:short",
    )
    fo_event(
        fo,
        "short_pick",
        actor,
        message=f"{quantity} x {fo_line.sku.code} not found" + (f" in bin {bin_id}" if bin_id else ""),
        data={"sku": fo_line.sku.code, "quantity": quantity, "bin_id": bin_id},
    )
    _count_later(fo.warehouse_id, fo_line.sku_id, actor, fo)
    fo_line.refresh_from_db()
    if not any(ln.quantity_open for ln in fo.lines.all()):
        fo_transition(
            fo,
            FulfillmentOrder.Status.CANCELLED,
            actor=actor,
            kind="cancelled_short",
            message="Nothing left to ship from here.",
        )
    return _resource_line(fo_line.order_line, quantity, actor, exclude=fo.warehouse_id)


def _count_later(warehouse_id: int, sku_id: int, actor: Actor, fo: FulfillmentOrder) -> None:
    """Open a cycle count so the shelf and the books agree again. A count
    already open for the SKU is fine: it will find the difference."""
    try:
        with transaction.atomic():
            count_start(
                warehouse_id=warehouse_id, actor=actor, sku_ids=[sku_id], note=f"short pick {fo.number}"
            )
    except DomainError as exc:
        logger.info("short pick on %s: no new count opened (%s)", fo.number, exc)


def _resource_line(
    line: OrderLine, quantity: int, actor: Actor, *, exclude: int | None = None, record_failure: bool = True
) -> FulfillmentOrder | None:
    order = Order.objects.select_related("channel").get(pk=line.order_id)
    policy = policy_for(order.channel_id)
    settings = settings_for(order, policy, max_shipments=1)
    from oms.geo import resolve_destination

    destination = resolve_destination(order.shipping_address).point
    locations, warehouses, held = locations_for(
        channel_id=order.channel_id,
        sku_ids=[line.sku_id],
        destination=destination,
        own={},
        policy=policy,
        now=timezone.now(),
    )
    for loc in locations:
        if loc.id == exclude:
            loc.ineligible = "just came up short"
    sku = line.sku
    need = engine.LineNeed(line.pk, line.sku_id, sku.code, quantity)
    rate = make_rater(
        book=RateBook.load(),
        warehouses=warehouses,
        skus={sku.pk: sku},
        destination_address=order.shipping_address,
        settings=settings,
    )
    result = engine.source([need], locations, settings, rate)
    if result.chosen is None and not record_failure:
        return None  # a retry that finds nothing new says nothing new
    record = SourcingDecision.objects.create(
        order=order,
        outcome=SourcingDecision.Outcome.SOURCED if result.chosen else SourcingDecision.Outcome.BACKORDERED,
        summary=f"Short pick of {quantity} x {sku.code}: {result.summary}"[:500],
        chosen=[s.as_dict() for s in result.chosen.shipments] if result.chosen else [],
        candidates=result.candidates(),
        total_cost=result.chosen.score if result.chosen else None,
        trigger="short_pick",
        actor_user=actor.user if actor.type == "staff" else None,
    )
    event_for(order, "short_pick", actor, message=record.summary, data={"decision_id": record.pk}).save()
    if result.chosen is None:
        return None
    shipment = result.chosen.shipments[0]
    key = (line.sku_id, shipment.location.id)
    stock_reallocate(
        release=[],
        allocate=[(line.sku_id, shipment.location.id, quantity)],
        reference=f"order:{order.pk}:short",
        held_back={key: held[key]} if key in held else None,
    )
    OrderLine.objects.filter(pk=line.pk).update(quantity_allocated=F("quantity_allocated") + quantity)
    quote = shipment.quote
    return fulfillment_order_create(
        order=order,
        warehouse_id=shipment.location.id,
        lines=[(line, quantity)],
        actor=actor,
        decision_id=record.pk,
        service_id=quote.service_id or None if quote else None,
        shipping_cost=quote.amount if quote else None,
        shipping_cost_currency=quote.currency if quote else "",
        ship_by=quote.ship_date if quote else None,
        promised_delivery=quote.delivery_date if quote else None,
    )


def shortfalls_retry(*, limit: int = 200) -> int:
    """Ship the units short picks left waiting, where stock now allows.
    Returns how many lines got a new shipment."""
    unshipped = F("quantity") - F("quantity_cancelled") - F("quantity_shipped")
    waiting = list(
        OrderLine.objects.filter(
            order__status__in=[Order.Status.FULFILLING, Order.Status.PARTIALLY_SHIPPED],
            quantity_allocated__lt=unshipped,
        )
        .select_related("sku")
        .order_by("-order__priority", "order__placed_at", "id")[:limit]
    )
    done = 0
    for line in waiting:
        with transaction.atomic():
            Order.objects.select_for_update(no_key=True).get(pk=line.order_id)
            line = OrderLine.objects.select_related("sku").get(pk=line.pk)
            missing = (
                line.quantity - line.quantity_cancelled - line.quantity_shipped - line.quantity_allocated
            )
            if missing > 0:
                try:
                    with transaction.atomic():
                        if _resource_line(line, missing, Actor.system(), record_failure=False) is not None:
                            done += 1
                except DomainError as exc:
                    logger.info("shortfall of line %s still waits: %s", line.pk, exc)
    return done
