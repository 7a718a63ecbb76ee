"""Stock operations: adjustments, write-offs, put-away and bin-to-bin moves,
transfers between locations (with goods in transit) and cycle counts.

Every quantity change goes through the ledger helpers of inventory.services
(levels locked in id order, one movement per change). A transfer or count
sheet row is locked before any stock level, like reservations are.

Each operation that changes on-hand takes an optional bin, with the rules of
inventory.bins: units added land in the bin named (or unlocated), units
removed come out of the bin named or, without one, in the bins' draw order,
one movement per bin touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import InsufficientStock, InvalidInput, InvalidTransition, NotFound

from .bins import Removal, access_bin, binned_totals, incoming_bins, plan_removals, primary_bins
from .models import (
    SKU,
    TRANSFER_TRANSITIONS,
    Bin,
    CountLine,
    CountSheet,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    Warehouse,
)
from .services import Key, _apply, _Delta, _lock_levels

Change = tuple[Key, str, _Delta]

ADJUSTMENT_REASONS = {
    "correction": "Correction of a booking error",
    "damaged": "Damaged in the warehouse",
    "found": "Found stock",
    "lost": "Lost or missing",
    "expired": "Expired",
    "theft": "Theft",
    "sample": "Used as a sample",
}
WRITE_OFF_REASONS = {"damaged", "expired", "lost", "theft", "recalled"}


def _check_reason(reason: str, allowed: Iterable[str]) -> None:
    allowed = sorted(allowed)
    if reason not in allowed:
        raise InvalidInput.field(
            "reason", f"'{reason}' is not a reason code; use one of: {', '.join(allowed)}"
        )


def _removable(level: StockLevel | None, quantity: int, sku: SKU, field: str) -> None:
    """Stock that is allocated or held for a cart cannot be adjusted away."""
    available = level.available if level else 0
    if quantity > available:
        raise InsufficientStock(
            f"Cannot remove {quantity} of {sku.code}: only {available} available (the rest is allocated or "
            "reserved).",
            fields={field: [f"only {available} available to remove"]},
        )


def _removals(levels: dict[Key, StockLevel], removals: list[Removal], kind: str) -> list[Change]:
    """Check each removal against available stock, then take it from its bins."""
    for r in removals:
        _removable(levels.get(r.key), r.quantity, r.sku, r.field)
    return [
        (key, kind, _Delta(on_hand=-qty, bin_id=bin_id))
        for key, bin_id, qty in plan_removals(levels, removals)
    ]


def _source_bin(bin_id: int | None, warehouse_id: int) -> Bin | None:
    """The bin a removal names (None: draw in order); units may leave an inactive bin."""
    if bin_id is None:
        return None
    return access_bin(bin_id, warehouse_id=warehouse_id, incoming=False)


def _sku(sku_id: int, field: str = "sku") -> SKU:
    sku = SKU.objects.filter(pk=sku_id).first()
    if sku is None:
        raise InvalidInput.field(field, f"unknown SKU id {sku_id}", code="unknown_sku")
    return sku


def _warehouse(warehouse_id: int, field: str = "warehouse") -> Warehouse:
    warehouse = Warehouse.objects.filter(pk=warehouse_id).first()
    if warehouse is None:
        raise InvalidInput.field(field, f"unknown warehouse id {warehouse_id}")
    return warehouse


@transaction.atomic
def stock_adjust(
    *,
    warehouse_id: int,
    sku_id: int,
    quantity: int,
    reason: str,
    actor: Actor,
    note: str = "",
    bin_id: int | None = None,
) -> StockLevel:
    """Add (positive) or remove (negative) units with a reason code, in a bin
    or (without one) unlocated / in draw order."""
    _check_reason(reason, ADJUSTMENT_REASONS)
    if quantity == 0:
        raise InvalidInput.field("quantity", "must not be zero")
    sku, warehouse = _sku(sku_id), _warehouse(warehouse_id)
    key = (sku.pk, warehouse.pk)
    kind = StockMovement.Kind.ADJUSTMENT
    if quantity > 0:
        target = incoming_bins(
            warehouse_id=warehouse.pk, sku_ids=[sku.pk], bin_id=bin_id, to_primary_bin=False
        )
        levels = _lock_levels([key], create_missing=True)
        changes = [(key, kind, _Delta(on_hand=quantity, bin_id=target[sku.pk]))]
    else:
        source = _source_bin(bin_id, warehouse.pk)
        levels = _lock_levels([key])
        changes = _removals(levels, [Removal(sku, warehouse.pk, -quantity, "quantity", source)], kind)
    _apply(
        levels,
        changes,
        reference=f"adjust:{reason}",
        reason=reason,
        note=note,
        actor=str(actor),
    )
    return levels[(sku.pk, warehouse.pk)]


@transaction.atomic
def stock_write_off(
    *,
    warehouse_id: int,
    sku_id: int,
    quantity: int,
    reason: str,
    actor: Actor,
    note: str = "",
    bin_id: int | None = None,
) -> StockLevel:
    """Take unsellable units out of stock for good (out of a bin, or in draw order)."""
    _check_reason(reason, WRITE_OFF_REASONS)
    if quantity <= 0:
        raise InvalidInput.field("quantity", "must be a positive whole number")
    sku, warehouse = _sku(sku_id), _warehouse(warehouse_id)
    source = _source_bin(bin_id, warehouse.pk)
    levels = _lock_levels([(sku.pk, warehouse.pk)])
    _apply(
        levels,
        _removals(
            levels, [Removal(sku, warehouse.pk, quantity, "quantity", source)], StockMovement.Kind.WRITE_OFF
        ),
        reference=f"write_off:{reason}",
        reason=reason,
        note=note,
        actor=str(actor),
    )
    return levels[(sku.pk, warehouse.pk)]


# --- Put-away and bin-to-bin moves ---------------------------------------------------


@transaction.atomic
def stock_putaway(
    *,
    warehouse_id: int,
    sku_id: int,
    quantity: int | None,
    actor: Actor,
    bin_id: int | None = None,
    note: str = "",
) -> Bin:
    """Put unlocated units (e.g. on the receiving dock) on a shelf: the bin named,
    else the SKU's primary bin. Returns the bin. On hand does not change.

    `quantity=None` puts away every unlocated unit, counted under the lock.
    """
    if quantity is not None and quantity <= 0:
        raise InvalidInput.field("quantity", "must be a positive whole number")
    sku, warehouse = _sku(sku_id), _warehouse(warehouse_id)
    if bin_id is not None:
        target = access_bin(bin_id, warehouse_id=warehouse.pk, incoming=True)
    else:
        primary = primary_bins([sku.pk], warehouse.pk).get(sku.pk)
        if primary is None:
            raise InvalidInput.field(
                "bin", f"{sku.code} has no active primary bin in {warehouse.code}; name one"
            )
        target = primary
    key = (sku.pk, warehouse.pk)
    levels = _lock_levels([key])
    level = levels.get(key)
    unlocated = (level.on_hand if level else 0) - binned_totals([key]).get(key, 0)
    if quantity is None:
        if unlocated <= 0:
            raise InvalidInput.field("quantity", f"no unlocated units of {sku.code} in {warehouse.code}")
        quantity = unlocated
    if quantity > unlocated:
        raise InsufficientStock(
            f"Cannot put away {quantity} of {sku.code}: only {unlocated} unlocated in {warehouse.code}.",
            fields={"quantity": [f"only {unlocated} unlocated"]},
        )
    _bin_move(levels, key, quantity, None, target, reference=f"putaway:{target.code}", note=note, actor=actor)
    return target


@transaction.atomic
def stock_bin_move(
    *,
    warehouse_id: int,
    sku_id: int,
    quantity: int,
    from_bin_id: int,
    to_bin_id: int,
    actor: Actor,
    note: str = "",
) -> Bin:
    """Move units from one bin to another of the same warehouse. Returns the target bin.

    Allocated units may move too: an allocation promises units of the
    warehouse, not of a shelf.
    """
    if quantity <= 0:
        raise InvalidInput.field("quantity", "must be a positive whole number")
    if from_bin_id == to_bin_id:
        raise InvalidInput.field("to_bin", "must differ from the bin the units come from")
    sku, warehouse = _sku(sku_id), _warehouse(warehouse_id)
    source = access_bin(from_bin_id, warehouse_id=warehouse.pk, incoming=False, field="from_bin")
    target = access_bin(to_bin_id, warehouse_id=warehouse.pk, incoming=True, field="to_bin")
    key = (sku.pk, warehouse.pk)
    levels = _lock_levels([key])
    plan_removals(levels, [Removal(sku, warehouse.pk, quantity, "quantity", source)])  # the bin holds them
    _bin_move(
        levels,
        key,
        quantity,
        source.pk,
        target,
        reference=f"bin_move:{source.code}>{target.code}",
        note=note,
        actor=actor,
    )
    return target


def _bin_move(
    levels: dict[Key, StockLevel],
    key: Key,
    quantity: int,
    source_bin_id: int | None,
    target: Bin,
    *,
    reference: str,
    note: str,
    actor: Actor,
) -> None:
    """Two movements, out of the source (a bin, or None: unlocated) and into
    the target; they sum to nothing, so on hand and the level ledger stay put."""
    kind = StockMovement.Kind.BIN_MOVE
    changes = [
        (key, kind, _Delta(on_hand=-quantity, bin_id=source_bin_id)),
        (key, kind, _Delta(on_hand=quantity, bin_id=target.pk)),
    ]
    _apply(levels, changes, reference=reference, note=note, actor=str(actor))


# --- Transfers --------------------------------------------------------------------


def _lock_transfer(transfer_id: int) -> Transfer:
    transfer = Transfer.objects.select_for_update().filter(pk=transfer_id).first()
    if transfer is None:
        raise NotFound(f"No transfer {transfer_id}.")
    return transfer


def _move(transfer: Transfer, to_status: str) -> None:
    if to_status not in TRANSFER_TRANSITIONS[transfer.status]:
        raise InvalidTransition(
            f"Transfer {transfer.pk} is {transfer.get_status_display().lower()} and cannot become "
            f"{Transfer.Status(to_status).label.lower()}.",
            current_status=transfer.status,
        )
    transfer.status = to_status


@transaction.atomic
def transfer_create(
    *,
    from_warehouse_id: int,
    to_warehouse_id: int,
    lines: Iterable[tuple[int, int]],
    actor: Actor,
    expected_at: date | None = None,
    note: str = "",
) -> Transfer:
    """A draft transfer of (sku_id, quantity) lines between two locations."""
    if from_warehouse_id == to_warehouse_id:
        raise InvalidInput.field("to_warehouse", "must differ from the sending warehouse")
    source = _warehouse(from_warehouse_id, "from_warehouse")
    target = _warehouse(to_warehouse_id, "to_warehouse")
    lines = list(lines)
    if not lines:
        raise InvalidInput.field("lines", "a transfer needs at least one line")
    skus = {s.pk: s for s in SKU.objects.filter(pk__in=[sku_id for sku_id, _ in lines])}
    problems: dict[str, list[str]] = {}
    seen: set[int] = set()
    for i, (sku_id, quantity) in enumerate(lines):
        if sku_id not in skus:
            problems[f"lines[{i}].sku"] = [f"unknown SKU id {sku_id}"]
        elif sku_id in seen:
            problems[f"lines[{i}].sku"] = [f"{skus[sku_id].code} is already on the transfer"]
        if quantity <= 0:
            problems[f"lines[{i}].quantity"] = ["must be a positive whole number"]
        seen.add(sku_id)
    if problems:
        raise InvalidInput(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)
    transfer = Transfer.objects.create(
        from_warehouse=source,
        to_warehouse=target,
        expected_at=expected_at,
        note=note,
        created_by=actor.user if actor.type == "staff" else None,
    )
    TransferLine.objects.bulk_create(
        [TransferLine(transfer=transfer, sku_id=sku_id, quantity=quantity) for sku_id, quantity in lines]
    )
    return transfer


@transaction.atomic
def transfer_ship(*, transfer_id: int, actor: Actor, bin_id: int | None = None) -> Transfer:
    """The goods leave the sending location: its on-hand drops, and they are in transit.

    Every line comes out of the bin named (e.g. an outbound staging bin), or
    without one in each SKU's draw order.
    """
    transfer = _lock_transfer(transfer_id)
    _move(transfer, Transfer.Status.IN_TRANSIT)
    source = _source_bin(bin_id, transfer.from_warehouse_id)
    lines = list(transfer.lines.select_related("sku").order_by("id"))
    levels = _lock_levels((ln.sku_id, transfer.from_warehouse_id) for ln in lines)
    removals = [
        Removal(ln.sku, transfer.from_warehouse_id, ln.quantity, f"lines[{i}].quantity", source)
        for i, ln in enumerate(lines)
    ]
    _apply(
        levels,
        _removals(levels, removals, StockMovement.Kind.TRANSFER_OUT),
        reference=f"transfer:{transfer.pk}",
        actor=str(actor),
    )
    transfer.shipped_at = timezone.now()
    transfer.save(update_fields=["status", "shipped_at"])
    return transfer


@transaction.atomic
def transfer_receive(
    *, transfer_id: int, actor: Actor, bin_id: int | None = None, to_primary_bin: bool = False
) -> Transfer:
    """The goods arrive: the receiving location's on-hand rises, unlocated, in
    the bin named, or in each SKU's primary bin (unlocated if it has none)."""
    transfer = _lock_transfer(transfer_id)
    _move(transfer, Transfer.Status.RECEIVED)
    lines = list(transfer.lines.order_by("id"))
    targets = incoming_bins(
        warehouse_id=transfer.to_warehouse_id,
        sku_ids=[ln.sku_id for ln in lines],
        bin_id=bin_id,
        to_primary_bin=to_primary_bin,
    )
    levels = _lock_levels(((ln.sku_id, transfer.to_warehouse_id) for ln in lines), create_missing=True)
    _apply(
        levels,
        [
            (
                (ln.sku_id, transfer.to_warehouse_id),
                StockMovement.Kind.TRANSFER_IN,
                _Delta(on_hand=ln.quantity, bin_id=targets[ln.sku_id]),
            )
            for ln in lines
        ],
        reference=f"transfer:{transfer.pk}",
        actor=str(actor),
    )
    for ln in lines:
        ln.quantity_received = ln.quantity
    TransferLine.objects.bulk_update(lines, ["quantity_received"])
    transfer.received_at = timezone.now()
    transfer.save(update_fields=["status", "received_at"])
    return transfer


