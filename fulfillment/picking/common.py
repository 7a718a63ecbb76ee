"""What the picking services share: which lists are open, locking, and the
progress a scanner shows after every call.

Locking order (see fulfillment.services.lifecycle): a pick list's creation
first locks its warehouse row (only pick planners take it, so two planners
cannot promise the same shelf units or list the same shipment twice), then
the orders, then the shipments (each by id), then pick list rows, then
stock levels (inventory.services), the wave row last. Scans, confirmations,
short picks and cancellations take orders -> shipments -> the pick list ->
its lines -> stock levels -> the wave.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, QuerySet
from django.utils import timezone

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from orders.models import Order

from ..models import FulfillmentOrder, PickList, PickListLine, Wave
from ..services.lifecycle import fo_transition, order_follow_shipments

OPEN_LIST_STATUSES = (PickList.Status.OPEN, PickList.Status.IN_PROGRESS)
MAX_SCAN_QUANTITY = 1000


def remaining():
    """Units of a pick line still to pick: neither picked nor found short."""
    return F("quantity") - F("quantity_picked") - F("quantity_short")


def check_quantity(quantity: Any, *, name: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_SCAN_QUANTITY:
        raise InvalidInput.field(name, f"must be a whole number from 1 to {MAX_SCAN_QUANTITY}")
    return quantity


def lock_shipments(fo_ids: Iterable[int]) -> dict[int, FulfillmentOrder]:
    """Lock the orders of these shipments, then the shipments, each in id order."""
    fo_ids = sorted(set(fo_ids))
    order_ids = sorted(set(FulfillmentOrder.objects.filter(pk__in=fo_ids).values_list("order_id", flat=True)))
    orders = {
        o.pk: o for o in Order.objects.filter(pk__in=order_ids).order_by("id").select_for_update(no_key=True)
    }
    fos = FulfillmentOrder.objects.filter(pk__in=fo_ids).order_by("id").select_for_update()
    locked = {}
    for fo in fos:
        fo.order = orders[fo.order_id]
        locked[fo.pk] = fo
    return locked


def access_pick_list(pick_list_id: int, *, for_update: bool = False) -> PickList:
    qs = PickList.objects.select_related("warehouse", "wave", "zone")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    found = qs.filter(pk=pick_list_id).first()
    if found is None:
        raise NotFound(f"Pick list {pick_list_id} does not exist.")
    return found


def check_workable(pick_list: PickList) -> None:
    """Units can be picked, confirmed or found short only on an open list of a released wave."""
    if pick_list.status not in OPEN_LIST_STATUSES:
        raise InvalidTransition(
            f"{pick_list} is {pick_list.get_status_display().lower()}; nothing more can be picked on it.",
            current_status=pick_list.status,
        )
    if pick_list.wave_id and pick_list.wave.status != Wave.Status.RELEASED:
        raise Conflict(
            f"{pick_list} belongs to {pick_list.wave}, which is {pick_list.wave.status}: "
            "release the wave before picking.",
            code="wave_not_released",
        )


def start(pick_list: PickList, actor: Actor) -> None:
    """The first confirmed unit starts the (locked) list and names its picker."""
    if pick_list.status != PickList.Status.OPEN:
        return
    pick_list.status = PickList.Status.IN_PROGRESS
    pick_list.started_at = timezone.now()
    fields = ["status", "started_at"]
    if actor.type == "staff" and actor.user is not None and pick_list.picker_id is None:
        pick_list.picker = actor.user
        fields.append("picker")
    pick_list.save(update_fields=fields)


def finish_if_done(pick_list: PickList) -> None:
    """A (locked) list is done once every line is picked or found short; a
    wave once none of its lists is open any more."""
    if pick_list.status not in OPEN_LIST_STATUSES:
        return
    if open_lines([pick_list.pk]).exists():
        return
    pick_list.status = PickList.Status.DONE
    pick_list.completed_at = timezone.now()
    pick_list.save(update_fields=["status", "completed_at"])
    if pick_list.wave_id:
        wave_follow_lists(pick_list.wave_id)


def wave_follow_lists(wave_id: int) -> None:
    """Close a wave whose lists are all closed: completed when any was done,
    cancelled when all were cancelled."""
    wave = Wave.objects.select_for_update().get(pk=wave_id)
    if wave.status not in (Wave.Status.PLANNED, Wave.Status.RELEASED):
        return
    statuses = set(wave.pick_lists.values_list("status", flat=True))
    if statuses & set(OPEN_LIST_STATUSES):
        return
    if PickList.Status.DONE in statuses:
        wave.status = Wave.Status.COMPLETED
        wave.completed_at = timezone.now()
        wave.save(update_fields=["status", "completed_at"])
    else:
        wave.status = Wave.Status.CANCELLED
        wave.save(update_fields=["status"])


def give_back_unpicked(fos: Iterable[FulfillmentOrder], actor: Actor, *, reason: str) -> list[str]:
    """Shipments (locked) left with no open list and nothing picked go back
    to released, for another list. Returns their numbers."""
    fos = [fo for fo in fos if fo.status == FulfillmentOrder.Status.PICKING]
    if not fos:
        return []
    ids = [fo.pk for fo in fos]
    still_listed = set(
        PickListLine.objects.filter(
            fulfillment_line__fulfillment_order_id__in=ids, pick_list__status__in=OPEN_LIST_STATUSES
        ).values_list("fulfillment_line__fulfillment_order_id", flat=True)
    )
    touched = set(
        FulfillmentOrder.objects.filter(pk__in=ids, lines__quantity_picked__gt=0).values_list("pk", flat=True)
    )
    back = []
    for fo in fos:
        if fo.pk in still_listed or fo.pk in touched:
            continue
        fo_transition(fo, FulfillmentOrder.Status.RELEASED, actor=actor, kind="unlisted", message=reason)
        if fo.wave_id:
            fo.wave = None
            fo.save(update_fields=["wave", "updated_at"])
        order_follow_shipments(fo.order, actor=actor)
        back.append(fo.number)
    return back


# --- Progress ----------------------------------------------------------------------------


@dataclass
class NextStop:
    sequence: int
    bin: str | None
    sku: str
    name: str
    barcode: str
    quantity: int
    totes: dict[int, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "bin": self.bin,
            "sku": self.sku,
            "name": self.name,
            "barcode": self.barcode,
            "quantity": self.quantity,
            "totes": [{"slot": slot, "quantity": qty} for slot, qty in sorted(self.totes.items())],
        }


@dataclass(frozen=True)
class PickProgress:
    pick_list_id: int
    status: str
    units: int
    picked: int
    short: int
    next: NextStop | None
    placed: list[dict[str, Any]] = field(default_factory=list)
    replayed: bool = False

    @property
    def left(self) -> int:
        return self.units - self.picked - self.short

    @property
    def complete(self) -> bool:
        return self.left == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pick_list_id": self.pick_list_id,
            "status": self.status,
            "units": self.units,
            "picked": self.picked,
            "short": self.short,
            "left": self.left,
            "complete": self.complete,
            "placed": self.placed,
            "replayed": self.replayed,
            "next": self.next.as_dict() if self.next else None,
        }


def next_stop(lines: Iterable[PickListLine]) -> NextStop | None:
    """The first stop (bin and SKU, in walking order) with units left, and
    how they split into tote slots. `lines` come with bin and sku loaded."""
    stop: NextStop | None = None
    for line in sorted(lines, key=lambda ln: (ln.sequence, ln.tote_slot, ln.pk)):
        left = units_left(line)
        if left <= 0:
            continue
        if stop is None:
            stop = NextStop(
                sequence=line.sequence,
                bin=line.bin.code if line.bin else None,
                sku=line.sku.code,
                name=line.sku.name,
                barcode=line.sku.barcode,
                quantity=0,
                totes={},
            )
        if line.sequence != stop.sequence:
            break
        stop.totes[line.tote_slot] = stop.totes.get(line.tote_slot, 0) + left
        stop.quantity += left
    return stop


def progress(
    pick_list: PickList, *, placed: list[dict[str, Any]] | None = None, replayed: bool = False
) -> PickProgress:
    lines = list(pick_list.lines.select_related(*LINE_RELATED))
    picked = sum(ln.quantity_picked for ln in lines)
    short = sum(ln.quantity_short for ln in lines)
    return PickProgress(
        pick_list_id=pick_list.pk,
        status=pick_list.status,
        units=picked + short + sum(units_left(ln) for ln in lines),
        picked=picked,
        short=short,
        next=next_stop(lines),
        placed=placed or [],
        replayed=replayed,
    )


def open_lines(pick_list_ids: Iterable[int]) -> QuerySet[PickListLine]:
    """Lines with units left to pick. Lines of a shipment cancelled meanwhile
    (its order was cancelled) are void: nothing more is picked for it."""
    return (
        PickListLine.objects.filter(pick_list_id__in=list(pick_list_ids))
        .filter(quantity__gt=F("quantity_picked") + F("quantity_short"))
        .exclude(fulfillment_line__fulfillment_order__status=FulfillmentOrder.Status.CANCELLED)
    )


def units_left(line: PickListLine) -> int:
    """Units still to pick on a line (fulfillment_line__fulfillment_order loaded); 0 when void."""
    if line.fulfillment_line.fulfillment_order.status == FulfillmentOrder.Status.CANCELLED:
        return 0
    return line.quantity - line.quantity_picked - line.quantity_short


LINE_RELATED = ("bin", "sku", "fulfillment_line__fulfillment_order")
