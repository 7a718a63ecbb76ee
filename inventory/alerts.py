"""Stock alerts: opened, refreshed and resolved by one set-based refresh, then
e-mailed to the warehouse managers in a digest of what is new.

Position alerts (one state per SKU x active location, evaluated in this order):

- out:  nothing available, and the position matters: it sold in the last
        DEMAND_WINDOW_DAYS or an active reorder rule covers it. A SKU that is
        neither stocked nor sold somewhere is not "out" there.
- low:  with an active reorder rule, available at or below its reorder point
        (the same trigger as the reorder check, before incoming stock: the
        alert stays open until goods arrive, not until a draft PO exists);
        without a rule, fewer than LOW_STOCK_DAYS of cover at the average
        daily demand of the window.
- over: at least OVERSTOCK_ALERT_MIN_UNITS available, and either more than
        OVERSTOCK_DAYS of cover, or nothing sold AND nothing received in the
        window (a new SKU that has not sold yet is not dead stock, and a few
        idle units are not worth anyone's time).

Available = on hand - allocated - soft reserved; demand = net allocated units
in the window, from the ledger, like the consolidated inventory view. Inactive
SKUs and locations raise nothing, and their live alerts resolve.

A live alert is refreshed (last_seen_at, message and figures) while its
condition holds and resolved when it clears. To keep a position that hovers
around a threshold from mailing the manager on every wobble, a condition that
comes back within STOCK_ALERT_REOPEN_HOURS of being resolved reopens the old
alert (keeping its acknowledgement and notified_at) instead of opening a new one.

Count variances: a line of a SUBMITTED count sheet whose |counted - expected|
is more than COUNT_VARIANCE_ALERT_UNITS units and more than
COUNT_VARIANCE_ALERT_PERCENT % of the expected quantity gets one alert; it
resolves once the sheet is approved or cancelled.

Everything is a handful of SQL statements over all positions, whatever their
number; two refreshes never run at once (advisory lock).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, NotFound
from oms.outbox import emit

from .models import StockAlert
from .replenishment import INCOMING_CTES
from .selectors import DEMAND_WINDOW_DAYS

logger = logging.getLogger(__name__)

# Arbitrary but fixed, like the reorder check's: one alert refresh at a time.
ALERT_LOCK_KEY = 0x0E5_A1E7
DIGEST_TOPIC = "inventory.stock_alerts_digest"
# Most urgent first: the order of the digest and of the staff list's kinds.
KIND_ORDER = [
    StockAlert.Kind.OUT,
    StockAlert.Kind.LOW,
    StockAlert.Kind.COUNT_VARIANCE,
    StockAlert.Kind.OVER,
]

# Every active position in a low / out / over state, with its message and the
# figures behind it. Materialized once per refresh (the reopen, upsert and
# resolve statements all read it); dropped at commit.
CONDITIONS_SQL = f"""
CREATE TEMP TABLE stock_alert_conditions ON COMMIT DROP AS
WITH activity AS (
    SELECT sku_id, warehouse_id,
           GREATEST(COALESCE(SUM(allocated_delta) FILTER (WHERE kind IN ('allocate', 'deallocate')), 0), 0)
               AS demand,
           COALESCE(SUM(on_hand_delta) FILTER (WHERE kind IN ('receipt', 'transfer_in')), 0) AS arrived
    FROM inventory_stockmovement
    WHERE created_at >= %(since)s AND kind IN ('allocate', 'deallocate', 'receipt', 'transfer_in')
    GROUP BY sku_id, warehouse_id
), {INCOMING_CTES}, positions AS (
    SELECT k.id AS sku_id, w.id AS warehouse_id,
           COALESCE(s.on_hand, 0) AS on_hand, COALESCE(s.allocated, 0) AS allocated,
           COALESCE(s.soft_reserved, 0) AS soft_reserved,
           COALESCE(s.on_hand - s.allocated - s.soft_reserved, 0) AS available,
           COALESCE(po.qty, 0) + COALESCE(transit.qty, 0) AS incoming,
           r.reorder_point, COALESCE(a.demand, 0) AS demand, COALESCE(a.arrived, 0) AS arrived
    FROM inventory_stocklevel s
    FULL JOIN (SELECT sku_id, warehouse_id, reorder_point FROM inventory_reorderrule WHERE is_active) r
        ON r.sku_id = s.sku_id AND r.warehouse_id = s.warehouse_id
    JOIN inventory_sku k ON k.id = COALESCE(s.sku_id, r.sku_id) AND k.is_active
    JOIN inventory_warehouse w ON w.id = COALESCE(s.warehouse_id, r.warehouse_id) AND w.is_active
    LEFT JOIN activity a ON a.sku_id = k.id AND a.warehouse_id = w.id
    LEFT JOIN po ON po.sku_id = k.id AND po.warehouse_id = w.id
    LEFT JOIN transit ON transit.sku_id = k.id AND transit.warehouse_id = w.id
), classified AS (
    SELECT p.*,
        CASE WHEN p.demand > 0 THEN round(p.available * %(window)s::numeric / p.demand, 1) END AS cover,
        CASE
            WHEN p.available <= 0 THEN
                CASE WHEN p.demand > 0 OR p.reorder_point IS NOT NULL THEN 'out' END
            WHEN p.reorder_point IS NOT NULL AND p.available <= p.reorder_point THEN 'low'
            -- cover < LOW_STOCK_DAYS, in integers: available / (demand / window) < low_days
            WHEN p.reorder_point IS NULL AND p.available * %(window)s < %(low_days)s * p.demand THEN 'low'
            WHEN p.available >= %(over_min_units)s AND (
                (p.demand > 0 AND p.available * %(window)s > %(over_days)s * p.demand)
                OR (p.demand = 0 AND p.arrived <= 0)
            ) THEN 'over'
        END AS kind
    FROM positions p
)
SELECT c.kind, c.sku_id, c.warehouse_id,
    concat(
        CASE c.kind
            WHEN 'out' THEN concat(
                'Out of stock: nothing available',
                CASE WHEN c.demand > 0 THEN concat(', ', c.demand, ' sold in ', %(window)s, ' days') END,
                CASE WHEN c.reorder_point IS NOT NULL THEN concat(', reorder point ', c.reorder_point) END)
            WHEN 'low' THEN concat(
                'Low stock: ', c.available, ' available, ',
                CASE WHEN c.reorder_point IS NOT NULL
                    THEN concat('at or below the reorder point of ', c.reorder_point)
                    ELSE concat(c.cover, ' days of cover (under ', %(low_days)s, ')') END)
            ELSE concat(
                'Overstock: ', c.available, ' available, ',
                CASE WHEN c.demand > 0
                    THEN concat(round(c.cover), ' days of cover (over ', %(over_days)s, ')')
                    ELSE concat('nothing sold or received in ', %(window)s, ' days') END)
        END,
        CASE WHEN c.incoming > 0 AND c.kind <> 'over' THEN concat('; ', c.incoming, ' incoming') END
    ) AS message,
    jsonb_build_object(
        'on_hand', c.on_hand, 'allocated', c.allocated, 'soft_reserved', c.soft_reserved,
        'available', c.available, 'incoming', c.incoming, 'reorder_point', c.reorder_point,
        'demand', c.demand, 'demand_days', %(window)s, 'days_of_cover', c.cover
    ) AS data
