"""What the stock operations share: reason codes, lookups, the available-stock
check and turning removals into per-bin ledger changes."""

from __future__ import annotations

from collections.abc import Iterable

from oms.errors import InsufficientStock, InvalidInput
from oms.outbox import emit

from ..bins import Removal, access_bin, plan_removals
from ..models import (
    SKU,
    Bin,
    StockLevel,
    Warehouse,
)
from ..services import Key, _Delta

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
# The accounting hook for stock gained or lost outside buying and selling
# (adjustments, write-offs, counts): accounting books it at cost.
STOCK_ADJUSTED_TOPIC = "inventory.stock_adjusted"


def _announce_adjustment(
    *, kind: str, reason: str, reference: str, warehouse_id: int, changes: Iterable[tuple[SKU, int]]
) -> None:
    """Emit what stock came in (+) or went (-), at the SKUs' current cost, in
    the transaction that changed it."""
    lines = [
        {
            "sku_id": sku.pk,
            "sku": sku.code,
            "quantity": quantity,
            "unit_cost": str(sku.unit_cost),
            "cost_currency": sku.cost_currency,
        }
        for sku, quantity in changes
        if quantity
    ]
    if lines:
        emit(
            STOCK_ADJUSTED_TOPIC,
            {
                "kind": kind,
                "reason": reason,
                "reference": reference,
                "warehouse_id": warehouse_id,
                "lines": lines,
            },
            aggregate=f"warehouse:{warehouse_id}",
        )


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
