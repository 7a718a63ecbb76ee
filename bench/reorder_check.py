"""Reorder check and inventory upkeep over N reorder rules: `python -m bench.reorder_check [--rules 100000]`.

Recreates a bench database (its name must contain 'bench') and seeds it with
set-based SQL (bench/reorder_seed.py): SKUs x 3 warehouses with stock written
through the ledger, a preferred supplier per SKU, one reorder rule per
position, and daily demand history for a subset whose rules are forecast
rules. On that one data set, in process, it then times and counts the SQL
statements of:

1. inventory.replenishment.reorder_check, twice: the first run drafts the
   purchase orders, the second must draft nothing (drafts count as incoming);
   then the drafts are sent (so ATP sees them arriving);
2. inventory.alerts.stock_alerts_refresh, twice, and stock_alerts_digest,
   twice (the second has nothing new to send);
3. inventory.reorder_rules.reorder_rules_recompute over the forecast rules,
   with the time spent fitting each forecast method;
4. the consolidated inventory API (GET /api/v1/inventory/positions/) and the
   staff ATP API (GET /api/v1/inventory/atp/) for 1, 50 and 200 SKUs;
5. the stock invariants `manage.py reconcile` proves (levels and bins equal
   the ledger), which also proves the seed.

Prints the figures and PASS/FAIL checks, writes JSON to bench/results/, and
exits 1 when a check failed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from unittest import mock

from bench.common import Database, configure_environment, machine_info, measured, report_write, summarize
from bench.reorder_seed import HISTORY_DAYS, WAREHOUSES, seed

API_REPEAT = 3  # timed requests per API query (after one warm-up); the median is reported
TARGET_RULES = 100_000  # what the README extrapolates the recompute to


def timed_row(label: str, m, rows: int, **extra) -> dict:
    """One measurement: seconds, SQL statements, rows it produced or returned."""
    return {
        "label": label,
        "seconds": round(m.seconds, 3),
        "sql_statements": m.statements,
        "rows": rows,
        **extra,
    }


def print_row(row: dict, what: str = "rows") -> None:
    print(f"{row['label']}: {row['seconds']} s, {row['sql_statements']} SQL statements, {row['rows']} {what}")


# --- 1. reorder check -----------------------------------------------------------------


def reorder_runs() -> list[dict]:
    from inventory.replenishment import reorder_check
    from oms.actors import Actor

    runs = []
    for label in ("reorder check, first run", "reorder check, second run"):
        with measured() as m:
            result = reorder_check(actor=Actor.system(), notify=True)
        run = timed_row(
            label,
            m,
            result.lines,
            positions_below=result.positions_below,
            purchase_orders=len(result.purchase_orders),
            units=result.units,
            without_supplier=len(result.without_supplier),
            po_ids=result.purchase_orders,
        )
        runs.append(run)
        print(
            f"{label}: {run['seconds']} s, {m.statements} SQL statements, {result.positions_below} positions "
            f"at/below reorder point, {len(result.purchase_orders)} draft POs, {result.lines} lines",
            flush=True,
        )
    return runs


def send_drafts(po_ids: list[int]) -> dict:
    """Staff send the drafts to the suppliers: from then on ATP counts them, by ETA."""
    from inventory.purchasing.services import purchase_order_send
    from oms.actors import Actor

    with measured() as m:
        for po_id in po_ids:
            purchase_order_send(po_id=po_id, actor=Actor.system())
    row = timed_row("send the draft purchase orders", m, len(po_ids))
    print_row(row, "purchase orders")
    return row


# --- 2. stock alerts ------------------------------------------------------------------


def alert_timings() -> list[dict]:
    from inventory.alerts import stock_alerts_digest, stock_alerts_refresh
    from inventory.models import StockAlert

    out = []
    for label in ("alert refresh, first run", "alert refresh, second run"):
        with measured() as m:
            result = stock_alerts_refresh()
        counters = {
            name: dict(getattr(result, name)) for name in ("opened", "reopened", "still_open", "resolved")
        }
        rows = sum(sum(c.values()) for c in counters.values())
        out.append(timed_row(label, m, rows, ran=result.ran, **counters))
        print(
            f"{label}: {out[-1]['seconds']} s, {m.statements} SQL statements; {result.summary()}", flush=True
        )
    for label in ("alert digest, first run", "alert digest, second run"):
        before = StockAlert.objects.filter(notified_at__isnull=False).count()
        with measured() as m:
            reported = stock_alerts_digest()
        marked = StockAlert.objects.filter(notified_at__isnull=False).count() - before
        out.append(timed_row(label, m, marked, reported=reported))
        print(
            f"{label}: {out[-1]['seconds']} s, {m.statements} SQL statements, {marked} alerts marked notified, "
            f"{reported} reported in the e-mail",
            flush=True,
        )
    return out


# --- 3. forecast reorder rules --------------------------------------------------------


def recompute_timing() -> dict:
    """reorder_rules_recompute over every forecast rule, timing each forecast
    fit (compute_rule) by the method the forecaster chose."""
    # A worker imports statsmodels once, at its first fit (~1 s); leave that out.
    import statsmodels.tsa.holtwinters  # noqa: F401

    from inventory import reorder_rules

    fits: dict[str, list[float]] = defaultdict(list)
    compute_rule = reorder_rules.compute_rule

    def timed_compute_rule(history, **kwargs):
        started = time.perf_counter()
        computed = compute_rule(history, **kwargs)
        fits[computed.inputs["method"]].append(time.perf_counter() - started)
        return computed

    chunk_ends = [time.perf_counter()]

    def progress(done: int) -> None:
        chunk_ends.append(time.perf_counter())
        if len(chunk_ends) % 10 == 1:
            print(f"  {len(chunk_ends) - 1} chunks, {chunk_ends[-1] - chunk_ends[0]:.0f} s", flush=True)

    with mock.patch.object(reorder_rules, "compute_rule", timed_compute_rule), measured() as m:
        result = reorder_rules.reorder_rules_recompute(progress=progress)
    chunks = [b - a for a, b in pairwise(chunk_ends)]
    fit_seconds = sum(sum(v) for v in fits.values())
    per_rule_ms = m.seconds / max(result.rules, 1) * 1000
    row = timed_row(
        "forecast rules recompute",
        m,
        result.rules,
        updated=result.updated,
        kept=result.kept,
        default_lead_time=result.default_lead_time,
        per_rule_ms=round(per_rule_ms, 2),
        fit_seconds=round(fit_seconds, 3),
        other_seconds=round(m.seconds - fit_seconds, 3),
        methods={
            method: {"rules": len(times), "mean_ms": round(statistics.fmean(times) * 1000, 2)}
            for method, times in sorted(fits.items())
        },
        chunk_seconds=summarize(chunks, digits=2),
        first_last_chunk_seconds=[round(chunks[0], 2), round(chunks[-1], 2)] if chunks else [],
        extrapolated_seconds_one_process=round(per_rule_ms * TARGET_RULES / 1000),
    )
    print(
        f"forecast rules recompute: {row['seconds']} s, {m.statements} SQL statements, {result.rules} rules "
        f"({result.updated} recomputed, {result.kept} kept), {row['per_rule_ms']} ms per rule "
        f"(forecast fits {row['fit_seconds']} s, everything else {row['other_seconds']} s)",
        flush=True,
    )
    for method, figures in row["methods"].items():
        print(f"  {method}: {figures['rules']} rules, {figures['mean_ms']} ms forecasting each")
    print(
        f"  at this mix, {TARGET_RULES:,} forecast rules would take ~{row['extrapolated_seconds_one_process']} s "
        "in one process",
        flush=True,
    )
    return row


# --- 4. staff APIs --------------------------------------------------------------------


def api_timing(view, path: str, query: dict, staff) -> tuple[object, dict]:
    """One warm-up, then API_REPEAT timed requests in process (no HTTP):
    the median milliseconds and the statements of each request."""
    from rest_framework.test import APIRequestFactory, force_authenticate

    request = APIRequestFactory().get(path, query, HTTP_HOST="127.0.0.1")
    force_authenticate(request, staff)
    view(request).render()
    runs = []
    for _ in range(API_REPEAT):
        with measured() as m:
            response = view(request)
            response.render()
        assert response.status_code == 200, response.content[:300]
        runs.append(m)
    statements = sorted({r.statements for r in runs})
    return response, {
        "ms": round(statistics.median(r.seconds for r in runs) * 1000, 1),
        "sql_statements": statements[0] if len(statements) == 1 else statements,
    }


def positions_page_timings(staff) -> list[dict]:
    """GET /api/v1/inventory/positions/ as staff, at this data size."""
    from inventory.api import StockPositions
    from inventory.models import StockLevel

    view = StockPositions.as_view()
    deep_page = min(500, -(-StockLevel.objects.count() // 50))  # 500 unless the data set is smaller
    out = []
    for query in (
        {"page_size": 50},
        {"page_size": 200, "status": "low"},
        {"page_size": 50, "page": deep_page},
        {"page_size": 50, "warehouse": "BW2", "status": "over"},
    ):
        response, figures = api_timing(view, "/api/v1/inventory/positions/", query, staff)
        out.append({"query": query, **figures, "count": response.data["count"]})
        print(
            f"positions API {query}: {figures['ms']} ms, {figures['sql_statements']} SQL statements, "
            f"{response.data['count']} matching positions",
            flush=True,
        )
    return out


def atp_timings(staff) -> list[dict]:
    """GET /api/v1/inventory/atp/?sku=... as staff for 1, 50 and 200 (the limit) SKUs."""
    from inventory.api_atp import AvailableToPromise
    from inventory.models import SKU, PurchaseOrderLine

    codes = list(SKU.objects.order_by("code").values_list("code", flat=True))
    # The single SKU: one with a purchase order on the way and its own safety stock in BW1.
    single = (
        PurchaseOrderLine.objects.filter(sku__safety_stock__isnull=False)
        .order_by("sku__code")
        .values_list("sku__code", flat=True)
        .first()
    ) or codes[0]
    view = AvailableToPromise.as_view()
    out = []
    for skus in (
        [single],
        codes[:: max(len(codes) // 50, 1)][:50],
        codes[:: max(len(codes) // 200, 1)][:200],
    ):
        response, figures = api_timing(view, "/api/v1/inventory/atp/", {"sku": ",".join(skus)}, staff)
        results = response.data["results"]
        row = {
            "skus": len(skus),
            **figures,
            "locations": sum(len(r["locations"]) for r in results),
            "timeline_points": sum(len(r["timeline"]) for r in results),
            "atp_total": sum(r["total"]["atp"] for r in results),
        }
        out.append(row)
        print(
            f"ATP API, {len(skus)} SKU(s): {row['ms']} ms, {row['sql_statements']} SQL statements, "
            f"{row['locations']} location rows, {row['timeline_points']} timeline points",
            flush=True,
        )
    return out


# --- 5. ledger ------------------------------------------------------------------------


def ledger_check() -> dict:
    """What `manage.py reconcile` proves about stock, at this size."""
    from inventory.checks import bin_stock_equals_ledger, levels_equal_ledger, no_negative_unlocated

    with measured() as m:
        problems = levels_equal_ledger() + bin_stock_equals_ledger() + no_negative_unlocated()
    row = timed_row("stock invariants (levels and bins = ledger)", m, len(problems), problems=problems[:20])
    print_row(row, "problems")
    return row


# --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100_000, help="reorder rules (SKUs x 3 warehouses)")
    parser.add_argument(
        "--forecast-rules",
        type=int,
        default=3_000,
        help=f"of which forecast rules with {HISTORY_DAYS} days of demand history (SKUs x 3 warehouses)",
    )
    parser.add_argument("--no-json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/oms_bench_reorder")
    configure_environment()
    db = Database.from_url(os.environ["DATABASE_URL"])
    print(f"database {db.name}: recreating, migrating ...", flush=True)
    run_started = time.perf_counter()
    db.recreate()

    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from inventory.models import PurchaseOrder, PurchaseOrderLine
    from oms.roles import MANAGER
    from tests.factories import staff_user

    call_command("migrate", verbosity=0)
    skus = -(-args.rules // WAREHOUSES)
    forecast_skus = -(-args.forecast_rules // WAREHOUSES)
    seeded = seed(
        skus=skus,
        forecast_skus=forecast_skus,
        today=timezone.localdate(),
        tz=timezone.get_current_timezone_name(),
    )
    rows = seeded["rows"]
    print(
        f"seeded {rows['skus']} SKUs x {WAREHOUSES} warehouses = {rows['rules']} rules "
        f"({rows['forecast_rules']} forecast), {rows['movements']} movements "
        f"({rows['allocations']} daily allocations over {HISTORY_DAYS} days), "
        f"{rows['stock_levels']} stock levels, in {sum(seeded['seconds'].values()):.1f} s {seeded['seconds']}",
        flush=True,
    )

    runs = reorder_runs()
    lines_total = PurchaseOrderLine.objects.count()
    pos_total = PurchaseOrder.objects.count()
    sent = send_drafts(runs[0].pop("po_ids"))
    runs[1].pop("po_ids")
    alerts = alert_timings()
    recompute = recompute_timing()
    # A manager: the staff APIs check the role (oms.roles), not just is_staff.
    staff = staff_user("bench-staff", MANAGER)
    pages = positions_page_timings(staff)
    atp = atp_timings(staff)
    ledger = ledger_check()

    atp_statements = {row["sql_statements"] for row in atp if isinstance(row["sql_statements"], int)}
    checks = {
        f"reorder check: second run drafted nothing and {pos_total} POs / {lines_total} lines exist": (
            runs[1]["purchase_orders"] == 0 and lines_total == runs[0]["rows"]
        ),
        "alert refresh: second run opened and resolved nothing": (
            not alerts[1]["opened"] and not alerts[1]["resolved"] and not alerts[1]["reopened"]
        ),
        "alert digest: second run reported nothing": alerts[3]["reported"] == 0 and alerts[3]["rows"] == 0,
        "ATP API: same SQL statements for 1, 50 and 200 SKUs": (
            len(atp_statements) == 1 and all(isinstance(r["sql_statements"], int) for r in atp)
        ),
        "stock levels and bin stock equal the ledger": ledger["rows"] == 0,
    }
    for name, ok in checks.items():
        print(f"check: {name}: {'PASS' if ok else 'FAIL'}")
    total_s = time.perf_counter() - run_started
    print(f"whole run (recreate, migrate, seed, measure): {total_s:.0f} s")
    report = {
        "benchmark": "reorder_check",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "rules": rows["rules"],
        "seed": seeded,
        "reorder_check": runs,
        "send_drafts": sent,
        "alerts": alerts,
        "recompute": recompute,
        "positions_api": pages,
        "atp_api": atp,
        "ledger_check": ledger,
        "checks": checks,
        "pass": all(checks.values()),
        "run_seconds": round(total_s),
        "machine": machine_info(),
    }
    if not args.no_json:
        report_write("reorder_check", report)
    if not report["pass"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
