"""Order status changes, events and cancellation."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory.services import stock_deallocate
from oms.actors import Actor
from oms.errors import InvalidTransition
from oms.outbox import emit

from ..models import CANCELLABLE, ORDER_TRANSITIONS, Order, OrderEvent, OrderLine, Payment
from .payments import payments_void


def event_for(
    order: Order,
    kind: str,
    actor: Actor,
    *,
    from_status: str = "",
    to_status: str = "",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    return OrderEvent(
        order=order,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor_type=actor.type,
        actor_user=actor.user if actor.type == "staff" else None,
        actor_channel=actor.channel if actor.type == "channel" else None,
        message=message[:500],
        data=data or {},
    )


def order_transition(
    order: Order,
    to_status: str,
    *,
    actor: Actor,
    kind: str = "status_changed",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """Move a (locked) order along an allowed transition and record it."""
    if to_status not in ORDER_TRANSITIONS[order.status]:
        raise InvalidTransition(
            f"Order {order.number} is {order.get_status_display().lower()} and cannot become "
            f"{Order.Status(to_status).label.lower()}.",
            current_status=order.status,
        )
    event = event_for(
        order, kind, actor, from_status=order.status, to_status=to_status, message=message, data=data
    )
    order.status = to_status
    order.save(update_fields=["status", "updated_at"])
    event.save()
    return event


def order_cancel(*, order_id: int, actor: Actor, reason: str = "") -> Order:
    """Cancel an order that has not started fulfilment: stock goes back and the
    payment authorization is voided (after commit: no gateway call under locks)."""
    with transaction.atomic():
        order = Order.objects.select_for_update(no_key=True).get(pk=order_id)
        if order.status not in CANCELLABLE:
            raise InvalidTransition(
                f"Order {order.number} is {order.get_status_display().lower()}; only orders on hold, "
                "backordered or allocated can be cancelled.",
                current_status=order.status,
            )
        lines = list(order.lines.all())
        stock_deallocate(
            allocations=[
                (ln.sku_id, ln.warehouse_id, ln.quantity_allocated) for ln in lines if ln.warehouse_id
            ],
            reference=f"order:{order.pk}:cancel",
        )
        for ln in lines:
            ln.quantity_cancelled = ln.quantity - ln.quantity_shipped
            ln.quantity_allocated = 0
        OrderLine.objects.bulk_update(lines, ["quantity_cancelled", "quantity_allocated"])
        order.cancelled_at = timezone.now()
        order.save(update_fields=["cancelled_at"])
        order_transition(order, Order.Status.CANCELLED, actor=actor, kind="cancelled", message=reason)
        emit("order.cancelled", {"order_id": order.pk, "reason": reason}, aggregate=f"order:{order.pk}")
        to_void = list(order.payments.filter(status=Payment.Status.AUTHORIZED).values_list("pk", flat=True))
    payments_void(payment_ids=to_void, actor=actor)
    order.refresh_from_db()
    return order
