"""Bin-level stock: which bin units go into or come out of, and where a SKU is.

A stock movement with a bin changes the units on that bin's shelf (BinStock);
one without changes the warehouse's *unlocated* stock, received but not put
away yet: unlocated = on_hand - the SKU's units in bins, never negative. The
ledger proves both (inventory.checks). The rules every operation shares:

- Units go into a bin only if it is active and in the operation's warehouse.
  They can still be taken out of an inactive bin, so a bin can be emptied
  before it is retired.
- Receipts land unlocated, unless the caller names a bin or asks for the
  SKU's primary bin; a SKU without an active primary bin then stays
  unlocated, to be put away later.
- A removal without a bin follows the draw order: unlocated units first (they
  are not on a shelf yet), then every bin other than the SKU's primary bin
  (overflow, or wherever units were moved), the primary bin last, so the pick
  face is emptied last; bins of a group in walk order. One movement per bin.

Bin rows change only while the SKU's stock level is locked (by
inventory.services._lock_levels); plan_removals and binned_totals are called
under that lock, so what they read holds until commit.

This module only reads; the writes are in inventory.operations.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Sum

from oms.errors import InsufficientStock, InvalidInput

from .models import SKU, Bin, BinStock, SKUBin, StockLevel, Warehouse

Key = tuple[int, int]  # (sku_id, warehouse_id)


def keys_q(keys: Iterable[Key]) -> Q:
    """Rows of these (sku_id, warehouse_id) pairs; never empty (an empty Q matches all)."""
    match = Q(pk__in=[])
    for sku_id, warehouse_id in keys:
        match |= Q(sku_id=sku_id, warehouse_id=warehouse_id)
    return match


# --- Which bin ---------------------------------------------------------------------


def access_bin(bin_id: int, *, warehouse_id: int, incoming: bool, field: str = "bin") -> Bin:
    """The bin, checked for use in this warehouse; `incoming`: units go into it."""
    bin_ = Bin.objects.select_related("warehouse").filter(pk=bin_id).first()
    if bin_ is None:
        raise InvalidInput.field(field, f"unknown bin id {bin_id}", code="unknown_bin")
    if bin_.warehouse_id != warehouse_id:
        raise InvalidInput.field(
            field,
            f"bin {bin_.code} is in warehouse {bin_.warehouse.code}, not this one",
            code="wrong_warehouse",
        )
    if incoming and not bin_.is_active:
        raise InvalidInput.field(
            field, f"bin {bin_.code} is inactive: it takes no stock", code="inactive_bin"
        )
    return bin_


def bin_by_code(*, warehouse: Warehouse, code: str, field: str = "bin") -> Bin:
    """Bin codes are unique per warehouse: what staff type and scan."""
    bin_ = Bin.objects.filter(warehouse=warehouse, code=code).first()
    if bin_ is None:
        raise InvalidInput.field(field, f"no bin '{code}' in {warehouse.code}", code="unknown_bin")
    return bin_


def primary_bins(sku_ids: Iterable[int], warehouse_id: int) -> dict[int, Bin]:
    """sku_id -> its active primary bin in the warehouse (SKUs without one are left out)."""
    assignments = SKUBin.objects.filter(
        sku_id__in=set(sku_ids),
        warehouse_id=warehouse_id,
        kind=SKUBin.Kind.PRIMARY,
        bin__is_active=True,
        bin__warehouse_id=warehouse_id,
    ).select_related("bin")
    return {a.sku_id: a.bin for a in assignments}


def incoming_bins(
    *, warehouse_id: int, sku_ids: Iterable[int], bin_id: int | None, to_primary_bin: bool, field: str = "bin"
) -> dict[int, int | None]:
    """sku_id -> the bin new units go into (None: unlocated)."""
    sku_ids = list(sku_ids)
    if bin_id is not None and to_primary_bin:
        raise InvalidInput.field(field, "name a bin or ask for the primary bin, not both")
    if bin_id is not None:
        bin_ = access_bin(bin_id, warehouse_id=warehouse_id, incoming=True, field=field)
        return dict.fromkeys(sku_ids, bin_.pk)
    if to_primary_bin:
        primary = primary_bins(sku_ids, warehouse_id)
        return {sku_id: primary[sku_id].pk if sku_id in primary else None for sku_id in sku_ids}
    return dict.fromkeys(sku_ids)


# --- What is in the bins -------------------------------------------------------------


@dataclass(frozen=True)
class BinQuantity:
    bin_id: int
    code: str
    walk_sequence: int
    quantity: int
    is_primary: bool


def _is_primary() -> Exists:
    return Exists(
        SKUBin.objects.filter(sku_id=OuterRef("sku_id"), bin_id=OuterRef("bin_id"), kind=SKUBin.Kind.PRIMARY)
    )


def binned_totals(keys: Iterable[Key]) -> dict[Key, int]:
    """(sku_id, warehouse_id) -> units in bins."""
    keys = set(keys)
    if not keys:
        return {}
    rows = (
        BinStock.objects.filter(keys_q(keys))
        .order_by()
        .values("sku_id", "warehouse_id")
        .annotate(total=Sum("quantity"))
    )
    return {(r["sku_id"], r["warehouse_id"]): r["total"] for r in rows}


def bins_in_draw_order(keys: Iterable[Key]) -> dict[Key, list[BinQuantity]]:
    """(sku_id, warehouse_id) -> the bins holding units of it, in draw order (one query)."""
    keys = set(keys)
    if not keys:
        return {}
    rows = (
        BinStock.objects.filter(keys_q(keys), quantity__gt=0)
        .annotate(is_primary=_is_primary())
        .order_by("is_primary", "bin__walk_sequence", "bin__code")  # false sorts first
        .values_list(
            "sku_id", "warehouse_id", "bin_id", "bin__code", "bin__walk_sequence", "quantity", "is_primary"
        )
    )
    out: dict[Key, list[BinQuantity]] = defaultdict(list)
    for sku_id, warehouse_id, *rest in rows:
        out[(sku_id, warehouse_id)].append(BinQuantity(*rest))
    return out


@dataclass(frozen=True)
class Removal:
    """Units to take out of one SKU's on-hand; `field` is the input named in errors."""

    sku: SKU
    warehouse_id: int
    quantity: int
    field: str
    bin: Bin | None = None

    @property
    def key(self) -> Key:
        return (self.sku.pk, self.warehouse_id)


