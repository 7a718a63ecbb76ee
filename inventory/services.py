"""Every write to stock goes through here.

Locking rules (the only way to keep concurrent placements from deadlocking):
1. Reservation rows before stock-level rows.
2. Stock-level rows are locked in one SELECT ... ORDER BY id FOR UPDATE.
3. Reservations that belong to someone else are only ever taken with
   SKIP LOCKED (expiry), so nobody waits on them while holding levels.
4. Bin stock rows change only in _apply, under their SKU's level lock, so
   two writers of one bin row are already queued on the level.
Each operation then changes all its levels in one UPDATE ... FROM (VALUES)
and writes its movements in one bulk INSERT, so the query count does not
grow with the number of lines. Operations are all-or-nothing and make no
savepoint of their own (savepoint=False): an error rolls back the caller's
transaction, or the savepoint the caller chose to make.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import CheckConstraint, Model, Q
from django.utils import timezone

from oms.compiled import insert_statement, mark_inserted, raw_instances
from oms.errors import InsufficientStock, InvalidInput

from .bins import binned_totals, incoming_bins
from .models import SKU, BinStock, Reservation, StockLevel, StockMovement

Key = tuple[int, int]  # (sku_id, warehouse_id)

# The CHECKs that refuse a level or bin going below zero: InsufficientStock, not a server error.
_STOCK_CHECKS = {
    c.name
    for model in (StockLevel, BinStock)
    for c in model._meta.constraints
    if isinstance(c, CheckConstraint)
}


@dataclass
class _Delta:
    on_hand: int = 0
    allocated: int = 0
    reserved: int = 0
    # Where an on-hand change happens: a bin, or None for unlocated stock
    # (inventory.bins). Allocations and reservations never name one: they
    # promise units of the warehouse, not of a shelf.
    bin_id: int | None = None


def _lock_levels(keys: Iterable[Key], *, create_missing: bool = False) -> dict[Key, StockLevel]:
    keys = sorted(set(keys))
    if not keys:
        return {}
    if create_missing:
        StockLevel.objects.bulk_create(
            [StockLevel(sku_id=s, warehouse_id=w) for s, w in keys],
            ignore_conflicts=True,
        )
    # Raw SQL: this runs twice per order placed, and building the ORM's
    # OR-of-pairs filter cost more CPU than the query itself.
    levels = raw_instances(
        StockLevel,
        "SELECT * FROM inventory_stocklevel WHERE (sku_id, warehouse_id) IN "
        "(SELECT * FROM unnest(%s::bigint[], %s::bigint[])) ORDER BY id FOR UPDATE",
        [[s for s, _ in keys], [w for _, w in keys]],
    )
    return {(lvl.sku_id, lvl.warehouse_id): lvl for lvl in levels}


def _apply(
    levels: Mapping[Key, StockLevel],
    changes: Iterable[tuple[Key, str, _Delta]],
    *,
    reference: str,
    note: str = "",
    reason: str = "",
    actor: str = "",
    along: list[Model] | None = None,
) -> None:
    """Add the deltas to the (already locked) levels and write one movement each.

    `along` are new rows of one model written in the same statement (the
    reservations a hold makes), their primary keys set.

    An on-hand delta with a bin_id also changes that bin's BinStock row; one
    without changes the unlocated stock, which is checked first wherever it
    shrinks, so no caller (bin-aware or not) can take units that are on a
    shelf without saying which shelf.
    """
    totals: dict[Key, _Delta] = defaultdict(_Delta)
    unlocated: dict[Key, int] = defaultdict(int)
    binned: dict[tuple[int, int, int], int] = defaultdict(int)  # (sku_id, bin_id, warehouse_id) -> delta
    movements = []
    for key, kind, delta in changes:
        if not (delta.on_hand or delta.allocated or delta.reserved):
            continue
        total = totals[key]
        total.on_hand += delta.on_hand
        total.allocated += delta.allocated
        total.reserved += delta.reserved
        if delta.bin_id is None:
            unlocated[key] += delta.on_hand
        else:
            binned[(key[0], delta.bin_id, key[1])] += delta.on_hand
        movements.append(
            StockMovement(
                sku_id=key[0],
                warehouse_id=key[1],
                bin_id=delta.bin_id,
                kind=kind,
                on_hand_delta=delta.on_hand,
                allocated_delta=delta.allocated,
                reserved_delta=delta.reserved,
                reference=reference,
                note=note,
                reason=reason,
                actor=actor[:80],
            )
        )
    if not movements:
        return
    _check_unlocated(levels, {key: d for key, d in unlocated.items() if d < 0})
    rows = [
        (levels[key].pk, d.on_hand, d.allocated, d.reserved)
        for key, d in sorted(totals.items())
        if d.on_hand or d.allocated or d.reserved  # a bin move nets to nothing on the level
    ]
    # The levels' UPDATE and the INSERTs of the movements (and `along`) go as one statement.
    parts, params = [], []
    if rows:
        values = ", ".join(["(%s::bigint, %s::int, %s::int, %s::int)"] * len(rows))
        parts.append(
            f"""changed AS (
                UPDATE inventory_stocklevel AS s
                SET on_hand = s.on_hand + v.oh, allocated = s.allocated + v.al,
                    soft_reserved = s.soft_reserved + v.rs, updated_at = now()
                FROM (VALUES {values}) AS v(id, oh, al, rs)
                WHERE s.id = v.id
            )"""  # noqa: S608 - only placeholders are interpolated
        )
        params += [value for row in rows for value in row]
    insert, insert_params = insert_statement(movements)
    if along:
        parts.append(f"moved AS ({insert})")
        params += insert_params
        insert, insert_params = insert_statement(along, returning=True)
    statement = (f"WITH {', '.join(parts)} " if parts else "") + insert
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, params + insert_params)
            if along:
                for obj, returned in zip(along, cursor.fetchall(), strict=True):
                    mark_inserted(obj, returned, connection.alias)
            _apply_bins(cursor, {k: d for k, d in binned.items() if d})
    except IntegrityError as exc:
        if getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None) not in _STOCK_CHECKS:
            raise
        # The CHECK constraints are the last line of defence against oversell
        # and against taking from a bin more than it holds.
        raise InsufficientStock(
            "The stock change would make available stock, or a bin's stock, negative."
        ) from exc
    for key, d in totals.items():
        level = levels[key]
        level.on_hand += d.on_hand
        level.allocated += d.allocated
        level.soft_reserved += d.reserved


def _check_unlocated(levels: Mapping[Key, StockLevel], shrink: Mapping[Key, int]) -> None:
    """Refuse to take more unlocated units than there are: on hand - units in bins.

    Exact without locking BinStock: bin rows only change while their level is
    locked, and the caller holds these levels.
    """
    if not shrink:
        return
    in_bins = binned_totals(shrink)
    for key, delta in sorted(shrink.items()):
        level = levels.get(key)
        unlocated = (level.on_hand if level else 0) - in_bins.get(key, 0)
        if unlocated + delta < 0:
            code = _sku_codes([key[0]]).get(key[0], key[0])
            raise InsufficientStock(
                f"Only {max(unlocated, 0)} unlocated unit(s) of {code}; name the bin to take the rest from.",
                fields={"bin": [f"only {max(unlocated, 0)} of {code} not in a bin"]},
            )


def _apply_bins(cursor, deltas: Mapping[tuple[int, int, int], int]) -> None:
    """Add (sku_id, bin_id, warehouse_id) -> delta to BinStock in one statement.

    An upsert (INSERT ... ON CONFLICT) cannot do it: PostgreSQL checks the
    proposed row against the CHECK before it finds the conflict, so a negative
    delta on an existing row would fail. Instead existing rows are updated and
    missing ones inserted; a bin going below zero (or a new row with a negative
    delta) violates binstock_quantity_gte_0. Rows are given in (sku, bin)
    order; nobody waits on them anyway, as the SKU's level lock comes first.
    """
    if not deltas:
        return
    rows = sorted(deltas.items())
    values = ", ".join(["(%s::bigint, %s::bigint, %s::bigint, %s::int)"] * len(rows))
    cursor.execute(
        f"""
        WITH v(sku_id, bin_id, warehouse_id, qty) AS (VALUES {values}),
        changed AS (
            UPDATE inventory_binstock AS b SET quantity = b.quantity + v.qty, updated_at = now()
            FROM v WHERE b.sku_id = v.sku_id AND b.bin_id = v.bin_id
            RETURNING b.sku_id, b.bin_id
        )
        INSERT INTO inventory_binstock (sku_id, bin_id, warehouse_id, quantity, updated_at)
        SELECT v.sku_id, v.bin_id, v.warehouse_id, v.qty, now() FROM v
        WHERE NOT EXISTS (SELECT 1 FROM changed c WHERE c.sku_id = v.sku_id AND c.bin_id = v.bin_id)
        """,  # noqa: S608 - only placeholders are interpolated
        [
            value
            for (sku_id, bin_id, warehouse_id), qty in rows
            for value in (sku_id, bin_id, warehouse_id, qty)
        ],
    )


def _sku_codes(sku_ids: Iterable[int]) -> dict[int, str]:
    return dict(SKU.objects.filter(id__in=set(sku_ids)).values_list("id", "code"))


def _mark_expired(stale: list[Reservation], levels: Mapping[Key, StockLevel], now: datetime) -> None:
    Reservation.objects.filter(id__in=[r.id for r in stale]).update(
        status=Reservation.Status.EXPIRED, closed_at=now
    )
    _apply(
        levels,
        [
            ((r.sku_id, r.warehouse_id), StockMovement.Kind.RESERVATION_EXPIRY, _Delta(reserved=-r.quantity))
            for r in stale
        ],
        reference="expiry",
    )


def _expire_stale(keys: Iterable[Key], now: datetime, levels: Mapping[Key, StockLevel]) -> None:
    """Free expired reservations on these levels, skipping any another
    transaction holds (it is releasing or converting them already)."""
    match = Q()
    for sku_id, warehouse_id in keys:
        match |= Q(sku_id=sku_id, warehouse_id=warehouse_id)
    stale = list(
        Reservation.objects.filter(match, status=Reservation.Status.ACTIVE, expires_at__lt=now)
        .select_for_update(skip_locked=True)
        .order_by("id")
    )
    if stale:
        _mark_expired(stale, levels, now)


@transaction.atomic(savepoint=False)
def stock_receive(
    *,
    warehouse_id: int,
    sku_id: int,
    quantity: int,
    reference: str,
    note: str = "",
    bin_id: int | None = None,
    to_primary_bin: bool = False,
) -> StockLevel:
    """Goods arrive: on hand goes up, unlocated unless a bin is named or the
    SKU's primary bin is asked for (inventory.bins)."""
    if quantity <= 0:
        raise InvalidInput.field("quantity", "must be a positive whole number")
    target = incoming_bins(
        warehouse_id=warehouse_id, sku_ids=[sku_id], bin_id=bin_id, to_primary_bin=to_primary_bin
    )[sku_id]
    levels = _lock_levels([(sku_id, warehouse_id)], create_missing=True)
    _apply(
        levels,
        [((sku_id, warehouse_id), StockMovement.Kind.RECEIPT, _Delta(on_hand=quantity, bin_id=target))],
        reference=reference,
        note=note,
    )
    return levels[(sku_id, warehouse_id)]


