"""Forecast reorder rules: reorder point, safety stock and order-up-to
recomputed from the demand forecast (static rules are never touched).

For each active rule with method = forecast, per SKU x warehouse:

    L  = lead time in days: the SKU's active preferred supplier's
         (SupplierSKU.effective_lead_time_days), else
         REORDER_DEFAULT_LEAD_TIME_DAYS (recorded as the source); at least 1,
         since stock is reviewed and received in whole days
    z  = NormalDist().inv_cdf(service_level)
    forecast daily demand for L + review_period_days days
         (inventory.forecasting.forecast, weekly season), sigma its daily
         one-step error
    safety_stock  = ceil(z x sigma x sqrt(L))
    reorder_point = ceil(expected demand over the L days) + safety_stock
    order_up_to   = reorder_point + ceil(expected demand over the review
                    period that follows), at least reorder_point + 1

The daily history is the ledger's net allocations over the last
DEFAULT_HISTORY_DAYS days (yesterday back), but starts no earlier than the
day the SKU was created unless it already had demand before that: days
before a SKU existed are not days of zero demand. A rule keeps its numbers
(and says why in computed_from) while its SKU has fewer than
MIN_HISTORY_DAYS days of history, or no demand at all in the window: a new
SKU's opening numbers set by staff are better than a guess from a few days,
and a rule with no demand never triggers anyway.

Work goes in chunks of rules, each one history query, one supplier query and
one bulk update, so a progress bar can follow it and Celery can share it out.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

import numpy as np
from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from .forecasting import DAILY_SEASON, DEFAULT_HISTORY_DAYS, demand_history, forecast, reorder_point
from .models import ReorderRule, SupplierSKU

MIN_HISTORY_DAYS = 14
CHUNK_SIZE = 500
COMPUTED_FIELDS = [
    "reorder_point",
    "order_up_to",
    "safety_stock",
    "computed_at",
    "computed_from",
    "updated_at",
]


def _units(x: float) -> int:
    # Round away float noise first: 2.0 x 14 must be 28 units, not 29.
    return max(math.ceil(round(x, 6)), 0)


@dataclass(frozen=True)
class ComputedRule:
    reorder_point: int
    safety_stock: int
    order_up_to: int
    inputs: dict


def compute_rule(
    history: np.ndarray, *, lead_time_days: int, service_level: float, review_period_days: int
) -> ComputedRule:
    """The numbers of one forecast rule from its daily demand history."""
    lead = max(int(lead_time_days), 1)
    review = max(int(review_period_days), 0)
    z = NormalDist().inv_cdf(service_level)
    fc = forecast(history, horizon=lead + review, season_length=DAILY_SEASON)
    lead_demand = float(fc.mean[:lead].sum())
    review_demand = float(fc.mean[lead:].sum())
    safety = _units(reorder_point(fc, lead_time_periods=lead, service_z=z) - lead_demand)
    point = _units(lead_demand) + safety
    sigma = float(fc.sigma[0]) if fc.sigma.size else 0.0
    return ComputedRule(
        reorder_point=point,
        safety_stock=safety,
        order_up_to=max(point + _units(review_demand), point + 1),
        inputs={
            "method": fc.method,
            "daily_demand": round(lead_demand / lead, 3),
            "sigma": round(sigma, 3),
            "lead_time_days": lead,
            "service_level": service_level,
            "z": round(z, 3),
            "lead_time_demand": round(lead_demand, 2),
            "review_period_days": review,
            "review_period_demand": round(review_demand, 2),
        },
    )


@dataclass
class RecomputeResult:
    rules: int = 0
    updated: int = 0
    kept: int = 0
    default_lead_time: int = 0


def forecast_rules(rule_ids: Iterable[int] | None = None) -> QuerySet[ReorderRule]:
    """Active forecast rules of active SKUs in active locations (what the reorder check uses)."""
    rules = ReorderRule.objects.filter(
        method=ReorderRule.Method.FORECAST, is_active=True, sku__is_active=True, warehouse__is_active=True
    )
    if rule_ids is not None:
        rules = rules.filter(pk__in=list(rule_ids))
    return rules.order_by("pk")


def reorder_rules_recompute(
    *,
    rule_ids: Iterable[int] | None = None,
    today: date | None = None,
    history_days: int = DEFAULT_HISTORY_DAYS,
    chunk_size: int = CHUNK_SIZE,
    progress: Callable[[int], None] | None = None,
) -> RecomputeResult:
    """Recompute the forecast rules (all, or those named); `progress` is called
    with the number of rules done after each chunk."""
    today = today or timezone.localdate()
    ids = list(forecast_rules(rule_ids).values_list("pk", flat=True))
    result = RecomputeResult()
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        _recompute_chunk(chunk, today=today, history_days=history_days, result=result)
        if progress:
            progress(len(chunk))
    return result


def _lead_times(sku_ids: set[int]) -> dict[int, tuple[int, str]]:
    preferred = SupplierSKU.objects.filter(
        sku_id__in=sku_ids, is_preferred=True, supplier__is_active=True
    ).select_related("supplier")
    return {item.sku_id: (item.effective_lead_time_days, item.supplier.code) for item in preferred}


def _recompute_chunk(rule_ids: list[int], *, today: date, history_days: int, result: RecomputeResult) -> None:
    rules = list(forecast_rules(rule_ids).select_related("sku"))
    if not rules:
        return
    end = today - timedelta(days=1)  # today is not over yet
    start = end - timedelta(days=history_days - 1)
    history = demand_history(
        start=start,
        end=end,
        sku_ids={r.sku_id for r in rules},
        warehouse_ids={r.warehouse_id for r in rules},
    )
    lead_times = _lead_times({r.sku_id for r in rules})
    now = timezone.now()
    changed = []
    for rule in rules:
        result.rules += 1
        series = history.get((rule.sku_id, rule.warehouse_id))
        y = series.to_numpy() if series is not None else np.zeros(history_days)
        # Start at the SKU's creation, unless it already sold before that.
        created = (timezone.localtime(rule.sku.created_at).date() - start).days
        demand_at = np.flatnonzero(y > 0)
        first = min(max(created, 0), int(demand_at[0]) if demand_at.size else history_days)
        y = y[first:]
        lead, source = lead_times.get(rule.sku_id, (settings.REORDER_DEFAULT_LEAD_TIME_DAYS, "default"))
        result.default_lead_time += source == "default"
        basis = {"history_days": len(y), "demand_days": int((y > 0).sum()), "lead_time_source": source}

        kept = None
        if len(y) < MIN_HISTORY_DAYS:
            kept = f"only {len(y)} day(s) of history; computing needs {MIN_HISTORY_DAYS}"
        elif not y.any():
            kept = f"no demand in the last {len(y)} days"
        if kept:
            result.kept += 1
            rule.computed_from = {**basis, "kept": kept}
        else:
            computed = compute_rule(
                y,
                lead_time_days=lead,
                service_level=float(rule.service_level),
                review_period_days=rule.review_period_days,
            )
            result.updated += 1
            rule.reorder_point = computed.reorder_point
            rule.safety_stock = computed.safety_stock
            rule.order_up_to = computed.order_up_to
            rule.computed_from = {**computed.inputs, **basis}
        rule.computed_at = rule.updated_at = now
        changed.append(rule)
    # The filter makes the update conditional: a rule switched to static (or
    # switched off) by staff meanwhile keeps what staff set.
    forecast_rules().bulk_update(changed, COMPUTED_FIELDS)
