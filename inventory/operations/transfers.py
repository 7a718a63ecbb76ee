"""Transfers between locations, with the goods in transit between ship and receive."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import InvalidInput, InvalidTransition, NotFound

from ..bins import Removal, incoming_bins
from ..models import (
    SKU,
    TRANSFER_TRANSITIONS,
    StockMovement,
    Transfer,
    TransferLine,
)
from ..services import _apply, _Delta, _lock_levels
from .common import (
    _removals,
    _source_bin,
    _warehouse,
)


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
