"""Making pick lists and waves from released shipments of one location.

- single: one list per shipment;
- batch: several shipments on one list, each in its own tote slot, one stop
  per bin and SKU in walking order;
- zone: the shipments' units split by the zone of their bin, one list per
  zone (a picker each), the tote slots the same on every list so the totes
  can be consolidated afterwards; unlocated units get a list of their own;
- wave: wave_create picks the most urgent released shipments (by carrier and
  due date), makes zone lists for them under one Wave with a consolidation
  point, and wave_release opens them to the pickers.

A shipment is listed once: one already on an open list is refused (checked
under its lock). Listing moves it from released to picking and the order to
fulfilling. A shipment left in picking with units unpicked (its list was
cancelled part-way) may be listed again for the rest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from inventory.models import Warehouse, Zone
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput

from ..models import FulfillmentOrder, FulfillmentOrderLine, PickList, PickListLine, Wave
from ..services.lifecycle import fo_event, fo_transition, order_follow_shipments
from .common import OPEN_LIST_STATUSES, lock_shipments
from .planning import BinBook, Part, plan_shipment, shipment_lines, stops

Status = FulfillmentOrder.Status
Mode = PickList.Mode
DEFAULT_MAX_ORDERS = 12
MAX_ORDERS = 60
# How many released shipments a zone-restricted selection looks through.
ZONE_CANDIDATES = 500


@transaction.atomic
def pick_lists_create(
    *,
    warehouse_id: int,
    mode: str,
    actor: Actor,
    fulfillment_order_ids: Sequence[int] | None = None,
    max_orders: int | None = None,
    zone_code: str | None = None,
) -> list[PickList]:
    """Pick lists for the given shipments (default: the most urgent released
    ones, up to max_orders). With `zone_code`, only shipments whose units all
    sit in that zone are taken. Returns the lists, in walking order of zones."""
    if mode not in (Mode.SINGLE, Mode.BATCH, Mode.ZONE):
        raise InvalidInput.field("mode", "must be single, batch or zone (waves are made with wave_create)")
    limit = check_max_orders(max_orders)
    warehouse = lock_warehouse(warehouse_id)
    zone = _zone(warehouse, zone_code) if zone_code else None
    if fulfillment_order_ids is None:
        chosen = default_selection(warehouse, pickable(warehouse), limit, zone)
        explicit = False
    else:
        chosen = _explicit_selection(warehouse, fulfillment_order_ids, limit)
        explicit = True
    planned = lock_and_plan(warehouse, chosen, zone=zone, explicit=explicit)
    lists = build_lists(warehouse, mode, planned, zone=zone)
    mark_listed(planned, lists, actor)
    return lists


# --- Selecting and locking ----------------------------------------------------------------


def check_max_orders(value: int | None) -> int:
    if value is None:
        return DEFAULT_MAX_ORDERS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ORDERS:
        raise InvalidInput.field("max_orders", f"must be a whole number from 1 to {MAX_ORDERS}")
    return value


def lock_warehouse(warehouse_id: int) -> Warehouse:
    # NO KEY UPDATE: serializes pick planners of this location without
    # blocking inserts that reference the warehouse (they take KEY SHARE).
    warehouse = Warehouse.objects.select_for_update(no_key=True).filter(pk=warehouse_id).first()
    if warehouse is None:
        raise InvalidInput.field("warehouse", f"unknown warehouse {warehouse_id}", code="unknown_warehouse")
    return warehouse


def _zone(warehouse: Warehouse, code: str) -> Zone:
    zone = Zone.objects.filter(warehouse=warehouse, code=code.strip()).first()
    if zone is None:
        raise InvalidInput.field("zone", f"no zone '{code.strip()[:16]}' in {warehouse.code}")
    return zone


def _listed() -> Exists:
    return Exists(
        PickListLine.objects.filter(
            fulfillment_line__fulfillment_order=OuterRef("pk"), pick_list__status__in=OPEN_LIST_STATUSES
        )
    )


def pickable(warehouse: Warehouse) -> QuerySet[FulfillmentOrder]:
    """Shipments of the location waiting for a list: released, or left in
    picking with units unpicked by a cancelled list; most urgent first."""
    unpicked = Exists(
        FulfillmentOrderLine.objects.filter(
            fulfillment_order=OuterRef("pk"), quantity__gt=F("quantity_picked") + F("quantity_short")
        )
    )
    return (
        FulfillmentOrder.objects.filter(warehouse=warehouse, method=FulfillmentOrder.Method.SHIP)
        .filter(Q(status=Status.RELEASED) | Q(status=Status.PICKING) & unpicked)
        .exclude(_listed())
        .order_by("-priority", F("ship_by").asc(nulls_last=True), "id")
    )


def default_selection(
    warehouse: Warehouse, pool: QuerySet[FulfillmentOrder], limit: int, zone: Zone | None
) -> list[int]:
    if zone is None:
        chosen = list(pool.values_list("pk", flat=True)[:limit])
    else:
        # A first, unlocked plan finds the shipments whose units are all in
        # the zone; the plan is made again under the locks.
        fos = list(pool[:ZONE_CANDIDATES])
        lines = shipment_lines(fos)
        book = BinBook(warehouse_id=warehouse.pk, sku_ids=[ln.sku_id for ls in lines.values() for ln in ls])
        chosen = []
        for fo in fos:
            saved = book.snapshot()
            parts = plan_shipment(book, lines[fo.pk], slot=1)
            if parts and all(p.zone_id == zone.pk for p in parts):
                chosen.append(fo.pk)
                if len(chosen) == limit:
                    break
            else:
                book.restore(saved)
    if not chosen:
        where = f" in zone {zone.code}" if zone else ""
        raise Conflict(f"No released shipments to pick at {warehouse.code}{where}.", code="nothing_to_pick")
    return chosen


def _explicit_selection(warehouse: Warehouse, ids: Sequence[int], limit: int) -> list[int]:
    if not isinstance(ids, list | tuple) or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        raise InvalidInput.field("shipments", "must be a list of shipment ids")
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise InvalidInput.field("shipments", "name at least one shipment, or leave it out for the next ones")
    if len(ids) > limit:
        raise InvalidInput.field("shipments", f"at most {limit} shipments (max_orders) on one go")
    found = {
        fo.pk: fo
        for fo in FulfillmentOrder.objects.filter(pk__in=ids)
        .select_related("warehouse")
        .only("pk", "method", "warehouse__code")
    }
    problems = [f"no such shipment: {pk}" for pk in ids if pk not in found]
    problems += [
        f"{found[pk].number} ships from {found[pk].warehouse.code}, not {warehouse.code}"
        for pk in ids
        if pk in found and found[pk].warehouse_id != warehouse.pk
    ]
    problems += [
        f"{found[pk].number} is a pick-up: it is packed from the shelf, not picked"
        for pk in ids
        if pk in found and found[pk].method != FulfillmentOrder.Method.SHIP
    ]
    if problems:
        raise InvalidInput("; ".join(problems), fields={"shipments": problems}, code="invalid_shipments")
    return ids


def lock_and_plan(
    warehouse: Warehouse, chosen: list[int], *, zone: Zone | None, explicit: bool
) -> list[tuple[FulfillmentOrder, list[Part]]]:
    """Lock the chosen shipments, check them again and plan their bins. A
    named shipment that cannot be listed is an error; one of a default
    selection that changed meanwhile is left out."""
    locked = lock_shipments(chosen)
    listed: dict[int, set[int]] = defaultdict(set)
    for fo_id, list_id in PickListLine.objects.filter(
        fulfillment_line__fulfillment_order_id__in=chosen, pick_list__status__in=OPEN_LIST_STATUSES
    ).values_list("fulfillment_line__fulfillment_order_id", "pick_list_id"):
        listed[fo_id].add(list_id)
    lines = shipment_lines(list(locked.values()))
    refused: dict[str, list[str]] = defaultdict(list)
    fos = []
    for pk in chosen:
        fo = locked.get(pk)
        if fo is None:
            continue
        if listed.get(pk):
            numbers = ", ".join(f"P{n:06d}" for n in sorted(listed[pk]))
            refused["already_listed"].append(f"{fo.number} is already on open pick list {numbers}")
        elif fo.status == Status.PICKING and not any(
            ln.quantity > ln.quantity_picked + ln.quantity_short for ln in lines[pk]
        ):
            refused["not_released"].append(f"{fo.number} has nothing left to pick")
        elif fo.status not in (Status.RELEASED, Status.PICKING):
            refused["not_released"].append(f"{fo.number} is {fo.get_status_display().lower()}, not released")
        else:
            fos.append(fo)
    if explicit and refused:
        code, problems = next(iter(refused.items()))
        everything = [p for ps in refused.values() for p in ps]
        raise Conflict("; ".join(everything), code=code, fields={"shipments": problems})
    book = BinBook(warehouse_id=warehouse.pk, sku_ids=[ln.sku_id for fo in fos for ln in lines[fo.pk]])
    planned, outside = [], []
    for fo in fos:
        saved = book.snapshot()
        parts = plan_shipment(book, lines[fo.pk], slot=len(planned) + 1)
        if zone is not None and not all(p.zone_id == zone.pk for p in parts):
            book.restore(saved)
            outside.append(f"{fo.number} has units outside zone {zone.code}")
            continue
        if parts:
            planned.append((fo, parts))
    if explicit and outside:
        raise InvalidInput("; ".join(outside), fields={"shipments": outside}, code="outside_zone")
    if not planned:
        raise Conflict(f"No released shipments to pick at {warehouse.code}.", code="nothing_to_pick")
    return planned


# --- Building the lists ---------------------------------------------------------------------


def build_lists(
    warehouse: Warehouse,
    mode: str,
    planned: list[tuple[FulfillmentOrder, list[Part]]],
    *,
    zone: Zone | None,
    wave: Wave | None = None,
) -> list[PickList]:
    if mode == Mode.SINGLE:
        for _, parts in planned:
            for part in parts:
                part.slot = 1  # one shipment, one tote
        return [_make_list(warehouse, mode, zone, wave, parts) for _, parts in planned]
    parts = [p for _, ps in planned for p in ps]
    if mode == Mode.BATCH:
        return [_make_list(warehouse, mode, zone, wave, parts)]
    by_zone: dict[int | None, list[Part]] = defaultdict(list)
    for part in parts:
        by_zone[part.zone_id].append(part)
    zones = Zone.objects.in_bulk([z for z in by_zone if z is not None])

    def walk(zone_id: int | None) -> tuple:
        return (1, 0, "") if zone_id is None else (0, zones[zone_id].walk_sequence, zones[zone_id].code)

    order = sorted(by_zone, key=walk)
    return [_make_list(warehouse, mode, zones.get(z) if z else None, wave, by_zone[z]) for z in order]


def _make_list(
    warehouse: Warehouse, mode: str, zone: Zone | None, wave: Wave | None, parts: list[Part]
) -> PickList:
    pick_list = PickList.objects.create(warehouse=warehouse, mode=mode, zone=zone, wave=wave)
    PickListLine.objects.bulk_create(
        [
            PickListLine(
                pick_list=pick_list,
                fulfillment_line=part.fo_line,
                sku_id=part.fo_line.sku_id,
                bin=part.bin,
                quantity=part.quantity,
                sequence=sequence,
                tote_slot=part.slot,
            )
            for sequence, part in stops(parts)
        ]
    )
    return pick_list


def mark_listed(
    planned: list[tuple[FulfillmentOrder, list[Part]]],
    lists: list[PickList],
    actor: Actor,
    *,
    wave: Wave | None = None,
) -> None:
    numbers = ", ".join(f"P{pl.pk:06d}" for pl in lists)
    orders = {}
    for fo, parts in planned:
        data = {"pick_lists": [pl.pk for pl in lists], "tote_slot": parts[0].slot}
        message = f"On pick list {numbers}, tote slot {parts[0].slot}"
        if fo.status == Status.RELEASED:
            fo_transition(fo, Status.PICKING, actor=actor, kind="listed", message=message, data=data)
        else:
            fo_event(fo, "listed", actor, message=message, data=data)
        if wave is not None:
            fo.wave = wave
            fo.save(update_fields=["wave", "updated_at"])
        orders[fo.order_id] = fo.order
    for order in orders.values():
        order_follow_shipments(order, actor=actor)
