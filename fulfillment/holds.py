"""Staff holds: stop an order before the warehouse starts on it, and let it go.

A hold keeps the order's stock allocation (the goods stay set aside for the
customer) but cancels its shipments that no one has started to pick, so no
pick list or wave takes the order while it waits; shipping refuses a held
order anyway (fulfillment.shipping). Releasing routes the order again
(fulfillment.sourcing, trigger "staff", hold rules ignored): new shipments
from wherever is best now. Picking that has started cannot be stopped here;
such an order is already fulfilling, which cannot go on hold.
"""

from __future__ import annotations

from django.db import transaction

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from oms.outbox import emit
from orders.models import ORDER_TRANSITIONS, Order
from orders.services.lifecycle import order_transition

from .models import FulfillmentOrder, SourcingDecision
from .services.lifecycle import fo_transition
from .sourcing.services import order_source

UNSTARTED = {FulfillmentOrder.Status.PENDING, FulfillmentOrder.Status.RELEASED}


def order_hold(*, order_id: int, actor: Actor, reason: str) -> Order:
    """Put an allocated or backordered order on hold for `reason`."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput.field("reason", "say why the order is held")
    with transaction.atomic():
        # The order first, then its shipments: the lock order of every order service.
        order = Order.objects.select_for_update(no_key=True).filter(pk=order_id).first()
        if order is None:
            raise NotFound(f"Order {Order(pk=order_id).number} does not exist.")
        if Order.Status.ON_HOLD not in ORDER_TRANSITIONS[order.status]:
            raise InvalidTransition(
                f"Order {order.number} is {order.get_status_display().lower()}; only allocated or "
                "backordered orders can be put on hold.",
                current_status=order.status,
            )
        shipments = list(
            FulfillmentOrder.objects.filter(order=order)
            .exclude(status=FulfillmentOrder.Status.CANCELLED)
            .order_by("id")
            .select_for_update()
        )
        started = [fo for fo in shipments if fo.status not in UNSTARTED]
        if started:
            raise Conflict(
                f"Shipment {started[0].number} is {started[0].get_status_display().lower()}; "
                "the order can no longer be held.",
                current_status=order.status,
            )
        for fo in shipments:
            fo_transition(
                fo, FulfillmentOrder.Status.CANCELLED, actor=actor, kind="order_held", message=reason
            )
        order.hold_reason = reason[:255]
        order.save(update_fields=["hold_reason", "updated_at"])
        order_transition(
            order,
            Order.Status.ON_HOLD,
            actor=actor,
            kind="held",
            message=reason,
            data={"cancelled_shipments": [fo.number for fo in shipments]},
        )
        emit("order.held", {"order_id": order.pk, "reason": reason}, aggregate=f"order:{order.pk}")
    return order


def order_release(*, order_id: int, actor: Actor) -> SourcingDecision | None:
    """Release a held order: route it again, whatever held it (a staff hold, a
    hold rule, the credit limit or a declined capture), ignoring hold rules."""
    status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    if status is None:
        raise NotFound(f"Order {Order(pk=order_id).number} does not exist.")
    if status != Order.Status.ON_HOLD:
        raise InvalidTransition(f"Order {Order(pk=order_id).number} is not on hold.", current_status=status)
    return order_source(order_id=order_id, actor=actor, trigger="staff", ignore_holds=True)
