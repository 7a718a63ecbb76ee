"""Outbox handlers that run sourcing (in a Celery worker) and keep shipments
in step with order cancellation."""

from __future__ import annotations

from django.db import transaction

from oms.actors import Actor
from oms.outbox import handler
from orders.models import Order

from ..models import FulfillmentOrder
from ..services.lifecycle import fo_transition
from .services import RESOURCEABLE_FO, order_source, order_source_placed


@handler("order.placed", name="fulfillment.source")
def _source_placed(event) -> None:
    order_source_placed(order_id=event.payload["order_id"], actor=Actor.system())


@handler("order.allocated", name="fulfillment.source")
def _source_allocated(event) -> None:
    # A backorder was filled (from one warehouse): source it properly now.
    order_source(order_id=event.payload["order_id"], actor=Actor.system(), trigger="backorder")


@handler("order.cancelled", name="fulfillment.cancel_shipments")
def _cancel_shipments(event) -> None:
    """The order gave its stock back when it was cancelled; its unstarted
    shipments go too (an order being picked cannot be cancelled)."""
    with transaction.atomic():
        Order.objects.select_for_update(no_key=True).filter(pk=event.payload["order_id"]).first()
        for fo in (
            FulfillmentOrder.objects.filter(order_id=event.payload["order_id"], status__in=RESOURCEABLE_FO)
            .order_by("id")
            .select_for_update()
        ):
            fo_transition(fo, FulfillmentOrder.Status.CANCELLED, actor=Actor.system(), kind="order_cancelled")
