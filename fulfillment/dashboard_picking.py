"""Dashboard pages for waves and pick lists (see fulfillment/dashboard.py):
list them, run a wave or make pick lists for a location, follow a wave,
walk a pick list in bin order and confirm, scan or short its units.

Every action calls the picking services (fulfillment.picking) with the
staff member as actor; their refusals come back as messages."""

from __future__ import annotations

from collections import OrderedDict

from django import forms
from django.contrib import messages
from django.db.models import Count, Min
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from oms.actors import Actor
from oms.dashboard import paginate, query_without, staff_page
from oms.errors import DomainError

from .dashboard import (
    FO_STATUS_LABELS,
    LIST_MODE_LABELS,
    LIST_STATUS_LABELS,
    WAVE_STATUS_LABELS,
    chosen_location,
    in_locations,
    label_lists,
    label_rows,
    live,
    locations_for,
    refuse,
    visible_or_404,
)
from .models import Carrier, FulfillmentOrder, PickList, PickListLine, Wave
from .picking import (
    pick_confirm_line,
    pick_list_cancel,
    pick_lists_create,
    pick_scan,
    pick_short,
    wave_cancel,
    wave_create,
    wave_release,
)
from .picking.common import MAX_SCAN_QUANTITY, next_stop, units_left
from .picking.lists import DEFAULT_MAX_ORDERS, MAX_ORDERS
from .picking.selectors import pick_list_lines, pick_lists, waves
from .shipping.selectors import shipments

# --- Forms -----------------------------------------------------------------------------------


