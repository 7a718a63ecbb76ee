"""Carrier tracking webhooks: verify, store the scans once, move the parcels.

A carrier POSTs a batch of scans (fulfillment.carriers.base describes the
format) signed with its webhook secret. A bad signature is refused before
anything is read or stored. Scans are stored once per shipment and carrier
event id, so a carrier's retry of the same batch changes nothing.

A shipment follows its newest scan (by the carrier's time, not by arrival),
along FO_TRANSITIONS only: a late "in transit" that arrives after
"delivered" is kept in the history but does not move the parcel back. Only
parcels handed to the carrier move; scans of a parcel not yet shipped (the
carrier scanned it before staff confirmed the hand-over) are kept and wait.
Delivery stamps the shipment with the carrier's time and lets the order
follow (order.delivered_at, the `order.delivered` event: the post-sale clock).

The whole batch is one transaction; orders are locked in id order, then
their shipments in id order, as everywhere else.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from oms.actors import Actor
from oms.errors import DomainError, InvalidInput, NotFound
from orders.models import Order

from .carriers import TrackingUpdate, adapter_for
from .models import FO_TRANSITIONS, Carrier, FulfillmentOrder, TrackingEvent
from .models.shipments import FO_SHIPPED
from .services.lifecycle import fo_transition, lock_fulfillment_orders, order_follow_shipments

Status = FulfillmentOrder.Status

MAX_EVENTS = 1000
SIGNATURE_HEADER = "X-Carrier-Signature"

# The shipment status a scan reports; "info" scans only add to the history.
SCAN_STATUS = {
    TrackingEvent.Status.IN_TRANSIT: Status.IN_TRANSIT,
    TrackingEvent.Status.OUT_FOR_DELIVERY: Status.OUT_FOR_DELIVERY,
    TrackingEvent.Status.DELIVERED: Status.DELIVERED,
    TrackingEvent.Status.EXCEPTION: Status.EXCEPTION,
}


class BadSignature(DomainError):
    code = "bad_signature"
    status = 401
    default_message = "The webhook signature does not match the carrier's secret."


@dataclass
class TrackingReport:
    carrier: str
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # scans of parcels not handed over yet
    moved: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "unknown": self.unknown,
            "waiting": self.waiting,
            "moved": self.moved,
        }


def tracking_receive(*, carrier_code: str, body: bytes, signature: str) -> TrackingReport:
    """Verify and apply one webhook delivery from the carrier `carrier_code`."""
    carrier = Carrier.objects.filter(code=carrier_code).first()
    if carrier is None:
        raise NotFound(f"No carrier {carrier_code[:32]!r}.")
    adapter = adapter_for(carrier)
    if not adapter.verify_webhook(body=body, signature=signature):
        raise BadSignature()
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput.field("body", f"is not valid JSON ({exc})", code="malformed_request") from None
    updates = adapter.parse_tracking(payload)
    if len(updates) > MAX_EVENTS:
        raise InvalidInput.field("events", f"at most {MAX_EVENTS} events per request")
    return tracking_apply(carrier=carrier, updates=updates)


@transaction.atomic
def tracking_apply(*, carrier: Carrier, updates: list[TrackingUpdate]) -> TrackingReport:
    report = TrackingReport(carrier=carrier.code, received=len(updates))
    by_number: dict[str, list[TrackingUpdate]] = defaultdict(list)
    for update in updates:
        by_number[update.tracking_number].append(update)
    found = dict(
        FulfillmentOrder.objects.filter(
            tracking_number__in=list(by_number), service__carrier=carrier
        ).values_list("tracking_number", "pk")
    )
    report.unknown = sorted(set(by_number) - set(found))
    if not found:
        return report
    order_ids = FulfillmentOrder.objects.filter(pk__in=found.values()).values_list("order_id", flat=True)
    list(Order.objects.filter(pk__in=list(order_ids)).order_by("id").select_for_update(no_key=True))
    actor = Actor.system()
    for fo in lock_fulfillment_orders(found.values()):
        _apply(fo, by_number[fo.tracking_number], carrier, actor, report)
    return report


def _apply(
    fo: FulfillmentOrder,
    updates: list[TrackingUpdate],
    carrier: Carrier,
    actor: Actor,
    report: TrackingReport,
) -> None:
    known = set(fo.tracking.values_list("carrier_event_id", flat=True))
    new: dict[str, TrackingUpdate] = {}
    for update in updates:
        if update.event_id in known or update.event_id in new:
            report.duplicates += 1
        else:
            new[update.event_id] = update
    TrackingEvent.objects.bulk_create(
        [
            TrackingEvent(
                fulfillment_order=fo,
                carrier_event_id=u.event_id,
                status=u.status,
                description=u.description,
                location=u.location,
                occurred_at=u.occurred_at,
                raw=u.raw,
            )
            for u in new.values()
        ]
    )
    report.stored += len(new)
    if not new:
        return
    if fo.status not in FO_SHIPPED:
        report.waiting.append(fo.tracking_number)
        return
    newest = fo.tracking.exclude(status=TrackingEvent.Status.INFO).order_by("-occurred_at", "-id").first()
    if newest is None:
        return
    target = SCAN_STATUS[newest.status]
    if target == fo.status or target not in FO_TRANSITIONS[fo.status]:
        return
    before = fo.status
    where = f" at {newest.location}" if newest.location else ""
    fo_transition(
        fo,
        target,
        actor=actor,
        kind="tracking",
        message=f"{carrier.name}: {newest.description or newest.get_status_display()}{where}"[:500],
        data={"carrier_event_id": newest.carrier_event_id, "occurred_at": newest.occurred_at.isoformat()},
    )
    if target == Status.DELIVERED:
        fo.delivered_at = newest.occurred_at
        fo.save(update_fields=["delivered_at"])
        order = Order.objects.get(pk=fo.order_id)  # locked above
        order_follow_shipments(order, actor=actor)
    report.moved.append({"tracking_number": fo.tracking_number, "from": before, "to": target})