FROM classified c
WHERE c.kind IS NOT NULL
"""  # noqa: S608 - composed of constant SQL fragments only

# A condition back soon after it cleared continues its latest alert.
REOPEN_SQL = """
UPDATE inventory_stockalert a
SET status = CASE WHEN a.acknowledged_at IS NULL THEN 'open' ELSE 'acknowledged' END, resolved_at = NULL
FROM (
    SELECT DISTINCT ON (r.kind, r.sku_id, r.warehouse_id) r.id
    FROM inventory_stockalert r
    JOIN stock_alert_conditions c
        ON c.kind = r.kind AND c.sku_id = r.sku_id AND c.warehouse_id = r.warehouse_id
    WHERE r.count_sheet_id IS NULL AND r.status = 'resolved' AND r.resolved_at >= %(reopen_since)s
      AND NOT EXISTS (
          SELECT 1 FROM inventory_stockalert l
          WHERE l.kind = r.kind AND l.sku_id = r.sku_id AND l.warehouse_id = r.warehouse_id
            AND l.count_sheet_id IS NULL AND NOT (l.status = 'resolved')
      )
    ORDER BY r.kind, r.sku_id, r.warehouse_id, r.resolved_at DESC, r.id DESC
) latest
WHERE a.id = latest.id
RETURNING a.kind
"""

# Opens what is new and refreshes what is still true, in one statement; the
# conflict target is the partial unique index stockalert_one_live_per_position.
UPSERT_POSITIONS_SQL = """
WITH upserted AS (
    INSERT INTO inventory_stockalert
        (kind, status, sku_id, warehouse_id, count_sheet_id, message, data, opened_at, last_seen_at)
    SELECT kind, 'open', sku_id, warehouse_id, NULL, message, data, %(now)s, %(now)s
    FROM stock_alert_conditions
    ON CONFLICT (kind, sku_id, warehouse_id) WHERE (count_sheet_id IS NULL AND NOT (status = 'resolved'))
    DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at, message = EXCLUDED.message, data = EXCLUDED.data
    RETURNING kind, opened_at = %(now)s AS opened
)
SELECT kind, opened, count(*) FROM upserted GROUP BY kind, opened
"""

RESOLVE_POSITIONS_SQL = """
UPDATE inventory_stockalert a SET status = 'resolved', resolved_at = %(now)s
WHERE a.count_sheet_id IS NULL AND NOT (a.status = 'resolved')
  AND NOT EXISTS (
      SELECT 1 FROM stock_alert_conditions c
      WHERE c.kind = a.kind AND c.sku_id = a.sku_id AND c.warehouse_id = a.warehouse_id
  )
