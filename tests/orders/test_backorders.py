"""Backorders: orders the stock cannot fill wait with a promise date, and are
allocated when a purchase order is received, VIP first, then oldest."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory.models import Supplier, SupplierSKU
from inventory.purchasing import purchase_order_create, purchase_order_receive, purchase_order_send
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive
from oms.actors import Actor
from oms.outbox import dispatch_pending
from orders.models import Order
from orders.tasks import allocate_backorders
from tests.factories import order_payload, sku_in_stock, stock_level

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
ETA = timezone.localdate() + timedelta(days=10)


@pytest.fixture
def backordering(channel, warehouse):
    channel.allow_backorders = True
    channel.save(update_fields=["allow_backorders"])
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=2)
    supplier = Supplier.objects.create(code="ACME", name="Acme", currency="USD")
    SupplierSKU.objects.create(supplier=supplier, sku=sku, unit_cost=Decimal("3.00"), is_preferred=True)
    return sku, supplier


def open_po(supplier, warehouse, sku, quantity, eta=ETA):
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=warehouse.pk,
        lines=[(sku.pk, quantity)],
        expected_at=eta,
        actor=SYSTEM,
    )
    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    return po


def place(api, sku, quantity, email, **extra):
    response = api.post(
        "/api/v1/orders/",
        order_payload(sku.code, quantity, customer={"email": email}, **extra),
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_without_the_channel_setting_short_stock_is_still_refused(api, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=1)
    response = api.post("/api/v1/orders/", order_payload(sku.code, 3), format="json")
    assert response.status_code == 409


def test_a_short_order_waits_with_a_promise_date(api, warehouse, backordering):
    sku, supplier = backordering
    open_po(supplier, warehouse, sku, 10)
    body = place(api, sku, 5, "a@example.com")
    assert body["status"] == "backordered"
    assert body["promised_at"] == str(ETA + timedelta(days=1))  # covered by the PO, plus a handling day
    assert body["warehouse"] is None and body["lines"][0]["quantity_allocated"] == 0
    assert body["payments"][0]["status"] == "authorized"
    assert "backordered, promised for" in body["events"][0]["message"]
    level = stock_level(sku, warehouse)
    assert (level.allocated, level.soft_reserved) == (0, 0)


def test_promise_counts_backorders_ahead_and_unknown_without_a_po(api, warehouse, backordering):
    sku, supplier = backordering
    later = ETA + timedelta(days=20)
    open_po(supplier, warehouse, sku, 6)
    open_po(supplier, warehouse, sku, 10, eta=later)
    first = place(api, sku, 7, "a@example.com")  # 2 on hand + 6 from the first PO cover it
    second = place(api, sku, 5, "b@example.com")  # 1 left + the second PO
    third = place(api, sku, 9, "c@example.com")  # beyond everything on order
    assert first["promised_at"] == str(ETA + timedelta(days=1))
    assert second["promised_at"] == str(later + timedelta(days=1))
    assert third["promised_at"] is None


def test_receiving_fills_backorders_vip_first_then_oldest(api, staff_api, warehouse, backordering):
    sku, supplier = backordering
    po = open_po(supplier, warehouse, sku, 10)
    oldest = place(api, sku, 4, "old@example.com")
    cid = api.post("/api/v1/customers/", {"email": "vip@example.com"}, format="json").json()["id"]
    staff_api.patch(f"/api/v1/customers/{cid}/", {"is_vip": True}, format="json")
    vip = place(api, sku, 5, "vip@example.com")
    newest = place(api, sku, 4, "new@example.com")
    assert {o["status"] for o in (oldest, vip, newest)} == {"backordered"}

    purchase_order_receive(po_id=po.pk, receipts={sku.pk: 8}, actor=SYSTEM)  # 2 + 8 = 10 units
    dispatch_pending()

    status = dict(Order.objects.values_list("id", "status"))
    assert status[vip["id"]] == "allocated"  # VIP first: 5
    assert status[oldest["id"]] == "allocated"  # then the oldest: 4
    assert status[newest["id"]] == "backordered"  # 1 left, needs 4
    level = stock_level(sku, warehouse)
    assert (level.on_hand, level.allocated, level.available) == (10, 9, 1)
    filled = Order.objects.get(pk=vip["id"])
    assert filled.warehouse == warehouse
    assert filled.events.filter(kind="backorder_allocated", actor_type="system").exists()
    assert ledger_mismatches() == []
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert "FAIL" not in out.getvalue()


def test_beat_task_fills_from_stock_that_arrived_another_way(api, warehouse, backordering):
    sku, _ = backordering
    order = place(api, sku, 6, "a@example.com")
    stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=4, reference="found")
    assert allocate_backorders() == 1
    assert Order.objects.get(pk=order["id"]).status == "allocated"
    assert allocate_backorders() == 0


def test_cancel_a_backorder_voids_the_payment(api, warehouse, backordering):
    sku, _ = backordering
    order = place(api, sku, 6, "a@example.com")
    response = api.post(f"/api/v1/orders/{order['id']}/cancel/", {"reason": "too slow"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["payments"][0]["status"] == "voided"
    assert stock_level(sku, warehouse).allocated == 0


def test_late_orders_are_repromised_and_reported(api, warehouse, backordering, settings):
    from django.core import mail

    from inventory.models import PurchaseOrder
    from inventory.purchasing import purchase_order_cancel
    from orders.services.backorders import late_orders_digest

    settings.WAREHOUSE_MANAGER_EMAILS = ["wm@example.com"]
    sku, supplier = backordering
    po = open_po(supplier, warehouse, sku, 10)
    on_time = place(api, sku, 3, "a@example.com")  # 2 on hand + the PO
    assert on_time["promised_at"] == str(ETA + timedelta(days=1))
    assert late_orders_digest() == []  # nothing late yet

    purchase_order_cancel(po_id=po.pk, actor=SYSTEM, reason="supplier out of stock")
    assert PurchaseOrder.objects.get(pk=po.pk).status == "cancelled"
    late = late_orders_digest()
    assert [(r.order_id, r.old, r.new) for r in late] == [(on_time["id"], ETA + timedelta(days=1), None)]
    assert Order.objects.get(pk=on_time["id"]).promised_at is None
    dispatch_pending()
    [digest] = [m for m in mail.outbox if m.to == ["wm@example.com"]]
    assert on_time["number"] in digest.body and "nothing on order covers it" in digest.body