@transaction.atomic(savepoint=False)
def stock_reserve(
    *,
    warehouse_id: int,
    quantities: Mapping[int, int],
    expires_at: datetime,
    reference: str,
    release: Iterable[Reservation] = (),
    held_back: Mapping[int, int] | None = None,
) -> list[Reservation]:
    """Soft-reserve sku_id -> qty in one warehouse, all or nothing.

    `release` lists active reservations (locked by the caller) that are given
    up in the same step, e.g. a cart's holds when it checks out: their stock
    counts as available to this request.

    `held_back` (sku_id -> units) is safety stock the request must leave
    untouched there (inventory.atp). It is checked here, against the locked
    levels, because the caller read it before the lock: racing requests can
    then sell the units above it and never the units below.
    """
    now = timezone.now()
    release = list(release)
    floor = held_back or {}
    wanted = {(sku_id, warehouse_id): qty for sku_id, qty in quantities.items() if qty > 0}
    keys = set(wanted) | {(r.sku_id, r.warehouse_id) for r in release}
    levels = _lock_levels(keys)

    freed: dict[Key, int] = defaultdict(int)
    for r in release:
        freed[(r.sku_id, r.warehouse_id)] += r.quantity

    def shortages() -> dict[Key, int]:
        short = {}
        for key, qty in wanted.items():
            level = levels.get(key)
            available = (level.available if level else 0) + freed.get(key, 0) - floor.get(key[0], 0)
            if available < qty:
                short[key] = max(available, 0)
        return short

    short = shortages()
    # Only levels we hold can gain from expiry (and an empty key list would match every reservation).
    if expirable := [k for k in short if k in levels]:
        _expire_stale(expirable, now, levels)
        short = shortages()
    if short:
        codes = _sku_codes(sku for sku, _ in short)
        (sku_id, _wh), available = next(iter(sorted(short.items())))
        kept = " (safety stock is held back)" if floor.get(sku_id) else ""
        raise InsufficientStock(
            f"Only {available} of {codes.get(sku_id, sku_id)} available{kept}; "
            f"{wanted[(sku_id, _wh)]} requested.",
            shortages=[
                {"sku": codes.get(s, str(s)), "warehouse_id": w, "requested": wanted[(s, w)], "available": a}
                | ({"held_back": floor[s]} if floor.get(s) else {})
                for (s, w), a in sorted(short.items())
            ],
        )

    changes = [
        ((r.sku_id, r.warehouse_id), StockMovement.Kind.RESERVATION_RELEASE, _Delta(reserved=-r.quantity))
        for r in release
    ]
    changes += [
        (key, StockMovement.Kind.RESERVE, _Delta(reserved=qty)) for key, qty in sorted(wanted.items())
    ]
    if release:
        Reservation.objects.filter(id__in=[r.id for r in release]).update(
            status=Reservation.Status.RELEASED, closed_at=now
        )
    holds = [
        Reservation(sku_id=sku_id, warehouse_id=wh, quantity=qty, reference=reference, expires_at=expires_at)
        for (sku_id, wh), qty in sorted(wanted.items())
    ]
    _apply(levels, changes, reference=reference, along=holds)
    return holds


