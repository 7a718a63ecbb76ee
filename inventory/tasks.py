"""Periodic inventory work (beat). Tasks take ids or nothing, call services,
and are safe to run twice or concurrently."""

from __future__ import annotations

from celery import shared_task

from .alerts import stock_alerts_digest, stock_alerts_refresh
from .reorder_rules import CHUNK_SIZE, forecast_rules, reorder_rules_recompute
from .replenishment import reorder_check


@shared_task(ignore_result=True)
def run_reorder_check() -> dict:
    """Beat: draft the purchase orders the reorder rules call for (safe to run twice)."""
    result = reorder_check()
    return {"ran": result.ran, "purchase_orders": result.purchase_orders, "lines": result.lines}


@shared_task(ignore_result=True)
def refresh_stock_alerts() -> dict:
    """Beat: bring the stock alerts up to date, then e-mail what is new."""
    refresh = stock_alerts_refresh()
    return {
        "ran": refresh.ran,
        "opened": dict(refresh.opened),
        "resolved": dict(refresh.resolved),
        "notified": stock_alerts_digest(),
    }


@shared_task(ignore_result=True)
def recompute_reorder_rules(chunk_size: int = CHUNK_SIZE) -> int:
    """Beat (daily): recompute the forecast reorder rules, one task per chunk
    of rules so that every worker can take a share; returns the chunks queued."""
    ids = list(forecast_rules().values_list("pk", flat=True))
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    for chunk in chunks:
        recompute_reorder_rule_chunk.delay(chunk)
    return len(chunks)


@shared_task(ignore_result=True)
def recompute_reorder_rule_chunk(rule_ids: list[int]) -> dict:
    result = reorder_rules_recompute(rule_ids=rule_ids)
    return {"rules": result.rules, "updated": result.updated, "kept": result.kept}
