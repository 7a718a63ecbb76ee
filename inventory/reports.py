"""Stock-out risk and overstock reports for staff (API and `inventory_report`).

They forecast every position in scope (inventory.forecasting), which costs
tens of milliseconds per selling position, so the result is kept in the
cache for INVENTORY_REPORT_CACHE_SECONDS: paging through a report must not
forecast everything again. The key holds the newest ledger movement id, so
any stock change (every one writes a movement) makes a fresh report.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from oms.errors import InvalidInput

from .forecasting import DEFAULT_HISTORY_DAYS, PositionForecast, overstock, stockout_risk
from .models import SKU, StockMovement, Warehouse

STOCKOUT_RISK, OVERSTOCK = "stockout-risk", "overstock"
REPORTS = (STOCKOUT_RISK, OVERSTOCK)
DEFAULT_HORIZON_DAYS = {STOCKOUT_RISK: 14, OVERSTOCK: 30}
MAX_HORIZON_DAYS = 365
MIN_HISTORY_DAYS, MAX_HISTORY_DAYS = 14, 730
MAX_FACTOR = 100.0


@dataclass(frozen=True)
class Report:
    name: str
    horizon_days: int
    history_days: int
    factor: float | None  # overstock: more than factor x forecast demand
    rows: list[PositionForecast]


def stock_report(
    *,
    name: str,
    horizon_days: int | None = None,
    history_days: int | None = None,
    factor: float | None = None,
    warehouse: str | None = None,
    sku: str | None = None,
    use_cache: bool = True,
) -> Report:
    """Run one report; bad parameters raise InvalidInput naming the parameter.

    The overstock factor defaults to OVERSTOCK_DAYS / horizon_days, so that by
    default "overstock" means more than OVERSTOCK_DAYS of forecast demand, as
    in the consolidated inventory view.
    """
    if name not in REPORTS:
        raise InvalidInput.field("report", f"must be one of: {', '.join(REPORTS)}")
    horizon_days = DEFAULT_HORIZON_DAYS[name] if horizon_days is None else horizon_days
    history_days = DEFAULT_HISTORY_DAYS if history_days is None else history_days
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise InvalidInput.field("horizon_days", f"must be between 1 and {MAX_HORIZON_DAYS} days")
    if not MIN_HISTORY_DAYS <= history_days <= MAX_HISTORY_DAYS:
        raise InvalidInput.field(
            "history_days", f"must be between {MIN_HISTORY_DAYS} and {MAX_HISTORY_DAYS} days"
        )
    if name == OVERSTOCK:
        factor = settings.OVERSTOCK_DAYS / horizon_days if factor is None else factor
        if not 0 < factor <= MAX_FACTOR:
            raise InvalidInput.field("factor", f"must be more than 0 and at most {MAX_FACTOR:g}")
    elif factor is not None:
        raise InvalidInput.field("factor", "only the overstock report takes a factor")
    scope = {
        "warehouse_ids": _ids(Warehouse, "warehouse", warehouse),
        "sku_ids": _ids(SKU, "sku", sku),
    }

    def run() -> list[PositionForecast]:
        if name == STOCKOUT_RISK:
            return stockout_risk(horizon_days=horizon_days, history_days=history_days, **scope)
        return overstock(horizon_days=horizon_days, history_days=history_days, factor=factor, **scope)

    seconds = settings.INVENTORY_REPORT_CACHE_SECONDS
    if not use_cache or seconds <= 0:
        rows = run()
    else:
        ledger = StockMovement.objects.aggregate(last=Max("id"))["last"]
        parts = [name, timezone.localdate(), ledger, horizon_days, history_days, factor, *scope.values()]
        key = "inventory-report:" + ":".join(map(str, parts))
        rows = cache.get_or_set(key, run, seconds)
    return Report(name=name, horizon_days=horizon_days, history_days=history_days, factor=factor, rows=rows)


def _ids(model, param: str, code: str | None) -> list[int] | None:
    if not code:
        return None
    pk = model.objects.filter(code=code).values_list("pk", flat=True).first()
    if pk is None:
        raise InvalidInput.field(param, f"no {model._meta.verbose_name} with code {code!r}")
    return [pk]