def lock_active_reservations(ids: Iterable[int]) -> list[Reservation]:
    """Lock the given reservations (in id order) and return those still active."""
    ids = list(ids)
    if not ids:
        return []
    return raw_instances(
        Reservation,
        "SELECT * FROM inventory_reservation WHERE id = ANY(%s::bigint[]) AND status = %s "
        "ORDER BY id FOR UPDATE",
        [ids, Reservation.Status.ACTIVE],
    )


@transaction.atomic(savepoint=False)
def reservations_release(*, reservation_ids: Iterable[int], reference: str) -> int:
    """Give up soft holds (cart line removed, payment declined). Returns units freed."""
    held = lock_active_reservations(reservation_ids)
    if not held:
        return 0
    levels = _lock_levels((r.sku_id, r.warehouse_id) for r in held)
    Reservation.objects.filter(id__in=[r.id for r in held]).update(
        status=Reservation.Status.RELEASED, closed_at=timezone.now()
    )
    _apply(
        levels,
        [
            ((r.sku_id, r.warehouse_id), StockMovement.Kind.RESERVATION_RELEASE, _Delta(reserved=-r.quantity))
            for r in held
        ],
        reference=reference,
    )
    return sum(r.quantity for r in held)


@transaction.atomic(savepoint=False)
def reservations_allocate(*, reservation_ids: list[int], reference: str) -> None:
    """Turn soft holds into a firm allocation (the order is placed).

    A hold that expired meanwhile (a very slow payment) is re-taken from
    available stock if it is still there; otherwise InsufficientStock.
    """
    now = timezone.now()
    # Converted and locked in one statement (the rows are locked in id order, as
    # lock_active_reservations does); an error below rolls the conversion back.
    held = raw_instances(
        Reservation,
        "UPDATE inventory_reservation SET status = %s, closed_at = %s "
        "WHERE id IN (SELECT id FROM inventory_reservation WHERE id = ANY(%s::bigint[]) AND status = %s "
        "ORDER BY id FOR UPDATE) RETURNING *",
        [Reservation.Status.CONVERTED, now, list(reservation_ids), Reservation.Status.ACTIVE],
    )
    held_ids = {r.id for r in held}
    lost = (
        [r for r in Reservation.objects.filter(id__in=reservation_ids) if r.id not in held_ids]
        if len(held_ids) != len(set(reservation_ids))
        else []
    )
    levels = _lock_levels({(r.sku_id, r.warehouse_id) for r in [*held, *lost]})
    for r in lost:
        level = levels.get((r.sku_id, r.warehouse_id))
        if level is None or level.available < r.quantity:
            raise InsufficientStock(
                "The stock hold expired before the order was confirmed and the stock has since gone.",
                shortages=[{"sku_id": r.sku_id, "warehouse_id": r.warehouse_id, "requested": r.quantity}],
            )
    changes = [
        (
            (r.sku_id, r.warehouse_id),
            StockMovement.Kind.ALLOCATE,
            _Delta(allocated=r.quantity, reserved=-r.quantity),
        )
        for r in held
    ]
    changes += [
        ((r.sku_id, r.warehouse_id), StockMovement.Kind.ALLOCATE, _Delta(allocated=r.quantity)) for r in lost
    ]
    _apply(levels, changes, reference=reference)