@transaction.atomic
def transfer_cancel(*, transfer_id: int, actor: Actor) -> Transfer:
    transfer = _lock_transfer(transfer_id)
    _move(transfer, Transfer.Status.CANCELLED)
    transfer.save(update_fields=["status"])
    return transfer


# --- Cycle counts -----------------------------------------------------------------


def _lock_sheet(sheet_id: int, *, status: str) -> CountSheet:
    sheet = CountSheet.objects.select_for_update().filter(pk=sheet_id).first()
    if sheet is None:
        raise NotFound(f"No count sheet {sheet_id}.")
    if sheet.status != status:
        raise InvalidTransition(
            f"Count sheet {sheet.pk} is {sheet.status}; this needs it {status}.", current_status=sheet.status
        )
    return sheet


@transaction.atomic
def count_start(
    *, warehouse_id: int, actor: Actor, sku_ids: Iterable[int] | None = None, note: str = ""
) -> CountSheet:
    """Open a count sheet; the expected quantities are today's on-hand (every SKU
    stocked in the warehouse when no SKUs are named)."""
    warehouse = _warehouse(warehouse_id)
    levels = StockLevel.objects.filter(warehouse=warehouse)
    if sku_ids is not None:
        sku_ids = sorted(set(sku_ids))
        known = set(SKU.objects.filter(pk__in=sku_ids).values_list("pk", flat=True))
        unknown = [s for s in sku_ids if s not in known]
        if unknown:
            raise InvalidInput.field(
                "skus", f"unknown SKU id(s): {', '.join(map(str, unknown))}", code="unknown_sku"
            )
        expected = dict(levels.filter(sku_id__in=sku_ids).values_list("sku_id", "on_hand"))
        wanted = sku_ids
    else:
        expected = dict(levels.values_list("sku_id", "on_hand"))
        wanted = sorted(expected)
    if not wanted:
        raise InvalidInput.field("skus", "nothing to count")
    sheet = CountSheet.objects.create(
        warehouse=warehouse, note=note, created_by=actor.user if actor.type == "staff" else None
    )
    CountLine.objects.bulk_create(
        [CountLine(sheet=sheet, sku_id=sku_id, expected=expected.get(sku_id, 0)) for sku_id in wanted]
    )
    return sheet


