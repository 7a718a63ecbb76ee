"""Fulfillment order status, events, and the order status that follows from them.

Locking order: the order row, then its fulfillment orders (by id), then
stock levels (inventory.services). Every writer here and in the picking,
packing, shipping and tracking services takes them in that order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from oms.actors import Actor
from oms.errors import InvalidTransition, NotFound
from oms.outbox import emit
from orders.models import Order, OrderLine
from orders.services.lifecycle import order_transition

from ..models import FO_TRANSITIONS, FulfillmentEvent, FulfillmentOrder, FulfillmentOrderLine
from ..models.shipments import FO_SHIPPED

Status = FulfillmentOrder.Status

# When a fulfillment order enters a status, this timestamp is set.
_STAMPS = {
    Status.RELEASED: "released_at",
    Status.PACKED: "packed_at",
    Status.SHIPPED: "shipped_at",
    Status.DELIVERED: "delivered_at",
}


def fo_event(
    fo: FulfillmentOrder,
    kind: str,
    actor: Actor,
    *,
    from_status: str = "",
    to_status: str = "",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> FulfillmentEvent:
    return FulfillmentEvent.objects.create(
        fulfillment_order=fo,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_type=actor.type,
        actor_user=actor.user if actor.type == "staff" else None,
        message=message[:500],
        data=data or {},
    )


def fo_transition(
    fo: FulfillmentOrder,
    to_status: str,
    *,
    actor: Actor,
    kind: str = "status_changed",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> FulfillmentEvent:
    """Move a (locked) fulfillment order along an allowed transition and record it."""
    if to_status not in FO_TRANSITIONS[fo.status]:
        raise InvalidTransition(
            f"Shipment {fo.number} is {fo.get_status_display().lower()} and cannot become "
            f"{Status(to_status).label.lower()}.",
            current_status=fo.status,
        )
    from_status = fo.status
    fo.status = to_status
    fields = ["status", "updated_at"]
    if stamp := _STAMPS.get(to_status):
        setattr(fo, stamp, timezone.now())
        fields.append(stamp)
    fo.save(update_fields=fields)
    return fo_event(fo, kind, actor, from_status=from_status, to_status=to_status, message=message, data=data)


def lock_fulfillment_orders(ids: Iterable[int]) -> list[FulfillmentOrder]:
    """Lock fulfillment orders in id order (after their orders, see the module note)."""
    return list(FulfillmentOrder.objects.filter(pk__in=list(ids)).order_by("id").select_for_update())


def access_fulfillment_order(fo_id: int, *, for_update: bool = False) -> FulfillmentOrder:
    """Fetch a fulfillment order; with for_update, lock its order first, then it."""
    qs: QuerySet[FulfillmentOrder] = FulfillmentOrder.objects.select_related("order", "warehouse")
    try:
        if for_update:
            order_id = FulfillmentOrder.objects.values_list("order_id", flat=True).get(pk=fo_id)
            Order.objects.select_for_update(no_key=True).filter(pk=order_id).first()
            return qs.select_for_update(of=("self",)).get(pk=fo_id)
        return qs.get(pk=fo_id)
    except FulfillmentOrder.DoesNotExist:
        raise NotFound(f"Shipment {fo_id} does not exist.") from None


def fulfillment_order_create(
    *,
    order: Order,
    warehouse_id: int,
    lines: Iterable[tuple[OrderLine, int]],
    actor: Actor,
    method: str = FulfillmentOrder.Method.SHIP,
    decision_id: int | None = None,
    service_id: int | None = None,
    shipping_cost=None,
    shipping_cost_currency: str = "",
    ship_by=None,
    promised_delivery=None,
    release: bool = True,
    ship_to: dict | None = None,
) -> FulfillmentOrder:
    """One shipment from one location for (order line, quantity) pairs whose
    stock is already allocated there. Released to the warehouse at once
    unless `release` is False (e.g. a pick-up waiting for a transfer)."""
    fo = FulfillmentOrder.objects.create(
        order=order,
        warehouse_id=warehouse_id,
        method=method,
        ship_to=ship_to if ship_to is not None else order.shipping_address,
        decision_id=decision_id,
        service_id=service_id,
        shipping_cost=shipping_cost if shipping_cost is not None else 0,
        shipping_cost_currency=shipping_cost_currency,
        ship_by=ship_by,
        promised_delivery=promised_delivery,
        priority=order.priority,
    )
    FulfillmentOrderLine.objects.bulk_create(
        [
            FulfillmentOrderLine(fulfillment_order=fo, order_line=line, sku_id=line.sku_id, quantity=qty)
            for line, qty in lines
            if qty > 0
        ]
    )
    fo_event(fo, "created", actor, to_status=fo.status, data={"warehouse_id": warehouse_id})
    if release:
        fo_transition(fo, Status.RELEASED, actor=actor, kind="released")
    return fo


def order_follow_shipments(order: Order, *, actor: Actor) -> None:
    """Bring a (locked) order's status in line with its fulfillment orders:
    fulfilling once picking starts, partially shipped / shipped as parcels
    leave, delivered (starting the post-sale clock) when the last arrives."""
    statuses = [
        s
        for s in FulfillmentOrder.objects.filter(order=order).values_list("status", flat=True)
        if s != Status.CANCELLED
    ]
    if not statuses:
        return
    backordered_left = OrderLine.objects.filter(
        order=order, quantity_allocated__lt=_unshipped_quantity()
    ).exists()
    if all(s == Status.DELIVERED for s in statuses) and not backordered_left:
        target = Order.Status.DELIVERED
    elif all(s in FO_SHIPPED for s in statuses) and not backordered_left:
        target = Order.Status.SHIPPED
    elif any(s in FO_SHIPPED for s in statuses):
        target = Order.Status.PARTIALLY_SHIPPED
    elif any(s in {Status.PICKING, Status.PACKED} for s in statuses):
        # Released work can still be cancelled with the order; picking cannot.
        target = Order.Status.FULFILLING
    else:
        return
    path = _PATHS.get((order.status, target))
    if path is None:
        return
    for step in path:
        order_transition(order, step, actor=actor, kind=f"order_{step}")
    if target == Order.Status.DELIVERED:
        order.delivered_at = timezone.now()
        order.save(update_fields=["delivered_at", "updated_at"])
        emit("order.delivered", {"order_id": order.pk}, aggregate=f"order:{order.pk}")


def _unshipped_quantity():
    from django.db.models import F

    return F("quantity") - F("quantity_cancelled") - F("quantity_shipped")


_O = Order.Status
# The steps an order takes to reach a status its shipments imply.
_PATHS: dict[tuple[str, str], list[str]] = {
    (_O.ALLOCATED, _O.FULFILLING): [_O.FULFILLING],
    (_O.ALLOCATED, _O.PARTIALLY_SHIPPED): [_O.FULFILLING, _O.PARTIALLY_SHIPPED],
    (_O.ALLOCATED, _O.SHIPPED): [_O.FULFILLING, _O.SHIPPED],
    (_O.ALLOCATED, _O.DELIVERED): [_O.FULFILLING, _O.SHIPPED, _O.DELIVERED],
    (_O.FULFILLING, _O.PARTIALLY_SHIPPED): [_O.PARTIALLY_SHIPPED],
    (_O.FULFILLING, _O.SHIPPED): [_O.SHIPPED],
    (_O.FULFILLING, _O.DELIVERED): [_O.SHIPPED, _O.DELIVERED],
    (_O.PARTIALLY_SHIPPED, _O.SHIPPED): [_O.SHIPPED],
    (_O.PARTIALLY_SHIPPED, _O.DELIVERED): [_O.SHIPPED, _O.DELIVERED],
    (_O.SHIPPED, _O.DELIVERED): [_O.DELIVERED],
}
