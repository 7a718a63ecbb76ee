"""Builders for the shipping and tracking tests: orders placed through the
real services, shipments packed at the real pack station, webhook bodies
signed the way a carrier signs them."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from django.db.models import F

from fulfillment.models import FulfillmentOrder
from fulfillment.packing import pack_complete, pack_scan
from fulfillment.services.lifecycle import fo_transition, fulfillment_order_create
from inventory.models import Warehouse
from oms.actors import Actor
from oms.models import OutboxEvent
from oms.reconcile import registered_checks

Status = FulfillmentOrder.Status
STAFF = Actor.system()


def split_order(order, parts: list[list[tuple[int, int]]], **kwargs) -> list[FulfillmentOrder]:
    """Released shipments from the order's warehouse: one per part, each a list
    of (line number, units)."""
    lines = {ln.line_number: ln for ln in order.lines.all()}
    return [
        fulfillment_order_create(
            order=order,
            warehouse_id=order.warehouse_id,
            lines=[(lines[n], qty) for n, qty in part],
            actor=STAFF,
            **kwargs,
        )
        for part in parts
    ]


def pack(fo: FulfillmentOrder) -> FulfillmentOrder:
    """Pick (on paper), scan every unit and close the parcel at the pack station."""
    fo.refresh_from_db()
    needs_pick = fo.warehouse.kind == Warehouse.Kind.DC and fo.method == FulfillmentOrder.Method.SHIP
    if needs_pick and fo.status == Status.RELEASED:
        fo.lines.update(quantity_picked=F("quantity") - F("quantity_short"))
        fo_transition(fo, Status.PICKING, actor=STAFF)
    for line in fo.lines.select_related("sku").order_by("id"):
        pack_scan(
            fulfillment_order_id=fo.pk, barcode=line.sku.barcode, actor=STAFF, quantity=line.quantity_open
        )
    return pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)


def shipped_events() -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(topic="shipment.shipped").order_by("id"))


def reconcile_problems() -> dict[str, list[str]]:
    """Problems the fulfillment and stock reconcile checks find (empty: all hold)."""
    found = {name: check() for name, check in registered_checks().items()}
    return {name: problems for name, problems in found.items() if problems}


def scan(event_id: str, tracking: str, status: str, at: datetime, location: str = "Newark, NJ", **extra):
    return {
        "id": event_id,
        "tracking_number": tracking,
        "status": status,
        "description": extra.pop("description", status.replace("_", " ").capitalize()),
        "location": location,
        "occurred_at": at.isoformat(),
        **extra,
    }


def signed(secret: str, payload) -> tuple[bytes, str]:
    """The raw body and its X-Carrier-Signature, as the carrier computes them."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return body, "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_tracking(client, carrier, payload, *, secret: str | None = None, signature: str | None = None):
    body, good = signed(secret or carrier.webhook_secret, payload)
    return client.post(
        f"/api/v1/fulfillment/carriers/{carrier.code}/tracking/",
        data=body,
        content_type="application/json",
        HTTP_X_CARRIER_SIGNATURE=good if signature is None else signature,
    )