@transaction.atomic
def count_record(*, sheet_id: int, counts: Mapping[int, int]) -> CountSheet:
    """Record counted quantities (sku_id -> units on the shelf)."""
    sheet = _lock_sheet(sheet_id, status=CountSheet.Status.OPEN)
    lines = {ln.sku_id: ln for ln in sheet.lines.select_related("sku")}
    problems: dict[str, list[str]] = {}
    for sku_id, counted in counts.items():
        if sku_id not in lines:
            problems[f"counts.{sku_id}"] = ["this SKU is not on the count sheet"]
        elif not isinstance(counted, int) or isinstance(counted, bool) or counted < 0:
            problems[f"counts.{lines[sku_id].sku.code}"] = ["must be a whole number of units, 0 or more"]
    if problems:
        raise InvalidInput(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)
    for sku_id, counted in counts.items():
        lines[sku_id].counted = counted
    CountLine.objects.bulk_update([lines[s] for s in counts], ["counted"])
    return sheet


@transaction.atomic
def count_submit(*, sheet_id: int, actor: Actor) -> CountSheet:
    sheet = _lock_sheet(sheet_id, status=CountSheet.Status.OPEN)
    missing = list(sheet.lines.filter(counted__isnull=True).values_list("sku__code", flat=True)[:20])
    if missing:
        raise InvalidInput.field("counts", f"not counted yet: {', '.join(missing)}")
    sheet.status = CountSheet.Status.SUBMITTED
    sheet.submitted_at = timezone.now()
    sheet.save(update_fields=["status", "submitted_at"])
    return sheet


