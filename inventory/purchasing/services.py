"""Purchasing services: purchase orders to suppliers, and receiving their goods.

Every write to a purchase order goes through here. Locking rule (on top of
the stock rules in inventory.services): the purchase order row is locked
first, then stock levels (in id order, by _lock_levels). Lines are never
locked on their own: every service that changes a line holds its order's
lock, so concurrent receipts of one order queue on that row and each sees
the quantities the previous one committed.

Receiving writes RECEIPT movements referencing "po:<id>", so the stock
ledger explains every unit that came in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone

from oms.actors import Actor
from oms.errors import InvalidInput, InvalidTransition, NotFound
from oms.money import convert, round_money
from oms.outbox import emit

from ..bins import incoming_bins
from ..models import (
    PO_OPEN_STATUSES,
    PO_TRANSITIONS,
    SKU,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierSKU,
    Warehouse,
)
from ..services import _apply, _Delta, _lock_levels

Status = PurchaseOrder.Status
SkuRef = int | str  # a SKU id or its code

# Outbox topic of a receipt. Accounting subscribes to it (debit inventory,
# credit goods received not invoiced).
PO_RECEIVED_TOPIC = "inventory.po_received"
COST_QUANTUM = Decimal("0.0001")  # unit costs keep four decimals (MoneyField)


@dataclass(frozen=True)
class OrderLineInput:
    """A checked purchase order line, ready to write."""

    sku: SKU
    quantity: int
    unit_cost: Decimal
    lead_time_days: int


@dataclass
class PurchaseReceipt:
    """What one receipt did. `quantities` (sku_id -> units) is for callers that
    act on newly arrived stock, e.g. allocating waiting backorders after commit."""

    po: PurchaseOrder
    quantities: dict[int, int]
    value: Decimal
    currency: str
    event: PurchaseOrderEvent
    lines: list[PurchaseOrderLine] = field(default_factory=list)


# --- Helpers ---------------------------------------------------------------------


def _lock_po(po_id: int) -> PurchaseOrder:
    po = PurchaseOrder.objects.select_for_update().filter(pk=po_id).first()
    if po is None:
        raise NotFound(f"No purchase order {po_id}.")
    return po


def _label(status: str) -> str:
    return Status(status).label.lower()


def _move(po: PurchaseOrder, to_status: str) -> str:
    """The one place purchase order status changes are checked; returns the old status."""
    if to_status not in PO_TRANSITIONS[po.status]:
        raise InvalidTransition(
            f"{po} is {_label(po.status)} and cannot become {_label(to_status)}.",
            current_status=po.status,
        )
    old, po.status = po.status, to_status
    return old


def _event(
    po: PurchaseOrder,
    kind: str,
    actor: Actor,
    *,
    from_status: str = "",
    to_status: str = "",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> PurchaseOrderEvent:
    return PurchaseOrderEvent.objects.create(
        po=po,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        actor=str(actor)[:80],
        actor_user=actor.user if actor.type == "staff" and getattr(actor.user, "pk", None) else None,
        message=message[:500],
        data=data or {},
    )


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _skus_by_ref(refs: Iterable[object]) -> dict[object, SKU]:
    """Resolve SKU ids and codes in one query; unknown refs are left out."""
    refs = list(refs)
    ids = {r for r in refs if _is_whole(r)}
    codes = {r for r in refs if isinstance(r, str)}
    if not ids and not codes:
        return {}
    found: dict[object, SKU] = {}
    for sku in SKU.objects.filter(Q(pk__in=ids) | Q(code__in=codes)):
        if sku.pk in ids:
            found[sku.pk] = sku
        if sku.code in codes:
            found[sku.code] = sku
    return found


def _raise_if(problems: dict[str, list[str]]) -> None:
    if problems:
        raise InvalidInput(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)


def max_receivable(quantity_ordered: int, tolerance_pct: Decimal) -> int:
    """The most units a line may receive in total: ordered x (1 + tolerance), rounded down."""
    limit = Decimal(quantity_ordered) * (Decimal(100) + tolerance_pct) / Decimal(100)
    return int(limit.to_integral_value(rounding=ROUND_FLOOR))


# --- Creating and moving purchase orders --------------------------------------------


def purchase_order_check_lines(
    *, supplier: Supplier, lines: Sequence[tuple[SkuRef, int]]
) -> list[OrderLineInput]:
    """Check draft lines against what the supplier sells (MOQ, pack size).

    Raises InvalidInput naming every faulty `lines[i].sku` / `lines[i].quantity`.
    Read-only, so forms can call it to validate before anything is written.
    """
    if not lines:
        raise InvalidInput.field("lines", "a purchase order needs at least one line")
    skus = _skus_by_ref(ref for ref, _ in lines)
    offers = {
        item.sku_id: item
        for item in SupplierSKU.objects.filter(supplier=supplier, sku__in=[s.pk for s in skus.values()])
    }
    problems: dict[str, list[str]] = {}
    checked: list[OrderLineInput] = []
    seen: set[int] = set()
    for i, (ref, quantity) in enumerate(lines):
        sku = skus.get(ref)
        offer = offers.get(sku.pk) if sku else None
        if sku is None:
            problems[f"lines[{i}].sku"] = [f"unknown SKU {ref}"]
        elif offer is None:
            problems[f"lines[{i}].sku"] = [f"{sku.code} is not supplied by {supplier.code}"]
        elif sku.pk in seen:
            problems[f"lines[{i}].sku"] = [f"{sku.code} is already on the purchase order"]
        if not _is_whole(quantity) or quantity <= 0:
            problems[f"lines[{i}].quantity"] = ["must be a positive whole number"]
        elif offer is not None:
            wrong = []
            if quantity < offer.min_order_qty:
                wrong.append(f"at least the minimum order quantity {offer.min_order_qty}")
            if quantity % offer.pack_size:
                wrong.append(f"must be a multiple of the pack size {offer.pack_size}")
            if wrong:
                problems[f"lines[{i}].quantity"] = wrong
        if sku is not None and offer is not None:
            seen.add(sku.pk)
            checked.append(
                OrderLineInput(
                    sku=sku,
                    quantity=quantity,
                    unit_cost=offer.unit_cost,  # may be finer than the currency: totals are rounded
                    lead_time_days=offer.lead_time_days
                    if offer.lead_time_days is not None
                    else supplier.default_lead_time_days,
                )
            )
    _raise_if(problems)
    return checked


@transaction.atomic
def purchase_order_create(
    *,
    supplier_id: int,
    warehouse_id: int,
    lines: Sequence[tuple[SkuRef, int]],
    actor: Actor,
    expected_at: date | None = None,
    over_receipt_tolerance_pct: Decimal | None = None,
    note: str = "",
) -> PurchaseOrder:
    """A draft purchase order of (sku id or code, quantity) lines, priced from
    the supplier's SKU costs. Without an ETA, it is today plus the longest
    lead time of its lines (sending it moves the ETA likewise if unset)."""
    supplier = Supplier.objects.filter(pk=supplier_id).first()
    if supplier is None or not supplier.is_active:
        raise InvalidInput.field("supplier", f"unknown or inactive supplier {supplier_id}")
    warehouse = Warehouse.objects.filter(pk=warehouse_id, is_active=True).first()
    if warehouse is None:
        raise InvalidInput.field("warehouse", f"unknown or inactive warehouse {warehouse_id}")
    if over_receipt_tolerance_pct is not None and not (0 <= over_receipt_tolerance_pct <= 100):
        raise InvalidInput.field("over_receipt_tolerance_pct", "must be between 0 and 100")
    checked = purchase_order_check_lines(supplier=supplier, lines=lines)
    if expected_at is None:
        expected_at = timezone.localdate() + timedelta(days=max(ln.lead_time_days for ln in checked))
    po = PurchaseOrder.objects.create(
        supplier=supplier,
        warehouse=warehouse,
        currency=supplier.currency,
        expected_at=expected_at,
        note=note,
        created_by=actor.user if actor.type == "staff" and getattr(actor.user, "pk", None) else None,
        **(
            {"over_receipt_tolerance_pct": over_receipt_tolerance_pct}
            if over_receipt_tolerance_pct is not None
            else {}
        ),
    )
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(po=po, sku=ln.sku, quantity_ordered=ln.quantity, unit_cost=ln.unit_cost)
            for ln in checked
        ]
    )
    _event(po, "created", actor, to_status=po.status, message=note)
    return po


@transaction.atomic
def purchase_order_update(
    *,
    po_id: int,
    actor: Actor,
    lines: Sequence[tuple[SkuRef, int]],
    supplier_id: int | None = None,
    warehouse_id: int | None = None,
    expected_at: date | None = None,
    over_receipt_tolerance_pct: Decimal | None = None,
    note: str | None = None,
) -> PurchaseOrder:
    """Rewrite a draft: its lines are replaced and re-priced from the supplier."""
    po = _lock_po(po_id)
    if po.status != Status.DRAFT:
        raise InvalidTransition(
            f"{po} is {_label(po.status)}: only a draft can be edited.", current_status=po.status
        )
    if supplier_id is not None and supplier_id != po.supplier_id:
        supplier = Supplier.objects.filter(pk=supplier_id, is_active=True).first()
        if supplier is None:
            raise InvalidInput.field("supplier", f"unknown or inactive supplier {supplier_id}")
        po.supplier, po.currency = supplier, supplier.currency
    if warehouse_id is not None and warehouse_id != po.warehouse_id:
        if not Warehouse.objects.filter(pk=warehouse_id, is_active=True).exists():
            raise InvalidInput.field("warehouse", f"unknown or inactive warehouse {warehouse_id}")
        po.warehouse_id = warehouse_id
    if over_receipt_tolerance_pct is not None:
        if not (0 <= over_receipt_tolerance_pct <= 100):
            raise InvalidInput.field("over_receipt_tolerance_pct", "must be between 0 and 100")
        po.over_receipt_tolerance_pct = over_receipt_tolerance_pct
    if expected_at is not None:
        po.expected_at = expected_at
    if note is not None:
        po.note = note
    checked = purchase_order_check_lines(supplier=po.supplier, lines=lines)
    po.save(
        update_fields=[
            "supplier",
            "currency",
            "warehouse",
            "over_receipt_tolerance_pct",
            "expected_at",
            "note",
        ]
    )
    po.lines.all().delete()
    PurchaseOrderLine.objects.bulk_create(
        [
            PurchaseOrderLine(po=po, sku=ln.sku, quantity_ordered=ln.quantity, unit_cost=ln.unit_cost)
            for ln in checked
        ]
    )
    _event(
        po,
        "updated",
        actor,
        from_status=po.status,
        to_status=po.status,
        data={"lines": {ln.sku.code: ln.quantity for ln in checked}},
    )
    return po


@transaction.atomic
def purchase_order_send(*, po_id: int, actor: Actor) -> PurchaseOrder:
    """The order goes to the supplier: from now on its goods count as incoming.

    (E-mailing the supplier belongs in an outbox handler; none exists yet.)"""
    po = _lock_po(po_id)
    old = _move(po, Status.SENT)
    po.sent_at = timezone.now()
    po.save(update_fields=["status", "sent_at"])
    _event(po, "sent", actor, from_status=old, to_status=po.status)
    return po


@transaction.atomic
def purchase_order_cancel(*, po_id: int, actor: Actor, reason: str) -> PurchaseOrder:
    """Cancel a draft or sent order, saying why (it stays in the order's history).
    Once goods arrived it can only be closed short."""
    if not reason.strip():
        raise InvalidInput.field("reason", "say why the order is cancelled")
    po = _lock_po(po_id)
    if po.lines.filter(quantity_received__gt=0).exists():
        raise InvalidTransition(
            f"{po} has received goods and cannot be cancelled; close it short instead.",
            current_status=po.status,
        )
    old = _move(po, Status.CANCELLED)
    po.cancelled_at = timezone.now()
    po.save(update_fields=["status", "cancelled_at"])
    _event(po, "cancelled", actor, from_status=old, to_status=po.status, message=reason)
    return po


@transaction.atomic
def purchase_order_close(*, po_id: int, actor: Actor, reason: str = "") -> PurchaseOrder:
    """Close a (partially) received order: what is still outstanding will not come."""
    po = _lock_po(po_id)
    old = _move(po, Status.CLOSED)
    po.closed_at = timezone.now()
    po.save(update_fields=["status", "closed_at"])
    short = {
        code: ordered - received
        for code, ordered, received in po.lines.filter(quantity_received__lt=F("quantity_ordered"))
        .order_by("sku__code")
        .values_list("sku__code", "quantity_ordered", "quantity_received")
    }
    _event(po, "closed", actor, from_status=old, to_status=po.status, message=reason, data={"short": short})
    return po


# --- Receiving ---------------------------------------------------------------------


def _average_costs(
    quantities: Mapping[int, int], lines: Mapping[int, PurchaseOrderLine], currency: str
) -> None:
    """Moving-average cost: each SKU's unit cost becomes the average of the
    units on hand (all locations, before this receipt) at the old cost and
    the units received at the purchase order's cost, converted to the SKU's
    cost currency at today's rate. The SKU rows are locked, so two receipts
    of one SKU average one after the other."""
    skus = list(SKU.objects.select_for_update().filter(pk__in=quantities).order_by("pk"))
    held = dict(
        StockLevel.objects.filter(sku_id__in=quantities)
        .values("sku_id")
        .annotate(units=Sum("on_hand"))
        .values_list("sku_id", "units")
    )
    today = timezone.localdate()
    for sku in skus:
        cost = lines[sku.pk].unit_cost
        if currency != sku.cost_currency:
            cost = convert(cost, from_currency=currency, to_currency=sku.cost_currency, day=today)
        before, received = max(held.get(sku.pk) or 0, 0), quantities[sku.pk]
        sku.unit_cost = ((before * sku.unit_cost + received * cost) / (before + received)).quantize(
            COST_QUANTUM
        )
    SKU.objects.bulk_update(skus, ["unit_cost"])


@transaction.atomic
def purchase_order_receive(
    *,
    po_id: int,
    receipts: Mapping[SkuRef, int],
    actor: Actor,
    reference: str = "",
    note: str = "",
    bin_id: int | None = None,
    to_primary_bin: bool = False,
) -> PurchaseReceipt:
    """Goods arrive against an open order: sku (id or code) -> units, all or nothing.

    The units land unlocated (the receiving dock), in the bin named, or with
    `to_primary_bin` in each SKU's primary bin (unlocated if it has none).

    Each line may receive up to ordered x (1 + tolerance) in total. Stock goes
    up with RECEIPT movements referencing "po:<id>", the lines and status
    follow, an event row records it, and an outbox event carries the value
    for accounting. The result lists the units per SKU so the caller can act
    on the new stock (a later step allocates waiting backorders with it).
    """
    po = _lock_po(po_id)
    if po.status not in PO_OPEN_STATUSES:
        raise InvalidTransition(
            f"{po} is {_label(po.status)}: goods can only be received against a sent order.",
            current_status=po.status,
        )
    if not receipts:
        raise InvalidInput.field("receipts", "nothing to receive")
    lines = {ln.sku_id: ln for ln in po.lines.select_related("sku").order_by("id")}
    skus = _skus_by_ref(receipts)
    problems: dict[str, list[str]] = {}
    quantities: dict[int, int] = {}
    for ref, quantity in receipts.items():
        sku = skus.get(ref)
        name = f"receipts.{sku.code if sku else ref}"
        line = lines.get(sku.pk) if sku else None
        if sku is None:
            problems[name] = [f"unknown SKU {ref}"]
            continue
        if line is None:
            problems[name] = [f"{sku.code} is not on {po}"]
            continue
        if not _is_whole(quantity) or quantity <= 0:
            problems[name] = ["must be a positive whole number"]
            continue
        total = line.quantity_received + quantities.get(sku.pk, 0) + quantity
        limit = max_receivable(line.quantity_ordered, po.over_receipt_tolerance_pct)
        if total > limit:
            problems[name] = [
                f"receiving {total} would exceed the ordered {line.quantity_ordered} by more than the "
                f"{po.over_receipt_tolerance_pct.normalize():f}% tolerance (max {limit})"
            ]
            continue
        quantities[sku.pk] = quantities.get(sku.pk, 0) + quantity
    _raise_if(problems)
    targets = incoming_bins(
        warehouse_id=po.warehouse_id, sku_ids=quantities, bin_id=bin_id, to_primary_bin=to_primary_bin
    )

    levels = _lock_levels([(sku_id, po.warehouse_id) for sku_id in quantities], create_missing=True)
    _average_costs(quantities, lines, po.currency)
    _apply(
        levels,
        [
            (
                (sku_id, po.warehouse_id),
                StockMovement.Kind.RECEIPT,
                _Delta(on_hand=qty, bin_id=targets[sku_id]),
            )
            for sku_id, qty in sorted(quantities.items())
        ],
        reference=f"po:{po.pk}",
        note=(note or reference)[:255],
        actor=str(actor),
    )
    changed = [lines[sku_id] for sku_id in sorted(quantities)]
    for line in changed:
        line.quantity_received += quantities[line.sku_id]
    PurchaseOrderLine.objects.bulk_update(changed, ["quantity_received"])

    complete = all(ln.quantity_received >= ln.quantity_ordered for ln in lines.values())
    old = po.status
    target = Status.RECEIVED if complete else Status.PARTIALLY_RECEIVED
    if target != po.status:  # a further partial receipt leaves the status as it is
        _move(po, target)
        if complete:
            po.received_at = timezone.now()
        po.save(update_fields=["status", "received_at"])

    currency = po.currency
    value = round_money(sum((lines[s].unit_cost * q for s, q in quantities.items()), Decimal(0)), currency)
    by_code = {lines[s].sku.code: q for s, q in sorted(quantities.items())}
    event = _event(
        po,
        "received",
        actor,
        from_status=old,
        to_status=po.status,
        message=note,
        data={"receipt": by_code, "reference": reference, "value": str(value), "currency": currency},
    )
    # The accounting hook: the accounting app registers an outbox handler for
    # this topic (inventory / goods received not invoiced). Written in this
    # transaction, so the books can never miss a receipt or see one that
    # rolled back.
    emit(
        PO_RECEIVED_TOPIC,
        {
            "po_id": po.pk,
            "supplier_id": po.supplier_id,
            "warehouse_id": po.warehouse_id,
            "event_id": event.pk,
            "reference": reference,
            "receipt": {
                str(s): {"sku": lines[s].sku.code, "quantity": q, "unit_cost": str(lines[s].unit_cost)}
                for s, q in sorted(quantities.items())
            },
            "value": str(value),
            "currency": currency,
        },
        aggregate=f"po:{po.pk}",
    )
    return PurchaseReceipt(
        po=po, quantities=quantities, value=value, currency=currency, event=event, lines=changed
    )
