"""Safety stock and channel locations where stock is promised: the storefront
shows the channel's ATP, and placement, carts and backorders never take the
units a location holds back, nor stock in locations that do not serve the
channel, even when requests race for the last units."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import SafetyStock, StockLevel, Supplier, SupplierSKU
from inventory.purchasing import purchase_order_receive
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive, stock_reserve
from oms.actors import Actor
from oms.outbox import dispatch_pending
from orders.models import Order
from orders.services import placement
from orders.services.backorders import backorders_repromise
from tests.factories import (
    ChannelFactory,
    WarehouseFactory,
    channel_with_key,
    create_cart,
    order_payload,
    sku_in_stock,
    stock_level,
)
from tests.orders.test_backorders import open_po
from tests.orders.test_concurrency import client_for, run_concurrently
from tests.test_query_counts import AVAILABILITY_QUERIES, ORDER_CREATE_QUERIES, count_queries

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
NEW_YORK = {"latitude": "40.750000", "longitude": "-73.990000"}


def to_new_york(sku_code: str, quantity: int, **overrides) -> dict:
    payload = order_payload(sku_code, quantity, **overrides)
    payload["shipping_address"] = {**payload["shipping_address"], **NEW_YORK}
    return payload


def receive(sku, warehouse, quantity: int) -> None:
    stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=quantity, reference="test")


def hold_back(warehouse, quantity: int, sku=None) -> None:
    """Safety stock: the location's default, or with a SKU that SKU's own."""
    if sku is None:
        warehouse.safety_stock = quantity
        warehouse.save(update_fields=["safety_stock"])
    else:
        SafetyStock.objects.create(sku=sku, warehouse=warehouse, quantity=quantity)


@pytest.fixture
def far(db):
    return WarehouseFactory(
        code="DC-NV", city="Reno", latitude=Decimal("39.529600"), longitude=Decimal("-119.813800")
    )


# --- the storefront -------------------------------------------------------------------


@pytest.fixture
def spread(channel, sku, warehouse):
    """DC-NJ (100 on hand) holds back 10, and 20 of this SKU; a pickup store for
    every channel holds back 1 of 4; another channel's DC and a closed one hold plenty."""
    hold_back(warehouse, 10)
    hold_back(warehouse, 20, sku)
    store = WarehouseFactory(code="STORE", kind="store", ships=False, allows_pickup=True, safety_stock=1)
    receive(sku, store, 4)
    theirs = WarehouseFactory(code="THEIRS")
    theirs.channels.add(ChannelFactory(code="OTHER"))
    receive(sku, theirs, 50)
    receive(sku, WarehouseFactory(code="CLOSED", is_active=False), 70)
    return sku


def test_storefront_shows_the_channels_atp(api, channel, spread, warehouse):
    sku = spread
    listing = api.get("/api/v1/skus/").json()["results"]
    assert [(i["code"], i["total_available"]) for i in listing] == [(sku.code, 80 + 3)]

    detail = api.get(f"/api/v1/skus/{sku.code}/").json()
    assert detail["total_available"] == 83
    assert [(w["warehouse"], w["available"]) for w in detail["warehouses"]] == [("DC-NJ", 80), ("STORE", 3)]

    (availability,) = api.get(f"/api/v1/availability/?sku={sku.code}").json()
    assert availability["total_available"] == 83
    assert [(w["warehouse"], w["available"]) for w in availability["warehouses"]] == [
        ("DC-NJ", 80),
        ("STORE", 3),
    ]
    # Safety stock is the merchant's business: a channel sees only what it may promise.
    assert "held_back" not in str(availability)


def test_staff_see_every_active_location_with_safety_stock_held_back(staff_api, spread):
    sku = spread
    detail = staff_api.get(f"/api/v1/skus/{sku.code}/").json()
    assert [(w["warehouse"], w["available"]) for w in detail["warehouses"]] == [
        ("DC-NJ", 80),
        ("STORE", 3),
        ("THEIRS", 50),
    ]
    assert detail["total_available"] == 133


def test_a_location_holding_back_more_than_it_has_shows_zero_not_less(api, channel, sku, warehouse):
    hold_back(warehouse, 150)
    (availability,) = api.get(f"/api/v1/availability/?sku={sku.code}").json()
    assert availability["total_available"] == 0
    assert availability["warehouses"][0]["available"] == 0


# --- placement -----------------------------------------------------------------------


