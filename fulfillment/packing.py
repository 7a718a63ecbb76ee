"""The pack station: scan each unit against the shipment, choose the box,
weigh, rate and label the parcel.

Which shipments can be packed: a PICKING one (units are packed only once
picked), or a RELEASED one at a store or for pick-up, which staff pack
straight from the shelf (FO_TRANSITIONS lets those skip the pick list).
A released shipment of a distribution centre must be picked first.

Every accepted scan writes one "pack_scan" event: a single INSERT next to
the counter UPDATE, and it answers "who packed what, when" without replaying
a log. Refused scans change nothing and leave no row.

pack_complete runs in three steps so no carrier call happens while row locks
are held: (1) lock, validate, save box and weights; (2) with no transaction
open, re-rate the parcel and register it with the carrier; (3) a short
locked transaction stores the tracking number and moves the shipment to
packed. A retry after a failure in step 2 repeats the steps: the carrier
adapters issue one tracking number per shipment, so nothing is doubled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F

from inventory.models import SKU, Warehouse
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition

from .boxes import BoxChoice, Item, rank_boxes
from .carriers import Parcel, adapter_for
from .models import Box, FulfillmentOrder, FulfillmentOrderLine, PackagingMaterial
from .rates import fulfillment_order_rate
from .services.lifecycle import access_fulfillment_order, fo_event, fo_transition, order_follow_shipments

Status = FulfillmentOrder.Status

MAX_SCAN_QUANTITY = 1000
# No parcel carrier takes more; a larger reading is a scale or typing error.
MAX_PARCEL_GRAMS = 70_000
DEFAULT_DIM_DIVISOR = 5000


@dataclass(frozen=True)
class LineProgress:
    sku: str
    name: str
    barcode: str
    quantity: int
    picked: int
    packed: int

    @property
    def left(self) -> int:
        return self.quantity - self.packed

    def as_dict(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "barcode": self.barcode,
            "quantity": self.quantity,
            "picked": self.picked,
            "packed": self.packed,
            "left": self.left,
        }


@dataclass(frozen=True)
class PackScanResult:
    fulfillment_order_id: int
    shipment: str
    sku: str
    packed_now: int
    lines: list[LineProgress] = field(default_factory=list)

    @property
    def units_left(self) -> int:
        return sum(line.left for line in self.lines)

    @property
    def complete(self) -> bool:
        return self.units_left == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "fulfillment_order_id": self.fulfillment_order_id,
            "shipment": self.shipment,
            "sku": self.sku,
            "packed_now": self.packed_now,
            "units_left": self.units_left,
            "complete": self.complete,
            "lines": [line.as_dict() for line in self.lines],
        }


# --- Scanning ------------------------------------------------------------------------


@transaction.atomic
def pack_scan(*, fulfillment_order_id: int, barcode: str, actor: Actor, quantity: int = 1) -> PackScanResult:
    """Count `quantity` scanned units of the SKU with `barcode` into the parcel."""
    code = barcode.strip() if isinstance(barcode, str) else ""
    if not code:
        raise InvalidInput.field("barcode", "scan a barcode")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_SCAN_QUANTITY:
        raise InvalidInput.field("quantity", f"must be a whole number from 1 to {MAX_SCAN_QUANTITY}")

    fo = access_fulfillment_order(fulfillment_order_id, for_update=True)
    packable_check(fo)
    sku = SKU.objects.filter(barcode=code).first() or SKU.objects.filter(code=code).first()
    if sku is None:
        raise InvalidInput.field("barcode", f"unknown barcode {code[:48]}", code="unknown_barcode")
    lines = list(fo.lines.filter(sku=sku).order_by("id"))
    if not lines:
        raise Conflict(
            f"Wrong item: {sku.code} (barcode {sku.barcode}) is not in shipment {fo.number}.",
            code="wrong_item",
            sku=sku.code,
        )
    open_units = sum(line.quantity_open for line in lines)
    packed = sum(line.quantity_packed for line in lines)
    if packed + quantity > open_units:
        message = (
            f"All {open_units} of {sku.code} are already packed."
            if packed >= open_units
            else f"Only {open_units - packed} more of {sku.code} belong in this parcel; {quantity} scanned."
        )
        raise Conflict(message, code="extra_unit", sku=sku.code)
    picking = fo.status == Status.PICKING
    if picking:
        picked = sum(line.quantity_picked for line in lines)
        if packed + quantity > picked:
            raise Conflict(
                f"Only {picked} of {open_units} {sku.code} have been picked and {packed} are packed; "
                f"pick the rest before packing them.",
                code="not_picked",
                sku=sku.code,
            )

    left = quantity
    for line in lines:
        # Picked shipments pack what was picked; shelf packing what the line carries.
        limit = line.quantity_picked if picking else line.quantity_open
        take = min(left, limit - line.quantity_packed)
        if take <= 0:
            continue
        ceiling = F("quantity_picked") if picking else F("quantity") - F("quantity_short")
        updated = FulfillmentOrderLine.objects.filter(pk=line.pk, quantity_packed__lte=ceiling - take).update(
            quantity_packed=F("quantity_packed") + take
        )
        if not updated:  # cannot happen under the FO lock; refuse rather than overpack
            raise Conflict(f"{sku.code} changed while scanning; scan again.", code="concurrent_change")
        left -= take
        if left == 0:
            break
    fo_event(
        fo,
        "pack_scan",
        actor,
        message=f"{quantity} x {sku.code}",
        data={"sku": sku.code, "barcode": code[:48], "quantity": quantity},
    )
    return PackScanResult(
        fulfillment_order_id=fo.pk,
        shipment=fo.number,
        sku=sku.code,
        packed_now=quantity,
        lines=_progress(fo),
    )


def pack_progress(*, fulfillment_order_id: int) -> list[LineProgress]:
    """What the shipment carries, per SKU, and how much of it is packed."""
    return _progress(access_fulfillment_order(fulfillment_order_id))


# --- Box choice ------------------------------------------------------------------------


def box_suggest(*, fulfillment_order_id: int) -> BoxChoice:
    """The cheapest standard box (and material) the shipment's units fit in."""
    fo = access_fulfillment_order(fulfillment_order_id)
    items, fragile = _items(fo)
    return _choose(fo, items, fragile, box=None, material=None)


