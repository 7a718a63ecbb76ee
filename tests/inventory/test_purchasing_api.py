"""The staff API for suppliers and purchase orders: codes in, one purchasing
service per write, the order out. Bad input is a 4xx naming the field (the
request's own row for lines and receipts) and changes nothing: not the order,
its lines or events, stock levels, bins, the ledger or the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import (
    SKU,
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    StockMovement,
    Supplier,
)
from inventory.purchasing import (
    PO_RECEIVED_TOPIC,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
)
from oms.actors import Actor
from oms.models import OutboxEvent
from tests.factories import SKUFactory, WarehouseFactory
from tests.inventory.bin_layout import Layout, build_layout, ledgers_agree, located, make_bin
from tests.inventory.bin_layout import snapshot as stock_snapshot
from tests.inventory.test_purchasing import make_supplier, offer

pytestmark = pytest.mark.django_db
API = "/api/v1/inventory"
SYSTEM = Actor.system()


@dataclass
class World:
    lay: Layout  # warehouses DC (with bins) and DC-2
    supplier: Supplier  # ACME, USD
    a: SKU  # ACME: 2.50, MOQ 24, pack 12, preferred; primary bin A-01-01-04 in DC
    b: SKU  # ACME: 1.10, its own lead time of 20 days; no bins


@pytest.fixture
def staff(staff_api, django_user_model) -> Actor:
    """The user staff_api is logged in as, as an actor for service calls."""
    return Actor.for_user(django_user_model.objects.get(username="staff"))


@pytest.fixture
def w() -> World:
    lay = build_layout()
    supplier = make_supplier("ACME")
    b = SKUFactory()
    offer(supplier, lay.sku, cost="2.50", moq=24, pack=12, preferred=True)
    offer(supplier, b, cost="1.10", lead=20)
    return World(lay=lay, supplier=supplier, a=lay.sku, b=b)


def call(client: APIClient, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
    response = getattr(client, method)(f"{API}/{path}", body, format="json")
    assert response.status_code == expect, response.content
    return response.json()


def snapshot() -> tuple:
    """Everything a purchasing call could change."""
    return (
        stock_snapshot(),  # levels, bin stock, the ledger
        list(
            PurchaseOrder.objects.order_by("id").values_list(
                "supplier_id",
                "warehouse_id",
                "status",
                "currency",
                "expected_at",
                "over_receipt_tolerance_pct",
                "note",
                "sent_at",
                "received_at",
                "closed_at",
                "cancelled_at",
            )
        ),
        list(
            PurchaseOrderLine.objects.order_by("id").values_list(
                "po_id", "sku_id", "quantity_ordered", "quantity_received", "unit_cost"
            )
        ),
        PurchaseOrderEvent.objects.count(),
        OutboxEvent.objects.count(),
    )


def refused(client: APIClient, method: str, path: str, body: dict, status: int, fields: set[str]) -> dict:
    """The call fails with `status`, names exactly `fields`, and changes nothing."""
    before = snapshot()
    error = call(client, method, path, body, expect=status)["error"]
    assert set(error.get("fields", {})) == fields, error
    assert snapshot() == before
    return error


def draft_body(w: World, qa: int = 24, qb: int = 10, **extra) -> dict:
    lines = [{"sku": w.a.code, "quantity": qa}, {"sku": w.b.code, "quantity": qb}]
    return {"supplier": "ACME", "warehouse": "DC", "lines": lines, **extra}


def sent_po(client: APIClient, w: World, **kwargs) -> int:
    pk = call(client, "post", "purchase-orders/", draft_body(w, **kwargs), expect=201)["id"]
    call(client, "post", f"purchase-orders/{pk}/send/")
    return pk


# --- Who may call --------------------------------------------------------------------


def test_channels_anonymous_and_non_staff_users_are_refused(api, w, django_user_model):
    po = purchase_order_create(
        supplier_id=w.supplier.pk, warehouse_id=w.lay.wh.pk, lines=[(w.a.pk, 24)], actor=SYSTEM
    )
    clerk = APIClient()
    clerk.force_authenticate(django_user_model.objects.create_user("clerk", "c@example.com", "pw-clerk-123"))
    calls = [
        ("get", "suppliers/"),
        ("get", "suppliers/ACME/"),
        ("get", "purchase-orders/"),
        ("get", f"purchase-orders/{po.pk}/"),
        ("post", "purchase-orders/"),
        ("patch", f"purchase-orders/{po.pk}/"),
        ("post", f"purchase-orders/{po.pk}/send/"),
        ("post", f"purchase-orders/{po.pk}/cancel/"),
        ("post", f"purchase-orders/{po.pk}/receive/"),
    ]
    body = {**draft_body(w), "reason": "x", "receipts": [{"sku": w.a.code, "quantity": 1}]}
    before = snapshot()
    for method, path in calls:
        for client, refused_with in ((api, {403}), (clerk, {403}), (APIClient(), {401, 403})):
            response = getattr(client, method)(
                f"{API}/{path}", *([] if method == "get" else [body]), format="json"
            )
            assert response.status_code in refused_with, (method, path, response.status_code)
    assert snapshot() == before


# --- Suppliers -----------------------------------------------------------------------


def test_suppliers_list_filter_and_search(staff_api, w):
    make_supplier("BOLT")
    old = make_supplier("ZED")
    old.is_active = False
    old.save(update_fields=["is_active"])

    rows = call(staff_api, "get", "suppliers/")["results"]
    assert [(r["code"], r["sku_count"], r["is_active"]) for r in rows] == [
        ("ACME", 2, True),
        ("BOLT", 0, True),
        ("ZED", 0, False),
    ]
    assert rows[0] == {
        "code": "ACME",
        "name": "ACME Ltd",
        "currency": "USD",
        "default_lead_time_days": 10,
        "email": "acme@example.com",
        "contact_name": "",
        "phone": "",
        "is_active": True,
        "sku_count": 2,
    }

    def codes(query: str) -> list[str]:
        return [r["code"] for r in call(staff_api, "get", f"suppliers/?{query}")["results"]]

    assert codes("active=true") == ["ACME", "BOLT"]
    assert codes("active=false") == ["ZED"]
    assert codes("search=bol") == ["BOLT"]  # the code, any case
    assert codes("search=zed+ltd") == ["ZED"]  # the name
    assert codes("search=ltd&active=true") == ["ACME", "BOLT"]
    error = call(staff_api, "get", "suppliers/?active=maybe", expect=400)["error"]
    assert set(error["fields"]) == {"active"}


def test_supplier_detail_lists_what_it_sells(staff_api, w):
    supplier = call(staff_api, "get", "suppliers/ACME/")
    assert (supplier["code"], supplier["notes"]) == ("ACME", "")
    by_sku = {item["sku"]: item for item in supplier["items"]}
    assert by_sku[w.a.code] == {
        "sku": w.a.code,
        "name": w.a.name,
        "supplier_sku_code": "",
        "unit_cost": "2.5000",
        "lead_time_days": 10,  # none of its own: the supplier's default
        "min_order_qty": 24,
        "pack_size": 12,
        "is_preferred": True,
    }
    assert (by_sku[w.b.code]["lead_time_days"], by_sku[w.b.code]["is_preferred"]) == (20, False)
    assert [item["sku"] for item in supplier["items"]] == sorted(by_sku)
    error = call(staff_api, "get", "suppliers/NOPE/", expect=404)["error"]
    assert error["code"] == "not_found"


@pytest.mark.parametrize("size", [1, 12])
def test_supplier_pages_take_constant_queries(staff_api, size):
    for n in range(size):
        supplier = make_supplier(f"S{n:02d}")
        for _ in range(3):
            offer(supplier, SKUFactory(), lead=None if n % 2 else 5)
    with CaptureQueriesContext(connection) as ctx:
        page = call(staff_api, "get", "suppliers/")
    assert page["count"] == size
    assert len(ctx.captured_queries) == 3  # the staff user's roles, the count and the page
    with CaptureQueriesContext(connection) as ctx:
        detail = call(staff_api, "get", "suppliers/S00/")
    assert len(detail["items"]) == 3
    assert len(ctx.captured_queries) == 3  # roles, the supplier and its items with their SKUs


# --- The lifecycle -------------------------------------------------------------------


def test_draft_edit_send_receive_in_parts_and_close(staff_api, w):
    po = call(staff_api, "post", "purchase-orders/", draft_body(w, qa=48, note="spring"), expect=201)
    assert {k: po[k] for k in ("supplier", "warehouse", "status", "currency", "note", "created_by")} == {
        "supplier": "ACME",
        "warehouse": "DC",
        "status": "draft",
        "currency": "USD",
        "note": "spring",
        "created_by": "staff",
    }
    # Priced from the supplier; the ETA is today plus the longest lead time (b's 20 days).
    assert po["expected_at"] == (timezone.localdate() + timedelta(days=20)).isoformat()
    assert (po["over_receipt_tolerance_pct"], po["total"], po["line_count"]) == ("5.00", "131.00", 2)
    line = {"received": 0}
    assert po["lines"] == [
        {**line, "sku": w.a.code, "name": w.a.name, "ordered": 48, "outstanding": 48, "unit_cost": "2.5000"},
        {**line, "sku": w.b.code, "name": w.b.name, "ordered": 10, "outstanding": 10, "unit_cost": "1.1000"},
    ]
    assert [(e["kind"], e["to_status"], e["actor"], e["user"]) for e in po["events"]] == [
        ("created", "draft", "staff staff", "staff")
    ]
    assert po["events"][0]["created_at"]
    pk = po["id"]
    assert call(staff_api, "get", f"purchase-orders/{pk}/") == po

    po = call(
        staff_api,
        "patch",
        f"purchase-orders/{pk}/",
        {
            "lines": [{"sku": w.a.code, "quantity": 24}, {"sku": w.b.code, "quantity": 10}],
            "expected_at": "2030-03-01",
        },
    )
    assert (po["units_ordered"], po["expected_at"], po["note"], po["total"]) == (
        34,
        "2030-03-01",
        "spring",
        "71.00",
    )

    po = call(staff_api, "post", f"purchase-orders/{pk}/send/")
    assert po["status"] == "sent" and po["sent_at"]
    assert PurchaseOrder.objects.get(pk=pk).sent_at is not None

    # Part of a's units, onto an overflow shelf.
    receipts = [{"sku": w.a.code, "quantity": 20}]
    body = {"receipts": receipts, "bin": "A-01-01-03", "reference": "ASN-1"}
    out = call(staff_api, "post", f"purchase-orders/{pk}/receive/", body)
    assert out["receipt"] == {
        "event": PurchaseOrderEvent.objects.filter(po_id=pk).latest("id").pk,
        "reference": "ASN-1",
        "value": "50.00",
        "currency": "USD",
        "lines": [{"sku": w.a.code, "quantity": 20, "received": 20, "outstanding": 4}],
    }
    assert out["purchase_order"]["status"] == "partially_received"
    assert located(w.a, w.lay.wh) == {None: 0, "A-01-01-03": 20}

    # The rest, a one over (5% of 24 allows 25), into the primary bins: b has none and stays unlocated.
    receipts = [{"sku": w.b.code, "quantity": 10}, {"sku": w.a.code, "quantity": 5}]
    body = {"receipts": receipts, "to_primary_bin": True, "note": "pallet 2"}
    out = call(staff_api, "post", f"purchase-orders/{pk}/receive/", body)
    assert out["receipt"]["lines"] == [
        {"sku": w.a.code, "quantity": 5, "received": 25, "outstanding": 0},
        {"sku": w.b.code, "quantity": 10, "received": 10, "outstanding": 0},
    ]
    po = out["purchase_order"]
    assert (po["status"], po["units_received"], po["units_outstanding"]) == ("received", 35, 0)
    assert po["received_at"]
    assert located(w.a, w.lay.wh) == {None: 0, "A-01-01-03": 20, "A-01-01-04": 5}
    assert located(w.b, w.lay.wh) == {None: 10}

    po = call(staff_api, "post", f"purchase-orders/{pk}/close/", {"reason": "all in"})
    assert po["status"] == "closed" and po["closed_at"]
    assert [(e["kind"], e["from_status"], e["to_status"], e["user"], e["message"]) for e in po["events"]] == [
        ("created", "", "draft", "staff", "spring"),
        ("updated", "draft", "draft", "staff", ""),
        ("sent", "draft", "sent", "staff", ""),
        ("received", "sent", "partially_received", "staff", ""),
        ("received", "partially_received", "received", "staff", "pallet 2"),
        ("closed", "received", "closed", "staff", "all in"),
    ]
    assert po["events"][3]["data"]["reference"] == "ASN-1"

    receipts = StockMovement.objects.filter(reference=f"po:{pk}")
    assert set(receipts.values_list("kind", "actor")) == {(StockMovement.Kind.RECEIPT, "staff staff")}
    assert sum(receipts.values_list("on_hand_delta", flat=True)) == 35
    assert OutboxEvent.objects.filter(topic=PO_RECEIVED_TOPIC, aggregate=f"po:{pk}").count() == 2
    assert ledgers_agree()


def test_cancel_needs_a_reason_and_not_once_goods_arrived(staff_api, w):
    draft = call(staff_api, "post", "purchase-orders/", draft_body(w), expect=201)["id"]
    refused(staff_api, "post", f"purchase-orders/{draft}/cancel/", {}, 400, {"reason"})
    refused(staff_api, "post", f"purchase-orders/{draft}/cancel/", {"reason": ""}, 400, {"reason"})
    refused(staff_api, "post", f"purchase-orders/{draft}/close/", {}, 409, set())  # nothing received
    po = call(staff_api, "post", f"purchase-orders/{draft}/cancel/", {"reason": "duplicate"})
    assert (po["status"], po["events"][-1]["message"], po["events"][-1]["user"]) == (
        "cancelled",
        "duplicate",
        "staff",
    )
    assert po["cancelled_at"]
    for action, body in (("send/", {}), ("cancel/", {"reason": "again"}), ("close/", {})):
        error = refused(staff_api, "post", f"purchase-orders/{draft}/{action}", body, 409, set())
        assert error["code"] == "invalid_transition"

    sent = sent_po(staff_api, w)
    assert (
        call(staff_api, "post", f"purchase-orders/{sent}/cancel/", {"reason": "late"})["status"]
        == "cancelled"
    )

    started = sent_po(staff_api, w)
    call(
        staff_api,
        "post",
        f"purchase-orders/{started}/receive/",
        {"receipts": [{"sku": w.b.code, "quantity": 4}]},
    )
    error = refused(staff_api, "post", f"purchase-orders/{started}/cancel/", {"reason": "late"}, 409, set())
    assert "close it short" in error["message"]
    po = call(staff_api, "post", f"purchase-orders/{started}/close/")  # the reason is optional
    assert (po["status"], po["events"][-1]["data"]) == ("closed", {"short": {w.a.code: 24, w.b.code: 6}})
    assert (
        call(staff_api, "post", "purchase-orders/999999/send/", {}, expect=404)["error"]["code"]
        == "not_found"
    )


# --- Bad input -----------------------------------------------------------------------


def test_bad_orders_are_refused_naming_the_field_and_write_nothing(staff_api, w):
    old = make_supplier("OLD")
    old.is_active = False
    old.save(update_fields=["is_active"])
    WarehouseFactory(code="SHUT", is_active=False)
    stranger = SKUFactory()
    a, b = w.a.code, w.b.code
    cases = [
        ({"supplier": "NOPE"}, {"supplier"}),
        ({"supplier": "OLD"}, {"supplier"}),
        ({"warehouse": "NOPE"}, {"warehouse"}),
        ({"warehouse": "SHUT"}, {"warehouse"}),
        ({"lines": []}, {"lines"}),
        ({"lines": {"sku": a, "quantity": 24}}, {"lines"}),
        ({"lines": [{"sku": "NOPE", "quantity": 24}]}, {"lines[0].sku"}),
        ({"lines": [{"sku": stranger.code, "quantity": 1}]}, {"lines[0].sku"}),
        ({"lines": [{"sku": a, "quantity": 24}, {"sku": a, "quantity": 24}]}, {"lines[1].sku"}),
        ({"lines": [{"sku": b, "quantity": 1}, {"sku": a, "quantity": 30}]}, {"lines[1].quantity"}),
        ({"lines": [{"sku": a, "quantity": 12}]}, {"lines[0].quantity"}),
        ({"lines": [{"sku": b, "quantity": -3}]}, {"lines[0].quantity"}),
        ({"lines": [{"sku": b, "quantity": 0}]}, {"lines[0].quantity"}),
        ({"lines": [{"sku": b, "quantity": 1.5}]}, {"lines[0].quantity"}),
        ({"lines": [{"sku": b, "quantity": "2.5"}]}, {"lines[0].quantity"}),
        ({"lines": [{"sku": b, "quantity": "two"}]}, {"lines[0].quantity"}),
        ({"lines": [{"sku": b, "quantity": True}]}, {"lines[0].quantity"}),
        ({"lines": [{"sku": b}]}, {"lines[0].quantity"}),
        (
            {"lines": [{"sku": "NOPE", "quantity": 1}, {"sku": b, "quantity": -1}]},
            {"lines[0].sku", "lines[1].quantity"},
        ),
        ({"lines": [{"sku": b, "quantity": 1, "unit_cost": "0.10"}]}, {"lines[0].unit_cost"}),
        ({"over_receipt_tolerance_pct": "101"}, {"over_receipt_tolerance_pct"}),
        ({"over_receipt_tolerance_pct": "-1"}, {"over_receipt_tolerance_pct"}),
        ({"expected_at": "soon"}, {"expected_at"}),
        ({"qty": 3}, {"qty"}),
    ]
    for change, fields in cases:
        refused(staff_api, "post", "purchase-orders/", {**draft_body(w), **change}, 400, fields)
    assert not PurchaseOrder.objects.exists()

    lines = [
        {"sku": a, "quantity": 30},
        {"sku": stranger.code, "quantity": 1},
        {"sku": "NOPE", "quantity": 1},
    ]
    fields = {"lines[0].quantity", "lines[1].sku", "lines[2].sku"}
    error = refused(staff_api, "post", "purchase-orders/", {**draft_body(w), "lines": lines}, 400, fields)
    assert error["fields"] == {
        "lines[0].quantity": ["must be a multiple of the pack size 12"],
        "lines[1].sku": [f"{stranger.code} is not supplied by ACME"],
        "lines[2].sku": ["unknown SKU NOPE"],
    }
    error = refused(
        staff_api, "post", "purchase-orders/", {**draft_body(w), "supplier": "OLD"}, 400, {"supplier"}
    )
    assert error["fields"]["supplier"] == ["unknown or inactive supplier 'OLD'"]


def test_bad_receipts_are_refused_naming_the_row_and_apply_nothing(staff_api, w):
    pk = sent_po(staff_api, w)  # a: 24 (up to 25), b: 10 (up to 10)
    path = f"purchase-orders/{pk}/receive/"
    call(staff_api, "post", path, {"receipts": [{"sku": w.a.code, "quantity": 10}]})
    stranger = SKUFactory()
    make_bin(w.lay.other, "B-01-01-01", 10)  # a bin of DC-2 only
    a, b = w.a.code, w.b.code

    def receipt(*rows: tuple, **extra) -> dict:
        return {"receipts": [{"sku": sku, "quantity": qty} for sku, qty in rows], **extra}

    cases = [
        (receipt((a, 10), (b, 11)), {"receipts[1].quantity"}),  # over b's tolerance: a's fine 10 stay out too
        (receipt((a, 16)), {"receipts[0].quantity"}),  # 10 + 16 > 25
        (receipt((b, 1), ("NOPE", 1)), {"receipts[1].sku"}),
        (receipt((stranger.code, 1)), {"receipts[0].sku"}),
        (receipt((a, 0)), {"receipts[0].quantity"}),
        (receipt((a, -2)), {"receipts[0].quantity"}),
        (receipt((a, 1.5)), {"receipts[0].quantity"}),
        (receipt((a, "1.5")), {"receipts[0].quantity"}),
        (receipt((a, "x")), {"receipts[0].quantity"}),
        (
            receipt((b, -1), (stranger.code, 1), (a, 99)),
            {"receipts[0].quantity", "receipts[1].sku", "receipts[2].quantity"},
        ),
        (receipt((a, 1), (b, 1), (a, 1)), {"receipts[2].sku"}),
        (receipt(), {"receipts"}),
        ({}, {"receipts"}),
        ({"receipts": [{"sku": a, "quantity": 1, "qty": 1}]}, {"receipts[0].qty"}),
        (receipt((a, 1), bin="Z-99-99-99"), {"bin"}),
        (receipt((a, 1), bin="A-01-01-05"), {"bin"}),  # inactive: takes no stock
        (receipt((a, 1), bin="B-01-01-01"), {"bin"}),  # in the other warehouse
        (receipt((a, 1), bin="A-01-01-03", to_primary_bin=True), {"bin"}),
        (receipt((a, 1), reference="x" * 101), {"reference"}),
    ]
    for body, fields in cases:
        refused(staff_api, "post", path, body, 400, fields)

    body = receipt((b, -1), (stranger.code, 1), (a, 16), ("NOPE", 1))
    named = {"receipts[0].quantity", "receipts[1].sku", "receipts[2].quantity", "receipts[3].sku"}
    fields = refused(staff_api, "post", path, body, 400, named)["fields"]
    assert fields == {
        "receipts[0].quantity": ["must be a positive whole number"],
        "receipts[1].sku": [f"{stranger.code} is not on PO{pk:06d} (partially_received)"],
        "receipts[2].quantity": [
            "receiving 26 would exceed the ordered 24 by more than the 5% tolerance (max 25)"
        ],
        "receipts[3].sku": ["unknown SKU NOPE"],
    }
    error = refused(staff_api, "post", path, receipt((a, 1), bin="Z-99-99-99"), 400, {"bin"})
    assert error["code"] == "unknown_bin"
    error = refused(staff_api, "post", path, receipt((b, 11)), 400, {"receipts[0].quantity"})
    assert error["message"].startswith("receipts[0].quantity: receiving 11")

    refused(staff_api, "post", "purchase-orders/999999/receive/", receipt((a, 1)), 404, set())
    draft = call(staff_api, "post", "purchase-orders/", draft_body(w), expect=201)["id"]
    error = refused(staff_api, "post", f"purchase-orders/{draft}/receive/", receipt((a, 1)), 409, set())
    assert error["code"] == "invalid_transition"
    call(staff_api, "post", f"purchase-orders/{pk}/close/")
    refused(staff_api, "post", path, receipt((a, 1)), 409, set())
    assert PurchaseOrderLine.objects.get(po_id=pk, sku=w.a).quantity_received == 10
    assert ledgers_agree()


def test_only_drafts_are_edited_and_a_refused_edit_changes_nothing(staff_api, w):
    pk = call(staff_api, "post", "purchase-orders/", draft_body(w, qa=36), expect=201)["id"]
    path = f"purchase-orders/{pk}/"

    po = call(staff_api, "patch", path, {"note": "call first", "over_receipt_tolerance_pct": "0"})
    assert [(ln["sku"], ln["ordered"]) for ln in po["lines"]] == [(w.a.code, 36), (w.b.code, 10)]  # kept
    assert (po["note"], po["over_receipt_tolerance_pct"]) == ("call first", "0.00")
    assert po["events"][-1]["kind"] == "updated"

    # Another supplier, in another currency: the kept lines are checked and priced against it.
    euro = make_supplier("EURO", currency="EUR")
    offer(euro, w.a, cost="2.00", pack=6)
    refused(staff_api, "patch", path, {"supplier": "EURO"}, 400, {"lines[1].sku"})  # it does not sell b
    offer(euro, w.b, cost="0.90")
    po = call(staff_api, "patch", path, {"supplier": "EURO", "warehouse": "DC-2"})
    assert (po["supplier"], po["warehouse"], po["currency"], po["total"]) == ("EURO", "DC-2", "EUR", "81.00")

    refused(
        staff_api, "patch", path, {"lines": [{"sku": w.a.code, "quantity": 7}]}, 400, {"lines[0].quantity"}
    )
    refused(staff_api, "patch", path, {"lines": []}, 400, {"lines"})
    refused(staff_api, "patch", path, {"supplier": "NOPE"}, 400, {"supplier"})
    refused(staff_api, "patch", path, {"expected_at": None}, 400, {"expected_at"})
    refused(
        staff_api, "patch", path, {"over_receipt_tolerance_pct": "250"}, 400, {"over_receipt_tolerance_pct"}
    )
    refused(staff_api, "patch", path, {"colour": "red"}, 400, {"colour"})
    refused(staff_api, "patch", "purchase-orders/999999/", {"note": "x"}, 404, set())

    call(staff_api, "post", f"purchase-orders/{pk}/send/")
    error = refused(staff_api, "patch", path, {"note": "too late"}, 409, set())
    assert error["code"] == "invalid_transition" and "only a draft" in error["message"]


# --- Reading -------------------------------------------------------------------------


def test_purchase_order_list_filters(staff_api, w):
    other = make_supplier("OTHER")
    c = SKUFactory()
    offer(other, c)
    first = purchase_order_create(
        supplier_id=w.supplier.pk, warehouse_id=w.lay.wh.pk, lines=[(w.a.pk, 24), (w.b.pk, 10)], actor=SYSTEM
    )
    second = purchase_order_create(
        supplier_id=w.supplier.pk, warehouse_id=w.lay.other.pk, lines=[(w.b.pk, 5)], actor=SYSTEM
    )
    third = purchase_order_create(
        supplier_id=other.pk, warehouse_id=w.lay.wh.pk, lines=[(c.pk, 3)], actor=SYSTEM
    )
    purchase_order_send(po_id=second.pk, actor=SYSTEM)
    purchase_order_receive(po_id=second.pk, receipts={w.b.pk: 2}, actor=SYSTEM)

    def ids(query: str = "") -> list[int]:
        return [r["id"] for r in call(staff_api, "get", f"purchase-orders/?{query}")["results"]]

    assert ids() == [third.pk, second.pk, first.pk]  # newest first
    assert ids("status=partially_received") == [second.pk]
    assert ids("status=draft&warehouse=DC") == [third.pk, first.pk]
    assert ids("supplier=OTHER") == [third.pk]
    assert ids("warehouse=DC-2") == [second.pk]
    assert ids(f"sku={w.b.code}") == [second.pk, first.pk]
    assert ids(f"sku={w.a.code}&supplier=ACME") == [first.pk]
    assert ids("supplier=NOPE") == []

    (row,) = call(staff_api, "get", f"purchase-orders/?sku={w.a.code}")["results"]
    # Filtering by a SKU does not narrow the totals to its line.
    assert (row["line_count"], row["units_ordered"], row["total"]) == (2, 34, "71.00")
    (row,) = call(staff_api, "get", "purchase-orders/?warehouse=DC-2")["results"]
    assert {
        k: row[k] for k in ("status", "units_ordered", "units_received", "units_outstanding", "total")
    } == {
        "status": "partially_received",
        "units_ordered": 5,
        "units_received": 2,
        "units_outstanding": 3,
        "total": "5.50",
    }
    assert "lines" not in row and "events" not in row
    error = call(staff_api, "get", "purchase-orders/?status=lost", expect=400)["error"]
    assert set(error["fields"]) == {"status"}


@pytest.mark.parametrize("orders", [2, 15])
def test_purchase_order_list_takes_constant_queries(staff_api, staff, w, orders):
    for n in range(orders):
        po = purchase_order_create(
            supplier_id=w.supplier.pk,
            warehouse_id=w.lay.wh.pk,
            lines=[(w.a.pk, 24), (w.b.pk, 1 + n)],
            actor=staff,
        )
        if n % 2:
            purchase_order_send(po_id=po.pk, actor=SYSTEM)
            purchase_order_receive(po_id=po.pk, receipts={w.b.pk: 1}, actor=SYSTEM)
    with CaptureQueriesContext(connection) as ctx:
        page = call(staff_api, "get", "purchase-orders/")
    assert page["count"] == orders and len(page["results"]) == orders
    assert {r["created_by"] for r in page["results"]} == {"staff"}
    assert len(ctx.captured_queries) == 3  # roles, the count and the page, totals included
    with CaptureQueriesContext(connection) as ctx:
        query = f"status=partially_received&supplier=ACME&warehouse=DC&sku={w.a.code}"
        page = call(staff_api, "get", f"purchase-orders/?{query}")
    assert page["count"] == orders // 2
    assert len(ctx.captured_queries) == 3  # roles, the count and the page


@pytest.mark.parametrize("lines", [1, 10])
def test_purchase_order_detail_takes_constant_queries(staff_api, staff, w, lines):
    skus = [SKUFactory() for _ in range(lines)]
    for sku in skus:
        offer(w.supplier, sku)
    po = purchase_order_create(
        supplier_id=w.supplier.pk, warehouse_id=w.lay.wh.pk, lines=[(s.pk, 5) for s in skus], actor=SYSTEM
    )
    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    for sku in skus:
        purchase_order_receive(po_id=po.pk, receipts={sku.pk: 1}, actor=staff)
    with CaptureQueriesContext(connection) as ctx:
        detail = call(staff_api, "get", f"purchase-orders/{po.pk}/")
    assert (len(detail["lines"]), len(detail["events"])) == (lines, 2 + lines)
    assert {e["user"] for e in detail["events"]} == {None, "staff"}
    assert len(ctx.captured_queries) == 4  # roles, the order with its totals, its lines, its events


# --- The schema ----------------------------------------------------------------------


def test_openapi_schema_builds_without_warnings_and_documents_purchasing(staff_api):
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=StringIO())
    schema = out.getvalue()
    for path in (
        "suppliers/{code}/",
        "purchase-orders/",
        "purchase-orders/{id}/",
        "purchase-orders/{id}/receive/",
    ):
        assert f"/api/v1/inventory/{path}:" in schema, path
    assert "PurchaseOrderStatusEnum:" in schema
    assert "PatchedPurchaseOrderUpdateInRequest:" in schema
