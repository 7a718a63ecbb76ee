"""Which bins a pick list sends the picker to, and in what order.

Units are taken from the bins that hold the SKU, in walking order, counting
only what open pick lines have not already promised from that bin; what the
bins cannot cover comes from the warehouse's unlocated stock (received, not
yet put away: no bin, visited last). The plan reads bin stock without
locking it: the shelf may still change (a move, a count) before the picker
gets there, which the scan then finds (stock_pick refuses to take from a bin
what it does not hold, and the picker reports the units short).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Sum

from inventory.models import Bin, BinStock

from ..models import FulfillmentOrder, FulfillmentOrderLine, PickListLine
from .common import OPEN_LIST_STATUSES, remaining


@dataclass
class Part:
    """Units of one shipment line to take from one bin (None: unlocated)."""

    fo_line: FulfillmentOrderLine
    bin: Bin | None
    quantity: int
    slot: int = 1

    @property
    def zone_id(self) -> int | None:
        return self.bin.zone_id if self.bin else None


class BinBook:
    """Units of each SKU free to promise, per bin in walking order: on the
    shelf minus what open pick lines still have to take from it."""

    def __init__(self, *, warehouse_id: int, sku_ids: Iterable[int]) -> None:
        sku_ids = sorted(set(sku_ids))
        promised = {
            (row["sku_id"], row["bin_id"]): row["units"]
            for row in PickListLine.objects.filter(
                pick_list__warehouse_id=warehouse_id,
                pick_list__status__in=OPEN_LIST_STATUSES,
                bin__isnull=False,
                sku_id__in=sku_ids,
            )
            .order_by()
            .values("sku_id", "bin_id")
            .annotate(units=Sum(remaining()))
        }
        self._free: dict[int, list[list]] = defaultdict(list)  # sku_id -> [[bin, free units]]
        rows = (
            BinStock.objects.filter(warehouse_id=warehouse_id, sku_id__in=sku_ids, quantity__gt=0)
            .select_related("bin__zone")
            .order_by("bin__walk_sequence", "bin__code", "bin_id")
        )
        for row in rows:
            free = row.quantity - promised.get((row.sku_id, row.bin_id), 0)
            if free > 0:
                self._free[row.sku_id].append([row.bin, free])

    def take(self, sku_id: int, quantity: int) -> list[tuple[Bin | None, int]]:
        """Promise `quantity` units: (bin, units) in walking order, the rest unlocated."""
        taken: list[tuple[Bin | None, int]] = []
        for slot in self._free.get(sku_id, []):
            if quantity == 0:
                break
            n = min(slot[1], quantity)
            if n:
                slot[1] -= n
                quantity -= n
                taken.append((slot[0], n))
        if quantity:
            taken.append((None, quantity))
        return taken

    def snapshot(self) -> dict[int, list[list]]:
        return copy.deepcopy(dict(self._free))

    def restore(self, snapshot: dict[int, list[list]]) -> None:
        self._free = defaultdict(list, copy.deepcopy(snapshot))


def units_to_pick(line: FulfillmentOrderLine) -> int:
    """What a shipment line still needs picked (not picked, not found short)."""
    return line.quantity - line.quantity_short - line.quantity_picked


def plan_shipment(book: BinBook, lines: Sequence[FulfillmentOrderLine], *, slot: int) -> list[Part]:
    parts = []
    for line in lines:
        need = units_to_pick(line)
        if need > 0:
            parts.extend(Part(line, bin_, n, slot) for bin_, n in book.take(line.sku_id, need))
    return parts


def shipment_lines(fos: Sequence[FulfillmentOrder]) -> dict[int, list[FulfillmentOrderLine]]:
    """fo id -> its lines (sku loaded), in id order; one query."""
    by_fo: dict[int, list[FulfillmentOrderLine]] = defaultdict(list)
    for line in (
        FulfillmentOrderLine.objects.filter(fulfillment_order_id__in=[fo.pk for fo in fos])
        .select_related("sku")
        .order_by("fulfillment_order_id", "id")
    ):
        by_fo[line.fulfillment_order_id].append(line)
    return by_fo


def stops(parts: Iterable[Part]) -> list[tuple[int, Part]]:
    """(sequence, part) in walking order: one stop per bin and SKU, so a bin
    holding a SKU for several tote slots is visited once; unlocated units last."""

    def where(part: Part) -> tuple:
        b = part.bin
        return (b is None, b.walk_sequence if b else 0, b.code if b else "", part.fo_line.sku.code)

    ordered = sorted(parts, key=lambda p: (*where(p), p.slot, p.fo_line.pk))
    sequence, last, out = 0, None, []
    for part in ordered:
        key = (part.bin.pk if part.bin else None, part.fo_line.sku_id)
        if key != last:
            sequence, last = sequence + 1, key
        out.append((sequence, part))
    return out