def _choose(
    fo: FulfillmentOrder,
    items: list[Item],
    fragile: bool,
    *,
    box: Box | None,
    material: PackagingMaterial | None,
) -> BoxChoice:
    if not items:
        raise Conflict(f"Shipment {fo.number} has nothing left to pack.", code="nothing_to_pack")
    boxes = [box] if box else list(Box.objects.filter(is_active=True))
    materials = [material] if material else list(PackagingMaterial.objects.filter(is_active=True))
    report = rank_boxes(items, boxes, materials, fragile=fragile)
    if report.choice is not None:
        return report.choice
    reasons = "; ".join(
        f"{r.box_code}{' + ' + r.material_code if r.material_code else ''}: {r.message}"
        for r in report.rejected
    )
    if box is not None or material is not None:
        name = "box" if box is not None else "material"
        chosen = box.code if box is not None else material.code  # type: ignore[union-attr]
        raise InvalidInput.field(
            name, f"{chosen} cannot take this shipment: {reasons}", code="box_unsuitable"
        )
    raise Conflict(
        f"No standard box fits shipment {fo.number}: {reasons or 'no active boxes'}.",
        code="no_box_fits",
        rejected=[r.as_dict() for r in report.rejected],
    )


# --- Completion -----------------------------------------------------------------------


def pack_complete(
    *,
    fulfillment_order_id: int,
    actor: Actor,
    box_code: str | None = None,
    material_code: str | None = None,
    weight_grams: int | None = None,
) -> FulfillmentOrder:
    """Close the parcel: box, weights, rate, tracking number, status packed.
    Pick-up shipments get no label: they become packed, ready for collection."""
    fo, parcel = _close_parcel(
        fulfillment_order_id=fulfillment_order_id,
        actor=actor,
        box_code=box_code,
        material_code=material_code,
        weight_grams=weight_grams,
    )
    if parcel is None:
        return fo
    # No locks held from here: the carrier's API may be slow or down.
    _rate(fo, actor)
    fo = access_fulfillment_order(fo.pk)
    tracking = adapter_for(fo.service.carrier).create_shipment(fulfillment_order=fo, parcel=parcel)
    return _mark_packed(fulfillment_order_id=fo.pk, tracking_number=tracking, actor=actor)