def plan_removals(
    levels: Mapping[Key, StockLevel], removals: Sequence[Removal]
) -> list[tuple[Key, int | None, int]]:
    """Where each removal takes its units from: (key, bin id or None for unlocated, units).

    A named bin must hold the units; otherwise they are drawn in draw order.
    The levels must be locked. All or nothing: InsufficientStock names the
    field of every removal that cannot be served.
    """
    stock = bins_in_draw_order(r.key for r in removals)
    left: dict[tuple[Key, int | None], int] = {}
    for key in {r.key for r in removals}:
        bins = stock.get(key, [])
        on_hand = levels[key].on_hand if key in levels else 0
        left[(key, None)] = max(on_hand - sum(b.quantity for b in bins), 0)
        left.update({(key, b.bin_id): b.quantity for b in bins})
    plan: list[tuple[Key, int | None, int]] = []
    problems: dict[str, list[str]] = {}
    for r in removals:
        if r.bin is not None:
            have = left.get((r.key, r.bin.pk), 0)
            if have < r.quantity:
                problems[r.field] = [f"only {have} of {r.sku.code} in bin {r.bin.code}"]
                continue
            sources = [r.bin.pk]
        else:
            sources = [None, *(b.bin_id for b in stock.get(r.key, []))]
        wanted = r.quantity
        for bin_id in sources:
            take = min(wanted, left.get((r.key, bin_id), 0))
            if take:
                plan.append((r.key, bin_id, take))
                left[(r.key, bin_id)] -= take
                wanted -= take
        if wanted:
            problems[r.field] = [f"only {r.quantity - wanted} of {r.sku.code} on hand"]
    if problems:
        raise InsufficientStock(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)
    return plan


# --- Reads ---------------------------------------------------------------------------


def bin_stock(
    *, warehouse_id: int | None = None, bin_id: int | None = None, sku_id: int | None = None
) -> QuerySet[BinStock]:
    """Units on the shelves in walk order, each row with its bin, zone, SKU and
    `assignment` (primary, overflow, or None where the SKU is not assigned to
    the bin): what is in a bin, where a SKU is. Pick lists sort by it."""
    qs = (
        BinStock.objects.filter(quantity__gt=0)
        .select_related("bin__zone", "sku", "warehouse")
        .annotate(
            assignment=Subquery(
                SKUBin.objects.filter(sku_id=OuterRef("sku_id"), bin_id=OuterRef("bin_id")).values("kind")[:1]
            )
        )
    )
    if warehouse_id is not None:
        qs = qs.filter(warehouse_id=warehouse_id)
    if bin_id is not None:
        qs = qs.filter(bin_id=bin_id)
    if sku_id is not None:
        qs = qs.filter(sku_id=sku_id)
    return qs.order_by("warehouse__code", "bin__walk_sequence", "bin__code", "sku__code")


@dataclass(frozen=True)
class StockLocations:
    """One SKU in one warehouse, shelf by shelf."""

    level: StockLevel
    unlocated: int
    bins: list[BinStock]


def stock_locations(*, sku_id: int, warehouse_id: int | None = None) -> list[StockLocations]:
    """Where a SKU is: per warehouse its level, unlocated units and bins in walk order (two queries)."""
    levels = StockLevel.objects.filter(sku_id=sku_id).select_related("sku", "warehouse")
    if warehouse_id is not None:
        levels = levels.filter(warehouse_id=warehouse_id)
    by_warehouse: dict[int, list[BinStock]] = defaultdict(list)
    for row in bin_stock(warehouse_id=warehouse_id, sku_id=sku_id):
        by_warehouse[row.warehouse_id].append(row)
    return [
        StockLocations(
            level=level,
            unlocated=level.on_hand - sum(b.quantity for b in by_warehouse[level.warehouse_id]),
            bins=by_warehouse[level.warehouse_id],
        )
        for level in levels.order_by("warehouse__code")
    ]
