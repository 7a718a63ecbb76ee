"""The reorder check: one set-based query over every active rule finds the
positions at or below their reorder point and how much to order, then one
draft purchase order per supplier and warehouse is written.

    position = available (on hand - allocated - reserved)
             + incoming (draft, sent and partially received purchase orders,
               and transfers in transit)
    reorder when position <= reorder_point
    quantity  = the order-up-to gap, raised to the supplier's minimum order
                quantity, then rounded up to a whole number of packs

Draft orders count as incoming, so running the check again orders nothing
new until stock moves. Two checks never run at once: the second finds the
advisory lock taken and does nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction

from oms.actors import Actor
from oms.outbox import emit

from .models import SKU, Warehouse
from .purchasing import purchase_order_create

logger = logging.getLogger(__name__)

# Arbitrary but fixed: the advisory lock that keeps reorder checks one at a time.
REORDER_LOCK_KEY = 0x0E5_4E0D

# Units on their way per SKU x warehouse: what open purchase orders (drafts
# included) still bring, and transfers in transit. Shared with the alert refresh.
INCOMING_CTES = """
po AS (
    SELECT l.sku_id, o.warehouse_id, SUM(l.quantity_ordered - l.quantity_received) AS qty
    FROM inventory_purchaseorderline l
    JOIN inventory_purchaseorder o ON o.id = l.po_id
    WHERE o.status IN ('draft', 'sent', 'partially_received') AND l.quantity_received < l.quantity_ordered
    GROUP BY l.sku_id, o.warehouse_id
), transit AS (
    SELECT l.sku_id, t.to_warehouse_id AS warehouse_id, SUM(l.quantity - l.quantity_received) AS qty
    FROM inventory_transferline l
    JOIN inventory_transfer t ON t.id = l.transfer_id
    WHERE t.status = 'in_transit'
    GROUP BY l.sku_id, t.to_warehouse_id
)"""

CANDIDATES_SQL = f"""
WITH {INCOMING_CTES}, positions AS (
    SELECT r.sku_id, r.warehouse_id, r.reorder_point, r.order_up_to,
           COALESCE(s.on_hand - s.allocated - s.soft_reserved, 0) AS available,
           COALESCE(po.qty, 0) + COALESCE(transit.qty, 0) AS incoming
    FROM inventory_reorderrule r
    JOIN inventory_warehouse w ON w.id = r.warehouse_id AND w.is_active
    JOIN inventory_sku k ON k.id = r.sku_id AND k.is_active
    LEFT JOIN inventory_stocklevel s ON s.sku_id = r.sku_id AND s.warehouse_id = r.warehouse_id
    LEFT JOIN po ON po.sku_id = r.sku_id AND po.warehouse_id = r.warehouse_id
    LEFT JOIN transit ON transit.sku_id = r.sku_id AND transit.warehouse_id = r.warehouse_id
    WHERE r.is_active
)
SELECT p.sku_id, p.warehouse_id, p.available, p.incoming, p.reorder_point, p.order_up_to,
       ss.supplier_id,
       CASE WHEN ss.id IS NULL THEN NULL ELSE
           CEIL(GREATEST(p.order_up_to - p.available - p.incoming, ss.min_order_qty)::numeric
                / ss.pack_size)::int * ss.pack_size
       END AS quantity
FROM positions p
LEFT JOIN inventory_suppliersku ss ON ss.sku_id = p.sku_id AND ss.is_preferred
    AND EXISTS (SELECT 1 FROM inventory_supplier sup WHERE sup.id = ss.supplier_id AND sup.is_active)
WHERE p.available + p.incoming <= p.reorder_point
ORDER BY ss.supplier_id, p.warehouse_id, p.sku_id
"""  # noqa: S608 - composed of constant SQL fragments only


@dataclass
class ReorderResult:
    ran: bool = True
    positions_below: int = 0
    purchase_orders: list[int] = field(default_factory=list)
    lines: int = 0
    units: int = 0
    without_supplier: list[dict] = field(default_factory=list)


def reorder_check(*, actor: Actor | None = None, notify: bool = True) -> ReorderResult:
    """Draft the purchase orders every active reorder rule calls for."""
    actor = actor or Actor.system()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [REORDER_LOCK_KEY])
            if not cursor.fetchone()[0]:
                logger.info("reorder check already running elsewhere; skipped")
                return ReorderResult(ran=False)
            cursor.execute(CANDIDATES_SQL)
            rows = cursor.fetchall()
        result = ReorderResult(positions_below=len(rows))
        groups: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
        orphans = []
        for sku_id, warehouse_id, available, incoming, point, _up_to, supplier_id, quantity in rows:
            if supplier_id is None:
                orphans.append(
                    {
                        "sku_id": sku_id,
                        "warehouse_id": warehouse_id,
                        "available": available,
                        "incoming": incoming,
                        "reorder_point": point,
                    }
                )
            else:
                groups[(supplier_id, warehouse_id)].append((sku_id, quantity))
        for (supplier_id, warehouse_id), lines in groups.items():
            po = purchase_order_create(
                supplier_id=supplier_id,
                warehouse_id=warehouse_id,
                lines=lines,
                actor=actor,
                note="Drafted by the reorder check",
            )
            result.purchase_orders.append(po.pk)
            result.lines += len(lines)
            result.units += sum(q for _, q in lines)
        result.without_supplier = _named(orphans)
        if notify and (result.purchase_orders or result.without_supplier):
            emit(
                "inventory.reorder_digest",
                {
                    "purchase_orders": result.purchase_orders,
                    "lines": result.lines,
                    "units": result.units,
                    "positions_below": result.positions_below,
                    "without_supplier": result.without_supplier[:200],
                },
                aggregate="reorder",
            )
    return result


def _named(rows: list[dict]) -> list[dict]:
    codes = dict(SKU.objects.filter(pk__in={r["sku_id"] for r in rows}).values_list("pk", "code"))
    whs = dict(Warehouse.objects.filter(pk__in={r["warehouse_id"] for r in rows}).values_list("pk", "code"))
    return [{**r, "sku": codes[r["sku_id"]], "warehouse": whs[r["warehouse_id"]]} for r in rows]
