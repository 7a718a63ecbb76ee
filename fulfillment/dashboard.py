"""Warehouse pages of the staff dashboard (/dashboard/warehouse/): the work
queue per location, waves and pick lists (dashboard_picking.py), the pack
station (dashboard_pack.py) and the shipments waiting for the carrier
(dashboard_shipments.py).

A warehouse user sees and works only the locations assigned to them
(inventory.access): every query below goes through `scope`, another
location's wave, pick list or shipment answers 404 and a form cannot name a
location that is not theirs. Other roles see every location and may narrow
the pages to one with the location selector.

Every page runs a constant number of SQL queries: the per-location counts
are one aggregate, the lists are sliced or paginated without counting.
"""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from inventory.access import scope
from inventory.models import Warehouse
from oms.dashboard import staff_page
from oms.errors import DomainError

from .models import FulfillmentOrder, PickList, Wave
from .models.shipments import FO_OPEN
from .picking.common import OPEN_LIST_STATUSES
from .picking.selectors import pick_lists, waves

Status = FulfillmentOrder.Status

# How many rows the landing page's lists show (each links to the full list).
LANDING_ROWS = 15

FO_STATUS_LABELS = {
    Status.PENDING: _("Pending release"),
    Status.RELEASED: _("Waiting to be picked"),
    Status.PICKING: _("Being picked"),
    Status.PACKED: _("Packed"),
    Status.SHIPPED: _("Shipped"),
    Status.IN_TRANSIT: _("In transit"),
    Status.OUT_FOR_DELIVERY: _("Out for delivery"),
    Status.DELIVERED: _("Delivered"),
    Status.EXCEPTION: _("Exception"),
    Status.CANCELLED: _("Cancelled"),
}
WAVE_STATUS_LABELS = {
    Wave.Status.PLANNED: _("Planned"),
    Wave.Status.RELEASED: _("Released"),
    Wave.Status.COMPLETED: _("Completed"),
    Wave.Status.CANCELLED: _("Cancelled"),
}
LIST_STATUS_LABELS = {
    PickList.Status.OPEN: _("Open"),
    PickList.Status.IN_PROGRESS: _("In progress"),
    PickList.Status.DONE: _("Done"),
    PickList.Status.CANCELLED: _("Cancelled"),
}
LIST_MODE_LABELS = {
    PickList.Mode.SINGLE: _("Single order"),
    PickList.Mode.BATCH: _("Batch"),
    PickList.Mode.ZONE: _("Zone"),
    PickList.Mode.WAVE: _("Wave"),
}
BADGES = {
    Status.RELEASED: "warn",
    Status.PICKING: "warn",
    Status.PACKED: "ok",
    Status.SHIPPED: "ok",
    Status.DELIVERED: "ok",
    Status.EXCEPTION: "bad",
    Status.CANCELLED: "bad",
    Wave.Status.PLANNED: "warn",
    Wave.Status.COMPLETED: "ok",
    PickList.Status.IN_PROGRESS: "warn",
    PickList.Status.DONE: "ok",
}


# --- Locations and scoping ---------------------------------------------------------------


def locations_for(request) -> list[Warehouse]:
    """The active locations the user may see (a warehouse user: theirs), by code."""
    qs = Warehouse.objects.filter(is_active=True).only("id", "code", "name", "kind").order_by("code")
    return list(scope(qs, request, field="id"))


def chosen_location(request, locations: list[Warehouse]) -> Warehouse | None:
    """The location picked with ?location=<id> among `locations`; None: all of them."""
    raw = request.GET.get("location", "")
    if raw.isdigit():
        for location in locations:
            if location.pk == int(raw):
                return location
    return None


def in_locations(queryset: QuerySet, locations: list[Warehouse], chosen: Warehouse | None, field="warehouse"):
    """`queryset` limited to the chosen location, or to every location the user may see."""
    if chosen is not None:
        return queryset.filter(**{f"{field}_id": chosen.pk})
    return queryset.filter(**{f"{field}_id__in": [loc.pk for loc in locations]})


