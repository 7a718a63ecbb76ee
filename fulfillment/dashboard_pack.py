"""The pack station page (/dashboard/warehouse/pack/), driven by a barcode
scanner, which is a keyboard that types the code and presses Enter.

One text box, always focused, takes every scan (htmx posts it; the station
panel is swapped in with the answer):

- a shipment number (F00000042, on the packing slip and the tote) opens
  that shipment;
- a pick list number (P000042, on the printed list) opens the list: with one
  shipment on it, that shipment; else the packer scans a shipment or types
  its tote slot number;
- anything else, with a shipment open, is an item barcode (EAN/UPC or SKU
  code), `3*<code>` for three units: fulfillment.packing.pack_scan counts it
  or refuses it (wrong item, one too many, not picked yet) and nothing is
  counted.

When every unit is scanned the suggested box is shown (fulfillment.boxes,
through packing.box_suggest) and "Close the parcel" runs pack_complete:
box, weight, rate, carrier label; the label and the packing slip then open
from the document API. The panel is server-rendered after every scan, so
what the packer sees is what the database holds.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Min
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _t
from django.views.decorators.http import require_POST

from inventory.access import scope
from oms.actors import Actor
from oms.dashboard import staff_page
from oms.errors import DomainError

from .dashboard import FO_STATUS_LABELS, visible_or_404
from .models import Box, FulfillmentOrder, PackagingMaterial, PickList, PickListLine
from .packing import (
    MAX_PARCEL_GRAMS,
    MAX_SCAN_QUANTITY,
    box_suggest,
    pack_complete,
    pack_progress,
    pack_scan,
    packable_check,
)

Status = FulfillmentOrder.Status

# The numbers printed on packing slips / totes and on pick lists (FulfillmentOrder.number, "P%06d").
SHIPMENT_CODE = re.compile(r"^F(\d{8,12})$", re.IGNORECASE)
PICK_LIST_CODE = re.compile(r"^P(\d{6,12})$", re.IGNORECASE)
# "3*<barcode>": three units of the item in one scan.
MULTIPLE = re.compile(r"^(\d{1,4})\*(.+)$")
MAX_TOTE_DIGITS = 3


class CloseForm(forms.Form):
    box = forms.CharField(max_length=32, required=False)
    material = forms.CharField(max_length=32, required=False)
    weight_grams = forms.IntegerField(min_value=1, max_value=MAX_PARCEL_GRAMS, required=False)


def _station_shipments():
    return FulfillmentOrder.objects.select_related(
        "order", "warehouse", "service__carrier", "box", "material"
    )


def _id(raw) -> int | None:
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) <= 12 else None


def _visible(request, queryset, pk: int | None):
    if pk is None:
        return None
    return scope(queryset, request, field="warehouse").filter(pk=pk).first()


def tote_rows(pick_list: PickList) -> list[dict]:
    """The shipments on a pick list with their tote slot, in slot order. One query."""
    rows = (
        PickListLine.objects.filter(pick_list=pick_list)
        .order_by()
        .values(
            "fulfillment_line__fulfillment_order_id",
            "fulfillment_line__fulfillment_order__status",
        )
        .annotate(slot=Min("tote_slot"))
        .order_by("slot", "fulfillment_line__fulfillment_order_id")
    )
    return [
        {
            "id": row["fulfillment_line__fulfillment_order_id"],
            "number": f"F{row['fulfillment_line__fulfillment_order_id']:08d}",
            "slot": row["slot"],
            "status": row["fulfillment_line__fulfillment_order__status"],
            "status_label": FO_STATUS_LABELS.get(row["fulfillment_line__fulfillment_order__status"]),
            "packed": row["fulfillment_line__fulfillment_order__status"]
            not in (Status.RELEASED, Status.PICKING),
        }
        for row in rows
    ]


def station(request, *, fo: FulfillmentOrder | None, pick_list: PickList | None, result: dict | None = None):
    """Everything the station panel shows for the open shipment / pick list."""
    context: dict = {
        "fo": fo,
        "pick_list": pick_list,
        "result": result,
        "totes": [],
        "lines": [],
        "base_currency": settings.BASE_CURRENCY,
    }
    if pick_list is not None:
        context["totes"] = tote_rows(pick_list)
    if fo is None:
        return context
    fo.status_label = FO_STATUS_LABELS.get(fo.status, fo.status)
    lines = pack_progress(fulfillment_order_id=fo.pk)
    context["lines"] = lines
    context["units"] = sum(line.quantity for line in lines)
    context["packed"] = sum(line.packed for line in lines)
    context["left"] = context["units"] - context["packed"]
    try:
        packable_check(fo)
    except DomainError as error:
        context["packable"], context["not_packable"] = False, error.message
    else:
        context["packable"] = True
    context["labelled"] = bool(fo.tracking_number) and fo.status != Status.CANCELLED
    # The box is shown from the start, so the packer takes it before scanning into it.
    if context["packable"] and context["units"]:
        try:
            context["choice"] = box_suggest(fulfillment_order_id=fo.pk)
        except DomainError as error:
            context["box_problem"] = error.message
        context["boxes"] = list(Box.objects.filter(is_active=True))
        context["materials"] = list(PackagingMaterial.objects.filter(is_active=True))
    return context


def _state_query(fo: FulfillmentOrder | None, pick_list: PickList | None) -> str:
    params = {}
    if fo is not None:
        params["shipment"] = fo.pk
    if pick_list is not None:
        params["pick_list"] = pick_list.pk
    return urlencode(params)


def _answer(request, fo, pick_list, result: dict):
    """htmx: the station panel with the answer, the address bar following the
    open shipment; without htmx: a message and the page again (POST-redirect-GET)."""
    url = reverse("dashboard:warehouse-pack")
    query = _state_query(fo, pick_list)
    if request.htmx:
        response = render(
            request,
            "dashboard/warehouse/_pack_station.html",
            station(request, fo=fo, pick_list=pick_list, result=result),
        )
        response["HX-Replace-Url"] = f"{url}?{query}" if query else url
        return response
    (messages.success if result["ok"] else messages.error)(request, result["message"])
    return redirect(f"{url}?{query}" if query else url)


@staff_page("warehouse.view")
def pack_station(request):
    fo = None
    pick_list = None
    if (pk := _id(request.GET.get("shipment"))) is not None:
        fo = visible_or_404(_station_shipments(), request, pk)
    if (pk := _id(request.GET.get("pick_list"))) is not None:
        pick_list = visible_or_404(PickList.objects.all(), request, pk)
    context = station(request, fo=fo, pick_list=pick_list)
    return render(request, "dashboard/warehouse/pack.html", context)


def _ok(message: str) -> dict:
    return {"ok": True, "message": message}


def _bad(message: str) -> dict:
    return {"ok": False, "message": message}


def _open_shipment(request, fo: FulfillmentOrder) -> dict:
    try:
        packable_check(fo)
    except DomainError as error:
        if fo.tracking_number and fo.status == Status.PACKED:
            return _ok(_t("Shipment %(number)s is packed: reprint its label below.") % {"number": fo.number})
        return _bad(error.message)
    return _ok(_t("Shipment %(number)s opened: scan its items.") % {"number": fo.number})


def _scan(request, code: str, fo, pick_list):
    """(open shipment, open pick list, result) after one scan."""
    if not code:
        return fo, pick_list, _bad(_t("Nothing was scanned."))
    if match := SHIPMENT_CODE.match(code):
        found = _visible(request, _station_shipments(), int(match.group(1)))
        if found is None:
            return fo, pick_list, _bad(_t("No shipment %(code)s at your locations.") % {"code": code.upper()})
        if pick_list is not None and not any(t["id"] == found.pk for t in tote_rows(pick_list)):
            pick_list = None
        return found, pick_list, _open_shipment(request, found)
    if match := PICK_LIST_CODE.match(code):
        found = _visible(request, PickList.objects.all(), int(match.group(1)))
        if found is None:
            return (
                fo,
                pick_list,
                _bad(_t("No pick list %(code)s at your locations.") % {"code": code.upper()}),
            )
        totes = tote_rows(found)
        if len(totes) == 1:
            shipment = _station_shipments().get(pk=totes[0]["id"])
            return shipment, found, _open_shipment(request, shipment)
        return (
            None,
            found,
            _ok(
                _t("Pick list %(code)s has %(count)s shipments: scan a shipment or type its tote number.")
                % {"code": code.upper(), "count": len(totes)}
            ),
        )
    if pick_list is not None and code.isdigit() and len(code) <= MAX_TOTE_DIGITS:
        for tote in tote_rows(pick_list):
            if tote["slot"] == int(code):
                shipment = _station_shipments().get(pk=tote["id"])
                return shipment, pick_list, _open_shipment(request, shipment)
        return (
            fo,
            pick_list,
            _bad(
                _t("Pick list %(list)s has no tote %(slot)s.")
                % {"list": f"P{pick_list.pk:06d}", "slot": code}
            ),
        )
    if fo is None:
        return fo, pick_list, _bad(_t("Scan a shipment (F…) or pick list (P…) barcode first."))
    quantity, barcode = 1, code
    if match := MULTIPLE.match(code):
        quantity, barcode = int(match.group(1)), match.group(2).strip()
        if not 1 <= quantity <= MAX_SCAN_QUANTITY:
            return fo, pick_list, _bad(_t("Scan 1 to %(max)s units at once.") % {"max": MAX_SCAN_QUANTITY})
    try:
        scanned = pack_scan(
            fulfillment_order_id=fo.pk, barcode=barcode, quantity=quantity, actor=Actor.for_user(request.user)
        )
    except DomainError as error:
        return fo, pick_list, _bad(_t("Refused: %(problem)s") % {"problem": error.message})
    fo = _station_shipments().get(pk=fo.pk)
    if scanned.complete:
        return (
            fo,
            pick_list,
            _ok(
                _t("%(quantity)s x %(sku)s counted. Every unit is in: close the parcel.")
                % {"quantity": quantity, "sku": scanned.sku}
            ),
        )
    return (
        fo,
        pick_list,
        _ok(
            _t("%(quantity)s x %(sku)s counted; %(left)s units left to scan.")
            % {"quantity": quantity, "sku": scanned.sku, "left": scanned.units_left}
        ),
    )


def _posted_state(request):
    fo = _visible(request, _station_shipments(), _id(request.POST.get("shipment")))
    pick_list = _visible(request, PickList.objects.all(), _id(request.POST.get("pick_list")))
    return fo, pick_list


@staff_page("warehouse.change")
@require_POST
def pack_scan_view(request):
    fo, pick_list = _posted_state(request)
    code = request.POST.get("code", "").strip()[:80]
    fo, pick_list, result = _scan(request, code, fo, pick_list)
    return _answer(request, fo, pick_list, result)


@staff_page("warehouse.change")
@require_POST
def pack_close_view(request):
    fo, pick_list = _posted_state(request)
    if fo is None:
        return _answer(request, None, pick_list, _bad(_t("Open a shipment before closing its parcel.")))
    form = CloseForm(request.POST)
    if not form.is_valid():
        problem = _t("the weight must be a whole number of grams from 1 to %(max)s") % {
            "max": MAX_PARCEL_GRAMS
        }
        return _answer(request, fo, pick_list, _bad(_t("Refused: %(problem)s") % {"problem": problem}))
    v = form.cleaned_data
    try:
        fo = pack_complete(
            fulfillment_order_id=fo.pk,
            box_code=v["box"] or None,
            material_code=v["material"] or None,
            weight_grams=v["weight_grams"],
            actor=Actor.for_user(request.user),
        )
    except DomainError as error:
        return _answer(request, fo, pick_list, _bad(_t("Refused: %(problem)s") % {"problem": error.message}))
    fo = _station_shipments().get(pk=fo.pk)
    if fo.tracking_number:
        message = _t("Parcel %(number)s closed in box %(box)s; tracking %(tracking)s. Print the label.") % {
            "number": fo.number,
            "box": fo.box.code if fo.box_id else "-",
            "tracking": fo.tracking_number,
        }
    else:
        message = _t("Parcel %(number)s closed: ready for collection in store.") % {"number": fo.number}
    return _answer(request, fo, pick_list, _ok(message))


urlpatterns = [
    path("pack/", pack_station, name="warehouse-pack"),
    path("pack/scan/", pack_scan_view, name="warehouse-pack-scan"),
    path("pack/close/", pack_close_view, name="warehouse-pack-close"),
]
