"""Stock invariants for `manage.py reconcile`."""

from __future__ import annotations

from django.db import connection

from oms.reconcile import check

from .models import SKU, Bin, Warehouse
from .selectors import ledger_mismatches


def _names(rows: list[tuple[int, int]]) -> tuple[dict[int, str], dict[int, str]]:
    skus = dict(SKU.objects.filter(id__in={r[0] for r in rows}).values_list("id", "code"))
    whs = dict(Warehouse.objects.filter(id__in={r[1] for r in rows}).values_list("id", "code"))
    return skus, whs


@check("stock levels equal the movement ledger")
def levels_equal_ledger() -> list[str]:
    rows = ledger_mismatches()
    skus, whs = _names([(r["sku_id"], r["warehouse_id"]) for r in rows])
    problems = []
    for r in rows:
        parts = [
            f"{name} {level} != ledger {ledger}"
            for name in ("on_hand", "allocated", "soft_reserved")
            for level, ledger in [r[name]]
            if level != ledger
        ]
        problems.append(
            f"{skus.get(r['sku_id'], r['sku_id'])} @ {whs.get(r['warehouse_id'], r['warehouse_id'])}: "
            + ", ".join(parts)
        )
    return problems


@check("soft-reserved stock equals active reservations")
def reserved_equals_reservations() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.sku_id, l.warehouse_id, l.soft_reserved, COALESCE(r.qty, 0)
            FROM inventory_stocklevel l
            LEFT JOIN (
                SELECT sku_id, warehouse_id, SUM(quantity) AS qty FROM inventory_reservation
                WHERE status = 'active' GROUP BY sku_id, warehouse_id
            ) r ON r.sku_id = l.sku_id AND r.warehouse_id = l.warehouse_id
            WHERE l.soft_reserved <> COALESCE(r.qty, 0)
            """
        )
        rows = cursor.fetchall()
    skus, whs = _names([(r[0], r[1]) for r in rows])
    return [
        f"{skus[s]} @ {whs[w]}: soft_reserved {lvl} != active reservations {res}" for s, w, lvl, res in rows
    ]


@check("bin stock equals the bin ledger")
def bin_stock_equals_ledger() -> list[str]:
    """Every bin's units of a SKU = the sum of the SKU's movements in that bin
    (and in that bin's warehouse: a row booked under another warehouse shows
    as two mismatches)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COALESCE(s.sku_id, m.sku_id), COALESCE(s.warehouse_id, m.warehouse_id),
                   COALESCE(s.bin_id, m.bin_id), COALESCE(s.quantity, 0), COALESCE(m.quantity, 0)
            FROM inventory_binstock s
            FULL OUTER JOIN (
                SELECT sku_id, warehouse_id, bin_id, SUM(on_hand_delta) AS quantity
                FROM inventory_stockmovement WHERE bin_id IS NOT NULL
                GROUP BY sku_id, warehouse_id, bin_id
            ) m ON m.sku_id = s.sku_id AND m.warehouse_id = s.warehouse_id AND m.bin_id = s.bin_id
            WHERE COALESCE(s.quantity, 0) <> COALESCE(m.quantity, 0)
            ORDER BY 1, 2, 3
            """
        )
        rows = cursor.fetchall()
    skus, whs = _names([(r[0], r[1]) for r in rows])
    bins = dict(Bin.objects.filter(id__in={r[2] for r in rows}).values_list("id", "code"))
    return [
        f"{skus[s]} @ {whs[w]} bin {bins[b]}: bin stock {qty} != ledger {ledger}"
        for s, w, b, qty, ledger in rows
    ]


@check("no negative unlocated stock")
def no_negative_unlocated() -> list[str]:
    """Units in a warehouse's bins never exceed its on hand (unlocated >= 0)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT b.sku_id, b.warehouse_id, COALESCE(l.on_hand, 0), SUM(b.quantity),
                   string_agg(n.code || ' ' || b.quantity, ', ' ORDER BY n.walk_sequence, n.code)
                       FILTER (WHERE b.quantity <> 0)
            FROM inventory_binstock b
            JOIN inventory_bin n ON n.id = b.bin_id
            LEFT JOIN inventory_stocklevel l ON l.sku_id = b.sku_id AND l.warehouse_id = b.warehouse_id
            GROUP BY b.sku_id, b.warehouse_id, l.on_hand
            HAVING COALESCE(l.on_hand, 0) < SUM(b.quantity)
            ORDER BY 1, 2
            """
        )
        rows = cursor.fetchall()
    skus, whs = _names([(r[0], r[1]) for r in rows])
    return [
        f"{skus[s]} @ {whs[w]}: unlocated {on_hand - binned} (on hand {on_hand}, in bins {binned}: {where})"
        for s, w, on_hand, binned, where in rows
    ]
