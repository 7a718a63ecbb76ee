"""The markdown report of `python -m bench` (bench/run.py), from its JSON."""

from __future__ import annotations

from collections.abc import Iterator

# What each benchmark's table shows: the top-level keys of its JSON, flattened.
SECTIONS = {
    "routing": ["seed", "engine_only", "whole_service"],
    "wave_optimize": ["seed", "wave"],
    "reorder_check": ["rules", "seed", "reorder_check", "send_drafts", "alerts", "recompute",
                      "positions_api", "atp_api", "ledger_check", "run_seconds"],
    "customer_metrics": ["customers", "orders", "rows", "seed_seconds", "refresh", "ranking_api", "run_seconds"],
    "dashboard": ["orders", "rows", "seed_seconds", "summary_refresh", "run_seconds"],
}  # fmt: skip
SKIP_KEYS = {"order_ids", "po_ids", "machine", "checks", "command", "statements"}


def fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def stats(summary: dict) -> str:
    """One line for a bench.common.summarize() dict."""
    parts = [f"{k} {fmt(summary.get(k))}" for k in ("p50", "p90", "p99", "max", "mean") if k in summary]
    return " / ".join(parts) + f" (n={summary.get('count')})"


def flat(obj, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(dotted key, scalar) pairs; a list of dicts is labelled by each item's
    label / name / step, else its index."""
    if isinstance(obj, dict) and {"mean", "p50", "p99"} <= set(obj):
        yield prefix, stats(obj)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            if key in SKIP_KEYS:
                continue
            yield from flat(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, list) and obj and all(isinstance(v, dict) for v in obj):
        for i, item in enumerate(obj):
            label = next(
                (str(item[k]) for k in ("label", "name", "step", "query", "skus") if k in item), str(i)
            )
            rest = {k: v for k, v in item.items() if k not in ("label", "name", "step")}
            yield from flat(rest, f"{prefix}[{label}]")
    elif isinstance(obj, list) and len(obj) > 12:
        yield prefix, f"{len(obj)} values"
    else:
        yield prefix, obj


def table(headers: list[str], rows: list[list]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def by_name(report: dict) -> dict[str, dict]:
    return {r["name"]: r for r in report["runs"]}


# The intake runs of the plan, in report order (bench/run.py names them).
INTAKE_RUNS = ("intake_uniform_16", "intake_uniform_64", "intake_hot_16", "intake_hot_64", "intake_sync_64")


def intake_rows(report: dict) -> tuple[list[str], list[list]]:
    runs = by_name(report)
    baseline = {}
    pg = (runs.get("pgbench") or {}).get("result") or {}
    for r in pg.get("runs", []):
        baseline[r["clients"]] = r["orders_per_s"]
    rows = []
    for name in INTAKE_RUNS:
        run = runs.get(name)
        if not run:
            continue
        res = (run.get("result") or {}).get("results")
        if not res:
            rows.append([name, "did not run: see below", *["-"] * 8])
            continue
        cfg = run["result"]["config"]
        lat, q = res["latency_ms"], res["queries_per_order"]
        cpu = res.get("cpu", {}).get("ms_per_order", {})
        base = baseline.get(cfg["clients"])
        ratio = f"{res['orders_per_s'] / base:.2f}" if base and res["orders_per_s"] else "-"
        rows.append([
            name, res["orders_per_s"], lat["p50"], lat["p99"], q["mean"],
            cpu.get("web"), cpu.get("db"), cpu.get("client"), base, ratio,
        ])  # fmt: skip
    headers = ["run", "orders/s", "p50 ms", "p99 ms", "SQL/order", "CPU ms/order web", "db", "client",
               "raw SQL orders/s (same clients)", "intake / raw SQL"]  # fmt: skip
    return headers, rows


INTAKE_DETAILS = [
    ("attempted", "attempted"), ("created (201)", "created_201"),
    ("409 insufficient stock", "conflict_409_insufficient_stock"), ("409 other", "conflict_409_other"),
    ("other errors", "other_errors_by_status"), ("elapsed s", "elapsed_s"), ("orders/s", "orders_per_s"),
    ("all responses/s", "responses_per_s"), ("latency ms (201)", "latency_ms"),
    ("latency ms (all)", "latency_ms_all_responses"), ("SQL/order", "queries_per_order"),
    ("DB ms/order", "db_ms_per_order"), ("responses per client", "per_client.responses"),
    ("CPU ms/order", "cpu.ms_per_order"), ("CPU ms/response", "cpu.ms_per_response"),
    ("CPU s web", "cpu.seconds.web"), ("CPU s db", "cpu.seconds.db"), ("CPU s client", "cpu.seconds.client"),
]  # fmt: skip


def intake_details(runs: dict) -> list[str]:
    """One column per intake run, one row per measure."""
    names = [n for n in INTAKE_RUNS if ((runs.get(n) or {}).get("result") or {}).get("results")]
    if not names:
        return []

    def pick(res: dict, path: str):
        for key in path.split("."):
            res = res.get(key) if isinstance(res, dict) else None
        if isinstance(res, dict) and {"mean", "p50", "p99"} <= set(res):
            return stats(res)
        if isinstance(res, dict):
            return ", ".join(f"{k} {fmt(v)}" for k, v in res.items()) or "-"
        return res

    rows = [
        [label, *[pick(runs[n]["result"]["results"], path) for n in names]] for label, path in INTAKE_DETAILS
    ]
    configs = [runs[n]["result"]["config"] for n in names]
    rows.insert(0, ["gunicorn", *[f"-w {c['workers']} -k {c.get('worker_class', 'gthread')} --threads "
                                  f"{c['threads']}" for c in configs]])  # fmt: skip
    return ["### Order intake, every figure", "", *table(["", *names], rows)]


def markdown(report: dict) -> str:
    m = report["machine"]
    runs = by_name(report)
    lines = [f"# Benchmarks, {report['started_at']}", ""]
    if report["quick"]:
        lines += ["**Quick run** (`--quick`: small sizes everywhere): a smoke test of the harness, "
                  "not figures to compare.", ""]  # fmt: skip
    if report.get("interrupted"):
        lines += ["**Interrupted**: only the benchmarks listed ran.", ""]
    failed = [r for r in report["runs"] if not r["passed"]]
    lines += [f"Command: `{report['command']}`; {len(report['runs'])} benchmarks in "
              f"{report['total_seconds'] / 60:.1f} minutes; **{'all passed' if not failed else 'FAILED'}**.", ""]  # fmt: skip
    if failed:
        lines += ["## Failures", ""]
        for r in failed:
            lines.append(f"- **{r['name']}** (exit {r['exit_code']}, log `{r['log']}`): "
                         + "; ".join(fmt(c) for c in r["failed_checks"]) or "no JSON")  # fmt: skip
        lines.append("")

    lines += ["## Machine", ""]
    keys = ["cpu_count", "cpu_model", "memory_gb", "platform", "postgresql", "pg_shared_buffers",
            "pg_synchronous_commit", "pg_max_connections", "pg_jit", "python", "django", "gunicorn", "psycopg",
            "git_commit", "git_uncommitted_files", "load_average_before", "load_average_after"]  # fmt: skip
    lines += table(["", ""], [[k, m.get(k)] for k in keys if k in m])

    headers, rows = intake_rows(report)
    if rows:
        lines += ["## Order intake over HTTP vs the raw-SQL baseline", ""]
        lines += ["gunicorn on this machine; CPU per created order: web = gunicorn master + workers, "
                  "db = the PostgreSQL backends of the bench database, client = the load generator "
                  "(see bench/README.md). The ratio divides intake orders/s by pgbench's with as many "
                  "clients (the uniform script: for the hot runs it only sets the scale).", ""]  # fmt: skip
        lines += table(headers, rows)
        lines += intake_details(runs)
    pg = (runs.get("pgbench") or {}).get("result")
    if pg:
        lines += ["## Raw SQL baseline (pgbench, bench/pgbench/placement.sql)", ""]
        lines += table(
            ["clients", "orders/s", "tps", "latency avg ms", "p50 ms", "p99 ms", "orders", "refused", "failed"],
            [[r["clients"], r["orders_per_s"], r["tps"], r["latency_ms"]["average_pgbench"], r["latency_ms"]["p50"],
              r["latency_ms"]["p99"], r["orders_created"], r["refused_insufficient_stock"],
              r["failed_transactions"]] for r in pg["runs"]],
        )  # fmt: skip
        slow = sorted((pg["runs"][0].get("statements") or []), key=lambda s: -s["ms"])[:6]
        if slow:
            lines += [f"Slowest statements at {pg['runs'][0]['clients']} clients (pgbench -r):", ""]
            lines += table(["ms", "SQL command of the script (in order)", "statement"],
                           [[s["ms"], s.get("n"), s["sql"]] for s in slow])  # fmt: skip

    hot = (runs.get("hot_endpoints") or {}).get("result")
    if hot:
        lines += ["## Hot endpoints: SQL statements per request", ""]
        sizes = hot.get("sizes", [])
        if len(sizes) == 2:
            lines += [f"Small: {sizes[0]['orders_added']} orders, {sizes[0]['skus']} SKUs; large: "
                      f"{sizes[1]['orders_added']} more orders, {sizes[1]['skus']} SKUs (and longer requests).", ""]  # fmt: skip
        lines += table(
            ["endpoint", "side", "SQL small", "SQL large", "ms small", "ms large", "constant"],
            [[e["endpoint"], e["side"], e["statements_small"], e["statements_large"], e["ms_small"], e["ms_large"],
              "yes" if e["constant"] else "**NO**"] for e in hot["endpoints"]],
        )  # fmt: skip

    dash = (runs.get("dashboard") or {}).get("result")
    for name, keys in SECTIONS.items():
        for run in [r for r in report["runs"] if r["name"] == name or r["name"].startswith(name + "_")]:
            result = run.get("result")
            if not result:
                continue
            lines += [f"## {run['about']} (`{run['name']}`)", ""]
            if name == "dashboard" and dash:
                lines += table(
                    ["page", "p50 ms", "p95 ms", "p99 ms", "SQL/request"],
                    [[p["label"], p.get("p50_ms"), p.get("p95_ms"), p.get("p99_ms"), p.get("sql_statements")]
                     for p in dash.get("pages", [])],
                )  # fmt: skip
            rows = [[k, v] for key in keys if key in result for k, v in flat(result[key], key)]
            lines += table(["measure", "value"], rows)

    lines += ["## Checks and timings", ""]
    lines += table(
        ["benchmark", "result", "minutes", "command", "database"],
        [[r["name"], "PASS" if r["passed"] else "**FAIL**", round(r["seconds"] / 60, 1), f"`{r['command']}`",
          r["database"]] for r in report["runs"]],
    )  # fmt: skip
    for r in report["runs"]:
        result = r.get("result") or {}
        checks = result.get("checks")
        if not checks:
            continue
        items = checks.items() if isinstance(checks, dict) else [(c["name"], c["ok"]) for c in checks]
        lines.append(f"- {r['name']}: " + "; ".join(f"{'PASS' if ok else '**FAIL**'} {n}" for n, ok in items))
    return "\n".join(lines) + "\n"
