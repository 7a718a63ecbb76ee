"""Cycle counts: start (snapshot of on hand), record, submit, approve (the
variances hit stock), cancel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import InvalidInput, InvalidTransition, NotFound

from ..bins import Removal, access_bin
from ..models import (
    SKU,
    CountLine,
    CountSheet,
    StockLevel,
    StockMovement,
)
from ..services import _apply, _Delta, _lock_levels
from .common import (
    _announce_adjustment,
    _removals,
    _warehouse,
)


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
    _announce_adjustment(
        kind=kind,
        reason="cycle_count",
        reference=f"count:{sheet.pk}",
        warehouse_id=sheet.warehouse_id,
        changes=[(ln.sku, ln.variance) for ln in lines],
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
