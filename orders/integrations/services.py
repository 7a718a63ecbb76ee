"""The intake record: every channel order delivery is stored before anything
else, then placed; what cannot be placed is held with the reason.

    inbound_order_receive  store once per (channel, external id), then place
    inbound_order_retry    place a held one again (after fixing its cause)
    inbound_order_reject   give up on a held one (cancelled on the platform, ...)

The row is inserted and committed on its own before placement, because
placement calls the payment gateway and must run outside any transaction; a
concurrent duplicate delivery waits on the unique index, then finds the row
and answers with it. A row left `received` by a crashed worker is placed by
the next delivery or a retry once it is older than a placement can take.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from oms.actors import Actor
from oms.errors import DomainError, InvalidInput, InvalidTransition, NotFound
from oms.models import Channel

from ..models_intake import InboundOrder, Platform
from ..services.placement import OrderInput, order_place
from . import csv_import, shopify, woocommerce
from .common import Draft, order_input

logger = logging.getLogger(__name__)

DRAFTERS: dict[str, Callable[[dict, Channel], Draft]] = {
    Platform.SHOPIFY: shopify.draft,
    Platform.WOOCOMMERCE: woocommerce.draft,
    Platform.CSV: csv_import.draft,
}


@dataclass
class Intake:
    inbound: InboundOrder
    created: bool  # False: a repeated delivery, answered with the first one


def _stale_before():
    return timezone.now() - timedelta(seconds=settings.PLACEMENT_RESERVATION_SECONDS + 60)


def inbound_order_receive(
    *, channel: Channel, platform: str, external_id: str, payload: dict, actor: Actor
) -> Intake:
    """Keep the delivery and place it. A repeated delivery places nothing more."""
    try:
        with transaction.atomic():
            inbound = InboundOrder.objects.create(
                channel=channel, platform=platform, external_id=external_id, payload=payload
            )
    except IntegrityError:
        InboundOrder.objects.filter(channel=channel, external_id=external_id).update(
            deliveries=F("deliveries") + 1, updated_at=timezone.now()
        )
        first = InboundOrder.objects.select_related("order").get(channel=channel, external_id=external_id)
        stuck = InboundOrder.objects.filter(
            pk=first.pk, status=InboundOrder.Status.RECEIVED, created_at__lt=_stale_before()
        ).update(updated_at=timezone.now())
        if stuck:  # the first delivery's worker died before finishing
            return Intake(_attempt(first, actor), created=False)
        return Intake(first, created=False)
    return Intake(_attempt(inbound, actor), created=True)


def inbound_order_retry(*, inbound_order_id: int, actor: Actor) -> InboundOrder:
    """Place a held delivery again, e.g. after a SKU or barcode was added,
    stock received or the channel fixed."""
    inbound = InboundOrder.objects.filter(pk=inbound_order_id).first()
    if inbound is None:
        raise NotFound(f"Inbound order {inbound_order_id} does not exist.")
    claimed = (
        InboundOrder.objects.filter(pk=inbound.pk)
        .filter(
            Q(status=InboundOrder.Status.HELD)
            | Q(status=InboundOrder.Status.RECEIVED, updated_at__lt=_stale_before())
        )
        .update(status=InboundOrder.Status.RECEIVED, updated_at=timezone.now())
    )
    if not claimed:
        raise InvalidTransition(
            f"Inbound order {inbound.external_id} is {inbound.status}: only held ones can be retried.",
            fields={"status": [f"is {inbound.status}"]},
        )
    inbound.refresh_from_db()
    return _attempt(inbound, actor)


def inbound_order_reject(*, inbound_order_id: int, actor: Actor, reason: str = "") -> InboundOrder:
    """Give up on a held delivery; it stays on record, never becomes an order."""
    inbound = InboundOrder.objects.filter(pk=inbound_order_id).first()
    if inbound is None:
        raise NotFound(f"Inbound order {inbound_order_id} does not exist.")
    text = (
        f"Rejected by {actor}"
        + (f": {reason}" if reason else "")
        + (f" (was held: {inbound.reason})" if inbound.reason else "")
    )
    updated = InboundOrder.objects.filter(pk=inbound.pk, status=InboundOrder.Status.HELD).update(
        status=InboundOrder.Status.REJECTED, reason=text[:500], updated_at=timezone.now()
    )
    if not updated:
        raise InvalidTransition(
            f"Inbound order {inbound.external_id} is {inbound.status}: only held ones can be rejected.",
            fields={"status": [f"is {inbound.status}"]},
        )
    inbound.refresh_from_db()
    return inbound


def _order_input(inbound: InboundOrder, actor: Actor) -> OrderInput:
    channel = inbound.channel
    try:
        draft = DRAFTERS[inbound.platform](inbound.payload, channel)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        # A payload of the right platform but an unexpected shape.
        raise InvalidInput.field("payload", f"could not be read ({type(exc).__name__}: {exc})") from exc
    return order_input(draft, channel=channel, actor=actor)


def _attempt(inbound: InboundOrder, actor: Actor) -> InboundOrder:
    InboundOrder.objects.filter(pk=inbound.pk).update(attempts=F("attempts") + 1)
    try:
        result = order_place(data=_order_input(inbound, actor))
    except DomainError as exc:
        return _finish(inbound, InboundOrder.Status.HELD, reason=exc.message, problems=exc.fields)
    except Exception as exc:
        # Kept and retryable rather than lost behind a 500: the platform would
        # only send it again into the same bug.
        logger.exception("placing inbound order %s failed", inbound.pk)
        return _finish(
            inbound,
            InboundOrder.Status.HELD,
            reason=f"Unexpected error while placing ({type(exc).__name__}).",
        )
    return _finish(inbound, InboundOrder.Status.PLACED, order=result.order)


def _finish(
    inbound: InboundOrder, status: str, *, reason: str = "", problems: dict | None = None, order=None
) -> InboundOrder:
    inbound.status = status
    inbound.reason = reason[:500]
    inbound.problems = problems or {}
    inbound.order = order
    inbound.attempts += 1
    inbound.save(update_fields=["status", "reason", "problems", "order", "updated_at"])
    return inbound
