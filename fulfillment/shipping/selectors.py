"""Reads of shipments for the staff API, the admin and the public tracking page."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.db.models import IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse

from ..models import FulfillmentEvent, FulfillmentOrder, FulfillmentOrderLine, TrackingEvent


def shipments() -> QuerySet[FulfillmentOrder]:
    """Shipments newest first, with what a list row shows (no per-row queries)."""
    units = (
        FulfillmentOrderLine.objects.filter(fulfillment_order=OuterRef("pk"))
        .values("fulfillment_order")
        .annotate(n=Sum("quantity"))
        .values("n")
    )
    return (
        FulfillmentOrder.objects.select_related("order", "warehouse", "service__carrier")
        .annotate(units=Coalesce(Subquery(units, output_field=IntegerField()), 0))
        .order_by("-id")
    )


def shipment_detail(pk: int) -> FulfillmentOrder | None:
    return (
        shipments()
        .select_related("box")
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=FulfillmentOrderLine.objects.select_related("sku", "order_line").order_by("id"),
            ),
            Prefetch("events", queryset=FulfillmentEvent.objects.select_related("actor_user").order_by("id")),
            Prefetch("tracking", queryset=TrackingEvent.objects.order_by("occurred_at", "id")),
        )
        .filter(pk=pk)
        .first()
    )


def carrier_tracking_url(fo: FulfillmentOrder) -> str | None:
    """The carrier's public page for the parcel (Carrier.tracking_url with {tracking})."""
    if not fo.tracking_number or fo.service_id is None:
        return None
    template = fo.service.carrier.tracking_url
    if not template:
        return None
    return template.replace("{tracking}", quote(fo.tracking_number, safe=""))


TRACKING_SALT = "fulfillment.tracking-page"


def tracking_token(fo: FulfillmentOrder) -> str:
    """The signed token of the public tracking link: the shipment and its
    tracking number, signed with SECRET_KEY, so a link cannot be guessed from
    a tracking number or forged for another parcel."""
    return signing.dumps([fo.pk, fo.tracking_number], salt=TRACKING_SALT, compress=True)


def shipment_for_token(token: str) -> FulfillmentOrder | None:
    """The shipment a tracking link names, or None when it is not ours or no
    longer matches (a re-labelled parcel gets a new link)."""
    try:
        pk, number = signing.loads(token, salt=TRACKING_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(pk, int) or not isinstance(number, str):
        return None
    return (
        FulfillmentOrder.objects.select_related("service__carrier")
        .filter(pk=pk, tracking_number=number)
        .first()
    )


def public_tracking_url(fo: FulfillmentOrder) -> str | None:
    """Our own tracking page for the parcel (no login, no personal data), by signed link."""
    if not fo.tracking_number:
        return None
    path = reverse("tracking-page", args=[tracking_token(fo)])
    return f"{settings.SITE_URL.rstrip('/')}{path}"