def test_placement_refuses_to_take_held_back_stock(api, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    hold_back(warehouse, 3)

    response = api.post("/api/v1/orders/", to_new_york(sku.code, 3), format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["fields"] == {
        "lines[0].quantity": [
            f"only 2 of {sku.code} available in one warehouse (2 in all, safety stock held back)"
        ]
    }
    assert error["message"].startswith("lines[0].quantity: only 2 of")
    level = stock_level(sku, warehouse)
    assert (level.allocated, level.soft_reserved) == (0, 0)

    assert api.post("/api/v1/orders/", to_new_york(sku.code, 2), format="json").status_code == 201
    assert api.post("/api/v1/orders/", to_new_york(sku.code, 1), format="json").status_code == 409
    level = stock_level(sku, warehouse)
    assert (level.on_hand, level.allocated, level.available) == (5, 2, 3)
    assert ledger_mismatches([sku.pk]) == []


def test_placement_routes_to_a_location_that_can_promise(api, channel, warehouse, far):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    hold_back(warehouse, 5, sku)  # the nearest: everything held back
    near_but_not_ours = WarehouseFactory(code="DC-NY", latitude=Decimal("40.75"), longitude=Decimal("-73.99"))
    near_but_not_ours.channels.add(ChannelFactory(code="OTHER"))
    receive(sku, near_but_not_ours, 50)
    receive(sku, far, 3)

    body = api.post("/api/v1/orders/", to_new_york(sku.code, 2), format="json").json()
    assert (body["status"], body["warehouse"]) == ("allocated", "DC-NV")
    assert stock_level(sku, far).allocated == 2
    assert stock_level(sku, warehouse).allocated == 0
    assert stock_level(sku, near_but_not_ours).allocated == 0


def test_a_location_serving_the_channel_by_name_is_used(api, channel, warehouse, far):
    sku = sku_in_stock(channel=channel, warehouse=far, quantity=5)
    receive(sku, warehouse, 5)
    warehouse.channels.add(channel, ChannelFactory(code="OTHER"))
    body = api.post("/api/v1/orders/", to_new_york(sku.code, 2), format="json").json()
    assert body["warehouse"] == "DC-NJ"


def test_the_hold_back_is_enforced_under_the_lock_when_routing_read_stale_stock(
    api, channel, warehouse, monkeypatch
):
    """Another order takes the last unit above the hold-back between the routing
    read and the row lock: the reservation must be refused, not dip into safety stock."""
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    hold_back(warehouse, 4)
    route = placement.warehouses_that_can_ship

    def route_then_lose_the_race(*args, **kwargs):
        candidates = route(*args, **kwargs)
        stock_reserve(
            warehouse_id=warehouse.pk,
            quantities={sku.pk: 1},
            expires_at=timezone.now() + timedelta(minutes=5),
            reference="rival",
            held_back={sku.pk: 4},
        )
        return candidates

    monkeypatch.setattr(placement, "warehouses_that_can_ship", route_then_lose_the_race)
    response = api.post("/api/v1/orders/", to_new_york(sku.code, 1), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_stock"
    level = stock_level(sku, warehouse)
    assert (level.on_hand, level.soft_reserved, level.allocated, level.available) == (5, 1, 0, 4)
    assert not Order.objects.exists()


def test_staff_entered_orders_follow_the_channels_rules(staff_api, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    hold_back(warehouse, 4, sku)
    payload = to_new_york(sku.code, 2, channel=channel.code)
    response = staff_api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 409, response.json()
    assert response.json()["error"]["code"] == "insufficient_stock"
    payload = to_new_york(sku.code, 1, channel=channel.code)
    body = staff_api.post("/api/v1/orders/", payload, format="json").json()
    assert (body["status"], body["source"]) == ("allocated", "staff")


# --- carts ---------------------------------------------------------------------------


def test_cart_lines_skip_held_back_stock_and_checkout_keeps_to_it(api, channel, warehouse, far):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=4)
    hold_back(warehouse, 4)  # DC-NJ is the nearest to the US centre: everything there is held back
    receive(sku, far, 3)

    cart = create_cart(api, (sku.code, 2))
    assert [(ln["quantity"], ln["warehouse"]) for ln in cart["lines"]] == [(2, "DC-NV")]
    too_many = api.post(f"/api/v1/carts/{cart['id']}/lines/", {"sku": sku.code, "quantity": 2}, format="json")
    assert too_many.status_code == 409
    assert too_many.json()["error"]["fields"] == {"quantity": ["only 3 available"]}  # its 2 + the 1 left

    checkout = {
        "customer": {"email": "ada@example.com"},
        "shipping_address": to_new_york(sku.code, 1)["shipping_address"],
        "payment": {"gateway": "test", "card": order_payload(sku.code)["payment"]["card"]},
    }
    order = api.post(f"/api/v1/carts/{cart['id']}/checkout/", checkout, format="json")
    assert order.status_code == 201, order.json()
    assert order.json()["warehouse"] == "DC-NV"
    held = stock_level(sku, warehouse)
    assert (held.available, held.soft_reserved, held.allocated) == (4, 0, 0)
    assert (stock_level(sku, far).allocated, stock_level(sku, far).available) == (2, 1)
    assert ledger_mismatches([sku.pk]) == []


def test_a_cart_is_refused_when_only_held_back_stock_is_left(api, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=3)
    hold_back(warehouse, 3, sku)
    response = api.post("/api/v1/carts/", {"lines": [{"sku": sku.code, "quantity": 1}]}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {"lines[0].quantity": ["only 0 available"]}
    assert stock_level(sku, warehouse).soft_reserved == 0


# --- backorders -----------------------------------------------------------------------


@pytest.fixture
def backordering(channel, warehouse):
    channel.allow_backorders = True
    channel.save(update_fields=["allow_backorders"])
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    hold_back(warehouse, 5)
    supplier = Supplier.objects.create(code="ACME", name="Acme", currency="USD")
    SupplierSKU.objects.create(supplier=supplier, sku=sku, unit_cost=Decimal("3.00"), is_preferred=True)
    eta = timezone.localdate() + timedelta(days=6)
    return sku, open_po(supplier, warehouse, sku, 6, eta), eta


def test_a_backorder_is_promised_and_filled_only_above_the_hold_back(api, warehouse, backordering, settings):
    sku, po, eta = backordering
    # 5 on hand are all held back: the order waits for the PO, not "today".
    waiting = api.post("/api/v1/orders/", to_new_york(sku.code, 4), format="json").json()
    beyond = api.post(
        "/api/v1/orders/", to_new_york(sku.code, 3, customer={"email": "b@example.com"}), format="json"
    )
    handling = timedelta(days=settings.BACKORDER_HANDLING_DAYS)
    assert (waiting["status"], waiting["promised_at"]) == ("backordered", str(eta + handling))
    assert (beyond.json()["status"], beyond.json()["promised_at"]) == ("backordered", None)  # 4 + 3 > 6
    # Re-promising agrees: the first keeps its date, the second has none yet (so it is reported).
    assert [r.order_id for r in backorders_repromise()] == [beyond.json()["id"]]
    assert str(Order.objects.get(pk=waiting["id"]).promised_at) == waiting["promised_at"]

    purchase_order_receive(po_id=po.pk, receipts={sku.pk: 6}, actor=SYSTEM)
    dispatch_pending()
    status = dict(Order.objects.values_list("id", "status"))
    assert (status[waiting["id"]], status[beyond.json()["id"]]) == ("allocated", "backordered")
    level = stock_level(sku, warehouse)
    assert (level.on_hand, level.allocated, level.available) == (11, 4, 7)  # 2 above the 5 held back
    assert ledger_mismatches([sku.pk]) == []


# --- query counts --------------------------------------------------------------------


def test_safety_stock_and_channel_locations_cost_no_extra_queries(api, channel, warehouse, far):
    skus = [sku_in_stock(channel=channel, warehouse=warehouse, quantity=50) for _ in range(3)]
    hold_back(warehouse, 5)
    hold_back(warehouse, 7, skus[0])
    warehouse.channels.add(channel)
    for sku in skus:
        receive(sku, far, 9)
    far.channels.add(ChannelFactory(code="OTHER"))
    api.post("/api/v1/orders/", to_new_york(skus[0].code, 1), format="json", HTTP_IDEMPOTENCY_KEY="warm-up")
    payload = to_new_york(skus[0].code, 1, lines=[{"sku": s.code, "quantity": 1} for s in skus])

    def place():
        response = api.post("/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="counted")
        assert response.status_code == 201, response.json()

    assert count_queries(place) == ORDER_CREATE_QUERIES

    def availability():
        response = api.get(f"/api/v1/availability/?sku={','.join(s.code for s in skus)}")
        assert [r["total_available"] for r in response.json()] == [50 - 2 - 7, 50 - 1 - 5, 50 - 1 - 5]

    assert count_queries(availability) == AVAILABILITY_QUERIES

    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/api/v1/skus/").status_code == 200
    with_one_page = len(ctx.captured_queries)
    for _ in range(5):
        sku_in_stock(channel=channel, warehouse=warehouse, quantity=1)
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/api/v1/skus/").json()["count"] == 8
    assert len(ctx.captured_queries) == with_one_page


# --- the race ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.parametrize(("quantity", "expected"), [(1, {201: 6, 409: 24}), (2, {201: 3, 409: 27})])
def test_racing_orders_sell_exactly_the_units_above_safety_stock(quantity, expected):
    channel, key = channel_with_key()
    warehouse = WarehouseFactory(safety_stock=4)
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10 if quantity == 1 else 11)

    def place(i: int):
        payload = to_new_york(sku.code, quantity, customer={"email": f"racer{i}@example.com"})
        response = client_for(key).post("/api/v1/orders/", payload, format="json")
        return response.status_code, response.json()

    results = run_concurrently(30, place)
    assert Counter(code for code, _ in results) == expected
    assert {body["error"]["code"] for code, body in results if code == 409} == {"insufficient_stock"}
    level = StockLevel.objects.get(sku=sku, warehouse=warehouse)
    sold = expected[201] * quantity
    assert (level.allocated, level.soft_reserved) == (sold, 0)
    assert level.available >= 4  # the safety stock is intact
    assert level.available - 4 < quantity  # and nothing sellable was left unsold
    assert Order.objects.count() == expected[201]
    assert ledger_mismatches() == []
