"""Demand forecasting: history from the stock ledger, a forecaster, a backtest,
and the stock-out / overstock reports built on them.

Demand is read from the ledger (ALLOCATE and DEALLOCATE movements, net
`allocated_delta`), like `selectors.stock_positions`, so inventory stays a
leaf app and never imports orders. Net demand is clipped at zero per period:
a cancellation in a later period than its allocation cannot make demand
negative (it slightly over-counts demand for such orders, which errs on the
side of having stock).

Method choice in `forecast` (every branch is named in `Forecast.method`):

- empty, all-zero, or fewer than MIN_POINTS observations: the mean of what
  there is ("zero" / "mean(short)"). Fitting anything to three points is noise.
- intermittent series (more than INTERMITTENT_ZERO_SHARE of the periods are
  zero): Croston's method with the Syntetos-Boylan (SBA) bias correction,
  implemented here in numpy. Exponential smoothing on such a series chases
  the zeros and the spikes; Croston smooths demand size and inter-demand
  interval separately, and SBA's (1 - alpha/2) factor removes Croston's known
  upward bias (Syntetos & Boylan 2005). alpha = 0.1, the usual choice.
- at least two full seasons: Holt-Winters (statsmodels ExponentialSmoothing)
  with an additive damped trend (damping keeps long horizons from running
  away, Gardner & McKenzie) and additive or multiplicative seasonality,
  whichever has the lower AICc (multiplicative only for strictly positive
  data). Both are fitted on the same data, so the AICc comparison is fair.
- otherwise (regular but short, or no season): simple exponential smoothing,
  or Holt's damped trend once there are HOLT_MIN_POINTS points, by AICc.

If statsmodels fails to fit (degenerate data), the next simpler method is
used; `forecast` never raises on odd input: NaN counts as no demand, negative
values are clipped to zero, and forecasts are clipped at zero.

`sigma` is the in-sample one-step residual standard deviation, per period.
Over several periods the reports add variances (independent errors), a
simplification that understates risk for strongly autocorrelated errors.

The backtest reports MASE (Hyndman & Koehler 2006): the mean absolute error
on the hold-out, scaled by the in-sample MAE of the seasonal-naive forecast,
for the model and for the seasonal-naive baseline itself, over rolling
origins. A ratio below 1 means the model beats seasonal naive.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd
from django.db.models import DateField, Sum
from django.db.models.functions import TruncDay, TruncWeek
from django.utils import timezone

from .models import StockLevel, StockMovement

MIN_POINTS = 4
HOLT_MIN_POINTS = 10
INTERMITTENT_ZERO_SHARE = 0.5
CROSTON_ALPHA = 0.1
DEFAULT_HISTORY_DAYS = 112  # 16 weeks of daily history: two+ weekly seasons for Holt-Winters
DAILY_SEASON = 7

Key = tuple[int, int | None]


# --- demand history ---------------------------------------------------------


def _period_start(day: date, freq: str) -> date:
    return day - timedelta(days=day.weekday()) if freq == "W" else day


def demand_history(
    *,
    start: date,
    end: date,
    freq: str = "D",
    sku_ids: Iterable[int] | None = None,
    warehouse_ids: Iterable[int] | None = None,
) -> dict[Key, pd.Series]:
    """Net allocated units per period from the ledger, in one query.

    Returns {(sku_id, warehouse_id): series} per warehouse and
    {(sku_id, None): series} for the SKU over the selected warehouses, each
    indexed by period start (a day, or the Monday of an ISO week for "W")
    from `start` to `end` inclusive in the current time zone, zero-filled.
    For "W", `start` is moved back to its Monday so every week is whole.
    Pairs with no demand movement in the window are absent (read: all zero),
    except that each SKU asked for by id gets its (sku_id, None) series.
    """
    if freq not in ("D", "W"):
        raise ValueError("freq must be 'D' or 'W'")
    start = _period_start(start, freq)
    tz = timezone.get_current_timezone()
    since = datetime.combine(start, time.min, tzinfo=tz)
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz)
    trunc = (TruncWeek if freq == "W" else TruncDay)("created_at", output_field=DateField(), tzinfo=tz)

    movements = StockMovement.objects.filter(
        kind__in=[StockMovement.Kind.ALLOCATE, StockMovement.Kind.DEALLOCATE],
        created_at__gte=since,
        created_at__lt=until,
    )
    wanted_skus = None if sku_ids is None else sorted(set(sku_ids))
    if wanted_skus is not None:
        movements = movements.filter(sku_id__in=wanted_skus)
    if warehouse_ids is not None:
        movements = movements.filter(warehouse_id__in=set(warehouse_ids))
    rows = (
        movements.annotate(period=trunc)
        .order_by()
        .values("sku_id", "warehouse_id", "period")
        .annotate(net=Sum("allocated_delta"))
    )

    index = pd.date_range(start, _period_start(end, freq), freq="W-MON" if freq == "W" else "D")
    position = {ts.date(): i for i, ts in enumerate(index)}
    values: dict[Key, np.ndarray] = defaultdict(lambda: np.zeros(len(index)))
    for row in rows:
        i = position[row["period"]]
        values[(row["sku_id"], row["warehouse_id"])][i] += row["net"]
        values[(row["sku_id"], None)][i] += row["net"]
    for sku_id in wanted_skus or ():
        values.setdefault((sku_id, None), np.zeros(len(index)))
    return {key: pd.Series(np.clip(v, 0, None), index=index, name=key) for key, v in values.items()}


# --- forecasting ------------------------------------------------------------


@dataclass(frozen=True)
class Forecast:
    mean: np.ndarray
    sigma: np.ndarray
    method: str

    @property
    def total(self) -> float:
        return float(self.mean.sum())

    @property
    def total_sigma(self) -> float:
        return float(math.sqrt(float((self.sigma**2).sum())))


def _clean(series: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
    y = np.asarray(series, dtype=float).ravel()
    return np.clip(np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0), 0.0, None)


def _flat(value: float, sigma: float, horizon: int, method: str) -> Forecast:
    return Forecast(np.full(horizon, max(value, 0.0)), np.full(horizon, max(sigma, 0.0)), method)


def croston_sba(y: np.ndarray, *, horizon: int, alpha: float = CROSTON_ALPHA) -> Forecast:
    """Croston's method with the Syntetos-Boylan correction.

    Demand size z and inter-demand interval p are smoothed only in periods with
    demand; the first demand initializes them (p counts periods from the start
    of the series). Forecast per period = (1 - alpha/2) * z / p.
    """
    y = _clean(y)
    demand_at = np.flatnonzero(y > 0)
    if len(demand_at) == 0:
        return _flat(0.0, 0.0, horizon, "zero")
    factor = 1 - alpha / 2
    z, p = y[demand_at[0]], float(demand_at[0] + 1)
    last = demand_at[0]
    errors = []
    for t in range(demand_at[0] + 1, len(y)):
        errors.append(y[t] - factor * z / p)  # one-step-ahead error of the forecast made at t-1
        if y[t] > 0:
            z += alpha * (y[t] - z)
            p += alpha * ((t - last) - p)
            last = t
    sigma = float(np.std(errors)) if errors else float(np.std(y))
    return _flat(factor * z / p, sigma, horizon, "croston_sba")


def _fit(y: np.ndarray, **kwargs):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            # No brute-force grid search for the starting parameters: it made a
            # fit three times slower (reorder rules fit every position daily)
            # and did not forecast better in the backtest (bench/forecast_backtest.md).
            result = ExponentialSmoothing(y, initialization_method="estimated", **kwargs).fit(use_brute=False)
    if not np.isfinite(result.aicc) or not np.all(np.isfinite(result.fittedvalues)):
        raise ValueError("degenerate fit")
    return result


def _best(y: np.ndarray, candidates: list[tuple[str, dict]], horizon: int) -> Forecast | None:
    fitted = []
    for name, kwargs in candidates:
        try:
            fitted.append((name, _fit(y, **kwargs)))
        except Exception:  # noqa: S112 - statsmodels raises many kinds on degenerate data
            continue
    if not fitted:
        return None
    name, result = min(fitted, key=lambda item: item[1].aicc)
    with np.errstate(all="ignore"):
        mean = np.asarray(result.forecast(horizon), dtype=float)
    if not np.all(np.isfinite(mean)):
        return None
    sigma = float(np.std(y - np.asarray(result.fittedvalues)))
    return Forecast(np.clip(mean, 0.0, None), np.full(horizon, sigma), name)


def forecast(series, *, horizon: int, season_length: int | None = None) -> Forecast:
    """Forecast `horizon` periods of demand; see the module docstring for the method choice."""
    horizon = max(int(horizon), 0)
    y = _clean(series)
    n = len(y)
    if n == 0 or not y.any():
        return _flat(0.0, 0.0, horizon, "zero")
    if n < MIN_POINTS:
        return _flat(float(y.mean()), float(y.std()), horizon, "mean(short)")
    if np.mean(y == 0) > INTERMITTENT_ZERO_SHARE:
        return croston_sba(y, horizon=horizon)

    if season_length and season_length >= 2 and n >= 2 * season_length:
        seasonal = [("holt_winters_add", "add")]
        if (y > 0).all():
            seasonal.append(("holt_winters_mul", "mul"))
        result = _best(
            y,
            [
                (
                    name,
                    {"trend": "add", "damped_trend": True, "seasonal": s, "seasonal_periods": season_length},
                )
                for name, s in seasonal
            ],
            horizon,
        )
        if result is not None:
            return result

    candidates = [("ses", {})]
    if n >= HOLT_MIN_POINTS:
        candidates.append(("holt_damped", {"trend": "add", "damped_trend": True}))
    return _best(y, candidates, horizon) or _flat(float(y.mean()), float(y.std()), horizon, "mean")


def reorder_point(fc: Forecast, *, lead_time_periods: int, service_z: float = 1.65) -> float:
    """Demand expected over the lead time plus safety stock (z x its sigma):
    what a computed reorder rule should trigger at."""
    k = max(int(lead_time_periods), 0)
    mean = float(fc.mean[:k].sum())
    sigma = math.sqrt(float((fc.sigma[:k] ** 2).sum()))
    return mean + service_z * sigma


# --- backtest ---------------------------------------------------------------


def seasonal_naive(train: np.ndarray, *, horizon: int, season_length: int) -> np.ndarray:
    m = max(min(season_length, len(train)), 1)
    last = train[-m:]
    return np.array([last[i % m] for i in range(horizon)], dtype=float)


def _smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    denominator = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(
        2 * np.abs(actual - predicted), denominator, out=np.zeros_like(actual), where=denominator > 0
    )
    return float(100 * ratio.mean())


@dataclass(frozen=True)
class BacktestResult:
    mase_model: float
    mase_naive: float
    smape_model: float
    smape_naive: float
    folds: int
    horizon: int
    season_length: int
    methods: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.mase_model / self.mase_naive if self.mase_naive else math.inf


def backtest(
    series, *, horizon: int, season_length: int, folds: int, step: int | None = None
) -> BacktestResult:
    """Rolling-origin evaluation over the last `folds` origins, `step` apart
    (default: `horizon`, so the hold-out windows do not overlap).

    Each fold fits on everything before its origin and forecasts `horizon`
    periods; MASE divides the hold-out MAE by the in-sample MAE of the
    seasonal-naive forecast on that fold's training data (lag-1 naive when
    seasonal naive fits the training data perfectly). Figures are the means
    over the folds. Raises ValueError when the series is too short.
    """
    y = _clean(series)
    m = max(int(season_length), 1)
    step = step or horizon
    origins = [len(y) - horizon - k * step for k in range(folds)][::-1]
    origins = [t for t in origins if t > m and t >= MIN_POINTS]
    if horizon < 1 or not origins:
        raise ValueError(f"{len(y)} points are too few for horizon {horizon} and season {m}")

    mase_model, mase_naive, smape_model, smape_naive, methods = [], [], [], [], []
    for t in origins:
        train, actual = y[:t], y[t : t + horizon]
        scale = np.mean(np.abs(train[m:] - train[:-m]))
        if scale == 0:
            scale = np.mean(np.abs(np.diff(train)))
        if scale == 0:
            continue  # a constant training series: MASE is undefined
        fc = forecast(train, horizon=horizon, season_length=m)
        naive = seasonal_naive(train, horizon=horizon, season_length=m)
        mase_model.append(np.mean(np.abs(actual - fc.mean)) / scale)
        mase_naive.append(np.mean(np.abs(actual - naive)) / scale)
        smape_model.append(_smape(actual, fc.mean))
        smape_naive.append(_smape(actual, naive))
        methods.append(fc.method)
    if not methods:
        raise ValueError("every training window is constant: MASE is undefined")
    return BacktestResult(
        mase_model=float(np.mean(mase_model)),
        mase_naive=float(np.mean(mase_naive)),
        smape_model=float(np.mean(smape_model)),
        smape_naive=float(np.mean(smape_naive)),
        folds=len(methods),
        horizon=horizon,
        season_length=m,
        methods=methods,
    )


# --- reports ----------------------------------------------------------------


@dataclass(frozen=True)
class PositionForecast:
    sku_id: int
    sku_code: str
    warehouse_id: int
    warehouse_code: str
    available: int
    forecast_demand: float
    forecast_sigma: float
    method: str
    stockout_probability: float
    days_until_stockout: int | None

    @property
    def cover_ratio(self) -> float | None:
        """Available over forecast demand (None when no demand is forecast)."""
        return self.available / self.forecast_demand if self.forecast_demand > 0 else None


def _normal_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def _position_forecasts(
    *,
    horizon_days: int,
    history_days: int,
    warehouse_ids: Iterable[int] | None = None,
    sku_ids: Iterable[int] | None = None,
) -> list[PositionForecast]:
    """Every active position (or those in the given warehouses / of the given
    SKUs) with its demand forecast: one query for positions, one for the
    history, then a forecast per series in Python."""
    levels = StockLevel.objects.filter(warehouse__is_active=True)
    if warehouse_ids is not None:
        warehouse_ids = set(warehouse_ids)
        levels = levels.filter(warehouse_id__in=warehouse_ids)
    if sku_ids is not None:
        sku_ids = set(sku_ids)
        levels = levels.filter(sku_id__in=sku_ids)
    positions = list(
        levels.order_by("sku__code", "warehouse__code").values_list(
            "sku_id", "sku__code", "warehouse_id", "warehouse__code", "on_hand", "allocated", "soft_reserved"
        )
    )
    today = timezone.localdate()
    history = demand_history(
        start=today - timedelta(days=history_days),
        end=today - timedelta(days=1),
        warehouse_ids=warehouse_ids,
        sku_ids=sku_ids,
    )
    out = []
    for sku_id, sku_code, warehouse_id, warehouse_code, on_hand, allocated, reserved in positions:
        available = on_hand - allocated - reserved
        series = history.get((sku_id, warehouse_id))
        fc = (
            forecast(series.to_numpy(), horizon=horizon_days, season_length=DAILY_SEASON)
            if series is not None
            else _flat(0.0, 0.0, horizon_days, "zero")
        )
        demand, sigma = fc.total, fc.total_sigma
        if sigma > 0:
            probability = 1 - _normal_cdf((available - demand) / sigma)
        else:
            probability = 1.0 if demand > available else 0.0
        run_out = np.flatnonzero(np.cumsum(fc.mean) > available)
        out.append(
            PositionForecast(
                sku_id=sku_id,
                sku_code=sku_code,
                warehouse_id=warehouse_id,
                warehouse_code=warehouse_code,
                available=available,
                forecast_demand=round(demand, 2),
                forecast_sigma=round(sigma, 2),
                method=fc.method,
                stockout_probability=round(probability, 3),
                days_until_stockout=int(run_out[0]) if len(run_out) else None,
            )
        )
    return out


def stockout_risk(
    *,
    horizon_days: int,
    history_days: int = DEFAULT_HISTORY_DAYS,
    warehouse_ids: Iterable[int] | None = None,
    sku_ids: Iterable[int] | None = None,
) -> list[PositionForecast]:
    """Positions whose available stock is below the demand forecast over the
    horizon, soonest stock-out first. `days_until_stockout` is the day (0 =
    today) on which cumulative forecast demand first exceeds available;
    `stockout_probability` is P(demand > available) under a normal approximation.
    `warehouse_ids` / `sku_ids` narrow it down."""
    rows = _position_forecasts(
        horizon_days=horizon_days, history_days=history_days, warehouse_ids=warehouse_ids, sku_ids=sku_ids
    )
    risky = [r for r in rows if r.available < r.forecast_demand]
    return sorted(
        risky,
        key=lambda r: (
            horizon_days if r.days_until_stockout is None else r.days_until_stockout,  # 0 = out today
            -r.stockout_probability,
            r.sku_code,
        ),
    )


def overstock(
    *,
    horizon_days: int,
    factor: float,
    history_days: int = DEFAULT_HISTORY_DAYS,
    warehouse_ids: Iterable[int] | None = None,
    sku_ids: Iterable[int] | None = None,
) -> list[PositionForecast]:
    """Positions holding more than `factor` x the forecast demand over the
    horizon (including stock with no forecast demand at all), largest excess
    first. `warehouse_ids` / `sku_ids` narrow it down."""
    rows = _position_forecasts(
        horizon_days=horizon_days, history_days=history_days, warehouse_ids=warehouse_ids, sku_ids=sku_ids
    )
    over = [r for r in rows if r.available > 0 and r.available > factor * r.forecast_demand]
    return sorted(over, key=lambda r: (-(r.available - factor * r.forecast_demand), r.sku_code))