@transaction.atomic
def _close_parcel(
    *,
    fulfillment_order_id: int,
    actor: Actor,
    box_code: str | None,
    material_code: str | None,
    weight_grams: int | None,
) -> tuple[FulfillmentOrder, Parcel | None]:
    fo = access_fulfillment_order(fulfillment_order_id, for_update=True)
    packable_check(fo)
    box = _named(Box, box_code, "box")
    material = _named(PackagingMaterial, material_code, "material")
    missing = [p for p in _progress(fo) if p.left]
    if missing:
        listed = ", ".join(f"{p.left} x {p.sku}" for p in missing)
        raise Conflict(
            f"Shipment {fo.number} is not fully scanned; still to pack: {listed}.",
            code="pack_incomplete",
            missing=[p.as_dict() for p in missing],
        )
    shipping = fo.method == FulfillmentOrder.Method.SHIP
    items, fragile = _items(fo)
    choice = _choose(fo, items, fragile, box=box, material=material)
    weight = _measured(weight_grams, choice) if weight_grams is not None else choice.weight_grams
    # Outer dimensions are not recorded; the inner ones stand in (walls are a few mm).
    length, width, height = choice.box_dims_mm
    divisor = fo.service.dim_divisor if fo.service_id else DEFAULT_DIM_DIVISOR
    fo.box, fo.material = choice.box, choice.material
    fo.weight_grams = weight
    fo.dim_weight_grams = _dim_weight(choice.box, divisor)
    fo.save(update_fields=["box", "material", "weight_grams", "dim_weight_grams", "updated_at"])
    fo_event(
        fo,
        "pack_box",
        actor,
        message=f"{choice.box.code}, {weight} g",
        data={
            **choice.as_dict(),
            "weight_grams": weight,
            "measured": weight_grams is not None,
            "dim_weight_grams": fo.dim_weight_grams,
            "staff_choice": bool(box_code or material_code),
        },
    )
    if not shipping:
        fo_transition(fo, Status.PACKED, actor=actor, kind="packed", message="Ready for collection.")
        order_follow_shipments(fo.order, actor=actor)
        return fo, None
    return fo, Parcel(weight_grams=weight, length_mm=length, width_mm=width, height_mm=height)


@transaction.atomic
def _mark_packed(*, fulfillment_order_id: int, tracking_number: str, actor: Actor) -> FulfillmentOrder:
    fo = access_fulfillment_order(fulfillment_order_id, for_update=True)
    if fo.tracking_number and fo.tracking_number != tracking_number:
        raise Conflict(
            f"Shipment {fo.number} already has tracking number {fo.tracking_number}; "
            f"the carrier returned {tracking_number}.",
            code="tracking_mismatch",
        )
    if fo.status == Status.PACKED and fo.tracking_number == tracking_number:
        return fo  # a retry that lost the race to an earlier attempt
    # Re-checked: the shipment may have been cancelled while the carrier answered.
    packable_check(fo)
    fo.tracking_number = tracking_number
    fields = ["tracking_number", "updated_at"]
    if fo.service_id and fo.box_id:  # rating may have chosen another service, with its own divisor
        fo.dim_weight_grams = _dim_weight(fo.box, fo.service.dim_divisor)
        fields.append("dim_weight_grams")
    fo.save(update_fields=fields)
    fo_transition(
        fo,
        Status.PACKED,
        actor=actor,
        kind="packed",
        message=f"Tracking {tracking_number}",
        data={"tracking_number": tracking_number},
    )
    order_follow_shipments(fo.order, actor=actor)
    return fo


def _rate(fo: FulfillmentOrder, actor: Actor) -> None:
    """Re-rate the shipment with the real parcel, which rating reads from the
    box and weight saved in step 1; a service staff chose by hand stays."""
    fulfillment_order_rate(fulfillment_order_id=fo.pk, actor=actor)