def visible_or_404(queryset: QuerySet, request, pk: int, field: str = "warehouse"):
    """The row `pk` of `queryset` if the user may see its location, else 404
    (another location's work looks exactly like work that does not exist)."""
    found = scope(queryset, request, field=field).filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


def refuse(request, error: DomainError) -> None:
    """A service's refusal as a message naming the problem."""
    messages.error(request, error.message)


def live(request, page: str, fragment: str, context: dict):
    """The page, or just its live fragment for htmx's periodic refresh."""
    return render(request, fragment if request.htmx else page, context)


def today_start() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def label_rows(rows, labels: dict, attr: str = "status") -> list:
    """Each row with `<attr>_label` (translated) and `badge` (css class) set."""
    rows = list(rows)
    for row in rows:
        value = getattr(row, attr)
        setattr(row, f"{attr}_label", labels.get(value, value))
        if attr == "status":
            row.badge = BADGES.get(value, "")
    return rows


def label_lists(rows) -> list:
    rows = label_rows(rows, LIST_STATUS_LABELS)
    for row in rows:
        row.mode_label = LIST_MODE_LABELS.get(row.mode, row.mode)
        row.number = f"P{row.pk:06d}"
    return rows


# --- Landing: the work queue per location --------------------------------------------------


def location_queues(location_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per location: shipments waiting to be picked, being picked, packed and
    waiting for the carrier, shipped today, late (open past their ship-by
    day) and due today. One aggregate query."""
    today = timezone.localdate()
    open_ = Q(status__in=FO_OPEN)
    rows = (
        FulfillmentOrder.objects.filter(warehouse_id__in=location_ids)
        .filter(open_ | Q(shipped_at__gte=today_start()))
        .order_by()
        .values("warehouse_id")
        .annotate(
            pending=Count("id", filter=Q(status=Status.PENDING)),
            released=Count("id", filter=Q(status=Status.RELEASED)),
            picking=Count("id", filter=Q(status=Status.PICKING)),
            packed=Count("id", filter=Q(status=Status.PACKED)),
            shipped_today=Count("id", filter=Q(shipped_at__gte=today_start())),
            late=Count("id", filter=open_ & Q(ship_by__lt=today)),
            due_today=Count("id", filter=open_ & Q(ship_by=today)),
        )
    )
    return {row.pop("warehouse_id"): row for row in rows}


EMPTY_QUEUE = dict.fromkeys(
    ("pending", "released", "picking", "packed", "shipped_today", "late", "due_today"), 0
)


@staff_page("warehouse.view")
def warehouse_home(request):
    locations = locations_for(request)
    chosen = chosen_location(request, locations)
    shown = [chosen] if chosen else locations
    queues = location_queues([loc.pk for loc in shown])
    rows = [{"location": loc, **queues.get(loc.pk, EMPTY_QUEUE)} for loc in shown]
    totals = {key: sum(row[key] for row in rows) for key in EMPTY_QUEUE}
    open_waves = label_rows(
        in_locations(waves(), locations, chosen).filter(
            status__in=(Wave.Status.PLANNED, Wave.Status.RELEASED)
        )[:LANDING_ROWS],
        WAVE_STATUS_LABELS,
    )
    open_lists = label_lists(
        in_locations(pick_lists(), locations, chosen)
        .filter(status__in=OPEN_LIST_STATUSES)
        .order_by("created_at", "id")[:LANDING_ROWS]
    )
    late = label_rows(
        in_locations(FulfillmentOrder.objects.all(), locations, chosen)
        .filter(status__in=FO_OPEN, ship_by__lt=timezone.localdate())
        .select_related("order", "warehouse", "service__carrier")
        .order_by("ship_by", "-priority", "id")[:LANDING_ROWS],
        FO_STATUS_LABELS,
    )
    context = {
        "locations": locations,
        "chosen": chosen,
        "rows": rows,
        "totals": totals,
        "open_waves": open_waves,
        "open_lists": open_lists,
        "late": late,
        "today": timezone.localdate(),
        "base_currency": settings.BASE_CURRENCY,
    }
    return live(request, "dashboard/warehouse/home.html", "dashboard/warehouse/_home_live.html", context)