RETURNING a.kind
"""

COUNT_VARIANCES = """
SELECT s.id AS sheet_id, s.warehouse_id, l.sku_id, l.expected, l.counted, l.counted - l.expected AS variance
FROM inventory_countsheet s
JOIN inventory_countline l ON l.sheet_id = s.id
WHERE s.status = 'submitted' AND l.counted IS NOT NULL
  AND abs(l.counted - l.expected) > %(variance_units)s
  AND abs(l.counted - l.expected) * 100 > %(variance_percent)s * l.expected
"""

UPSERT_VARIANCES_SQL = f"""
WITH upserted AS (
    INSERT INTO inventory_stockalert
        (kind, status, sku_id, warehouse_id, count_sheet_id, message, data, opened_at, last_seen_at)
    SELECT 'count_variance', 'open', v.sku_id, v.warehouse_id, v.sheet_id,
        concat('Count C', lpad(v.sheet_id::text, 6, '0'), ': counted ', v.counted, ', expected ',
               v.expected, ' (', CASE WHEN v.variance > 0 THEN '+' END, v.variance,
               CASE WHEN v.expected > 0
                    THEN concat(', ', CASE WHEN v.variance > 0 THEN '+' END,
                                round(100.0 * v.variance / v.expected), '%%') END,
               ')'),
        jsonb_build_object('expected', v.expected, 'counted', v.counted, 'variance', v.variance),
        %(now)s, %(now)s
    FROM ({COUNT_VARIANCES}) v
    ON CONFLICT (count_sheet_id, sku_id) WHERE count_sheet_id IS NOT NULL
    DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at
        WHERE NOT (inventory_stockalert.status = 'resolved')
    RETURNING opened_at = %(now)s AS opened
)
SELECT opened, count(*) FROM upserted GROUP BY opened
"""  # noqa: S608 - composed of constant SQL fragments only

RESOLVE_VARIANCES_SQL = f"""
UPDATE inventory_stockalert a SET status = 'resolved', resolved_at = %(now)s
WHERE a.count_sheet_id IS NOT NULL AND NOT (a.status = 'resolved')
  AND NOT EXISTS (
      SELECT 1 FROM ({COUNT_VARIANCES}) v WHERE v.sheet_id = a.count_sheet_id AND v.sku_id = a.sku_id
  )
