"""On the warehouse floor: scan (or confirm) picked units, report units not
found, cancel a list.

A scan names the bin and the SKU. It confirms the matching line(s) of the
list - the same bin and SKU, split over tote slots in slot order - wherever
the stop is on the walk, so a picker may skip ahead; the answer says which
slot each unit goes into and where to go next. Refusals change nothing:
`wrong_bin` (nothing left to pick there; names the expected bin),
`wrong_item` (the SKU is not to be picked from that bin), `over_pick` (more
units than the stop has left), `bin_short` (the books say the bin holds
fewer: report the rest short).

Each confirmation moves the units from the bin to the unlocated stock
(inventory stock_pick) and counts them on the pick line and on the shipment
line in one transaction, under the order and shipment locks, with
conditional updates; a retried scan with the same `scan_id` is answered
without counting twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F

from inventory.models import SKU, BinStock
from inventory.services import stock_pick
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition, NotFound

from ..models import FulfillmentEvent, FulfillmentOrder, FulfillmentOrderLine, PickList, PickListLine
from ..services.lifecycle import fo_event
from ..sourcing.shortfalls import shortfall_resource
from .common import (
    LINE_RELATED,
    OPEN_LIST_STATUSES,
    PickProgress,
    access_pick_list,
    check_quantity,
    check_workable,
    finish_if_done,
    give_back_unpicked,
    lock_shipments,
    next_stop,
    progress,
    start,
    units_left,
    wave_follow_lists,
)

Status = FulfillmentOrder.Status


@transaction.atomic
def pick_scan(
    *,
    pick_list_id: int,
    barcode: str,
    actor: Actor,
    bin: str | None = None,
    quantity: int = 1,
    scan_id: str | None = None,
) -> PickProgress:
    """Confirm `quantity` units of the SKU with `barcode` taken from the bin
    with code `bin` (None or "": the unlocated stock)."""
    code = barcode.strip() if isinstance(barcode, str) else ""
    if not code:
        raise InvalidInput.field("barcode", "scan the item's barcode")
    if bin is not None and not isinstance(bin, str):
        raise InvalidInput.field("bin", "scan the bin's barcode")
    bin_code = (bin or "").strip()
    check_quantity(quantity)
    scan_id = _scan_id(scan_id)
    pick_list = access_pick_list(pick_list_id)
    check_workable(pick_list)
    sku = SKU.objects.filter(barcode=code).first() or SKU.objects.filter(code=code).first()
    if sku is None:
        raise InvalidInput.field("barcode", f"unknown barcode {code[:48]}", code="unknown_barcode")

    todo = [ln for ln in pick_list.lines.select_related(*LINE_RELATED) if units_left(ln) > 0]
    expected = next_stop(todo)
    if expected is None:
        raise Conflict(f"{pick_list} has nothing left to pick.", code="nothing_to_pick")
    at_bin = [ln for ln in todo if (ln.bin.code.upper() if ln.bin else "") == bin_code.upper()]
    if not at_bin:
        go = f"bin {expected.bin}" if expected.bin else "the unlocated stock (no bin)"
        here = f"Bin {bin_code[:32]}" if bin_code else "The unlocated stock"
        problem = (
            f"{here} has nothing to pick on this list; go to {go} for {expected.quantity} x {expected.sku}"
        )
        raise Conflict(
            f"Wrong bin: {problem}.", code="wrong_bin", fields={"bin": [problem]}, expected_bin=expected.bin
        )
    matching = [ln for ln in at_bin if ln.sku_id == sku.pk]
    if not matching:
        wanted = ", ".join(sorted({ln.sku.code for ln in at_bin}))
        where = f"bin {at_bin[0].bin.code}" if at_bin[0].bin else "the unlocated stock"
        problem = f"{sku.code} is not to be picked from {where}; take {wanted}"
        raise Conflict(f"Wrong item: {problem}.", code="wrong_item", fields={"barcode": [problem]})

    fos = lock_shipments(ln.fulfillment_line.fulfillment_order_id for ln in matching)
    pick_list = access_pick_list(pick_list_id, for_update=True)
    check_workable(pick_list)
    if (
        scan_id
        and FulfillmentEvent.objects.filter(
            fulfillment_order_id__in=list(fos), kind="picked", data__scan_id=scan_id
        ).exists()
    ):
        return progress(pick_list, replayed=True)
    lines = _lock_lines([ln.pk for ln in matching], fos)
    placed = _confirm(pick_list, lines, fos, quantity, actor, scan_id=scan_id)
    return progress(pick_list, placed=placed)


@transaction.atomic
def pick_confirm_line(*, pick_line_id: int, quantity: int, actor: Actor) -> PickProgress:
    """Confirm units of one line without a scanner."""
    check_quantity(quantity)
    line = _line(pick_line_id)
    fos = lock_shipments([line.fulfillment_line.fulfillment_order_id])
    pick_list = access_pick_list(line.pick_list_id, for_update=True)
    check_workable(pick_list)
    lines = _lock_lines([line.pk], fos)
    placed = _confirm(pick_list, lines, fos, quantity, actor)
    return progress(pick_list, placed=placed)


@dataclass(frozen=True)
class ShortResult:
    progress: PickProgress
    shipment: str
    resourced_to: FulfillmentOrder | None

    def as_dict(self) -> dict[str, Any]:
        new = self.resourced_to
        return {
            **self.progress.as_dict(),
            "shipment": self.shipment,
            "resourced": (
                {"shipment_id": new.pk, "shipment": new.number, "warehouse": new.warehouse.code}
                if new
                else None
            ),
        }


@transaction.atomic
def pick_short(*, pick_line_id: int, quantity: int, actor: Actor) -> ShortResult:
    """`quantity` units of the line are not there: record them short, release
    them here, open a cycle count and ship them from another location (a new
    shipment) or leave them waiting (fulfillment.sourcing.shortfalls)."""
    check_quantity(quantity)
    line = _line(pick_line_id)
    fos = lock_shipments([line.fulfillment_line.fulfillment_order_id])
    pick_list = access_pick_list(line.pick_list_id, for_update=True)
    check_workable(pick_list)
    [line] = _lock_lines([line.pk], fos)
    left = line.quantity - line.quantity_picked - line.quantity_short
    if quantity > left:
        raise InvalidInput.field("quantity", f"only {left} unit(s) of this line are left to pick")
    PickListLine.objects.filter(pk=line.pk).update(quantity_short=F("quantity_short") + quantity)
    fo = fos[line.fulfillment_line.fulfillment_order_id]
    new = shortfall_resource(
        fulfillment_line=line.fulfillment_line, quantity=quantity, bin_id=line.bin_id, actor=actor
    )
    if new is not None:
        new = FulfillmentOrder.objects.select_related("warehouse").get(pk=new.pk)
    start(pick_list, actor)
    finish_if_done(pick_list)
    return ShortResult(progress=progress(pick_list), shipment=fo.number, resourced_to=new)


def pick_progress(*, pick_list_id: int) -> PickProgress:
    return progress(access_pick_list(pick_list_id))


@transaction.atomic
def pick_list_cancel(*, pick_list_id: int, actor: Actor) -> PickList:
    """Cancel an open (or started) list: shipments with nothing picked go back
    to released; picked units stay with their shipment, to be packed."""
    pick_list = access_pick_list(pick_list_id)
    if pick_list.status not in OPEN_LIST_STATUSES:
        raise InvalidTransition(
            f"{pick_list} is {pick_list.get_status_display().lower()}; it cannot be cancelled.",
            current_status=pick_list.status,
        )
    cancel_lists([pick_list], actor)
    return access_pick_list(pick_list_id)


def cancel_lists(pick_lists: list[PickList], actor: Actor) -> None:
    """Cancel lists (in the caller's transaction), locking their orders and
    shipments first, then the lists."""
    ids = [pl.pk for pl in pick_lists]
    fo_ids = set(
        PickListLine.objects.filter(pick_list_id__in=ids).values_list(
            "fulfillment_line__fulfillment_order_id", flat=True
        )
    )
    fos = lock_shipments(fo_ids)
    locked = list(PickList.objects.filter(pk__in=ids, status__in=OPEN_LIST_STATUSES).select_for_update())
    if not locked:
        return
    PickList.objects.filter(pk__in=[pl.pk for pl in locked]).update(status=PickList.Status.CANCELLED)
    numbers = ", ".join(str(pl) for pl in locked)
    for fo in fos.values():
        fo_event(fo, "pick_list_cancelled", actor, message=f"{numbers} cancelled")
    give_back_unpicked(fos.values(), actor, reason=f"{numbers} cancelled")
    for wave_id in sorted({pl.wave_id for pl in locked if pl.wave_id}):
        wave_follow_lists(wave_id)


# --- Confirming units -------------------------------------------------------------------------


def _scan_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidInput.field("scan_id", "must be a string of at most 64 characters")
    return value


def _line(pick_line_id: int) -> PickListLine:
    line = PickListLine.objects.select_related("fulfillment_line").filter(pk=pick_line_id).first()
    if line is None:
        raise NotFound(f"Pick line {pick_line_id} does not exist.")
    return line


def _lock_lines(ids: list[int], fos: dict[int, FulfillmentOrder]) -> list[PickListLine]:
    """Lock the lines (after their list); a shipment cancelled meanwhile takes no more units."""
    lines = list(
        PickListLine.objects.filter(pk__in=ids)
        .select_related("bin", "sku", "fulfillment_line")
        .order_by("sequence", "tote_slot", "id")
        .select_for_update(of=("self",))
    )
    cancelled = sorted(
        {
            fos[ln.fulfillment_line.fulfillment_order_id].number
            for ln in lines
            if fos[ln.fulfillment_line.fulfillment_order_id].status != Status.PICKING
        }
    )
    if cancelled and len(cancelled) == len({ln.fulfillment_line.fulfillment_order_id for ln in lines}):
        raise Conflict(
            f"Shipment {', '.join(cancelled)} is no longer being picked (cancelled?); pick nothing for it.",
            code="shipment_not_picking",
        )
    return [ln for ln in lines if fos[ln.fulfillment_line.fulfillment_order_id].status == Status.PICKING]


def _confirm(
    pick_list: PickList,
    lines: list[PickListLine],
    fos: dict[int, FulfillmentOrder],
    quantity: int,
    actor: Actor,
    *,
    scan_id: str | None = None,
) -> list[dict[str, Any]]:
    """Count `quantity` units over the (locked) lines of one stop, in slot order."""
    available = sum(ln.quantity - ln.quantity_picked - ln.quantity_short for ln in lines)
    sku, bin_ = lines[0].sku, lines[0].bin
    where = f"bin {bin_.code}" if bin_ else "the unlocated stock"
    if quantity > available:
        problem = (
            f"all {sku.code} from {where} are already picked"
            if available == 0
            else f"only {available} x {sku.code} left to pick from {where}; {quantity} scanned"
        )
        raise Conflict(f"Over pick: {problem}.", code="over_pick", fields={"quantity": [problem]})
    if bin_ is not None:
        on_shelf = BinStock.objects.filter(sku=sku, bin=bin_).values_list("quantity", flat=True).first() or 0
        if on_shelf < quantity:
            problem = f"bin {bin_.code} holds {on_shelf} x {sku.code} by the books; report the rest short"
            raise Conflict(f"Bin short: {problem}.", code="bin_short", fields={"quantity": [problem]})

    left, placed = quantity, []
    per_fo: dict[int, int] = defaultdict(int)
    for line in lines:
        take = min(left, line.quantity - line.quantity_picked - line.quantity_short)
        if take <= 0:
            continue
        ceiling = F("quantity") - F("quantity_short") - take
        counted = PickListLine.objects.filter(pk=line.pk, quantity_picked__lte=ceiling).update(
            quantity_picked=F("quantity_picked") + take
        )
        counted += FulfillmentOrderLine.objects.filter(
            pk=line.fulfillment_line_id, quantity_picked__lte=ceiling
        ).update(quantity_picked=F("quantity_picked") + take)
        if counted != 2:  # cannot happen under the locks; refuse rather than overcount
            raise Conflict(f"{sku.code} changed while scanning; scan again.", code="concurrent_change")
        fo = fos[line.fulfillment_line.fulfillment_order_id]
        per_fo[fo.pk] += take
        placed.append({"slot": line.tote_slot, "quantity": take, "shipment": fo.number})
        left -= take
        if left == 0:
            break
    if bin_ is not None:
        stock_pick(
            warehouse_id=pick_list.warehouse_id,
            picks=[(sku.pk, bin_.pk, quantity)],
            reference=f"picklist:{pick_list.pk}",
            actor=str(actor),
        )
    for fo_id, units in per_fo.items():
        fo_event(
            fos[fo_id],
            "picked",
            actor,
            message=f"{units} x {sku.code} from {where} ({pick_list})",
            data={
                "pick_list_id": pick_list.pk,
                "sku": sku.code,
                "bin": bin_.code if bin_ else None,
                "quantity": units,
                "scan_id": scan_id,
            },
        )
    start(pick_list, actor)
    finish_if_done(pick_list)
    return placed
