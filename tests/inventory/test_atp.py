"""Available-to-promise: safety stock held back per location (with per-SKU
overrides), per-channel scoping, the forward timeline from purchase orders and
transfers, the hold-back enforced under the row lock, and the staff API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.atp import Fulfilment, atp_levels, atp_total, promisable_by_location, sku_atp
from inventory.models import SKU, Reservation, SafetyStock, StockLevel, Supplier, SupplierSKU
from inventory.operations import transfer_create, transfer_ship
from inventory.purchasing import purchase_order_create
from inventory.selectors import ledger_mismatches
from inventory.services import reservations_allocate, stock_receive, stock_reserve
from oms.actors import Actor
from oms.errors import InsufficientStock
from tests.factories import ChannelFactory, SKUFactory, WarehouseFactory, sku_in_stock
from tests.orders.test_backorders import open_po as sent_po

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
TODAY = timezone.localdate()


def soon():
    return timezone.now() + timedelta(minutes=10)


def receive(sku, warehouse, quantity):
    stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=quantity, reference="test")


def supplier_of(sku) -> Supplier:
    supplier = Supplier.objects.get_or_create(code="ACME", defaults={"name": "Acme", "currency": "USD"})[0]
    SupplierSKU.objects.get_or_create(supplier=supplier, sku=sku, defaults={"unit_cost": Decimal("2.00")})
    return supplier


def open_po(warehouse, sku, quantity, eta):
    return sent_po(supplier_of(sku), warehouse, sku, quantity, eta)


@pytest.fixture
def two_dcs():
    """DC-A holds back 3 of every SKU; DC-B none by default."""
    return WarehouseFactory(code="DC-A", safety_stock=3), WarehouseFactory(code="DC-B")


# --- the maths -------------------------------------------------------------------


def test_atp_holds_back_the_location_default_or_the_skus_own_setting(two_dcs):
    a, b = two_dcs
    sku = sku_in_stock(warehouse=a, quantity=10)
    receive(sku, b, 3)
    SafetyStock.objects.create(sku=sku, warehouse=b, quantity=4)  # more than B has
    held = stock_reserve(warehouse_id=a.pk, quantities={sku.pk: 3}, expires_at=soon(), reference="r")
    reservations_allocate(reservation_ids=[held[0].pk], reference="order")
    stock_reserve(warehouse_id=a.pk, quantities={sku.pk: 1}, expires_at=soon(), reference="cart")

    result = sku_atp([sku.pk])[sku.pk]
    rows = {loc.warehouse.code: loc for loc in result.locations}
    assert [
        (c, r.on_hand, r.allocated, r.reserved, r.available, r.held_back, r.atp) for c, r in rows.items()
    ] == [
        ("DC-A", 10, 3, 1, 6, 3, 3),
        ("DC-B", 3, 0, 0, 3, 4, 0),  # never below zero
    ]
    # Totals add the locations' ATP: B's shortfall below its safety stock is not taken from A.
    assert result.totals() == {
        "on_hand": 13,
        "allocated": 3,
        "reserved": 1,
        "available": 9,
        "held_back": 7,
        "atp": 3,
        "incoming": 0,
    }


def test_sql_and_python_apply_the_same_hold_back_rule(two_dcs):
    a, b = two_dcs
    skus = [sku_in_stock(warehouse=a, quantity=q) for q in (1, 5, 9)]
    for sku in skus:
        receive(sku, b, 6)
    SafetyStock.objects.create(sku=skus[0], warehouse=a, quantity=0)  # an override of zero still overrides
    SafetyStock.objects.create(sku=skus[2], warehouse=b, quantity=2)

    python = sku_atp([s.pk for s in skus], timeline=False)
    sql = {
        (lvl.sku_id, lvl.warehouse_id): (lvl.held_back, lvl.atp) for lvl in atp_levels([s.pk for s in skus])
    }
    assert sql == {
        (s.pk, loc.warehouse.pk): (loc.held_back, loc.atp) for s in skus for loc in python[s.pk].locations
    }
    assert sql[(skus[0].pk, a.pk)] == (0, 1)
    assert sql[(skus[1].pk, a.pk)] == (3, 2)
    assert sql[(skus[2].pk, b.pk)] == (2, 4)
    totals = dict(
        SKU.objects.filter(pk__in=[s.pk for s in skus]).annotate(t=atp_total()).values_list("pk", "t")
    )
    assert totals == {s.pk: python[s.pk].atp for s in skus} == {skus[0].pk: 7, skus[1].pk: 8, skus[2].pk: 10}


def test_a_sku_with_no_stock_anywhere_promises_nothing(two_dcs):
    sku = SKUFactory()
    result = sku_atp([sku.pk])[sku.pk]
    assert (result.locations, result.timeline, result.atp) == ([], [], 0)
    assert result.promise_date(1, today=TODAY) is None
    assert result.promise_date(0, today=TODAY) == TODAY


# --- channels and locations ---------------------------------------------------------


@pytest.fixture
def network():
    """Five locations: for the web only, for everyone, for the marketplace only,
    inactive, and one that neither ships nor allows pickup."""
    web, market = ChannelFactory(code="WEB"), ChannelFactory(code="MKT")
    web_dc = WarehouseFactory(code="WEB-DC")
    web_dc.channels.add(web)
    shared = WarehouseFactory(code="SHARED", kind="store", ships=False, allows_pickup=True)
    market_dc = WarehouseFactory(code="MKT-DC")
    market_dc.channels.add(market, ChannelFactory(code="B2B"))  # several channels: no repeated rows
    closed = WarehouseFactory(code="CLOSED", is_active=False)
    backroom = WarehouseFactory(code="BACKROOM", ships=False, allows_pickup=False)
    sku = SKUFactory()
    for i, wh in enumerate([web_dc, shared, market_dc, closed, backroom]):
        receive(sku, wh, 10 * (i + 1))
    return web, market, sku


def codes(result) -> list[str]:
    return [loc.warehouse.code for loc in result.locations]


def test_a_channel_is_promised_only_what_its_locations_hold(network):
    web, market, sku = network
    everyone = sku_atp([sku.pk])[sku.pk]
    assert codes(everyone) == ["BACKROOM", "MKT-DC", "SHARED", "WEB-DC"]  # staff: every active location
    assert everyone.atp == 10 + 20 + 30 + 50

    for_web = sku_atp([sku.pk], channel_id=web.pk, fulfilment=Fulfilment.ANY)[sku.pk]
    assert (codes(for_web), for_web.atp) == (["SHARED", "WEB-DC"], 30)
    for_market = sku_atp([sku.pk], channel_id=market.pk, fulfilment=Fulfilment.ANY)[sku.pk]
    assert (codes(for_market), for_market.atp) == (["MKT-DC", "SHARED"], 50)
    shipping = sku_atp([sku.pk], channel_id=web.pk, fulfilment=Fulfilment.SHIP)[sku.pk]
    pickup = sku_atp([sku.pk], channel_id=web.pk, fulfilment=Fulfilment.PICKUP)[sku.pk]
    assert (codes(shipping), codes(pickup)) == (["WEB-DC"], ["SHARED"])

    # The SQL forms scope the same way.
    by_location = promisable_by_location([sku.pk], channel_id=market.pk, fulfilment=Fulfilment.ANY)[sku.pk]
    assert sorted(p.atp for p in by_location.values()) == [20, 30]
    total = SKU.objects.annotate(t=atp_total(channel_id=web.pk, fulfilment=Fulfilment.ANY)).get(pk=sku.pk).t
    assert total == 30


# --- the timeline -------------------------------------------------------------------


def test_timeline_refills_safety_stock_before_promising_anything(two_dcs):
    a, b = two_dcs  # A holds back 3
    sku = sku_in_stock(warehouse=a, quantity=1)
    receive(sku, b, 2)
    source = WarehouseFactory(code="SOURCE")
    receive(sku, source, 5)
    d5, d7, d10 = (TODAY + timedelta(days=n) for n in (5, 7, 10))
    open_po(a, sku, 1, d5)
    open_po(a, sku, 10, d10)
    open_po(b, sku, 5, TODAY - timedelta(days=3))  # overdue: any day now
    transfer = transfer_create(
        from_warehouse_id=source.pk, to_warehouse_id=a.pk, lines=[(sku.pk, 4)], expected_at=d7, actor=SYSTEM
    )
    transfer_ship(transfer_id=transfer.pk, actor=SYSTEM)
    undated = transfer_create(
        from_warehouse_id=source.pk, to_warehouse_id=b.pk, lines=[(sku.pk, 1)], actor=SYSTEM
    )
    transfer_ship(transfer_id=undated.pk, actor=SYSTEM)  # no ETA: counts as today too
    purchase_order_create(  # a draft is not on its way yet
        supplier_id=Supplier.objects.get().pk,
        warehouse_id=a.pk,
        lines=[(sku.pk, 50)],
        expected_at=d5,
        actor=SYSTEM,
    )

    result = sku_atp([sku.pk], warehouse_ids=[a.pk, b.pk])[sku.pk]
    assert result.atp == 0 + 2  # A: 1 on hand, 3 held back
    assert [(p.date, p.incoming, p.atp) for p in result.timeline] == [
        (TODAY, 6, 0 + 8),
        (d5, 1, 0 + 8),  # A reaches 2 of its 3
        (d7, 4, 3 + 8),  # 6 on hand at A, 3 above the hold-back
        (d10, 10, 13 + 8),
    ]
    rows = {loc.warehouse.code: loc for loc in result.locations}
    assert (rows["DC-A"].incoming, rows["DC-A"].next_eta) == (15, d5)
    assert (rows["DC-B"].incoming, rows["DC-B"].next_eta) == (6, TODAY)
    assert result.totals()["incoming"] == 21
    assert result.promise_date(2, today=TODAY) == TODAY
    assert result.promise_date(9, today=TODAY) == d7
    assert result.promise_date(21, today=TODAY) == d10
    assert result.promise_date(22, today=TODAY) is None
    assert ledger_mismatches() == []


def test_timeline_of_a_location_with_nothing_on_hand_yet():
    dc = WarehouseFactory(safety_stock=2)
    sku = SKUFactory()
    eta = TODAY + timedelta(days=4)
    open_po(dc, sku, 5, eta)
    (loc,) = sku_atp([sku.pk])[sku.pk].locations
    assert (loc.on_hand, loc.held_back, loc.atp, loc.incoming, loc.next_eta) == (0, 2, 0, 5, eta)
    assert [(p.date, p.atp) for p in sku_atp([sku.pk])[sku.pk].timeline] == [(eta, 3)]
    assert sku_atp([sku.pk], timeline=False)[sku.pk].locations == []  # no level, nothing on its way counted


@pytest.mark.parametrize("n", [1, 12])
def test_atp_reads_a_constant_number_of_queries(two_dcs, n):
    a, b = two_dcs
    channel = ChannelFactory()
    a.channels.add(channel)
    skus = [sku_in_stock(warehouse=a, quantity=5) for _ in range(n)]
    for sku in skus:
        receive(sku, b, 2)
        SafetyStock.objects.create(sku=sku, warehouse=b, quantity=1)
        open_po(b, sku, 3, TODAY + timedelta(days=2))
    with CaptureQueriesContext(connection) as ctx:
        result = sku_atp([s.pk for s in skus], channel_id=channel.pk, fulfilment=Fulfilment.SHIP)
    assert len(ctx.captured_queries) == 5  # locations, levels, safety stock, purchase orders, transfers
    assert {r.atp for r in result.values()} == {2 + 1}
    assert {r.timeline[0].atp for r in result.values()} == {2 + 4}


# --- the hold-back under the row lock -------------------------------------------------


def test_stock_reserve_leaves_the_held_back_units_alone():
    dc = WarehouseFactory()
    sku = sku_in_stock(warehouse=dc, quantity=10)
    with pytest.raises(InsufficientStock) as exc, transaction.atomic():
        stock_reserve(
            warehouse_id=dc.pk,
            quantities={sku.pk: 7},
            expires_at=soon(),
            reference="r",
            held_back={sku.pk: 4},
        )
    assert exc.value.message == f"Only 6 of {sku.code} available (safety stock is held back); 7 requested."
    assert exc.value.details["shortages"] == [
        {"sku": sku.code, "warehouse_id": dc.pk, "requested": 7, "available": 6, "held_back": 4}
    ]
    assert StockLevel.objects.get(sku=sku).soft_reserved == 0

    stock_reserve(
        warehouse_id=dc.pk, quantities={sku.pk: 6}, expires_at=soon(), reference="r", held_back={sku.pk: 4}
    )
    level = StockLevel.objects.get(sku=sku)
    assert (level.available, level.soft_reserved) == (4, 6)
    # Without a hold-back (internal moves) the last units can still be reserved.
    stock_reserve(warehouse_id=dc.pk, quantities={sku.pk: 4}, expires_at=soon(), reference="internal")
    assert StockLevel.objects.get(sku=sku).available == 0
    assert ledger_mismatches() == []


def test_a_handed_over_hold_counts_towards_the_request_above_the_hold_back():
    dc = WarehouseFactory()
    sku = sku_in_stock(warehouse=dc, quantity=5)
    (cart_hold,) = stock_reserve(
        warehouse_id=dc.pk, quantities={sku.pk: 3}, expires_at=soon(), reference="cart", held_back={sku.pk: 2}
    )
    (order_hold,) = stock_reserve(
        warehouse_id=dc.pk,
        quantities={sku.pk: 3},
        expires_at=soon(),
        reference="order",
        release=Reservation.objects.filter(pk=cart_hold.pk),
        held_back={sku.pk: 2},
    )
    level = StockLevel.objects.get(sku=sku)
    assert (order_hold.quantity, level.soft_reserved, level.available) == (3, 3, 2)


def test_a_sku_never_stocked_there_is_refused_without_touching_other_holds():
    """A stale hold elsewhere must not be expired (its level is not locked) by a
    request for a SKU that has no stock level in that warehouse."""
    dc = WarehouseFactory()
    stocked, never = sku_in_stock(warehouse=dc, quantity=2), SKUFactory()
    past = timezone.now() - timedelta(seconds=1)
    (stale,) = stock_reserve(warehouse_id=dc.pk, quantities={stocked.pk: 2}, expires_at=past, reference="old")
    with pytest.raises(InsufficientStock), transaction.atomic():
        stock_reserve(warehouse_id=dc.pk, quantities={never.pk: 1}, expires_at=soon(), reference="r")
    stale.refresh_from_db()
    assert stale.status == Reservation.Status.ACTIVE
    assert ledger_mismatches() == []


# --- the staff API ------------------------------------------------------------------


@pytest.fixture
def stocked(two_dcs):
    a, b = two_dcs
    web = ChannelFactory(code="WEB")
    b.channels.add(ChannelFactory(code="MKT"))
    sku = sku_in_stock(warehouse=a, quantity=10, code="TEE-1", name="Tee")
    receive(sku, b, 4)
    SafetyStock.objects.create(sku=sku, warehouse=b, quantity=1)
    open_po(a, sku, 6, TODAY + timedelta(days=3))
    return web, sku


def test_staff_api_reports_locations_total_and_timeline(staff_api, stocked):
    body = staff_api.get("/api/v1/inventory/atp/?sku=TEE-1").json()
    assert (body["channel"], body["warehouse"], body["fulfilment"], body["as_of"]) == (
        None,
        None,
        None,
        str(TODAY),
    )
    (item,) = body["results"]
    assert (item["sku"], item["name"]) == ("TEE-1", "Tee")
    assert item["total"] == {
        "on_hand": 14,
        "allocated": 0,
        "reserved": 0,
        "available": 14,
        "held_back": 4,
        "atp": 7 + 3,
        "incoming": 6,
    }
    assert item["locations"][0] == {
        "warehouse": "DC-A",
        "name": "Warehouse DC-A",
        "kind": "dc",
        "ships": True,
        "allows_pickup": False,
        "on_hand": 10,
        "allocated": 0,
        "reserved": 0,
        "available": 10,
        "held_back": 3,
        "atp": 7,
        "incoming": 6,
        "next_eta": str(TODAY + timedelta(days=3)),
    }
    assert [(loc["warehouse"], loc["atp"]) for loc in item["locations"]] == [("DC-A", 7), ("DC-B", 3)]
    assert item["timeline"] == [{"date": str(TODAY + timedelta(days=3)), "incoming": 6, "atp": 13 + 3}]

    # Scoped to a channel: DC-B serves only the marketplace.
    web_body = staff_api.get("/api/v1/inventory/atp/?sku=TEE-1&channel=WEB").json()
    assert (web_body["channel"], web_body["fulfilment"]) == ("WEB", "any")
    assert [loc["warehouse"] for loc in web_body["results"][0]["locations"]] == ["DC-A"]
    assert web_body["results"][0]["total"]["atp"] == 7
    one = staff_api.get("/api/v1/inventory/atp/?sku=TEE-1&warehouse=DC-B").json()["results"][0]
    assert ([loc["warehouse"] for loc in one["locations"]], one["total"]["atp"], one["timeline"]) == (
        ["DC-B"],
        3,
        [],
    )
    pickup = staff_api.get("/api/v1/inventory/atp/?sku=TEE-1&fulfilment=pickup").json()["results"][0]
    assert (pickup["locations"], pickup["total"]["atp"]) == ([], 0)


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("", "sku", "invalid"),
        ("?sku=,,", "sku", "invalid"),
        ("?sku=NOPE,TEE-1", "sku", "unknown_sku"),
        ("?sku=TEE-1&channel=NOPE", "channel", "unknown_channel"),
        ("?sku=TEE-1&warehouse=NOPE", "warehouse", "unknown_warehouse"),
        ("?sku=TEE-1&warehouse=SHUT", "warehouse", "invalid"),
        ("?sku=TEE-1&fulfilment=drone", "fulfilment", "invalid"),
    ],
)
def test_staff_api_names_the_bad_parameter(staff_api, stocked, query, field, code):
    WarehouseFactory(code="SHUT", is_active=False)
    response = staff_api.get(f"/api/v1/inventory/atp/{query}")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert (error["code"], list(error["fields"])) == (code, [field])
    assert error["message"].startswith(f"{field}: ")
    if code == "unknown_sku":
        assert error["message"] == "sku: unknown SKU(s): NOPE"


def test_staff_api_is_for_staff_only(api, stocked):
    response = api.get("/api/v1/inventory/atp/?sku=TEE-1")
    assert response.status_code == 403


@pytest.mark.parametrize("n", [1, 15])
def test_staff_api_query_count_is_constant(staff_api, two_dcs, n):
    a, b = two_dcs
    channel = ChannelFactory(code="WEB")
    skus = [sku_in_stock(warehouse=a, quantity=5) for _ in range(n)]
    for sku in skus:
        receive(sku, b, 1)
        open_po(b, sku, 2, TODAY + timedelta(days=1))
    query = ",".join(s.code for s in skus)
    with CaptureQueriesContext(connection) as ctx:
        response = staff_api.get(f"/api/v1/inventory/atp/?sku={query}&channel=WEB&warehouse=DC-B")
    assert response.status_code == 200
    assert [r["total"]["atp"] for r in response.json()["results"]] == [1] * n
    # channel, warehouse, SKUs, then the ATP read (5)
    assert len(ctx.captured_queries) == 9  # the staff user's roles among them
    assert (response.json()["channel"], response.json()["warehouse"]) == (channel.code, "DC-B")


# --- the admin ----------------------------------------------------------------------


def test_admin_lists_whom_locations_serve_and_their_safety_stock(admin_client, two_dcs):
    a, b = two_dcs
    a.channels.add(ChannelFactory(code="WEB"), ChannelFactory(code="APP"))
    sku = sku_in_stock(warehouse=a, quantity=1, code="TEE-1")
    SafetyStock.objects.create(sku=sku, warehouse=b, quantity=6)

    def changelists() -> tuple[str, str, int]:
        with CaptureQueriesContext(connection) as ctx:
            warehouses = admin_client.get("/admin/inventory/warehouse/")
            overrides = admin_client.get("/admin/inventory/safetystock/")
        assert warehouses.status_code == overrides.status_code == 200
        return warehouses.content.decode(), overrides.content.decode(), len(ctx.captured_queries)

    warehouses, overrides, queries = changelists()
    assert "APP, WEB" in warehouses and "every channel" in warehouses
    assert "TEE-1" in overrides and '<td class="field-location_default">0</td>' in overrides
    for i in range(4):
        extra = WarehouseFactory(code=f"MORE-{i}", safety_stock=i)
        extra.channels.add(ChannelFactory())
        SafetyStock.objects.create(sku=sku, warehouse=extra, quantity=i + 1)
    assert changelists()[2] == queries  # no query per row