RETURNING a.kind
"""  # noqa: S608 - composed of constant SQL fragments only


@dataclass
class AlertRefresh:
    ran: bool = True
    opened: Counter = field(default_factory=Counter)
    reopened: Counter = field(default_factory=Counter)
    still_open: Counter = field(default_factory=Counter)
    resolved: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        def part(counter: Counter) -> str:
            return ", ".join(f"{counter[k]} {k}" for k in KIND_ORDER if counter[k]) or "none"

        return (
            f"opened: {part(self.opened)}; reopened: {part(self.reopened)}; "
            f"still open: {part(self.still_open)}; resolved: {part(self.resolved)}"
        )


def _thresholds(now) -> dict:
    return {
        "now": now,
        "since": now - timedelta(days=DEMAND_WINDOW_DAYS),
        "window": DEMAND_WINDOW_DAYS,
        "low_days": settings.LOW_STOCK_DAYS,
        "over_days": settings.OVERSTOCK_DAYS,
        "over_min_units": settings.OVERSTOCK_ALERT_MIN_UNITS,
        "reopen_since": now - timedelta(hours=settings.STOCK_ALERT_REOPEN_HOURS),
        "variance_units": settings.COUNT_VARIANCE_ALERT_UNITS,
        "variance_percent": settings.COUNT_VARIANCE_ALERT_PERCENT,
    }


def stock_alerts_refresh() -> AlertRefresh:
    """Open, refresh and resolve every stock alert (see the module docstring)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [ALERT_LOCK_KEY])
        if not cursor.fetchone()[0]:
            logger.info("stock alert refresh already running elsewhere; skipped")
            return AlertRefresh(ran=False)
        # The database's clock, so every refresh agrees on time whichever host runs it.
        cursor.execute("SELECT clock_timestamp()")
        params = _thresholds(cursor.fetchone()[0])
        result = AlertRefresh()

        # A test (or a caller's transaction) may refresh twice before any commit.
        cursor.execute("DROP TABLE IF EXISTS pg_temp.stock_alert_conditions")
        cursor.execute(CONDITIONS_SQL, params)
        cursor.execute(REOPEN_SQL, params)
        result.reopened.update(kind for (kind,) in cursor.fetchall())
        cursor.execute(UPSERT_POSITIONS_SQL, params)
        for kind, opened, n in cursor.fetchall():
            (result.opened if opened else result.still_open)[kind] += n
        result.still_open.subtract(result.reopened)
        cursor.execute(RESOLVE_POSITIONS_SQL, params)
        result.resolved.update(kind for (kind,) in cursor.fetchall())

        cursor.execute(UPSERT_VARIANCES_SQL, params)
        for opened, n in cursor.fetchall():
            (result.opened if opened else result.still_open)[StockAlert.Kind.COUNT_VARIANCE] += n
        cursor.execute(RESOLVE_VARIANCES_SQL, params)
        result.resolved.update(kind for (kind,) in cursor.fetchall())
    result.still_open = +result.still_open  # drop zero counts
    return result