@transaction.atomic(savepoint=False)
def stock_deallocate(*, allocations: Iterable[tuple[int, int, int]], reference: str) -> None:
    """Return allocated (sku_id, warehouse_id, qty) to available stock (order cancelled)."""
    allocations = [a for a in allocations if a[2] > 0]
    levels = _lock_levels((s, w) for s, w, _ in allocations)
    _apply(
        levels,
        [((s, w), StockMovement.Kind.DEALLOCATE, _Delta(allocated=-q)) for s, w, q in allocations],
        reference=reference,
    )


@transaction.atomic(savepoint=False)
def stock_reallocate(
    *,
    release: Iterable[tuple[int, int, int]],
    allocate: Iterable[tuple[int, int, int]],
    reference: str,
    held_back: Mapping[Key, int] | None = None,
) -> None:
    """Move an order's allocation in one step, all or nothing: give up each
    (sku_id, warehouse_id, qty) in `release` and allocate each in `allocate`.

    Units released at a (sku, warehouse) count as available to the new
    allocation there, so re-sourcing to the same place is a no-op in effect.
    `held_back` ((sku_id, warehouse_id) -> units) is safety stock to leave
    untouched, checked under the lock as in stock_reserve.
    """
    release = [r for r in release if r[2] > 0]
    allocate = [a for a in allocate if a[2] > 0]
    floor = held_back or {}
    freed: dict[Key, int] = defaultdict(int)
    for sku_id, wh, qty in release:
        freed[(sku_id, wh)] += qty
    wanted: dict[Key, int] = defaultdict(int)
    for sku_id, wh, qty in allocate:
        wanted[(sku_id, wh)] += qty
    levels = _lock_levels({*freed, *wanted})

    def shortages() -> dict[Key, int]:
        short = {}
        for key, qty in wanted.items():
            level = levels.get(key)
            available = (level.available if level else 0) + freed.get(key, 0) - floor.get(key, 0)
            if available < qty:
                short[key] = max(available, 0)
        return short

    short = shortages()
    if expirable := [k for k in short if k in levels]:
        _expire_stale(expirable, timezone.now(), levels)
        short = shortages()
    if short:
        codes = _sku_codes(sku for sku, _ in short)
        (sku_id, wh), available = next(iter(sorted(short.items())))
        raise InsufficientStock(
            f"Only {available} of {codes.get(sku_id, sku_id)} available; {wanted[(sku_id, wh)]} requested.",
            shortages=[
                {"sku": codes.get(s, str(s)), "warehouse_id": w, "requested": wanted[(s, w)], "available": a}
                for (s, w), a in sorted(short.items())
            ],
        )
    changes = [((s, w), StockMovement.Kind.DEALLOCATE, _Delta(allocated=-q)) for s, w, q in release]
    changes += [((s, w), StockMovement.Kind.ALLOCATE, _Delta(allocated=q)) for s, w, q in allocate]
    _apply(levels, changes, reference=reference)


