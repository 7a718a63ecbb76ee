"""Dashboard inventory pages: the consolidated view, alerts, the SKU page with
its forecast, stock changes from the page; roles and location scoping in the
pages and in the inventory API; constant query counts; bad input never a 500."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from inventory import dashboard as inventory_dashboard
from inventory.alerts import stock_alerts_refresh
from inventory.models import ReorderRule, StockAlert, StockLevel, StockMovement, Supplier, SupplierSKU
from inventory.purchasing import purchase_order_create, purchase_order_send
from inventory.services import reservations_allocate, stock_receive, stock_reserve
from oms.actors import Actor
from oms.roles import ACCOUNTING, CUSTOMER_SERVICE, MANAGER, WAREHOUSE
from tests.dashboard.conftest import assert_constant_queries, page_queries
from tests.factories import SKUFactory, WarehouseFactory, sku_in_stock

pytestmark = pytest.mark.django_db


URL = "/dashboard/inventory/"
ALERTS = "/dashboard/inventory/alerts/"
ACK = "/dashboard/inventory/alerts/acknowledge/"


def sku_url(code: str) -> str:
    return f"/dashboard/inventory/sku/{code}/"


def sell(sku, warehouse, quantity: int) -> None:
    """Demand as the ledger records it: a reservation turned into an allocation."""
    held = stock_reserve(
        warehouse_id=warehouse.pk,
        quantities={sku.pk: quantity},
        expires_at=timezone.now() + timedelta(minutes=5),
        reference="test-order",
    )
    reservations_allocate(reservation_ids=[r.pk for r in held], reference="test-order")


def past_demand(sku, warehouse, daily: list[int]) -> None:
    """Allocations on the days before today (oldest first), for the forecast's
    history. The ledger is append-only with created_at set on insert, so the
    rows go in with a plain INSERT (levels untouched: fine in a rolled-back test)."""
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    rows = [
        (
            sku.pk,
            warehouse.pk,
            qty,
            datetime.combine(today - timedelta(days=len(daily) - i), time(12), tzinfo=tz),
        )
        for i, qty in enumerate(daily)
        if qty
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {StockMovement._meta.db_table} "  # noqa: S608 - table name from the model
            "(sku_id, warehouse_id, kind, on_hand_delta, allocated_delta, reserved_delta,"
            " reference, reason, note, actor, created_at) "
            "VALUES (%s, %s, 'allocate', 0, %s, 0, 'history', '', '', '', %s)",
            rows,
        )


@pytest.fixture
def locations(db):
    return WarehouseFactory(code="DC-A", name="Alpha DC"), WarehouseFactory(code="DC-B", name="Bravo DC")


@pytest.fixture
def stock(locations):
    """FAST-1 sells at A (low cover) and sits at B (low against its reorder
    point there); IDLE-1 never sells (over); GONE-1 sold out at A; a supplier,
    a sent PO to A and reorder rules for FAST-1."""
    a, b = locations
    fast = sku_in_stock(warehouse=a, quantity=30, code="FAST-1", name="Fast mover")
    stock_receive(warehouse_id=b.pk, sku_id=fast.pk, quantity=9, reference="test")
    sell(fast, a, 26)
    idle = sku_in_stock(warehouse=b, quantity=50, code="IDLE-1", name="Idle thing")
    gone = sku_in_stock(warehouse=a, quantity=2, code="GONE-1", name="Gone item")
    sell(gone, a, 2)
    supplier = Supplier.objects.create(code="ACME", name="Acme Supplies", currency="USD")
    SupplierSKU.objects.create(supplier=supplier, sku=fast, unit_cost=Decimal("3.00"), is_preferred=True)
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=a.pk, lines=[(fast.pk, 40)], actor=Actor.system()
    )
    purchase_order_send(po_id=po.pk, actor=Actor.system())
    ReorderRule.objects.create(sku=fast, warehouse=a, reorder_point=10, order_up_to=60)
    ReorderRule.objects.create(sku=fast, warehouse=b, reorder_point=20, order_up_to=60)
    past_demand(fast, a, [3, 0, 4, 2, 5, 1, 0] * 8)
    stock_alerts_refresh()
    return {"fast": fast, "idle": idle, "gone": gone, "a": a, "b": b, "po": po}


def text(response) -> str:
    return response.content.decode()


# --- The consolidated view ---------------------------------------------------------------


def test_overview_shows_every_position_with_figures_and_status(role_client, stock):
    client = role_client(MANAGER)
    response = client.get(URL)
    assert response.status_code == 200
    body = text(response)
    for code in ("FAST-1", "IDLE-1", "GONE-1", "DC-A", "DC-B", "Alpha DC"):
        assert code in body
    assert 'href="/dashboard/inventory/sku/FAST-1/"' in body
    assert "Out of stock" in body and "Low" in body and "Overstock" in body
    assert 'hx-trigger="every 15s"' in body  # the list refreshes itself
    # The live alert tiles: FAST-1 is low at A, GONE-1 out at A.
    live = StockAlert.objects.exclude(status="resolved")
    assert live.filter(kind="low", sku=stock["fast"], warehouse=stock["a"]).exists()
    assert live.filter(kind="out", sku=stock["gone"]).exists()


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ({"q": "fast"}, ["FAST-1"], ["IDLE-1", "GONE-1"]),
        ({"q": "Product"}, ["FAST-1", "IDLE-1", "GONE-1"], []),  # the product name
        ({"location": "DC-B"}, ["FAST-1", "IDLE-1"], ["GONE-1"]),
        ({"status": "out"}, ["GONE-1"], ["FAST-1", "IDLE-1"]),
        ({"status": "over"}, ["IDLE-1"], ["GONE-1"]),
        ({"status": "low", "location": "DC-A"}, ["FAST-1"], ["IDLE-1", "GONE-1"]),
    ],
)
def test_overview_search_and_filters(role_client, stock, query, shown, hidden):
    body = text(role_client(CUSTOMER_SERVICE).get(URL, query))
    rows = re.findall(r'href="/dashboard/inventory/sku/([^/]+)/"', body.split("<tbody>")[1])
    for code in shown:
        assert code in rows, (query, code)
    for code in hidden:
        assert code not in rows, (query, code)


@pytest.mark.parametrize(
    "query",
    [
        {"status": "meh"},
        {"location": "NOWHERE"},
        {"page": "-3"},
        {"page": "x"},
        {"q": "x" * 500},
        {"q": "%_\\'\""},
    ],
)
def test_overview_bad_filters_are_shown_not_500(role_client, stock, query):
    response = role_client(MANAGER).get(URL, query)
    assert response.status_code == 200


def test_overview_answers_htmx_with_the_fragment(role_client, stock):
    response = role_client(MANAGER).get(URL, {"status": "out"}, HTTP_HX_REQUEST="true")
    body = text(response)
    assert response.status_code == 200
    assert "<html" not in body and body.lstrip().startswith('<div id="positions"')
    assert "GONE-1" in body and "IDLE-1" not in body


def test_overview_queries_do_not_grow_with_skus_levels_and_alerts(role_client, stock):
    client = role_client(WAREHOUSE, locations=[stock["a"], stock["b"]])

    def grow():
        for i in range(8):
            sku = sku_in_stock(warehouse=stock["a"], quantity=3 + i, code=f"MORE-{i}")
            stock_receive(warehouse_id=stock["b"].pk, sku_id=sku.pk, quantity=2, reference="t")
            sell(sku, stock["a"], 2)
        stock_alerts_refresh()

    n = assert_constant_queries(client, URL, grow)
    assert n <= 10, n
    assert assert_constant_queries(client, URL + "?status=low&q=o", lambda: None) <= 10


# --- Alerts ------------------------------------------------------------------------------


def test_alerts_page_lists_live_alerts_and_acknowledges(role_client, stock):
    client = role_client(WAREHOUSE, locations=[stock["a"]])
    body = text(client.get(ALERTS))
    low = StockAlert.objects.get(kind="low", sku=stock["fast"], warehouse=stock["a"])
    assert "Low stock" in body and low.message in body
    assert f'name="ids" value="{low.pk}"' in body

    response = client.post(ACK, {"ids": [low.pk], "query": "kind=low"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/inventory/alerts/?kind=low"
    low.refresh_from_db()
    assert low.status == "acknowledged" and low.acknowledged_by == client.user
    page = text(client.get(ALERTS, {"status": "acknowledged"}))
    assert "1 alert(s) acknowledged" in page and client.user.username in page

    again = client.post(ACK, {"ids": [low.pk]}, follow=True)
    assert "0 alert(s) acknowledged; 1 already were." in text(again)


@pytest.mark.parametrize("ids", [[], ["x"], ["999999"]])
def test_acknowledge_bad_input_is_a_message(role_client, stock, ids):
    client = role_client(MANAGER)
    response = client.post(ACK, {"ids": ids}, follow=True)
    assert response.status_code == 200
    assert "Alerts not acknowledged" in text(response)


def test_acknowledging_a_resolved_alert_names_it(role_client, stock):
    client = role_client(MANAGER)
    alert = StockAlert.objects.get(kind="out", sku=stock["gone"])
    StockAlert.objects.filter(pk=alert.pk).update(status="resolved", resolved_at=timezone.now())
    response = client.post(ACK, {"ids": [alert.pk]}, follow=True)
    assert f"Alert(s) {alert.pk} already resolved" in text(response)


def test_alerts_page_filters_and_bad_input(role_client, stock):
    client = role_client(MANAGER)
    out = text(client.get(ALERTS, {"kind": "out"}))
    assert "GONE-1" in out.split("<tbody>")[1] and "FAST-1" not in out.split("<tbody>")[1]
    for query in ({"kind": "nope"}, {"status": "x"}, {"location": "X"}, {"page": "0"}):
        assert client.get(ALERTS, query).status_code == 200
    fragment = text(client.get(ALERTS, HTTP_HX_REQUEST="true"))
    assert fragment.lstrip().startswith('<div id="alerts"') and "<html" not in fragment


def test_alerts_queries_do_not_grow(role_client, stock):
    client = role_client(MANAGER)

    def grow():
        for i in range(6):
            sku = sku_in_stock(warehouse=stock["b"], quantity=1, code=f"ALERT-{i}")
            sell(sku, stock["b"], 1)
        stock_alerts_refresh()

    assert assert_constant_queries(client, ALERTS, grow) <= 10


# --- Forecast risk -----------------------------------------------------------------------

RISK = "/dashboard/inventory/forecast-risk/"


def test_forecast_risk_reports(role_client, stock):
    client = role_client(MANAGER)
    risky = text(client.get(RISK)).split("<tbody>")[1]
    assert "FAST-1" in risky and "DC-A" in risky and "IDLE-1" not in risky
    over = text(client.get(RISK, {"report": "overstock", "horizon_days": "30"})).split("<tbody>")[1]
    assert "IDLE-1" in over and "DC-B" in over

    mine = role_client(WAREHOUSE, locations=[stock["a"]])
    assert "DC-B" not in text(mine.get(RISK, {"report": "overstock"})).split("<tbody>")[1]


@pytest.mark.parametrize(
    "query",
    [
        {"horizon_days": "0"},
        {"horizon_days": "99999"},
        {"horizon_days": "x"},
        {"report": "doom"},
        {"location": "ZZ"},
    ],
)
def test_forecast_risk_bad_input_is_not_500(role_client, stock, query):
    response = role_client(MANAGER).get(RISK, query)
    assert response.status_code == 200
    assert '<span class="error">' in text(response)  # the field in error says so


def test_forecast_risk_queries_do_not_grow_and_the_cache_saves_them(role_client, stock, settings):
    from django.core.cache import cache

    client = role_client(MANAGER)
    settings.INVENTORY_REPORT_CACHE_SECONDS = 0  # forecast on every request: the worst case

    def grow():
        for i in range(5):
            sku = sku_in_stock(warehouse=stock["a"], quantity=2, code=f"RISK-{i}")
            sell(sku, stock["a"], 1)
            past_demand(sku, stock["a"], [2, 1, 3] * 5)

    uncached = assert_constant_queries(client, RISK, grow)
    settings.INVENTORY_REPORT_CACHE_SECONDS = 60
    cache.clear()
    first, _ = page_queries(client, RISK)
    again, _ = page_queries(client, RISK)
    assert first == uncached + 1 and again == uncached - 1  # + the ledger mark; then no forecast


# --- One SKU -----------------------------------------------------------------------------


def test_sku_page_shows_levels_ledger_orders_rule_alerts_and_forecast(role_client, stock):
    client = role_client(MANAGER)
    response = client.get(sku_url("FAST-1"))
    assert response.status_code == 200
    body = text(response)
    assert "Fast mover" in body and "DC-A" in body and "DC-B" in body
    assert "Acme Supplies" in body and f"PO{stock['po'].pk:06d}" in body  # the sent purchase order
    assert "Allocated to an order" in body and 'href="?page=2"' in body  # the ledger, newest first
    assert "Receipt" in text(client.get(sku_url("FAST-1"), {"page": 2}))
    assert "Low stock" in body  # its live alert
    assert "vendor/plotly.min.js" in body
    figure = json.loads(re.search(r'data-figure="([^"]+)"', body).group(1).replace("&quot;", '"'))
    names = [trace["name"] for trace in figure["data"]]
    assert names == ["Demand", "Forecast", "Upper bound (90%)", "Lower bound (90%)"]
    dashed = [trace.get("line", {}).get("dash") for trace in figure["data"]]
    assert dashed == [None, "dash", "dash", "dash"]
    demand = figure["data"][0]["y"]
    assert sum(v for v in demand if v) == 15 * 8  # the history ends yesterday: today's sale is not in it
    assert "Adjust stock" in body and "Write off" in body  # a manager may change stock


def test_sku_page_weekly_and_one_location(role_client, stock):
    client = role_client(MANAGER)
    body = text(client.get(sku_url("FAST-1"), {"grain": "week", "location": "DC-B"}))
    assert "Weekly demand and forecast" in body and "Location DC-B only." in body


def test_sku_forecast_is_cached_by_its_history(role_client, stock, settings, monkeypatch):
    settings.INVENTORY_REPORT_CACHE_SECONDS = 60
    from django.core.cache import cache

    cache.clear()
    calls = []
    real = inventory_dashboard.forecast
    monkeypatch.setattr(inventory_dashboard, "forecast", lambda *a, **k: calls.append(1) or real(*a, **k))
    client = role_client(MANAGER)
    client.get(sku_url("FAST-1"))
    client.get(sku_url("FAST-1"))
    assert len(calls) == 1
    past_demand(stock["fast"], stock["a"], [9, 0])  # new history: a new fit
    client.get(sku_url("FAST-1"))
    assert len(calls) == 2


def test_unknown_sku_is_404_and_bad_parameters_are_not_500(role_client, stock):
    client = role_client(MANAGER)
    assert client.get(sku_url("NOPE-404")).status_code == 404
    assert client.post(sku_url("NOPE-404") + "stock/", {"operation": "adjust"}).status_code == 404
    for query in ({"grain": "year"}, {"location": "ZZ"}, {"page": "abc"}, {"page": "99999"}):
        assert client.get(sku_url("FAST-1"), query).status_code == 200


def test_sku_page_of_a_sku_with_no_stock_or_history(role_client, locations):
    SKUFactory(code="NEW-1")
    body = text(role_client(MANAGER).get(sku_url("NEW-1")))
    assert "No movements at your locations." in body and "no demand" in body


def test_sku_page_queries_do_not_grow_with_levels_movements_and_orders(role_client, stock):
    client = role_client(MANAGER)
    fast = stock["fast"]

    def grow():
        for i in range(4):
            wh = WarehouseFactory(code=f"EXTRA-{i}")
            stock_receive(warehouse_id=wh.pk, sku_id=fast.pk, quantity=5, reference="t")
            ReorderRule.objects.create(sku=fast, warehouse=wh, reorder_point=1, order_up_to=9)
            po = purchase_order_create(
                supplier_id=Supplier.objects.get().pk,
                warehouse_id=wh.pk,
                lines=[(fast.pk, 5)],
                actor=Actor.system(),
            )
            purchase_order_send(po_id=po.pk, actor=Actor.system())
        for _ in range(10):
            stock_receive(warehouse_id=stock["a"].pk, sku_id=fast.pk, quantity=1, reference="t")
        past_demand(fast, stock["b"], [1, 2, 3] * 10)
        stock_alerts_refresh()

    assert assert_constant_queries(client, sku_url("FAST-1"), grow) <= 16


# --- Changing stock from the SKU page ----------------------------------------------------


def level(sku, warehouse) -> StockLevel:
    return StockLevel.objects.get(sku=sku, warehouse=warehouse)


def test_warehouse_user_adjusts_and_writes_off_at_their_location(role_client, stock):
    client = role_client(WAREHOUSE, locations=[stock["b"]])
    fast, b = stock["fast"], stock["b"]
    form = {
        "operation": "adjust",
        "location": "DC-B",
        "quantity": "5",
        "reason": "found",
        "note": "behind a rack",
    }
    response = client.post(sku_url("FAST-1") + "stock/", form)
    assert response.status_code == 302 and response["Location"] == sku_url("FAST-1")
    assert level(fast, b).on_hand == 14
    movement = StockMovement.objects.filter(sku=fast, warehouse=b).first()
    assert (movement.kind, movement.reason, movement.note) == ("adjustment", "found", "behind a rack")
    assert client.user.username in movement.actor
    assert "Adjusted FAST-1 at DC-B by +5" in text(client.get(sku_url("FAST-1")))

    client.post(
        sku_url("FAST-1") + "stock/",
        {"operation": "write_off", "location": "DC-B", "quantity": "4", "reason": "damaged"},
    )
    assert level(fast, b).on_hand == 10


@pytest.mark.parametrize(
    "form, problem",
    [
        (
            {"operation": "adjust", "location": "DC-B", "quantity": "-500", "reason": "lost"},
            "only 9 available",
        ),
        (
            {"operation": "write_off", "location": "DC-B", "quantity": "3", "reason": "found"},
            "not a reason code",
        ),
        ({"operation": "write_off", "location": "DC-B", "quantity": "-3", "reason": "lost"}, "Units"),
        ({"operation": "adjust", "location": "DC-B", "quantity": "0", "reason": "lost"}, "must not be zero"),
        ({"operation": "adjust", "location": "DC-B", "quantity": "abc", "reason": "lost"}, "Units"),
        (
            {"operation": "adjust", "location": "DC-B", "quantity": "1", "reason": "lost", "bin": "Z-9"},
            "no bin",
        ),
        ({"operation": "adjust", "location": "DC-A", "quantity": "1", "reason": "found"}, "Location"),
        (
            {"operation": "teleport", "location": "DC-B", "quantity": "1", "reason": "found"},
            "unknown operation",
        ),
        ({}, "unknown operation"),
    ],
)
def test_bad_stock_changes_are_messages_and_change_nothing(role_client, stock, form, problem):
    client = role_client(WAREHOUSE, locations=[stock["b"]])
    before = StockMovement.objects.count()
    response = client.post(sku_url("FAST-1") + "stock/", form, follow=True)
    assert response.status_code == 200
    body = text(response)
    assert "Stock not changed" in body and problem in body, body[
        body.find("messages") : body.find("messages") + 400
    ]
    assert StockMovement.objects.count() == before


def test_stock_change_is_post_only(role_client, stock):
    assert role_client(MANAGER).get(sku_url("FAST-1") + "stock/").status_code == 405


# --- Roles -------------------------------------------------------------------------------


def test_customer_service_sees_stock_but_cannot_change_it(role_client, stock):
    client = role_client(CUSTOMER_SERVICE)
    for url in (URL, ALERTS, sku_url("FAST-1")):
        assert client.get(url).status_code == 200
    body = text(client.get(sku_url("FAST-1")))
    assert "Adjust stock" not in body and 'name="ids"' not in text(client.get(ALERTS))

    alert = StockAlert.objects.filter(status="open").first()
    assert client.post(ACK, {"ids": [alert.pk]}).status_code == 403
    form = {"operation": "adjust", "location": "DC-A", "quantity": "5", "reason": "found"}
    assert client.post(sku_url("FAST-1") + "stock/", form).status_code == 403
    api = client.post(
        "/api/v1/inventory/adjustments/",
        {"warehouse": "DC-A", "sku": "FAST-1", "quantity": 5, "reason": "found"},
        content_type="application/json",
    )
    assert api.status_code == 403
    assert (
        client.post(
            "/api/v1/inventory/alerts/acknowledge/", {"ids": [alert.pk]}, content_type="application/json"
        ).status_code
        == 403
    )
    alert.refresh_from_db()
    assert alert.status == "open" and level(stock["fast"], stock["a"]).on_hand == 30


def test_accounting_may_look_at_stock_only(role_client, stock):
    client = role_client(ACCOUNTING)
    assert client.get(URL).status_code == 200
    assert client.post(sku_url("FAST-1") + "stock/", {"operation": "adjust"}).status_code == 403


def test_signed_out_visitors_are_sent_to_the_login(client, stock):
    response = client.get(URL)
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]


# --- Location scoping --------------------------------------------------------------------


def test_warehouse_user_sees_only_their_locations_on_the_pages(role_client, stock):
    client = role_client(WAREHOUSE, locations=[stock["a"]])
    rows = text(client.get(URL)).split("<tbody>")[1]
    assert "DC-A" in rows and "DC-B" not in rows and "IDLE-1" not in rows  # IDLE-1 is only at B
    assert (
        "DC-B"
        not in text(client.get(URL)).split("<tbody>")[0].split('id="id_location"')[1].split("</select>")[0]
    )
    assert "IDLE-1" not in text(client.get(URL, {"q": "IDLE"})).split("<tbody>")[1]
    assert "IDLE-1" not in text(client.get(ALERTS, {"status": "live"})).split("<tbody>")[1]

    sku = text(client.get(sku_url("FAST-1")))
    levels = sku.split("<tbody>")[1].split("</tbody>")[0]
    assert "DC-A" in levels and "DC-B" not in levels
    # B's receipt is not in the ledger shown, and the location is not offered.
    assert "DC-B" not in sku
    # Asking for B anyway filters nothing in (a bad choice, shown as such).
    assert client.get(URL, {"location": "DC-B"}).status_code == 200
    assert "DC-B" not in text(client.get(URL, {"location": "DC-B"})).split("<tbody>")[1]


def test_warehouse_user_cannot_change_stock_or_acknowledge_at_another_location(role_client, stock):
    client = role_client(WAREHOUSE, locations=[stock["a"]])
    form = {"operation": "adjust", "location": "DC-B", "quantity": "5", "reason": "found"}
    client.post(sku_url("FAST-1") + "stock/", form)
    assert level(stock["fast"], stock["b"]).on_hand == 9
    idle_alert = StockAlert.objects.filter(warehouse=stock["b"]).first()
    assert idle_alert is not None  # FAST-1 low at B
    response = client.post(ACK, {"ids": [idle_alert.pk]}, follow=True)
    assert "at your locations" in text(response)
    idle_alert.refresh_from_db()
    assert idle_alert.status == "open"


def test_warehouse_user_sees_only_their_locations_in_the_api(role_client, stock):
    client = role_client(WAREHOUSE, locations=[stock["a"]])
    manager = role_client(MANAGER)

    def warehouses(url, who=client, **params):
        response = who.get(url, params)
        assert response.status_code == 200, response.content
        body = response.json()
        rows = body["results"] if isinstance(body, dict) else body
        return {r["warehouse"] for r in rows}

    assert warehouses("/api/v1/inventory/positions/") == {"DC-A"}
    assert warehouses("/api/v1/inventory/positions/", who=manager) == {"DC-A", "DC-B"}
    assert warehouses("/api/v1/inventory/positions/", warehouse="DC-B") == set()
    assert warehouses("/api/v1/inventory/alerts/") == {"DC-A"}
    assert warehouses("/api/v1/inventory/alerts/", who=manager) == {"DC-A", "DC-B"}
    assert warehouses("/api/v1/inventory/locations/", sku="FAST-1") == {"DC-A"}
    assert warehouses("/api/v1/inventory/locations/", who=manager, sku="FAST-1") == {"DC-A", "DC-B"}
    assert warehouses("/api/v1/inventory/reports/overstock/", who=manager) >= {"DC-B"}
    assert "DC-B" not in warehouses("/api/v1/inventory/reports/overstock/")
    assert warehouses("/api/v1/inventory/purchase-orders/") == {"DC-A"}

    other = role_client(WAREHOUSE, locations=[stock["b"]])
    assert warehouses("/api/v1/inventory/purchase-orders/", who=other) == set()
    assert warehouses("/api/v1/inventory/bin-stock/", who=other) == set()

    # Changing stock at another location is refused; at their own it works.
    adjust = {"warehouse": "DC-B", "sku": "FAST-1", "quantity": 1, "reason": "found"}
    assert (
        client.post("/api/v1/inventory/adjustments/", adjust, content_type="application/json").status_code
        == 403
    )
    own = {**adjust, "warehouse": "DC-A"}
    assert (
        client.post("/api/v1/inventory/adjustments/", own, content_type="application/json").status_code == 200
    )
    b_alert = StockAlert.objects.filter(warehouse=stock["b"]).first()
    ack = client.post(
        "/api/v1/inventory/alerts/acknowledge/", {"ids": [b_alert.pk]}, content_type="application/json"
    )
    assert ack.status_code == 404