@transaction.atomic
def count_approve(*, sheet_id: int, actor: Actor, bin_id: int | None = None) -> CountSheet:
    """Apply every variance (counted - expected) to on-hand as count movements.

    With a bin (a count of one bin's shelf) gains go into it and losses come
    out of it; without, gains land unlocated and losses are drawn in draw order.
    """
    sheet = _lock_sheet(sheet_id, status=CountSheet.Status.SUBMITTED)
    lines = [ln for ln in sheet.lines.select_related("sku").order_by("id") if ln.variance]
    gains = [ln for ln in lines if ln.variance > 0]
    bin_ = None
    if bin_id is not None:
        bin_ = access_bin(bin_id, warehouse_id=sheet.warehouse_id, incoming=bool(gains))
    levels = _lock_levels(((ln.sku_id, sheet.warehouse_id) for ln in lines), create_missing=True)
    kind = StockMovement.Kind.COUNT
    losses = [
        Removal(ln.sku, sheet.warehouse_id, -ln.variance, f"counts.{ln.sku.code}", bin_)
        for ln in lines
        if ln.variance < 0
    ]
    _apply(
        levels,
        [
            *_removals(levels, losses, kind),
            *(
                (
                    (ln.sku_id, sheet.warehouse_id),
                    kind,
                    _Delta(on_hand=ln.variance, bin_id=bin_.pk if bin_ else None),
                )
                for ln in gains
            ),
        ],
        reference=f"count:{sheet.pk}",
        reason="cycle_count",
        actor=str(actor),
    )
    sheet.status = CountSheet.Status.APPROVED
    sheet.approved_at = timezone.now()
    sheet.approved_by = actor.user if actor.type == "staff" else None
    sheet.save(update_fields=["status", "approved_at", "approved_by"])
    return sheet


@transaction.atomic
def count_cancel(*, sheet_id: int, actor: Actor) -> CountSheet:
    sheet = CountSheet.objects.select_for_update().filter(pk=sheet_id).first()
    if sheet is None:
        raise NotFound(f"No count sheet {sheet_id}.")
    if sheet.status not in {CountSheet.Status.OPEN, CountSheet.Status.SUBMITTED}:
        raise InvalidTransition(f"Count sheet {sheet.pk} is {sheet.status} and cannot be cancelled.")
    sheet.status = CountSheet.Status.CANCELLED
    sheet.save(update_fields=["status"])
    return sheet
