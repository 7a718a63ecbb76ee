"""The shipments of the warehouse pages (see fulfillment/dashboard.py): the
queue by status and location, their documents, and the hand-over to the
carrier (or the collection in store) through fulfillment.shipping."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _t
from django.views.decorators.http import require_POST

from oms.actors import Actor
from oms.dashboard import paginate, query_without, staff_page
from oms.errors import DomainError

from .dashboard import (
    FO_STATUS_LABELS,
    chosen_location,
    in_locations,
    label_rows,
    live,
    locations_for,
    refuse,
    today_start,
    visible_or_404,
)
from .models import FulfillmentOrder
from .models.shipments import FO_OPEN
from .shipping import pickup_collect, shipment_ship
from .shipping.selectors import shipments

Status = FulfillmentOrder.Status

# The queues a warehouse works from, as the landing page counts them.
QUEUES = {
    "released": {"status__in": [Status.RELEASED]},
    "picking": {"status__in": [Status.PICKING]},
    "packed": {"status__in": [Status.PACKED]},
    "pending": {"status__in": [Status.PENDING]},
}


@staff_page("warehouse.view")
def shipment_list(request):
    locations = locations_for(request)
    chosen = chosen_location(request, locations)
    qs = in_locations(shipments(), locations, chosen)
    queue = request.GET.get("queue", "packed")
    if queue in QUEUES:
        qs = qs.filter(**QUEUES[queue]).order_by("ship_by", "-priority", "id")
    elif queue == "late":
        qs = qs.filter(status__in=FO_OPEN, ship_by__lt=timezone.localdate()).order_by("ship_by", "id")
    elif queue == "due_today":
        qs = qs.filter(status__in=FO_OPEN, ship_by=timezone.localdate()).order_by("-priority", "id")
    elif queue == "shipped_today":
        qs = qs.filter(shipped_at__gte=today_start()).order_by("-shipped_at", "-id")
    else:
        queue = "all"
    page = paginate(request, qs)
    page.items = label_rows(page.items, FO_STATUS_LABELS)
    context = {
        "locations": locations,
        "chosen": chosen,
        "queue": queue,
        "queues": [
            ("released", _t("Waiting to be picked")),
            ("picking", _t("Being picked")),
            ("packed", _t("Packed, waiting for the carrier")),
            ("shipped_today", _t("Shipped today")),
            ("late", _t("Late")),
            ("due_today", _t("Due today")),
            ("pending", _t("Pending release")),
            ("all", _t("All")),
        ],
        "page": page,
        "query": query_without(request, "page"),
        "today": timezone.localdate(),
    }
    return live(
        request, "dashboard/warehouse/shipments.html", "dashboard/warehouse/_shipments_live.html", context
    )


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse("dashboard:warehouse-shipments"))


@staff_page("warehouse.change")
@require_POST
def shipment_hand_over(request, pk: int):
    fo = visible_or_404(FulfillmentOrder.objects.all(), request, pk)
    actor = Actor.for_user(request.user)
    try:
        if fo.method == FulfillmentOrder.Method.PICKUP:
            pickup_collect(fulfillment_order_id=fo.pk, actor=actor)
            messages.success(
                request, _t("Shipment %(number)s was collected by the customer.") % {"number": fo.number}
            )
        else:
            shipment_ship(fulfillment_order_id=fo.pk, actor=actor)
            messages.success(
                request, _t("Shipment %(number)s was handed to the carrier.") % {"number": fo.number}
            )
    except DomainError as error:
        refuse(request, error)
    return _back(request)


urlpatterns = [
    path("shipments/", shipment_list, name="warehouse-shipments"),
    path("shipments/<int:pk>/hand-over/", shipment_hand_over, name="warehouse-shipment-hand-over"),
]
