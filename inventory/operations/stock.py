"""Adjustments, write-offs, put-away and bin-to-bin moves."""

from __future__ import annotations

from django.db import transaction

from oms.actors import Actor
from oms.errors import InsufficientStock, InvalidInput

from ..bins import Removal, access_bin, binned_totals, incoming_bins, plan_removals, primary_bins
from ..models import (
    SKU,
    Bin,
    StockLevel,
    StockMovement,
    Warehouse,
)
from ..services import Key, _apply, _Delta, _lock_levels
from .common import (
    ADJUSTMENT_REASONS,
    WRITE_OFF_REASONS,
    _announce_adjustment,
    _check_reason,
    _removals,
    _sku,
    _source_bin,
    _warehouse,
)


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
        _apply(levels, changes, reference=f"adjust:{reason}", reason=reason, note=note, actor=str(actor))
        _announce_adjustment(
            kind=kind,
            reason=reason,
            reference=f"adjust:{reason}",
            warehouse_id=warehouse.pk,
            changes=[(sku, quantity)],
        )
        return levels[key]
    return _take_out(
        sku,
        warehouse,
        -quantity,
        bin_id,
        kind,
        reference=f"adjust:{reason}",
        reason=reason,
        note=note,
        actor=actor,
    )


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
    return _take_out(
        _sku(sku_id),
        _warehouse(warehouse_id),
        quantity,
        bin_id,
        StockMovement.Kind.WRITE_OFF,
        reference=f"write_off:{reason}",
        reason=reason,
        note=note,
        actor=actor,
    )


@transaction.atomic
def stock_return(
    *, warehouse_id: int, sku_id: int, quantity: int, reference: str, actor: Actor, note: str = ""
) -> StockLevel:
    """Units a customer sent back, inspected as resellable, back on hand
    (unlocated, at the returns desk, until put away). The returns app books
    their cost; no adjustment event is announced."""
    if quantity <= 0:
        raise InvalidInput.field("quantity", "must be a positive whole number")
    sku, warehouse = _sku(sku_id), _warehouse(warehouse_id)
    key = (sku.pk, warehouse.pk)
    levels = _lock_levels([key], create_missing=True)
    _apply(
        levels,
        [(key, StockMovement.Kind.RETURN, _Delta(on_hand=quantity))],
        reference=reference,
        reason="customer_return",
        note=note,
        actor=str(actor),
    )
    return levels[key]


def _take_out(
    sku: SKU,
    warehouse: Warehouse,
    quantity: int,
    bin_id: int | None,
    kind: str,
    *,
    reference: str,
    reason: str,
    note: str,
    actor: Actor,
) -> StockLevel:
    """Remove available units: from the bin named, else in the bins' draw order."""
    source = _source_bin(bin_id, warehouse.pk)
    levels = _lock_levels([(sku.pk, warehouse.pk)])
    changes = _removals(levels, [Removal(sku, warehouse.pk, quantity, "quantity", source)], kind)
    _apply(levels, changes, reference=reference, reason=reason, note=note, actor=str(actor))
    _announce_adjustment(
        kind=kind, reason=reason, reference=reference, warehouse_id=warehouse.pk, changes=[(sku, -quantity)]
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
