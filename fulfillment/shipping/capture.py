"""Payment follows the goods: when a shipment leaves, its share of the order
is captured from the card authorization (outbox handler, so the gateway call
runs after commit and outside any transaction).

Each shipment captures its `total_charged` once (the capture is keyed by the
shipment, see orders.services.payments.payment_capture); the shipment that
completes the order captures whatever is still authorized, so the captures
add up to the authorization exactly. A decline is recorded on the order; an
unreachable gateway raises and the outbox retries with backoff.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from oms.outbox import handler
from orders.services.payments import payment_capture

from .services import SHIPPED_TOPIC

logger = logging.getLogger(__name__)


def capture_key(shipment_number: str) -> str:
    return f"shipment {shipment_number}"


@handler(SHIPPED_TOPIC, name="payments.capture_shipment")
def capture_shipment(event) -> None:
    payload = event.payload
    result = payment_capture(
        order_id=payload["order_id"],
        key=capture_key(payload["shipment"]),
        amount=Decimal(payload["total_charged"]),
        remainder=bool(payload.get("completes_order")),
    )
    if result.declined:
        logger.warning("capture for shipment %s declined: %s", payload["shipment"], result.declined)
