"""The demo's returns: each channel's policy, and a handful of delivered
orders coming back (one waiting to arrive, one inspected and refunded, one
exchanged, one outside the window waiting for review)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from fulfillment.sourcing.services import order_source_placed
from inventory.models import Warehouse
from oms.actors import Actor
from oms.errors import DomainError
from oms.models import Channel, OutboxEvent
from oms.outbox import deliver
from orders.models import Order
from returns.models import ReturnLine, ReturnPolicy, ReturnRequest
from returns.services import (
    Inspection,
    ReturnLineInput,
    refund_due,
    return_exchange,
    return_receive,
    return_refund,
    return_request,
)

STEPS = (
    "1. Start your return on our returns page with your order number and e-mail address.\n"
    "2. Pack the items in their original packaging with the return number (RMA) inside.\n"
    "3. Bring the parcel to one of the locations below, or send it there.\n"
    "4. We inspect it within two working days and refund your payment or send the replacement."
)


def seed_policies() -> None:
    stores = list(Warehouse.objects.filter(kind=Warehouse.Kind.STORE, is_active=True))
    default = ReturnPolicy.objects.create(channel=None, window_days=30, instructions=STEPS)
    default.locations.set(Warehouse.objects.filter(code__in=["DC-NJ", "DC-NL"]) or stores)
    for channel in Channel.objects.all():
        policy = ReturnPolicy.objects.create(
            channel=channel,
            window_days=14 if channel.kind == Channel.Kind.B2B else 30,
            restocking_fee_pct=Decimal("10") if channel.kind == Channel.Kind.MARKETPLACE else Decimal("0"),
            refund_original_shipping=channel.kind == Channel.Kind.WEB,
            non_returnable_categories=["Grocery"],
            instructions=STEPS,
        )
        policy.locations.set([*default.locations.all(), *stores])


def _capture(order: Order) -> None:
    """The worker captures shipped orders when it starts; a returned one is
    captured now (its shipped events delivered), so there is money to refund."""
    pending = OutboxEvent.objects.filter(
        topic="shipment.shipped", payload__order_id=order.pk, dispatched_at__isnull=True
    ).order_by("id")
    for event in pending:
        deliver(event)


def _route(order: Order) -> None:
    """The replacement is routed as the worker would, its confirmation marked
    sent like the history's (the worker is not running during the load)."""
    order_source_placed(order_id=order.pk, actor=Actor.system())
    OutboxEvent.objects.filter(topic="order.placed", payload__order_id=order.pk).update(
        dispatched_at=timezone.now()
    )


def bring_up_to_date(*, rng: random.Random, log: Callable[[str], None]) -> None:
    seed_policies()
    system = Actor.system()
    done = []
    delivered = list(
        Order.objects.filter(delivered_at__isnull=False, payments__isnull=False)
        .exclude(lines__sku__product__category="Grocery")
        .distinct()
        .order_by("-delivered_at")[:40]
    )
    rng.shuffle(delivered)
    plans = ["waiting", "refunded", "exchanged", "partial"]
    for order in delivered:
        if not plans:
            break
        plan = plans[0]
        _capture(order)
        line = order.lines.order_by("line_number").first()
        reason = ReturnLine.Reason.DAMAGED if plan == "exchanged" else ReturnLine.Reason.SIZE_FIT
        try:
            request = return_request(
                order_id=order.pk,
                lines=[ReturnLineInput(order_line_id=line.pk, quantity=line.quantity_shipped, reason=reason)],
                actor=system,
                source=ReturnRequest.Source.CUSTOMER,
                resolution=ReturnRequest.Resolution.EXCHANGE
                if plan == "exchanged"
                else ReturnRequest.Resolution.REFUND,
            )
            if plan != "waiting":
                [rl] = request.lines.all()
                good = plan != "exchanged"
                return_receive(
                    return_id=request.pk,
                    inspections=[
                        Inspection(
                            rl.pk,
                            rl.quantity,
                            ReturnLine.Condition.NEW if good else ReturnLine.Condition.DAMAGED,
                            ReturnLine.Disposition.RESTOCK if good else ReturnLine.Disposition.SCRAP,
                        )
                    ],
                    actor=system,
                )
                if plan == "exchanged":
                    replacement = return_exchange(return_id=request.pk, actor=system).replacement_order
                    _route(replacement)
                elif plan == "partial":  # a goodwill deduction: half of what is due
                    split, _ = refund_due(ReturnRequest.objects.get(pk=request.pk))
                    half = (split.total / 2).quantize(Decimal("0.01"))
                    return_refund(return_id=request.pk, actor=system, amount=half)
                else:
                    return_refund(return_id=request.pk, actor=system)
        except DomainError as exc:
            log(f"  returns: order {order.number} not returned ({plan}): {exc.message}")
            continue
        plans.pop(0)
        done.append(f"{request.number} {plan}")
    late = (
        Order.objects.filter(delivered_at__lt=timezone.now() - timedelta(days=31), payments__isnull=False)
        .exclude(returns__isnull=False)
        .order_by("delivered_at")
        .first()
    )
    if late is not None:
        line = late.lines.order_by("line_number").first()
        try:
            request = return_request(
                order_id=late.pk,
                lines=[
                    ReturnLineInput(order_line_id=line.pk, quantity=1, reason=ReturnLine.Reason.DEFECTIVE)
                ],
                actor=system,
                source=ReturnRequest.Source.STAFF,
                allow_review=True,
                note="Customer called: stopped working after five weeks.",
            )
            done.append(f"{request.number} for review")
        except DomainError as exc:
            log(f"  returns: late order {late.number} not returned: {exc.message}")
    log(f"  returns: policies for {Channel.objects.count()} channels; " + ", ".join(done))
