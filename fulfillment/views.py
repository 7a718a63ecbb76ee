"""The public tracking page, reached by the signed link in the shipped e-mail
(fulfillment.shipping.selectors.public_tracking_url): a tracking number alone
does not open it. Whoever has the link may forward it, so the page shows the
parcel and never the person: the destination's city and country, not the
name, street, e-mail or phone."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .models import FulfillmentOrder
from .shipping.selectors import carrier_tracking_url, shipment_for_token

Status = FulfillmentOrder.Status

# What the customer reads for each shipment status.
CUSTOMER_STATUS = {
    Status.PACKED: "Label created, waiting for the carrier",
    Status.SHIPPED: "Handed to the carrier",
    Status.IN_TRANSIT: "In transit",
    Status.OUT_FOR_DELIVERY: "Out for delivery",
    Status.DELIVERED: "Delivered",
    Status.EXCEPTION: "Delivery problem: the carrier is handling it",
    Status.CANCELLED: "Cancelled",
}
MAX_TOKEN_LENGTH = 200


@require_GET
@never_cache
def tracking_page(request: HttpRequest, token: str) -> HttpResponse:
    fo = shipment_for_token(token) if len(token) <= MAX_TOKEN_LENGTH else None
    if fo is None:
        return _render(request, {"found": False}, status=404)
    scans = [
        {"when": scan.occurred_at, "status": scan.get_status_display(), "location": scan.location}
        for scan in fo.tracking.order_by("-occurred_at", "-id")
    ]
    context = {
        "found": True,
        "tracking_number": fo.tracking_number,
        "shipment": fo.number,
        "carrier": fo.service.carrier.name if fo.service_id else "",
        "service": fo.service.name if fo.service_id else "",
        "carrier_url": carrier_tracking_url(fo),
        "status": CUSTOMER_STATUS.get(fo.status, "Being prepared"),
        "delivered": fo.status == Status.DELIVERED,
        "delivered_at": fo.delivered_at,
        "eta": fo.promised_delivery,
        "city": str(fo.ship_to.get("city", ""))[:100],
        "country": str(fo.ship_to.get("country", ""))[:2],
        "scans": scans,
    }
    return _render(request, context)


def _render(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, "fulfillment/tracking.html", context, status=status)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
