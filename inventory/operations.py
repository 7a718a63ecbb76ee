"""Stock operations: adjustments, write-offs, transfers between locations
(with goods in transit) and cycle counts.

Every quantity change goes through the ledger helpers of inventory.services
(levels locked in id order, one movement per change). A transfer or count
sheet row is locked before any stock level, like reservations are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import InsufficientStock, InvalidInput, InvalidTransition, NotFound

from .models import (
    SKU,
    TRANSFER_TRANSITIONS,
    CountLine,
    CountSheet,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    Warehouse,
)
from .services import _apply, _Delta, _lock_levels

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
    *, warehouse_id: int, sku_id: int, quantity: int, reason: str, actor: Actor, note: str = ""
) -> StockLevel:
    """Add (positive) or remove (negative) units with a reason code."""
    _check_reason(reason, ADJUSTMENT_REASONS)
    if quantity == 0:
        raise InvalidInput.field("quantity", "must not be zero")
    sku, warehouse = _sku(sku_id), _warehouse(warehouse_id)
    levels = _lock_levels([(sku.pk, warehouse.pk)], create_missing=quantity > 0)
    level = levels.get((sku.pk, warehouse.pk))
    if quantity < 0:
        _removable(level, -quantity, sku, "quantity")
    _apply(
        levels,
        [((sku.pk, warehouse.pk), StockMovement.Kind.ADJUSTMENT, _Delta(on_hand=quantity))],
        reference=f"adjust:{reason}",
        reason=reason,
        note=note,
        actor=str(actor),
    )
    return levels[(sku.pk, warehouse.pk)]


@transaction.atomic
def stock_write_off(
    *, warehouse_id: int, sku_id: int, quantity: int, reason: str, actor: Actor, note: str = ""
) -> StockLevel:
    """Take unsellable units out of stock for good."""
    _check_reason(reason, WRITE_OFF_REASONS)
    if quantity <= 0:
        raise InvalidInput.field("quantity", "must be a positive whole number")
    sku, warehouse = _sku(sku_id), _warehouse(warehouse_id)
    levels = _lock_levels([(sku.pk, warehouse.pk)])
    _removable(levels.get((sku.pk, warehouse.pk)), quantity, sku, "quantity")
    _apply(
        levels,
        [((sku.pk, warehouse.pk), StockMovement.Kind.WRITE_OFF, _Delta(on_hand=-quantity))],
        reference=f"write_off:{reason}",
        reason=reason,
        note=note,
        actor=str(actor),
    )
    return levels[(sku.pk, warehouse.pk)]


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
def transfer_ship(*, transfer_id: int, actor: Actor) -> Transfer:
    """The goods leave the sending location: its on-hand drops, and they are in transit."""
    transfer = _lock_transfer(transfer_id)
    _move(transfer, Transfer.Status.IN_TRANSIT)
    lines = list(transfer.lines.select_related("sku").order_by("id"))
    levels = _lock_levels((ln.sku_id, transfer.from_warehouse_id) for ln in lines)
    for i, ln in enumerate(lines):
        _removable(
            levels.get((ln.sku_id, transfer.from_warehouse_id)), ln.quantity, ln.sku, f"lines[{i}].quantity"
        )
    _apply(
        levels,
        [
            (
                (ln.sku_id, transfer.from_warehouse_id),
                StockMovement.Kind.TRANSFER_OUT,
                _Delta(on_hand=-ln.quantity),
            )
            for ln in lines
        ],
        reference=f"transfer:{transfer.pk}",
        actor=str(actor),
    )
    transfer.shipped_at = timezone.now()
    transfer.save(update_fields=["status", "shipped_at"])
    return transfer


@transaction.atomic
def transfer_receive(*, transfer_id: int, actor: Actor) -> Transfer:
    """The goods arrive: the receiving location's on-hand rises."""
    transfer = _lock_transfer(transfer_id)
    _move(transfer, Transfer.Status.RECEIVED)
    lines = list(transfer.lines.order_by("id"))
    levels = _lock_levels(((ln.sku_id, transfer.to_warehouse_id) for ln in lines), create_missing=True)
    _apply(
        levels,
        [
            (
                (ln.sku_id, transfer.to_warehouse_id),
                StockMovement.Kind.TRANSFER_IN,
                _Delta(on_hand=ln.quantity),
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
def count_approve(*, sheet_id: int, actor: Actor) -> CountSheet:
    """Apply every variance (counted - expected) to on-hand as a count movement."""
    sheet = _lock_sheet(sheet_id, status=CountSheet.Status.SUBMITTED)
    lines = [ln for ln in sheet.lines.select_related("sku").order_by("id") if ln.variance]
    levels = _lock_levels(((ln.sku_id, sheet.warehouse_id) for ln in lines), create_missing=True)
    for ln in lines:
        if ln.variance < 0:
            _removable(
                levels.get((ln.sku_id, sheet.warehouse_id)), -ln.variance, ln.sku, f"counts.{ln.sku.code}"
            )
    _apply(
        levels,
        [
            ((ln.sku_id, sheet.warehouse_id), StockMovement.Kind.COUNT, _Delta(on_hand=ln.variance))
            for ln in lines
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
