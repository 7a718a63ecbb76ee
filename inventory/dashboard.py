"""Dashboard pages of inventory (/dashboard/inventory/, inventory/dashboard_urls.py).

- the consolidated view: every SKU in every location (selectors.stock_positions,
  the figures of /api/v1/inventory/positions/ and the admin), searched,
  filtered by location and status, a page at a time, with the live alert
  counts on top; it refreshes itself (htmx);
- the stock alerts (inventory.alerts), acknowledged in bulk by whoever may
  change stock;
- one SKU: its levels per location, the ledger, open purchase orders, reorder
  rules, live alerts and its demand forecast (inventory.forecasting) drawn
  with the history; adjustments and write-offs for those who may change stock.

Warehouse users see and act on their own locations only (inventory.access).
Every page runs the same number of queries whatever the data; the forecast is
computed in Python from one history query and kept in the cache by the
history it was fitted on, so a reload does not fit it again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

import numpy as np
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_POST

from oms.actors import Actor
from oms.charts import line_chart
from oms.dashboard import paginate, query_without, staff_page
from oms.errors import DomainError
from oms.roles import can

from . import access
from .alerts import stock_alert_acknowledge
from .bins import bin_by_code
from .forecasting import DAILY_SEASON, DEFAULT_HISTORY_DAYS, Forecast, demand_history, forecast
from .models import (
    PO_OPEN_STATUSES,
    SKU,
    PurchaseOrder,
    PurchaseOrderLine,
    ReorderRule,
    StockAlert,
    StockMovement,
    SupplierSKU,
    Warehouse,
)
from .operations import stock_adjust, stock_write_off
from .operations.common import ADJUSTMENT_REASONS, WRITE_OFF_REASONS
from .reports import DEFAULT_HORIZON_DAYS, MAX_HORIZON_DAYS, OVERSTOCK, STOCKOUT_RISK, stock_report
from .selectors import DEMAND_WINDOW_DAYS, position_status, status_filter, stock_positions

STATUS_LABELS = {
    "out": gettext_lazy("Out of stock"),
    "low": gettext_lazy("Low"),
    "over": gettext_lazy("Overstock"),
    "ok": gettext_lazy("OK"),
}
STATUS_BADGES = {"out": "bad", "low": "warn", "over": "warn", "ok": "ok"}
ALERT_KIND_LABELS = {
    StockAlert.Kind.OUT: gettext_lazy("Stock-out"),
    StockAlert.Kind.LOW: gettext_lazy("Low stock"),
    StockAlert.Kind.COUNT_VARIANCE: gettext_lazy("Count variance"),
    StockAlert.Kind.OVER: gettext_lazy("Overstock"),
}
ALERT_KIND_BADGES = {"out": "bad", "low": "warn", "count_variance": "warn", "over": ""}
LIVE = "live"  # an alert not resolved yet: open or acknowledged
ALERT_STATUS_LABELS = {
    LIVE: gettext_lazy("Open or acknowledged"),
    StockAlert.Status.OPEN: gettext_lazy("Open"),
    StockAlert.Status.ACKNOWLEDGED: gettext_lazy("Acknowledged"),
    StockAlert.Status.RESOLVED: gettext_lazy("Resolved"),
}
# Labels of the reason codes of inventory.operations (the codes are the rule).
REASON_LABELS = {
    "correction": gettext_lazy("Correction of a booking error"),
    "damaged": gettext_lazy("Damaged"),
    "found": gettext_lazy("Found stock"),
    "lost": gettext_lazy("Lost or missing"),
    "expired": gettext_lazy("Expired"),
    "theft": gettext_lazy("Theft"),
    "sample": gettext_lazy("Used as a sample"),
    "recalled": gettext_lazy("Recalled"),
}
K = StockMovement.Kind
MOVEMENT_LABELS = {
    K.RECEIPT: pgettext_lazy("stock movement", "Receipt"),
    K.ADJUSTMENT: gettext_lazy("Adjustment"),
    K.RESERVE: gettext_lazy("Reserved for a cart"),
    K.RESERVATION_RELEASE: gettext_lazy("Reservation released"),
    K.RESERVATION_EXPIRY: gettext_lazy("Reservation expired"),
    K.ALLOCATE: gettext_lazy("Allocated to an order"),
    K.DEALLOCATE: gettext_lazy("Deallocated"),
    K.PICK: gettext_lazy("Picked"),
    K.SHIPMENT: gettext_lazy("Shipped"),
    K.RETURN: gettext_lazy("Returned"),
    K.TRANSFER_OUT: gettext_lazy("Transfer out"),
    K.TRANSFER_IN: gettext_lazy("Transfer in"),
    K.COUNT: gettext_lazy("Stock count"),
    K.WRITE_OFF: gettext_lazy("Write-off"),
    K.BIN_MOVE: gettext_lazy("Bin move"),
}
PO_STATUS_LABELS = {
    PurchaseOrder.Status.DRAFT: gettext_lazy("Draft"),
    PurchaseOrder.Status.SENT: gettext_lazy("Sent"),
    PurchaseOrder.Status.PARTIALLY_RECEIVED: gettext_lazy("Partially received"),
}
METHOD_LABELS = {
    "zero": gettext_lazy("no demand"),
    "mean(short)": gettext_lazy("mean of a short history"),
    "mean": gettext_lazy("mean"),
    "croston_sba": gettext_lazy("Croston (SBA) for intermittent demand"),
    "holt_winters_add": gettext_lazy("Holt-Winters, additive season"),
    "holt_winters_mul": gettext_lazy("Holt-Winters, multiplicative season"),
    "ses": gettext_lazy("simple exponential smoothing"),
    "holt_damped": gettext_lazy("Holt, damped trend"),
}
MOVEMENTS_PER_PAGE = 25
OPEN_PO_LINES_SHOWN = 50
# The forecast chart: days (or whole weeks) of history and of forecast.
DAILY_HORIZON = 28
WEEKLY_HISTORY, WEEKLY_HORIZON = 16, 8
INTERVAL = 0.90  # the forecast band drawn around the forecast
_Z = NormalDist().inv_cdf(0.5 + INTERVAL / 2)


def _locations(request):
    """Active locations the user may see, by code (one query)."""
    return access.scope(Warehouse.objects.filter(is_active=True).order_by("code"), request, field="id")


def _location_choices(locations, blank: str | None) -> list[tuple[str, str]]:
    choices = [(w.code, f"{w.code} · {w.name}") for w in locations]
    return [("", blank), *choices] if blank is not None else choices


def _valid(form: forms.Form) -> dict:
    """The fields of a filter form that passed; the others show their error
    on the page and filter nothing (a bad filter is never a 500)."""
    if not form.is_bound:
        return {}
    form.is_valid()
    return form.cleaned_data


# --- The consolidated view -----------------------------------------------------------------


class PositionFilters(forms.Form):
    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("SKU, barcode or product"))
    location = forms.ChoiceField(required=False, label=gettext_lazy("Location"))
    status = forms.ChoiceField(required=False, label=gettext_lazy("Status"))

    def __init__(self, data, *, locations):
        super().__init__(data)
        self.fields["location"].choices = _location_choices(locations, _("All locations"))
        self.fields["status"].choices = [
            ("", _("Any status")),
            *((s, STATUS_LABELS[s]) for s in ("out", "low", "over")),
        ]


def _live_alert_counts(request) -> dict[str, int]:
    live = access.scope(StockAlert.objects.exclude(status=StockAlert.Status.RESOLVED), request, "warehouse")
    counts = dict(live.order_by().values_list("kind").annotate(n=Count("id")))
    return {kind: counts.get(kind, 0) for kind in ALERT_KIND_LABELS}


def _position_rows(levels) -> list[dict]:
    rows = []
    for level in levels:
        status = position_status(level.available_qty, level.days_of_cover, level.demand)
        rows.append(
            {
                "level": level,
                "status": status,
                "status_label": STATUS_LABELS[status],
                "badge": STATUS_BADGES[status],
            }
        )
    return rows


@staff_page("stock.view")
def inventory_overview(request):
    locations = list(_locations(request))
    filters = PositionFilters(request.GET or None, locations=locations)
    params = _valid(filters)
    positions = access.scope(stock_positions(), request, field="warehouse")
    if q := (params.get("q") or "").strip():
        positions = positions.filter(
            Q(sku__code__icontains=q)
            | Q(sku__name__icontains=q)
            | Q(sku__product__name__icontains=q)
            | Q(sku__barcode=q)
        )
    if params.get("location"):
        positions = positions.filter(warehouse__code=params["location"])
    if params.get("status"):
        positions = positions.filter(status_filter(params["status"]))
    page = paginate(request, positions.order_by("sku__code", "warehouse__code"))
    alert_counts = _live_alert_counts(request)
    context = {
        "filters": filters,
        "page": page,
        "rows": _position_rows(page.items),
        "query": query_without(request, "page"),
        "alerts": [
            {"kind": k, "label": label, "count": alert_counts[k], "badge": ALERT_KIND_BADGES[k]}
            for k, label in ALERT_KIND_LABELS.items()
        ],
        "demand_days": DEMAND_WINDOW_DAYS,
        "low_days": settings.LOW_STOCK_DAYS,
        "over_days": settings.OVERSTOCK_DAYS,
        "scoped": access.location_ids(request) is not None,
    }
    template = "dashboard/inventory/_positions.html" if request.htmx else "dashboard/inventory/overview.html"
    return render(request, template, context)


# --- Alerts ---------------------------------------------------------------------------------


class AlertFilters(forms.Form):
    kind = forms.ChoiceField(required=False, label=gettext_lazy("Kind"))
    status = forms.ChoiceField(required=False, label=gettext_lazy("Status"))
    location = forms.ChoiceField(required=False, label=gettext_lazy("Location"))
    q = forms.CharField(required=False, max_length=100, label=gettext_lazy("SKU"))

    def __init__(self, data, *, locations):
        super().__init__(data)
        self.fields["kind"].choices = [("", _("Any kind")), *ALERT_KIND_LABELS.items()]
        self.fields["status"].choices = list(ALERT_STATUS_LABELS.items())
        self.fields["location"].choices = _location_choices(locations, _("All locations"))


@staff_page("stock.view")
def inventory_alerts(request):
    locations = list(_locations(request))
    filters = AlertFilters(request.GET or None, locations=locations)
    params = _valid(filters)
    alerts = access.scope(
        StockAlert.objects.select_related("sku", "warehouse", "acknowledged_by"), request, "warehouse"
    )
    status = params.get("status") or LIVE
    if status == LIVE:
        alerts = alerts.exclude(status=StockAlert.Status.RESOLVED)
    else:
        alerts = alerts.filter(status=status)
    if params.get("kind"):
        alerts = alerts.filter(kind=params["kind"])
    if params.get("location"):
        alerts = alerts.filter(warehouse__code=params["location"])
    if q := (params.get("q") or "").strip():
        alerts = alerts.filter(Q(sku__code__icontains=q) | Q(sku__name__icontains=q))
    page = paginate(request, alerts.order_by("-opened_at", "-id"))
    alert_counts = _live_alert_counts(request)
    context = {
        "filters": filters,
        "page": page,
        "rows": [
            {
                "alert": a,
                "label": ALERT_KIND_LABELS.get(a.kind, a.kind),
                "badge": ALERT_KIND_BADGES.get(a.kind, ""),
                "status_label": ALERT_STATUS_LABELS.get(a.status, a.status),
            }
            for a in page.items
        ],
        "query": query_without(request, "page"),
        "full_query": request.GET.urlencode(),
        "may_acknowledge": can(request, "stock.change"),
        "alerts": [
            {"kind": k, "label": label, "count": alert_counts[k], "badge": ALERT_KIND_BADGES[k]}
            for k, label in ALERT_KIND_LABELS.items()
        ],
    }
    template = "dashboard/inventory/_alerts.html" if request.htmx else "dashboard/inventory/alerts.html"
    return render(request, template, context)


def _back(url: str, query: str) -> HttpResponseRedirect:
    # Only a query string of our own page is carried back, never a URL.
    query = query.lstrip("?").replace("\n", "").replace("\r", "")
    return HttpResponseRedirect(f"{url}?{query}" if query else url)


@staff_page("stock.change")
@require_POST
def inventory_alerts_acknowledge(request):
    back = _back(reverse("dashboard:inventory_alerts"), request.POST.get("query", ""))
    try:
        ids = sorted({int(v) for v in request.POST.getlist("ids")})
    except ValueError:
        messages.error(request, _("Alerts not acknowledged: the selection is not a list of alerts."))
        return back
    if not ids:
        messages.error(request, _("Alerts not acknowledged: select at least one alert."))
        return back
    yours = set(
        access.scope(StockAlert.objects.filter(pk__in=ids), request, "warehouse").values_list("pk", flat=True)
    )
    if missing := [i for i in ids if i not in yours]:
        messages.error(
            request,
            _("Alerts not acknowledged: no alert %(ids)s at your locations.")
            % {"ids": ", ".join(map(str, missing))},
        )
        return back
    try:
        changed = stock_alert_acknowledge(alert_ids=ids, actor=Actor.for_user(request.user))
    except DomainError as error:
        messages.error(request, _("Alerts not acknowledged: %(problem)s") % {"problem": error.message})
        return back
    messages.success(
        request,
        _("%(n)d alert(s) acknowledged; %(same)d already were.")
        % {"n": len(changed), "same": len(ids) - len(changed)},
    )
    return back


# --- Forecast risk -------------------------------------------------------------------------


class RiskFilters(forms.Form):
    report = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Report"),
        choices=[(STOCKOUT_RISK, gettext_lazy("Stock-out risk")), (OVERSTOCK, gettext_lazy("Overstock"))],
    )
    horizon_days = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_HORIZON_DAYS, label=gettext_lazy("Days ahead")
    )
    location = forms.ChoiceField(required=False, label=gettext_lazy("Location"))

    def __init__(self, data, *, locations):
        super().__init__(data)
        self.fields["location"].choices = _location_choices(locations, _("All locations"))


@staff_page("stock.view")
def inventory_risk(request):
    """The forecast reports (inventory.reports, as /api/v1/inventory/reports/):
    positions forecast to run out within the horizon, or holding far more than
    it will sell. They forecast every position, so they come from the cache
    while the ledger has not moved (INVENTORY_REPORT_CACHE_SECONDS)."""
    locations = list(_locations(request))
    filters = RiskFilters(request.GET or None, locations=locations)
    params = _valid(filters)
    name = params.get("report") or STOCKOUT_RISK
    horizon = params.get("horizon_days") or DEFAULT_HORIZON_DAYS[name]
    report, problem = None, None
    if not filters.errors:
        try:
            report = stock_report(name=name, horizon_days=horizon, warehouse=params.get("location") or None)
        except DomainError as error:
            problem = error.message
    rows = []
    if report is not None:
        ids = access.location_ids(request)
        rows = [r for r in report.rows if ids is None or r.warehouse_id in ids]
    page = paginate(request, rows)
    context = {
        "filters": filters,
        "report": report,
        "problem": problem,
        "name": name,
        "horizon": horizon,
        "page": page,
        "rows": [
            {
                "row": r,
                "excess": r.available - report.factor * r.forecast_demand
                if report.factor is not None
                else None,
                "method": METHOD_LABELS.get(r.method, r.method),
            }
            for r in page.items
        ],
        "query": query_without(request, "page"),
    }
    return render(request, "dashboard/inventory/risk.html", context)


# --- One SKU --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandForecast:
    grain: str  # "day" or "week"
    method: str
    figure: dict
    horizon: int  # periods
    total: float
    low: float
    high: float
    history_total: float
    runs_out: date | None  # when available stock is forecast to be used up, within the horizon
    interval: float = INTERVAL


def _fitted(values: np.ndarray, *, horizon: int, season_length: int | None) -> Forecast:
    """The forecast of a history, from the cache when the same history was
    fitted lately (the key is the history itself, so new demand refits)."""
    seconds = settings.INVENTORY_REPORT_CACHE_SECONDS
    if seconds <= 0:
        return forecast(values, horizon=horizon, season_length=season_length)
    digest = hashlib.sha256(values.astype(float).tobytes()).hexdigest()
    key = f"dashboard-forecast:{horizon}:{season_length}:{digest}"
    return cache.get_or_set(
        key, lambda: forecast(values, horizon=horizon, season_length=season_length), seconds
    )


def demand_forecast(*, sku: SKU, warehouse_ids, grain: str, available: int) -> DemandForecast:
    """The SKU's demand history over the locations (None: all) and its
    forecast, as a chart with the forecast and its interval dashed."""
    today = timezone.localdate()
    if grain == "week":
        end = today - timedelta(days=today.weekday() + 1)  # last Sunday: whole weeks only
        start = end - timedelta(weeks=WEEKLY_HISTORY) + timedelta(days=1)
        horizon, season, step, freq = WEEKLY_HORIZON, None, timedelta(weeks=1), "W"
    else:
        end = today - timedelta(days=1)
        start = today - timedelta(days=DEFAULT_HISTORY_DAYS)
        horizon, season, step, freq = DAILY_HORIZON, DAILY_SEASON, timedelta(days=1), "D"
    history = demand_history(start=start, end=end, freq=freq, sku_ids=[sku.pk], warehouse_ids=warehouse_ids)
    series = history[(sku.pk, None)]
    values = series.to_numpy(dtype=float)
    fc = _fitted(values, horizon=horizon, season_length=season)

    past = [ts.date() for ts in series.index]
    first_ahead = past[-1] + step if past else today
    ahead = [first_ahead + i * step for i in range(horizon)]
    upper = fc.mean + _Z * fc.sigma
    lower = np.clip(fc.mean - _Z * fc.sigma, 0, None)
    names = {
        "demand": _("Demand"),
        "forecast": _("Forecast"),
        "upper": _("Upper bound (%(p)d%%)") % {"p": round(INTERVAL * 100)},
        "lower": _("Lower bound (%(p)d%%)") % {"p": round(INTERVAL * 100)},
    }
    # The forecast line starts at the last observation so the two lines join.
    anchor = [None] * (len(past) - 1) + [float(values[-1])] if past else []
    gap = [None] * len(past)

    def rounded(a) -> list[float]:
        return [round(float(v), 2) for v in a]

    figure = line_chart(
        [d.isoformat() for d in past + ahead],
        {
            names["demand"]: [*rounded(values), *[None] * horizon],
            names["forecast"]: [*anchor, *rounded(fc.mean)],
            names["upper"]: [*gap, *rounded(upper)],
            names["lower"]: [*gap, *rounded(lower)],
        },
        title=_("Daily demand and forecast") if grain == "day" else _("Weekly demand and forecast"),
        dashed=[names["forecast"], names["upper"], names["lower"]],
    )
    used_up = np.flatnonzero(np.cumsum(fc.mean) > max(available, 0))
    return DemandForecast(
        grain=grain,
        method=fc.method,
        figure=figure,
        horizon=horizon,
        total=fc.total,
        low=max(fc.total - _Z * fc.total_sigma, 0.0),
        high=fc.total + _Z * fc.total_sigma,
        history_total=float(values.sum()),
        runs_out=ahead[int(used_up[0])] if len(used_up) else None,
    )


class SkuView(forms.Form):
    location = forms.ChoiceField(required=False, label=gettext_lazy("Forecast for"))
    grain = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Periods"),
        choices=[("day", gettext_lazy("Days")), ("week", gettext_lazy("Weeks"))],
    )

    def __init__(self, data, *, locations):
        super().__init__(data)
        self.fields["location"].choices = _location_choices(locations, _("All locations"))


class StockChangeForm(forms.Form):
    """An adjustment (+/-) or a write-off (units out for good) at one location."""

    ADJUST, WRITE_OFF = "adjust", "write_off"
    operation = forms.ChoiceField(
        choices=[(ADJUST, ADJUST), (WRITE_OFF, WRITE_OFF)], widget=forms.HiddenInput
    )
    location = forms.ChoiceField(label=gettext_lazy("Location"))
    quantity = forms.IntegerField(label=gettext_lazy("Units"), min_value=-1_000_000, max_value=1_000_000)
    reason = forms.ChoiceField(label=gettext_lazy("Reason"))
    bin = forms.CharField(
        required=False,
        max_length=32,
        label=gettext_lazy("Bin"),
        help_text=gettext_lazy("Empty: unlocated stock, or the usual draw order for a removal."),
    )
    note = forms.CharField(required=False, max_length=255, label=gettext_lazy("Note"))

    def __init__(self, *args, locations, operation: str = ADJUST, **kwargs):
        super().__init__(*args, auto_id=f"{operation}_%s", **kwargs)
        self.fields["location"].choices = _location_choices(locations, None)
        codes = ADJUSTMENT_REASONS if operation == self.ADJUST else WRITE_OFF_REASONS
        if self.is_bound:
            # The service checks the reason against the operation and says which codes it takes.
            codes = sorted({*ADJUSTMENT_REASONS, *WRITE_OFF_REASONS})
        self.fields["reason"].choices = [(c, REASON_LABELS.get(c, c)) for c in sorted(codes)]
        self.initial["operation"] = operation
        if operation == self.WRITE_OFF:
            self.fields["quantity"].min_value = 1
            self.fields["quantity"].help_text = _("Units taken out for good.")
        else:
            self.fields["quantity"].help_text = _("Positive adds, negative removes.")


def _sku_or_404(code: str) -> SKU:
    sku = SKU.objects.select_related("product").filter(code=code).first()
    if sku is None:
        raise Http404(_("No SKU %(code)s.") % {"code": code[:64]})
    return sku


@staff_page("stock.view")
def sku_detail(request, code: str):
    sku = _sku_or_404(code)
    locations = list(_locations(request))
    view = SkuView(request.GET or None, locations=locations)
    params = _valid(view)
    grain = params.get("grain") or "day"
    scoped = access.location_ids(request)

    levels = list(
        access.scope(stock_positions().filter(sku=sku), request, field="warehouse").order_by(
            "warehouse__code"
        )
    )
    rows = _position_rows(levels)
    totals = {
        f: sum(getattr(level, f) for level in levels)
        for f in ("on_hand", "allocated", "soft_reserved", "available_qty", "incoming", "demand")
    }
    if params.get("location"):
        location = next(w for w in locations if w.code == params["location"])
        forecast_ids = [location.pk]
    else:
        location = None
        forecast_ids = None if scoped is None else sorted(scoped)
    available = sum(
        level.available_qty for level in levels if forecast_ids is None or level.warehouse_id in forecast_ids
    )

    movements = access.scope(
        StockMovement.objects.filter(sku=sku).select_related("warehouse", "bin"), request, field="warehouse"
    )
    movements_page = paginate(request, movements.order_by("-id"), per_page=MOVEMENTS_PER_PAGE)
    for m in movements_page.items:
        m.kind_label = MOVEMENT_LABELS.get(m.kind, m.kind)
    po_lines = list(
        access.scope(
            PurchaseOrderLine.objects.filter(
                sku=sku, po__status__in=[PurchaseOrder.Status.DRAFT, *PO_OPEN_STATUSES]
            ).select_related("po__supplier", "po__warehouse"),
            request,
            field="po__warehouse",
        ).order_by(F("po__expected_at").asc(nulls_last=True), "po_id")[:OPEN_PO_LINES_SHOWN]
    )
    rules = list(
        access.scope(
            ReorderRule.objects.filter(sku=sku).select_related("warehouse"), request, "warehouse"
        ).order_by("warehouse__code")
    )
    supplier_item = SupplierSKU.objects.filter(sku=sku, is_preferred=True).select_related("supplier").first()
    live_alerts = list(
        access.scope(
            StockAlert.objects.filter(sku=sku)
            .exclude(status=StockAlert.Status.RESOLVED)
            .select_related("warehouse"),
            request,
            "warehouse",
        ).order_by("-opened_at", "-id")
    )
    may_change = can(request, "stock.change") and bool(locations)
    demand = demand_forecast(sku=sku, warehouse_ids=forecast_ids, grain=grain, available=available)
    context = {
        "sku": sku,
        "view": view,
        "rows": rows,
        "totals": totals,
        "movements": movements_page,
        "movements_query": query_without(request, "page"),
        "po_lines": po_lines,
        "po_lines_more": len(po_lines) == OPEN_PO_LINES_SHOWN,
        "rules": rules,
        "supplier_item": supplier_item,
        "alerts": [
            {
                "alert": a,
                "label": ALERT_KIND_LABELS.get(a.kind, a.kind),
                "badge": ALERT_KIND_BADGES.get(a.kind, ""),
            }
            for a in live_alerts
        ],
        "forecast": demand,
        "method_label": METHOD_LABELS.get(demand.method, demand.method),
        "forecast_location": location,
        "forecast_available": available,
        "demand_days": DEMAND_WINDOW_DAYS,
        "may_change": may_change,
        "stock_forms": [
            (
                StockChangeForm(locations=locations, operation=StockChangeForm.ADJUST),
                _("Adjust"),
                _("Adjust stock"),
            ),
            (
                StockChangeForm(locations=locations, operation=StockChangeForm.WRITE_OFF),
                _("Write off"),
                _("Write off"),
            ),
        ]
        if may_change
        else [],
    }
    return render(request, "dashboard/inventory/sku.html", context)


def _form_problems(form: forms.Form) -> str:
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        parts.append(f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return "; ".join(parts)


@staff_page("stock.change")
@require_POST
def sku_stock_change(request, code: str):
    sku = _sku_or_404(code)
    url = reverse("dashboard:sku", args=[sku.code])
    operation = request.POST.get("operation")
    if operation not in (StockChangeForm.ADJUST, StockChangeForm.WRITE_OFF):
        messages.error(request, _("Stock not changed: unknown operation."))
        return HttpResponseRedirect(url)
    locations = list(_locations(request))
    form = StockChangeForm(request.POST, locations=locations, operation=operation)
    if not form.is_valid():
        messages.error(request, _("Stock not changed: %(problem)s") % {"problem": _form_problems(form)})
        return HttpResponseRedirect(url)
    v = form.cleaned_data
    warehouse = next(w for w in locations if w.code == v["location"])
    service = stock_adjust if operation == StockChangeForm.ADJUST else stock_write_off
    try:
        bin_id = bin_by_code(warehouse=warehouse, code=v["bin"]).pk if v["bin"] else None
        service(
            warehouse_id=warehouse.pk,
            sku_id=sku.pk,
            quantity=v["quantity"],
            reason=v["reason"],
            note=v["note"],
            bin_id=bin_id,
            actor=Actor.for_user(request.user),
        )
    except DomainError as error:
        messages.error(request, _("Stock not changed: %(problem)s") % {"problem": error.message})
        return HttpResponseRedirect(url)
    if operation == StockChangeForm.ADJUST:
        done = _("Adjusted %(sku)s at %(location)s by %(quantity)+d (%(reason)s).")
    else:
        done = _("Wrote off %(quantity)d of %(sku)s at %(location)s (%(reason)s).")
    messages.success(
        request,
        done
        % {
            "sku": sku.code,
            "location": warehouse.code,
            "quantity": v["quantity"],
            "reason": REASON_LABELS.get(v["reason"], v["reason"]),
        },
    )
    return HttpResponseRedirect(url)