# --- Shared checks ---------------------------------------------------------------------


def packable_check(fo: FulfillmentOrder) -> None:
    """Refuses (InvalidTransition, saying why) a shipment that cannot be packed now."""
    if fo.status == Status.PICKING:
        return
    if fo.status == Status.RELEASED:
        if fo.warehouse.kind == Warehouse.Kind.STORE or fo.method == FulfillmentOrder.Method.PICKUP:
            return
        raise InvalidTransition(
            f"Shipment {fo.number} is released but not picked yet; pick it before packing.",
            current_status=fo.status,
        )
    problem = {
        Status.PENDING: "is pending (not released to the warehouse); it cannot be packed yet",
        Status.PACKED: "is already packed",
        Status.CANCELLED: "is cancelled; it cannot be packed",
    }.get(fo.status, f"is {fo.get_status_display().lower()}; it cannot be packed again")
    raise InvalidTransition(f"Shipment {fo.number} {problem}.", current_status=fo.status)


def _named(model: type[Box] | type[PackagingMaterial], code: str | None, name: str) -> Any:
    if code is None or code == "":
        return None
    found = model.objects.filter(code=code, is_active=True).first()
    if found is None:
        raise InvalidInput.field(name, f"unknown {name} '{code}'", code=f"unknown_{name}")
    return found


def _measured(weight_grams: int, choice: BoxChoice) -> int:
    if isinstance(weight_grams, bool) or not isinstance(weight_grams, int) or weight_grams <= 0:
        raise InvalidInput.field("weight_grams", "must be a positive whole number of grams")
    if weight_grams > MAX_PARCEL_GRAMS:
        raise InvalidInput.field(
            "weight_grams", f"{weight_grams} g is over {MAX_PARCEL_GRAMS} g; check the scale"
        )
    empty = choice.box.empty_weight_grams
    if weight_grams < empty:
        raise InvalidInput.field(
            "weight_grams", f"{weight_grams} g is less than the empty {choice.box.code} box ({empty} g)"
        )
    if weight_grams > choice.box.max_weight_grams:
        raise InvalidInput.field(
            "weight_grams",
            f"{weight_grams} g is over what box {choice.box.code} carries ({choice.box.max_weight_grams} g)",
        )
    return weight_grams


def _dim_weight(box: Box, divisor: int) -> int:
    """Grams: L x W x H in cm / divisor gives kg, so mm^3 / divisor gives grams."""
    return math.ceil(box.inner_length_mm * box.inner_width_mm * box.inner_height_mm / divisor)


def _items(fo: FulfillmentOrder) -> tuple[list[Item], bool]:
    """The shipment's open units as box-fit items, and whether any is fragile."""
    per_sku: dict[int, list[Any]] = {}
    for line in fo.lines.select_related("sku").order_by("id"):
        if line.quantity_open > 0:
            per_sku.setdefault(line.sku_id, [line.sku, 0])[1] += line.quantity_open
    items = [
        Item(sku.length_mm, sku.width_mm, sku.height_mm, sku.weight_grams, qty, sku.code)
        for sku, qty in per_sku.values()
    ]
    return items, any(sku.is_fragile for sku, _ in per_sku.values())


def _progress(fo: FulfillmentOrder) -> list[LineProgress]:
    per_sku: dict[int, dict[str, Any]] = {}
    for line in fo.lines.select_related("sku").order_by("id"):
        row = per_sku.setdefault(
            line.sku_id,
            {
                "sku": line.sku.code,
                "name": line.sku.name,
                "barcode": line.sku.barcode,
                "q": 0,
                "pi": 0,
                "pa": 0,
            },
        )
        row["q"] += line.quantity_open
        row["pi"] += line.quantity_picked
        row["pa"] += line.quantity_packed
    return [
        LineProgress(r["sku"], r["name"], r["barcode"], quantity=r["q"], picked=r["pi"], packed=r["pa"])
        for r in per_sku.values()
        if r["q"] > 0
    ]
