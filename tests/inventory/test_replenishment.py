"""The reorder check on a fixture with minimum order quantities, pack sizes,
open purchase orders, a SKU without a supplier and an inactive rule."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from django.core import mail
from django.db import connection

from inventory.models import PurchaseOrder, ReorderRule, Supplier, SupplierSKU
from inventory.purchasing import purchase_order_create, purchase_order_send
from inventory.replenishment import REORDER_LOCK_KEY, reorder_check
from oms.actors import Actor
from oms.outbox import dispatch_pending
from tests.factories import SKUFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()


@pytest.fixture
def shop():
    from inventory.services import stock_receive

    wh = WarehouseFactory(code="DC")
    acme = Supplier.objects.create(code="ACME", name="Acme", currency="USD")
    bolt = Supplier.objects.create(code="BOLT", name="Bolt", currency="USD")
    skus = {}
    # code: (on hand, reorder point, order up to, supplier, moq, pack, active)
    plan = {
        "x": (10, 20, 100, acme, 24, 12, True),
        "y": (5, 10, 20, acme, 24, 12, True),
        "z": (0, 10, 60, acme, 1, 1, True),
        "w": (3, 5, 30, bolt, 1, 5, True),
        "v": (1, 5, 20, None, 1, 1, True),
        "u": (50, 10, 60, acme, 1, 1, True),
        "t": (0, 10, 60, acme, 1, 1, False),
    }
    for code, (on_hand, point, up_to, supplier, moq, pack, active) in plan.items():
        sku = SKUFactory(code=f"SKU-{code.upper()}")
        skus[code] = sku
        if on_hand:
            stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=on_hand, reference="t")
        if supplier:
            SupplierSKU.objects.create(
                supplier=supplier,
                sku=sku,
                unit_cost=Decimal("2.00"),
                min_order_qty=moq,
                pack_size=pack,
                is_preferred=True,
            )
        ReorderRule.objects.create(
            sku=sku, warehouse=wh, reorder_point=point, order_up_to=up_to, is_active=active
        )
    # z already has 50 coming on a sent purchase order.
    po = purchase_order_create(
        supplier_id=acme.pk, warehouse_id=wh.pk, lines=[(skus["z"].pk, 50)], actor=SYSTEM
    )
    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    return wh, acme, bolt, skus


def drafted(supplier):
    po = PurchaseOrder.objects.get(supplier=supplier, status="draft")
    return {ln.sku.code: ln.quantity_ordered for ln in po.lines.select_related("sku")}


def test_drafts_the_right_orders_and_nothing_on_a_second_run(shop, settings):
    settings.WAREHOUSE_MANAGER_EMAILS = ["wm@example.com"]
    _, acme, bolt, _ = shop
    result = reorder_check(actor=SYSTEM)
    assert result.ran and result.positions_below == 4  # x, y, w, v
    # x: gap 90 -> 8 packs of 12 = 96; y: gap 15 -> MOQ 24 (2 packs); w: gap 27 -> 6 packs of 5 = 30.
    assert drafted(acme) == {"SKU-X": 96, "SKU-Y": 24}
    assert drafted(bolt) == {"SKU-W": 30}
    assert [row["sku"] for row in result.without_supplier] == ["SKU-V"]
    assert (result.lines, result.units) == (3, 150)

    again = reorder_check(actor=SYSTEM)
    assert again.purchase_orders == [] and again.positions_below == 1  # only V, which nobody supplies
    assert PurchaseOrder.objects.filter(status="draft").count() == 2

    assert dispatch_pending() >= 1
    digest = [m for m in mail.outbox if m.to == ["wm@example.com"]]
    assert digest, "the warehouse manager gets the digest"
    body = digest[0].body
    assert "96 x SKU-X" in body and "30 x SKU-W" in body and "SKU-V @ DC" in body


def test_a_second_check_running_at_once_does_nothing(shop):
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [REORDER_LOCK_KEY])
        try:
            assert reorder_check(actor=SYSTEM).ran is False
        finally:
            other.execute("SELECT pg_advisory_unlock(%s)", [REORDER_LOCK_KEY])
    assert not PurchaseOrder.objects.filter(status="draft").exists()


def test_rule_constraints(shop):
    from django.db import IntegrityError, transaction

    wh = WarehouseFactory(code="OTHER")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReorderRule.objects.create(sku=SKUFactory(), warehouse=wh, reorder_point=10, order_up_to=10)


def test_admin_action_runs_the_check(admin_client, shop):
    from django.contrib.admin import helpers
    from django.urls import reverse

    rule = ReorderRule.objects.first()
    response = admin_client.post(
        reverse("admin:inventory_reorderrule_changelist"),
        {"action": "run_reorder_check", helpers.ACTION_CHECKBOX_NAME: [rule.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert any("2 draft purchase order(s) with 3 line(s)" in str(m) for m in response.context["messages"])
