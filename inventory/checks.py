"""Stock invariants for `manage.py reconcile`."""

from __future__ import annotations

from django.db import connection

from oms.reconcile import check

from .models import SKU, Warehouse
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