class LocationForm(forms.Form):
    """A form whose location must be one the staff member may work."""

    location = forms.TypedChoiceField(label=_("Location"), coerce=int)

    def __init__(self, *args, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["location"].choices = [(loc.pk, f"{loc.code} {loc.name}") for loc in locations]


class WaveRunForm(LocationForm):
    carrier = forms.TypedChoiceField(label=_("Carrier"), coerce=int, required=False, empty_value=None)
    ship_by = forms.DateField(
        label=_("Due on or before"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    max_orders = forms.IntegerField(
        label=_("At most shipments"), min_value=1, max_value=MAX_ORDERS, initial=DEFAULT_MAX_ORDERS
    )
    consolidation_point = forms.CharField(label=_("Consolidation point"), max_length=40, required=False)
    release = forms.BooleanField(label=_("Release to the pickers at once"), required=False, initial=True)

    def __init__(self, *args, carriers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carrier"].choices = [("", _("Any carrier"))] + [(c.pk, c.name) for c in carriers]


class PickListsForm(LocationForm):
    mode = forms.ChoiceField(
        label=_("Picking"),
        choices=[
            (m, LIST_MODE_LABELS[m]) for m in (PickList.Mode.SINGLE, PickList.Mode.BATCH, PickList.Mode.ZONE)
        ],
        initial=PickList.Mode.BATCH,
    )
    max_orders = forms.IntegerField(
        label=_("At most shipments"), min_value=1, max_value=MAX_ORDERS, initial=DEFAULT_MAX_ORDERS
    )
    zone = forms.CharField(label=_("Only zone"), max_length=16, required=False)


class PickScanForm(forms.Form):
    bin = forms.CharField(label=_("Bin"), max_length=32, required=False)
    barcode = forms.CharField(label=_("Item barcode"), max_length=64)
    quantity = forms.IntegerField(label=_("Units"), min_value=1, max_value=MAX_SCAN_QUANTITY, initial=1)


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_SCAN_QUANTITY)


def form_problems(form: forms.Form) -> str:
    return "; ".join(
        f"{form.fields[name].label if name in form.fields else name}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )


def active_carriers() -> list[Carrier]:
    return list(Carrier.objects.filter(is_active=True).only("id", "name").order_by("name"))


# --- Waves -------------------------------------------------------------------------------------


def waiting_to_pick(locations, chosen) -> list[dict]:
    """Released shipments waiting for a list, per location and carrier, with
    the earliest ship-by day: what the next wave would take. One query."""
    return list(
        in_locations(FulfillmentOrder.objects.all(), locations, chosen)
        .filter(status=FulfillmentOrder.Status.RELEASED, method=FulfillmentOrder.Method.SHIP)
        .order_by()
        .values("warehouse__code", "service__carrier__name")
        .annotate(shipments=Count("id"), earliest=Min("ship_by"))
        .order_by("warehouse__code", "earliest", "service__carrier__name")
    )


@staff_page("warehouse.view")
def wave_list(request):
    locations = locations_for(request)
    chosen = chosen_location(request, locations)
    qs = in_locations(waves(), locations, chosen)
    status = request.GET.get("status", "")
    if status in Wave.Status.values:
        qs = qs.filter(status=status)
    page = paginate(request, qs)
    page.items = label_rows(page.items, WAVE_STATUS_LABELS)
    initial = {"location": chosen.pk} if chosen else {}
    context = {
        "locations": locations,
        "chosen": chosen,
        "status": status,
        "statuses": list(WAVE_STATUS_LABELS.items()),
        "page": page,
        "query": query_without(request, "page"),
        "form": WaveRunForm(locations=locations, carriers=active_carriers(), initial=initial),
        "waiting": waiting_to_pick(locations, chosen),
    }
    return live(request, "dashboard/warehouse/waves.html", "dashboard/warehouse/_waves_live.html", context)


@staff_page("warehouse.change")
@require_POST
def wave_run(request):
    locations = locations_for(request)
    form = WaveRunForm(request.POST, locations=locations, carriers=active_carriers())
    if not form.is_valid():
        messages.error(request, _t("The wave was not run: %(problems)s") % {"problems": form_problems(form)})
        return redirect("dashboard:warehouse-waves")
    v = form.cleaned_data
    actor = Actor.for_user(request.user)
    try:
        wave = wave_create(
            warehouse_id=v["location"],
            carrier_id=v["carrier"],
            ship_by=v["ship_by"],
            max_orders=v["max_orders"],
            consolidation_point=v["consolidation_point"],
            actor=actor,
        )
    except DomainError as error:
        refuse(request, error)
        return redirect(f"{reverse('dashboard:warehouse-waves')}?location={v['location']}")
    if v["release"]:
        try:
            wave_release(wave_id=wave.pk, actor=actor)
        except DomainError as error:
            refuse(request, error)
            return redirect("dashboard:warehouse-wave", pk=wave.pk)
        messages.success(request, _t("%(wave)s is planned and released to the pickers.") % {"wave": wave})
    else:
        messages.success(
            request, _t("%(wave)s is planned; release it when the pickers are ready.") % {"wave": wave}
        )
    return redirect("dashboard:warehouse-wave", pk=wave.pk)


@staff_page("warehouse.view")
def wave_detail(request, pk: int):
    wave = visible_or_404(waves(), request, pk)
    wave.status_label = WAVE_STATUS_LABELS.get(wave.status, wave.status)
    lists = label_lists(pick_lists().filter(wave=wave).order_by("id"))
    members = label_rows(
        shipments().filter(wave=wave).select_related("order").order_by("-priority", "ship_by", "id"),
        FO_STATUS_LABELS,
    )
    context = {
        "wave": wave,
        "lists": lists,
        "shipments": members,
        "units": sum(pl.units for pl in lists),
        "picked": sum(pl.units_picked for pl in lists),
        "short": sum(pl.units_short for pl in lists),
        "can_release": wave.status == Wave.Status.PLANNED,
        "can_cancel": wave.status in (Wave.Status.PLANNED, Wave.Status.RELEASED),
    }
    return live(request, "dashboard/warehouse/wave.html", "dashboard/warehouse/_wave_live.html", context)


def _wave_action(request, pk: int, service, done_message: str):
    wave = visible_or_404(Wave.objects.all(), request, pk)
    try:
        wave = service(wave_id=wave.pk, actor=Actor.for_user(request.user))
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(request, done_message % {"wave": wave})
    return redirect("dashboard:warehouse-wave", pk=pk)


@staff_page("warehouse.change")
@require_POST
def wave_release_view(request, pk: int):
    return _wave_action(request, pk, wave_release, _t("%(wave)s is released to the pickers."))


@staff_page("warehouse.change")
@require_POST
def wave_cancel_view(request, pk: int):
    return _wave_action(
        request, pk, wave_cancel, _t("%(wave)s is cancelled; shipments not picked went back to the queue.")
    )


# --- Pick lists ------------------------------------------------------------------------------


@staff_page("warehouse.view")
def pick_list_list(request):
    locations = locations_for(request)
    chosen = chosen_location(request, locations)
    qs = in_locations(pick_lists(), locations, chosen)
    status, mode = request.GET.get("status", ""), request.GET.get("mode", "")
    if status == "open":
        qs = qs.filter(status__in=(PickList.Status.OPEN, PickList.Status.IN_PROGRESS))
    elif status in PickList.Status.values:
        qs = qs.filter(status=status)
    if mode in PickList.Mode.values:
        qs = qs.filter(mode=mode)
    wave = request.GET.get("wave", "")
    if wave.isdigit():
        qs = qs.filter(wave_id=int(wave))
    page = paginate(request, qs)
    page.items = label_lists(page.items)
    initial = {"location": chosen.pk} if chosen else {}
    context = {
        "locations": locations,
        "chosen": chosen,
        "status": status,
        "mode": mode,
        "wave": wave,
        "statuses": [("open", _("Open or in progress")), *LIST_STATUS_LABELS.items()],
        "modes": list(LIST_MODE_LABELS.items()),
        "page": page,
        "query": query_without(request, "page"),
        "form": PickListsForm(locations=locations, initial=initial),
    }
    return live(
        request, "dashboard/warehouse/pick_lists.html", "dashboard/warehouse/_pick_lists_live.html", context
    )


@staff_page("warehouse.change")
@require_POST
def pick_lists_make(request):
    form = PickListsForm(request.POST, locations=locations_for(request))
    if not form.is_valid():
        messages.error(
            request, _t("No pick lists were made: %(problems)s") % {"problems": form_problems(form)}
        )
        return redirect("dashboard:warehouse-pick-lists")
    v = form.cleaned_data
    try:
        made = pick_lists_create(
            warehouse_id=v["location"],
            mode=v["mode"],
            max_orders=v["max_orders"],
            zone_code=v["zone"] or None,
            actor=Actor.for_user(request.user),
        )
    except DomainError as error:
        refuse(request, error)
        return redirect(f"{reverse('dashboard:warehouse-pick-lists')}?location={v['location']}")
    numbers = ", ".join(f"P{pl.pk:06d}" for pl in made)
    messages.success(request, _t("Pick lists made: %(numbers)s.") % {"numbers": numbers})
    if len(made) == 1:
        return redirect("dashboard:warehouse-pick-list", pk=made[0].pk)
    return redirect(f"{reverse('dashboard:warehouse-pick-lists')}?location={v['location']}&status=open")


@staff_page("warehouse.view")
def pick_list_detail(request, pk: int):
    pick_list = visible_or_404(pick_lists(), request, pk)
    [pick_list] = label_lists([pick_list])
    lines = pick_list_lines(pick_list)
    totes: OrderedDict[int, dict] = OrderedDict()
    for line in lines:
        line.left = units_left(line)
        line.zone = line.bin.zone.code if line.bin else None
        fo = line.fulfillment_line.fulfillment_order
        tote = totes.setdefault(
            fo.pk, {"slot": line.tote_slot, "shipment": fo, "units": 0, "picked": 0, "short": 0}
        )
        tote["units"] += line.quantity
        tote["picked"] += line.quantity_picked
        tote["short"] += line.quantity_short
    for tote in totes.values():
        fo = tote["shipment"]
        tote["status_label"] = FO_STATUS_LABELS.get(fo.status, fo.status)
        tote["packable"] = fo.status == FulfillmentOrder.Status.PICKING
    workable = pick_list.status in (PickList.Status.OPEN, PickList.Status.IN_PROGRESS) and (
        not pick_list.wave_id or pick_list.wave.status == Wave.Status.RELEASED
    )
    context = {
        "pick_list": pick_list,
        "lines": lines,
        "next": next_stop(lines),
        "totes": sorted(totes.values(), key=lambda t: (t["slot"], t["shipment"].pk)),
        "workable": workable,
        "waiting_for_wave": pick_list.wave_id and pick_list.wave.status == Wave.Status.PLANNED,
        "scan_form": PickScanForm(),
    }
    return live(
        request, "dashboard/warehouse/pick_list.html", "dashboard/warehouse/_pick_list_live.html", context
    )


@staff_page("warehouse.change")
@require_POST
def pick_list_scan(request, pk: int):
    pick_list = visible_or_404(PickList.objects.all(), request, pk)
    form = PickScanForm(request.POST)
    if not form.is_valid():
        messages.error(request, _t("Scan refused: %(problems)s") % {"problems": form_problems(form)})
        return redirect("dashboard:warehouse-pick-list", pk=pk)
    v = form.cleaned_data
    try:
        progress = pick_scan(
            pick_list_id=pick_list.pk,
            bin=v["bin"],
            barcode=v["barcode"],
            quantity=v["quantity"],
            actor=Actor.for_user(request.user),
        )
    except DomainError as error:
        refuse(request, error)
    else:
        placed = ", ".join(
            _t("%(quantity)s into tote %(slot)s") % {"quantity": p["quantity"], "slot": p["slot"]}
            for p in progress.placed
        )
        messages.success(
            request,
            _t("Picked: %(placed)s. %(left)s units left on the list.")
            % {"placed": placed, "left": progress.left},
        )
    return redirect("dashboard:warehouse-pick-list", pk=pk)


def _line_action(request, pk: int, service, done_message: str):
    line = visible_or_404(PickListLine.objects.all(), request, pk, field="pick_list__warehouse")
    form = QuantityForm(request.POST)
    if not form.is_valid():
        messages.error(request, _t("Enter a number of units from 1 to %(max)s.") % {"max": MAX_SCAN_QUANTITY})
        return redirect("dashboard:warehouse-pick-list", pk=line.pick_list_id)
    quantity = form.cleaned_data["quantity"]
    try:
        service(pick_line_id=line.pk, quantity=quantity, actor=Actor.for_user(request.user))
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(request, done_message % {"quantity": quantity})
    return redirect("dashboard:warehouse-pick-list", pk=line.pick_list_id)


@staff_page("warehouse.change")
@require_POST
def pick_line_confirm(request, pk: int):
    return _line_action(request, pk, pick_confirm_line, _t("%(quantity)s units confirmed picked."))


@staff_page("warehouse.change")
@require_POST
def pick_line_short(request, pk: int):
    return _line_action(
        request,
        pk,
        pick_short,
        _t("%(quantity)s units reported short: a cycle count is opened and they are sourced again."),
    )


@staff_page("warehouse.change")
@require_POST
def pick_list_cancel_view(request, pk: int):
    pick_list = visible_or_404(PickList.objects.all(), request, pk)
    try:
        pick_list_cancel(pick_list_id=pick_list.pk, actor=Actor.for_user(request.user))
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(
            request,
            _t("%(list)s is cancelled; shipments not picked went back to the queue.") % {"list": pick_list},
        )
    return redirect("dashboard:warehouse-pick-list", pk=pk)


urlpatterns = [
    path("waves/", wave_list, name="warehouse-waves"),
    path("waves/run/", wave_run, name="warehouse-wave-run"),
    path("waves/<int:pk>/", wave_detail, name="warehouse-wave"),
    path("waves/<int:pk>/release/", wave_release_view, name="warehouse-wave-release"),
    path("waves/<int:pk>/cancel/", wave_cancel_view, name="warehouse-wave-cancel"),
    path("pick-lists/", pick_list_list, name="warehouse-pick-lists"),
    path("pick-lists/make/", pick_lists_make, name="warehouse-pick-lists-make"),
    path("pick-lists/<int:pk>/", pick_list_detail, name="warehouse-pick-list"),
    path("pick-lists/<int:pk>/scan/", pick_list_scan, name="warehouse-pick-list-scan"),
    path("pick-lists/<int:pk>/cancel/", pick_list_cancel_view, name="warehouse-pick-list-cancel"),
    path("pick-lines/<int:pk>/confirm/", pick_line_confirm, name="warehouse-pick-line-confirm"),
    path("pick-lines/<int:pk>/short/", pick_line_short, name="warehouse-pick-line-short"),
]
