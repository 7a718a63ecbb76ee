"""Customer e-mails about shipments, sent by the outbox.

Sent once per shipment: the handler records a "shipped_email_sent" event on
the shipment after sending and skips shipments that have one, so a
redelivered outbox event does not e-mail the customer again (and the
Message-ID, derived from the outbox event, lets a mail server recognise a
copy should a crash fall between sending and recording).
"""

from __future__ import annotations

from oms.actors import Actor
from oms.mail import send_order_email
from oms.outbox import handler

from .models import FulfillmentOrder
from .services.lifecycle import fo_event
from .shipping.selectors import carrier_tracking_url, public_tracking_url
from .shipping.services import SHIPPED_TOPIC

SENT_KIND = "shipped_email_sent"


@handler(SHIPPED_TOPIC, name="email.order_shipped")
def order_shipped(event) -> None:
    if event.payload.get("collected"):
        return  # handed over in person: nothing to track
    fo = (
        FulfillmentOrder.objects.select_related("order__channel", "order__customer", "service__carrier")
        .prefetch_related("lines__sku")
        .get(pk=event.payload["fulfillment_order_id"])
    )
    if fo.events.filter(kind=SENT_KIND).exists():
        return
    order = fo.order
    send_order_email(
        event=event,
        order=order,
        template="emails/order_shipped",
        context={
            "shipment": fo,
            "carrier": fo.service.carrier if fo.service_id else None,
            "service": fo.service,
            "items": [line for line in fo.lines.all() if line.quantity_packed],
            "carrier_url": carrier_tracking_url(fo),
            "tracking_url": public_tracking_url(fo),
            "eta": fo.promised_delivery,
            # One parcel carries the whole order: it took the order from none shipped to all.
            "whole_order": event.payload.get("completes_order")
            and event.payload.get("order_share", {}).get("before") == "0",
            "destination": {k: fo.ship_to.get(k, "") for k in ("city", "country")},
        },
    )
    fo_event(fo, SENT_KIND, Actor.system(), message=f"To {order.email}", data={"outbox_event": event.pk})
