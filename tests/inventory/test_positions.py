"""The consolidated inventory view: figures per SKU x warehouse from the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.operations import transfer_create, transfer_ship
from oms.actors import Actor
from tests.factories import WarehouseFactory, order_payload, sku_in_stock

pytestmark = pytest.mark.django_db
URL = "/api/v1/inventory/positions/"


def by_key(body):
    return {(p["sku"], p["warehouse"]): p for p in body["results"]}


def test_positions_show_demand_incoming_cover_and_status(api, staff_api, channel, warehouse):
    store = WarehouseFactory(code="STORE")
    fast = sku_in_stock(channel=channel, warehouse=warehouse, quantity=60)
    idle = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    gone = sku_in_stock(channel=channel, warehouse=warehouse, quantity=2)
    api.post("/api/v1/orders/", order_payload(fast.code, 28), format="json")  # 28 units in 28 days: 1/day
    api.post("/api/v1/orders/", order_payload(gone.code, 2), format="json")
    t = transfer_create(
        from_warehouse_id=warehouse.pk, to_warehouse_id=store.pk, lines=[(fast.pk, 27)], actor=Actor.system()
    )
    transfer_ship(transfer_id=t.pk, actor=Actor.system())

    body = staff_api.get(URL).json()
    rows = by_key(body)
    dc_fast = rows[(fast.code, warehouse.code)]
    assert (dc_fast["on_hand"], dc_fast["allocated"], dc_fast["available"]) == (33, 28, 5)
    assert (dc_fast["demand"], Decimal(dc_fast["avg_daily_demand"]), Decimal(dc_fast["days_of_cover"])) == (
        28,
        Decimal("1.00"),
        Decimal("5.0"),
    )
    assert dc_fast["status"] == "low"
    assert rows[(idle.code, warehouse.code)]["status"] == "over"  # nothing sold
    assert rows[(idle.code, warehouse.code)]["days_of_cover"] is None
    assert rows[(gone.code, warehouse.code)]["status"] == "out"

    statuses = {
        s: {(p["sku"], p["warehouse"]) for p in staff_api.get(URL, {"status": s}).json()["results"]}
        for s in ("out", "low", "over")
    }
    assert statuses["out"] == {(gone.code, warehouse.code)}
    assert statuses["low"] == {(fast.code, warehouse.code)}
    assert (idle.code, warehouse.code) in statuses["over"]
    assert staff_api.get(URL, {"warehouse": "STORE"}).json()["count"] == 0  # nothing arrived yet
    assert staff_api.get(URL, {"sku": fast.code}).json()["count"] == 1
    bad = staff_api.get(URL, {"status": "meh"})
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]


def test_incoming_counts_transfers_in_transit(staff_api, channel, warehouse):
    from inventory.services import stock_receive

    store = WarehouseFactory(code="STORE")
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    stock_receive(warehouse_id=store.pk, sku_id=sku.pk, quantity=1, reference="t")
    t = transfer_create(
        from_warehouse_id=warehouse.pk, to_warehouse_id=store.pk, lines=[(sku.pk, 4)], actor=Actor.system()
    )
    transfer_ship(transfer_id=t.pk, actor=Actor.system())
    row = by_key(staff_api.get(URL, {"warehouse": "STORE"}).json())[(sku.code, "STORE")]
    assert (row["on_hand"], row["incoming"]) == (1, 4)


def test_channels_cannot_see_it(api):
    assert api.get(URL).status_code == 403


@pytest.mark.parametrize("n", [3, 30])
def test_query_count_is_constant(staff_api, channel, warehouse, n):
    for _ in range(n):
        sku_in_stock(channel=channel, warehouse=warehouse, quantity=3)
    with CaptureQueriesContext(connection) as ctx:
        response = staff_api.get(URL, {"page_size": 200})
    assert response.status_code == 200 and response.json()["count"] == n
    assert len(ctx.captured_queries) == 3  # the staff user's roles, count + page


def test_incoming_adds_open_purchase_orders_with_their_eta(staff_api, channel, warehouse):
    from datetime import date

    from inventory.models import Supplier, SupplierSKU
    from inventory.purchasing import purchase_order_create, purchase_order_receive, purchase_order_send

    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    supplier = Supplier.objects.create(code="ACME", name="Acme", currency="USD")
    SupplierSKU.objects.create(supplier=supplier, sku=sku, unit_cost=Decimal("3.00"))
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        lines=[(sku.pk, 30)],
        expected_at=date(2030, 1, 15),
        actor=Actor.system(),
    )
    row = by_key(staff_api.get(URL).json())[(sku.code, warehouse.code)]
    assert (row["incoming"], row["next_eta"]) == (0, None)  # a draft brings nothing yet
    purchase_order_send(po_id=po.pk, actor=Actor.system())
    purchase_order_receive(po_id=po.pk, receipts={sku.pk: 12}, actor=Actor.system())
    row = by_key(staff_api.get(URL).json())[(sku.code, warehouse.code)]
    assert (row["on_hand"], row["incoming"], row["next_eta"]) == (22, 18, "2030-01-15")