@transaction.atomic(savepoint=False)
def stock_pick(
    *, warehouse_id: int, picks: Iterable[tuple[int, int, int]], reference: str, actor: str = ""
) -> None:
    """Units (sku_id, bin_id, qty) leave their shelf for a tote: on hand does
    not change, the bin's stock becomes unlocated stock (in the tote, then at
    the pack station) until it ships. Refused if the bin does not hold them."""
    picks = [p for p in picks if p[2] > 0]
    levels = _lock_levels((sku_id, warehouse_id) for sku_id, _, _ in picks)
    changes = []
    for sku_id, bin_id, qty in picks:
        key = (sku_id, warehouse_id)
        changes.append((key, StockMovement.Kind.PICK, _Delta(on_hand=-qty, bin_id=bin_id)))
        changes.append((key, StockMovement.Kind.PICK, _Delta(on_hand=qty, bin_id=None)))
    _apply(levels, changes, reference=reference, actor=actor)


@transaction.atomic(savepoint=False)
def stock_ship(*, warehouse_id: int, quantities: Mapping[int, int], reference: str, actor: str = "") -> None:
    """Allocated units leave the building: on hand and allocated go down
    together. Picked (unlocated) units go first, then shelves in draw order,
    so a store that ships without a pick list still names its bins."""
    from .bins import Removal, plan_removals

    wanted = {sku_id: qty for sku_id, qty in quantities.items() if qty > 0}
    levels = _lock_levels((sku_id, warehouse_id) for sku_id in wanted)
    skus = SKU.objects.in_bulk(list(wanted))
    problems = {}
    for sku_id, qty in sorted(wanted.items()):
        level = levels.get((sku_id, warehouse_id))
        if level is None or level.allocated < qty:
            problems[skus[sku_id].code] = [f"only {level.allocated if level else 0} allocated, {qty} to ship"]
    if problems:
        raise InsufficientStock(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)
    plan = plan_removals(
        levels,
        [
            Removal(sku=skus[sku_id], warehouse_id=warehouse_id, quantity=qty, field=skus[sku_id].code)
            for sku_id, qty in sorted(wanted.items())
        ],
    )
    _apply(
        levels,
        [
            (key, StockMovement.Kind.SHIPMENT, _Delta(on_hand=-n, allocated=-n, bin_id=b))
            for key, b, n in plan
        ],
        reference=reference,
        actor=actor,
    )


def reservations_expire(*, now: datetime | None = None, batch: int = 500) -> int:
    """Release every expired soft hold, in batches; returns how many were expired."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            stale = list(
                Reservation.objects.filter(status=Reservation.Status.ACTIVE, expires_at__lt=now)
                .order_by("id")
                .select_for_update(skip_locked=True)[:batch]
            )
            if not stale:
                return total
            levels = _lock_levels((r.sku_id, r.warehouse_id) for r in stale)
            _mark_expired(stale, levels, now)
            total += len(stale)
        if len(stale) < batch:
            return total
