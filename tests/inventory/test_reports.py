"""Stock-out risk and overstock reports: staff API (parameters validated, 400
naming the parameter), the cache behind paging, and the command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import reports
from inventory.models import SKU
from inventory.services import stock_receive
from tests.factories import WarehouseFactory, sku_in_stock
from tests.inventory.test_forecasting import ALLOC, at, insert_movements

pytestmark = pytest.mark.django_db
RISK = "/api/v1/inventory/reports/stockout-risk/"
OVER = "/api/v1/inventory/reports/overstock/"


@pytest.fixture(autouse=True)
def no_cache(settings):
    settings.INVENTORY_REPORT_CACHE_SECONDS = 0
    settings.OVERSTOCK_DAYS = 120


def every_third_day(units):
    # Intermittent demand: the forecaster uses Croston/SBA, (1 - 0.05) x units/3 a
    # day, which is quick to fit (Holt-Winters would make this file slow).
    return lambda d: units if d % 3 == 2 else 0  # the first demand 110 days ago: p starts at 3


def daily_demand(sku, warehouse, per_day, days=112):
    """ALLOCATE movements of per_day(days ago) units a day, written as the forecasting tests do."""
    today = timezone.localdate()
    insert_movements(
        [
            (sku, warehouse, ALLOC, per_day(d), at(today - timedelta(days=d)))
            for d in range(1, days + 1)
            if per_day(d)
        ]
    )


@pytest.fixture
def shelves():
    """DC-A: SCARCE (5 left, 2.85 a day), EMPTY (1 left, 2.85 a day), PLENTY
    (500, 0.95 a day), IDLE (10, never sells). DC-B: SCARCE again, 2 left."""
    a, b = WarehouseFactory(code="DC-A"), WarehouseFactory(code="DC-B")
    scarce = sku_in_stock(warehouse=a, quantity=5, code="SCARCE")
    stock_receive(warehouse_id=b.pk, sku_id=scarce.pk, quantity=2, reference="t")
    empty = sku_in_stock(warehouse=a, quantity=0, code="EMPTY")
    stock_receive(warehouse_id=a.pk, sku_id=empty.pk, quantity=1, reference="t")
    plenty = sku_in_stock(warehouse=a, quantity=500, code="PLENTY")
    sku_in_stock(warehouse=a, quantity=10, code="IDLE")
    for sku, wh in [(scarce, a), (scarce, b), (empty, a)]:
        daily_demand(sku, wh, every_third_day(9))
    daily_demand(plenty, a, every_third_day(3))
    return a, b


def rows(response):
    assert response.status_code == 200, response.json()
    return [(r["sku"], r["warehouse"]) for r in response.json()["results"]]


def test_stockout_risk_soonest_first(staff_api, shelves):
    body = staff_api.get(RISK).json()
    # EMPTY (1 left) runs out today, before SCARCE at DC-B (2 left) and at DC-A (5 left).
    assert rows_of(body) == [("EMPTY", "DC-A"), ("SCARCE", "DC-B"), ("SCARCE", "DC-A")]
    first = body["results"][0]
    assert first["days_until_stockout"] == 0 and first["available"] == 1
    scarce = body["results"][2]
    assert scarce["forecast_demand"] == pytest.approx(2.85 * 14, abs=0.01)
    assert scarce["stockout_probability"] > 0.95 and scarce["method"]
    assert scarce["cover_ratio"] == pytest.approx(5 / scarce["forecast_demand"], abs=0.01)

    assert rows(staff_api.get(RISK, {"warehouse": "DC-B"})) == [("SCARCE", "DC-B")]
    assert rows(staff_api.get(RISK, {"sku": "SCARCE", "warehouse": "DC-A"})) == [("SCARCE", "DC-A")]
    # One day ahead: SCARCE at DC-A (5 left, 2.85 a day) is not at risk yet.
    assert ("SCARCE", "DC-A") not in rows(staff_api.get(RISK, {"horizon_days": 1}))


def rows_of(body):
    return [(r["sku"], r["warehouse"]) for r in body["results"]]


def test_overstock_defaults_to_overstock_days(staff_api, shelves):
    # 30 days ahead, factor 120 / 30 = 4: PLENTY holds 500 against 28.5 forecast, IDLE 10 against none.
    body = staff_api.get(OVER).json()
    assert rows_of(body) == [("PLENTY", "DC-A"), ("IDLE", "DC-A")]
    plenty = body["results"][0]
    assert plenty["forecast_demand"] == pytest.approx(28.5, abs=0.01)
    assert plenty["excess"] == pytest.approx(500 - 4 * plenty["forecast_demand"], abs=0.01)
    assert body["results"][1]["cover_ratio"] is None
    # More than 20 x 30 days of demand: only stock nobody buys.
    assert rows(staff_api.get(OVER, {"factor": "20"})) == [("IDLE", "DC-A")]


@pytest.mark.parametrize(
    ("url", "param", "value"),
    [
        (RISK, "horizon_days", "abc"),
        (RISK, "horizon_days", "0"),
        (RISK, "horizon_days", "366"),
        (RISK, "history_days", "5"),
        (RISK, "warehouse", "NOWHERE"),
        (RISK, "sku", "NOSUCH"),
        (OVER, "factor", "-1"),
        (OVER, "factor", "many"),
    ],
)
def test_bad_parameters_are_named(staff_api, db, url, param, value):
    response = staff_api.get(url, {param: value})
    assert response.status_code == 400
    assert param in response.json()["error"]["fields"]


def test_reports_are_staff_only(api):
    assert api.get(RISK).status_code == 403
    assert api.get(OVER).status_code == 403


@pytest.mark.parametrize("n", [2, 12])
def test_query_count_does_not_grow_with_positions(staff_api, n):
    wh = WarehouseFactory(code="DC-A")
    for _ in range(n):
        daily_demand(sku_in_stock(warehouse=wh, quantity=3), wh, every_third_day(3))
    with CaptureQueriesContext(connection) as ctx:
        assert len(rows(staff_api.get(RISK, {"warehouse": "DC-A"}))) == n
    assert len(ctx.captured_queries) == 4  # roles, warehouse code, positions, demand history


def test_pages_come_from_the_cache_until_stock_moves(staff_api, shelves, settings, monkeypatch):
    settings.INVENTORY_REPORT_CACHE_SECONDS = 60
    cache.clear()
    calls = []
    real = reports.stockout_risk

    def counted(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(reports, "stockout_risk", counted)
    first = staff_api.get(RISK, {"page_size": 1}).json()
    second = staff_api.get(RISK, {"page_size": 1, "page": 2}).json()
    assert len(calls) == 1
    assert first["count"] == second["count"] == 3 and rows_of(first) != rows_of(second)

    a, _ = shelves
    stock_receive(warehouse_id=a.pk, sku_id=SKU.objects.get(code="EMPTY").pk, quantity=500, reference="po")
    assert staff_api.get(RISK).json()["count"] == 2
    assert len(calls) == 2


def test_command_prints_a_table(shelves):
    out = StringIO()
    call_command("inventory_report", "stockout-risk", "--warehouse", "DC-A", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Stock-out risk over the next 14 days (2 position(s), 112 days of history)"
    assert lines[1].split() == [
        "SKU",
        "Location",
        "Available",
        "Forecast",
        "Sigma",
        "P(out)",
        "Out",
        "on",
        "day",
        "Method",
    ]
    assert lines[3].split()[:3] == ["EMPTY", "DC-A", "1"] and lines[3].split()[6] == "0"
    assert lines[4].startswith("SCARCE")

    out = StringIO()
    call_command("inventory_report", "overstock", "--factor", "20", "--limit", "1", stdout=out)
    text = out.getvalue()
    assert text.startswith("Overstock: more than 20 x forecast demand over 30 days (1 position(s)")
    assert "IDLE" in text and "Excess" in text


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--horizon-days", "0"], "--horizon-days: must be between 1 and 365 days"),
        (["--warehouse", "NOPE"], "--warehouse: no warehouse with code 'NOPE'"),
        (["--factor", "2"], "--factor: only the overstock report takes a factor"),
    ],
)
def test_command_names_the_bad_option(db, args, problem):
    with pytest.raises(CommandError, match=problem):
        call_command("inventory_report", "stockout-risk", *args)