@transaction.atomic
def stock_alert_acknowledge(*, alert_ids: Iterable[int], actor: Actor) -> list[int]:
    """Acknowledge open alerts, all or nothing; returns the ids that changed.

    Acknowledging an already acknowledged alert changes nothing (who and when
    stay the first acknowledgement's); a resolved alert has nothing left to
    acknowledge and refuses the whole request.
    """
    ids = sorted(set(alert_ids))
    if not ids:
        raise InvalidInput.field("ids", "name at least one alert")
    alerts = list(StockAlert.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    missing = sorted(set(ids) - {a.pk for a in alerts})
    if missing:
        listed = ", ".join(map(str, missing))
        raise NotFound(f"No stock alert {listed}.", fields={"ids": [f"unknown alert id(s): {listed}"]})
    resolved = [a.pk for a in alerts if a.status == StockAlert.Status.RESOLVED]
    if resolved:
        listed = ", ".join(map(str, resolved))
        raise Conflict(
            f"Alert(s) {listed} already resolved: the condition cleared, nothing to acknowledge.",
            fields={"ids": [f"resolved: {listed}"]},
            code="alert_resolved",
        )
    changed = [a.pk for a in alerts if a.status == StockAlert.Status.OPEN]
    StockAlert.objects.filter(pk__in=changed).update(
        status=StockAlert.Status.ACKNOWLEDGED,
        acknowledged_at=timezone.now(),
        acknowledged_by=actor.user if actor.type == "staff" else None,
    )
    return changed


# Marks every alert not yet e-mailed, in one statement (a concurrent digest
# re-checks notified_at after waiting on the row locks, so nothing goes out
# twice), and returns the first lines of each kind to list plus the totals.
DIGEST_SQL = """
WITH marked AS (
    UPDATE inventory_stockalert SET notified_at = %(now)s
    WHERE notified_at IS NULL
    RETURNING id, kind, status, sku_id, warehouse_id, count_sheet_id, message, opened_at
), ranked AS (
    SELECT m.id, m.kind, m.status = 'resolved' AS cleared, k.code AS sku, k.name AS sku_name,
           w.code AS warehouse, m.count_sheet_id, m.message, m.opened_at,
           row_number() OVER (PARTITION BY m.kind, m.status = 'resolved' ORDER BY w.code, k.code, m.id) AS n,
           count(*) OVER (PARTITION BY m.kind, m.status = 'resolved') AS total
    FROM marked m
    JOIN inventory_sku k ON k.id = m.sku_id
    JOIN inventory_warehouse w ON w.id = m.warehouse_id
)
SELECT id, kind, cleared, sku, sku_name, warehouse, count_sheet_id, message, opened_at, total
FROM ranked
WHERE (NOT cleared AND n <= %(max_lines)s) OR (cleared AND n = 1)
ORDER BY kind, n
"""


def stock_alerts_digest() -> int:
    """Queue one e-mail to the warehouse managers with every alert not yet
    notified that is still live; returns how many it reports (0: nothing sent).

    Alerts that opened and cleared before any digest saw them are marked
    notified without an e-mail of their own (the next e-mail counts them), so
    a brief dip does not wake anyone up.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                DIGEST_SQL, {"now": timezone.now(), "max_lines": settings.STOCK_ALERT_DIGEST_MAX_LINES}
            )
            rows = cursor.fetchall()
        totals: Counter = Counter()
        cleared = 0
        lines: dict[str, list[dict]] = {kind: [] for kind in KIND_ORDER}
        for alert_id, kind, was_cleared, sku, name, warehouse, sheet_id, message, opened_at, total in rows:
            if was_cleared:
                cleared += total
                continue
            totals[kind] = total
            lines[kind].append(
                {
                    "id": alert_id,
                    "sku": sku,
                    "sku_name": name,
                    "warehouse": warehouse,
                    "count_sheet": sheet_id,
                    "message": message,
                    "opened_at": opened_at.isoformat(),
                }
            )
        live = sum(totals.values())
        if live:
            emit(
                DIGEST_TOPIC,
                {
                    "sections": [
                        {
                            "kind": kind,
                            "label": StockAlert.Kind(kind).label,
                            "total": totals[kind],
                            "alerts": lines[kind],
                            "more": totals[kind] - len(lines[kind]),
                        }
                        for kind in KIND_ORDER
                        if totals[kind]
                    ],
                    "total": live,
                    "cleared": cleared,
                },
                aggregate="stock_alerts",
            )
    return live
