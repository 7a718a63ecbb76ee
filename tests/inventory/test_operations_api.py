"""The staff API for stock operations: codes in, one service call, the stock
position out; bad input is a 4xx naming the field, and changes nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from inventory.models import CountSheet, StockMovement, Transfer
from tests.factories import SKUFactory, stock_level
from tests.inventory.bin_layout import (
    Layout,
    build_layout,
    ledgers_agree,
    located,
    make_bin,
    receive,
    snapshot,
)

pytestmark = pytest.mark.django_db
API = "/api/v1/inventory"


@pytest.fixture
def lay() -> Layout:
    return build_layout()


def post(client: APIClient, path: str, body: dict | None = None, expect: int = 200) -> dict:
    response = client.post(f"{API}/{path}", body or {}, format="json")
    assert response.status_code == expect, response.json()
    return response.json()


def refused(client: APIClient, path: str, body: dict, status: int, fields: set[str]) -> dict:
    """The call fails with `status`, names `fields`, and changes no level, bin or ledger row."""
    before = snapshot()
    error = post(client, path, body, expect=status)["error"]
    assert set(error.get("fields", {})) == fields, error
    assert snapshot() == before
    return error


def test_staff_only(api, lay):
    assert api.post(f"{API}/adjustments/", {}, format="json").status_code == 403
    assert APIClient().get(f"{API}/bin-stock/").status_code in {401, 403}


def test_adjust_and_write_off_return_the_position_shelf_by_shelf(staff_api, lay):
    body = {"warehouse": "DC", "sku": lay.sku.code, "reason": "found"}
    post(staff_api, "adjustments/", {**body, "quantity": 5, "bin": "A-01-01-03"})
    position = post(staff_api, "adjustments/", {**body, "quantity": 2, "note": "behind the rack"})
    assert position == {
        "sku": lay.sku.code,
        "warehouse": "DC",
        "on_hand": 7,
        "allocated": 0,
        "soft_reserved": 0,
        "available": 7,
        "unlocated": 2,
        "bins": [
            {"bin": "A-01-01-03", "zone": "AMB", "walk_sequence": 30, "quantity": 5, "assignment": "overflow"}
        ],
    }
    position = post(
        staff_api, "write-offs/", {"warehouse": "DC", "sku": lay.sku.code, "quantity": 3, "reason": "damaged"}
    )
    assert (position["unlocated"], position["bins"][0]["quantity"]) == (
        0,
        4,
    )  # 2 unlocated, then 1 from the bin
    movement = StockMovement.objects.filter(kind="adjustment").order_by("id").last()
    assert (movement.note, movement.actor) == ("behind the rack", "staff staff")
    assert ledgers_agree()


def test_bad_adjustments_are_4xx_naming_the_field_and_change_nothing(staff_api, lay):
    receive(lay, 2, lay.overflow)
    base = {"warehouse": "DC", "sku": lay.sku.code, "reason": "damaged"}
    refused(staff_api, "adjustments/", {**base, "quantity": -3}, 409, {"quantity"})
    error = refused(
        staff_api, "adjustments/", {**base, "quantity": -1, "bin": "A-01-01-04"}, 409, {"quantity"}
    )
    assert error["code"] == "insufficient_stock" and "in bin A-01-01-04" in error["message"]
    error = refused(staff_api, "adjustments/", {**base, "quantity": -1, "bin": "Z-99-99-99"}, 400, {"bin"})
    assert error["code"] == "unknown_bin"
    refused(staff_api, "adjustments/", {**base, "quantity": 1, "bin": "A-01-01-05"}, 400, {"bin"})  # inactive
    refused(staff_api, "adjustments/", {**base, "sku": "NOPE", "quantity": 1}, 400, {"sku"})
    refused(staff_api, "adjustments/", {**base, "warehouse": "NOPE", "quantity": 1}, 400, {"warehouse"})
    refused(staff_api, "adjustments/", {**base, "quantity": 1, "reason": "whim"}, 400, {"reason"})
    refused(staff_api, "adjustments/", {**base, "quantity": "1.5"}, 400, {"quantity"})
    refused(staff_api, "adjustments/", {**base, "quantity": 1, "qty": 1}, 400, {"qty"})
    refused(staff_api, "write-offs/", {**base, "quantity": -2}, 400, {"quantity"})
    refused(staff_api, "write-offs/", {**base, "quantity": 1, "reason": "found"}, 400, {"reason"})


def test_putaway_and_bin_move(staff_api, lay):
    receive(lay, 6)
    position = post(staff_api, "putaways/", {"warehouse": "DC", "sku": lay.sku.code, "quantity": 4})
    assert position["unlocated"] == 2
    assert [(b["bin"], b["quantity"], b["assignment"]) for b in position["bins"]] == [
        ("A-01-01-04", 4, "primary")
    ]
    body = {"warehouse": "DC", "sku": lay.sku.code, "from_bin": "A-01-01-04", "to_bin": "A-01-01-02"}
    position = post(staff_api, "bin-moves/", {**body, "quantity": 3})
    assert [(b["bin"], b["quantity"], b["assignment"]) for b in position["bins"]] == [
        ("A-01-01-02", 3, None),  # walk order: 20 before 40
        ("A-01-01-04", 1, "primary"),
    ]
    assert position["on_hand"] == 6
    refused(staff_api, "bin-moves/", {**body, "quantity": 2}, 409, {"quantity"})  # the bin holds 1
    refused(staff_api, "bin-moves/", {**body, "quantity": 1, "to_bin": "A-01-01-05"}, 400, {"to_bin"})
    refused(staff_api, "bin-moves/", {**body, "quantity": 1, "from_bin": "NOPE"}, 400, {"from_bin"})
    refused(staff_api, "bin-moves/", {**body, "quantity": 1, "to_bin": "A-01-01-04"}, 400, {"to_bin"})
    refused(staff_api, "bin-moves/", {**body, "quantity": 0}, 400, {"quantity"})
    refused(
        staff_api,
        "bin-moves/",
        {k: v for k, v in body.items() if k != "to_bin"} | {"quantity": 1},
        400,
        {"to_bin"},
    )
    refused(
        staff_api, "putaways/", {"warehouse": "DC", "sku": lay.sku.code, "quantity": 3}, 409, {"quantity"}
    )
    position = post(staff_api, "putaways/", {"warehouse": "DC", "sku": lay.sku.code, "bin": "A-01-01-03"})
    assert position["unlocated"] == 0  # no quantity: every unlocated unit (2)
    assert [(b["bin"], b["quantity"]) for b in position["bins"]] == [
        ("A-01-01-02", 3),
        ("A-01-01-03", 2),
        ("A-01-01-04", 1),
    ]
    bare = SKUFactory()
    receive(lay, 1, sku=bare)
    refused(staff_api, "putaways/", {"warehouse": "DC", "sku": bare.code, "quantity": 1}, 400, {"bin"})
    assert ledgers_agree()


def test_bin_stock_and_locations(staff_api, lay):
    other = SKUFactory()
    receive(lay, 3, lay.primary)
    receive(lay, 2, lay.overflow2)
    receive(lay, 1, lay.stray, sku=other)
    receive(lay, 4)
    rows = staff_api.get(f"{API}/bin-stock/?warehouse=DC").json()["results"]
    assert [(r["bin"], r["sku"], r["quantity"]) for r in rows] == [
        ("A-01-01-01", lay.sku.code, 2),
        ("A-01-01-02", other.code, 1),
        ("A-01-01-04", lay.sku.code, 3),
    ]
    in_bin = staff_api.get(f"{API}/bin-stock/?warehouse=DC&bin=A-01-01-02").json()["results"]
    assert [r["sku"] for r in in_bin] == [other.code]
    where = staff_api.get(f"{API}/locations/?sku={lay.sku.code}").json()
    assert [(w["warehouse"], w["on_hand"], w["unlocated"], [b["bin"] for b in w["bins"]]) for w in where] == [
        ("DC", 9, 4, ["A-01-01-01", "A-01-01-04"])
    ]
    assert staff_api.get(f"{API}/locations/?sku=NOPE").status_code == 400
    assert staff_api.get(f"{API}/locations/?sku={lay.sku.code}&warehouse=NOPE").status_code == 400


@pytest.mark.parametrize("bins", [2, 20])
def test_bin_stock_query_count_is_constant(staff_api, lay, bins):
    for i in range(bins):
        receive(lay, 1, make_bin(lay.wh, f"B-{i:02d}-01-01", 100 + i), sku=SKUFactory())
    with CaptureQueriesContext(connection) as ctx:
        response = staff_api.get(f"{API}/bin-stock/?warehouse=DC")
    assert response.status_code == 200 and response.json()["count"] == bins
    assert len(ctx.captured_queries) == 3  # the staff user's roles, the count and the page


def test_transfer_lifecycle(staff_api, lay):
    receive(lay, 5, lay.overflow)
    receive(lay, 3)
    created = post(
        staff_api,
        "transfers/",
        {"from_warehouse": "DC", "to_warehouse": "DC-2", "lines": [{"sku": lay.sku.code, "quantity": 6}]},
        expect=201,
    )
    assert (created["status"], created["lines"]) == (
        "draft",
        [{"sku": lay.sku.code, "quantity": 6, "quantity_received": 0}],
    )
    tid = created["id"]
    assert staff_api.get(f"{API}/transfers/{tid}/").json()["status"] == "draft"
    assert post(staff_api, f"transfers/{tid}/ship/")["status"] == "in_transit"
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-03": 2}  # 3 unlocated, then 3 of the bin
    received = post(staff_api, f"transfers/{tid}/receive/", {"bin": "A-01-01-04"})
    assert (received["status"], received["lines"][0]["quantity_received"]) == ("received", 6)
    assert located(lay.sku, lay.other) == {None: 0, "A-01-01-04": 6}
    refused(staff_api, f"transfers/{tid}/cancel/", {}, 409, set())
    assert ledgers_agree()


def test_bad_transfers_change_nothing(staff_api, lay):
    receive(lay, 2, lay.overflow)
    body = {"from_warehouse": "DC", "to_warehouse": "DC-2", "lines": [{"sku": lay.sku.code, "quantity": 2}]}
    refused(staff_api, "transfers/", {**body, "to_warehouse": "DC"}, 400, {"to_warehouse"})
    refused(
        staff_api, "transfers/", {**body, "lines": [{"sku": "NOPE", "quantity": 1}]}, 400, {"lines[0].sku"}
    )
    refused(
        staff_api,
        "transfers/",
        {**body, "lines": [{"sku": lay.sku.code, "quantity": -1}]},
        400,
        {"lines[0].quantity"},
    )
    tid = post(staff_api, "transfers/", body, expect=201)["id"]
    refused(
        staff_api, f"transfers/{tid}/ship/", {"bin": "A-01-01-04"}, 409, {"lines[0].quantity"}
    )  # empty bin
    refused(staff_api, f"transfers/{tid}/ship/", {"bin": "NOPE"}, 400, {"bin"})
    assert Transfer.objects.get(pk=tid).status == "draft"
    post(staff_api, f"transfers/{tid}/ship/", {"bin": "A-01-01-03"})
    refused(
        staff_api, f"transfers/{tid}/receive/", {"bin": "A-01-01-04", "to_primary_bin": True}, 400, {"bin"}
    )
    assert staff_api.post(f"{API}/transfers/999999/ship/", {}, format="json").status_code == 404
    other = post(staff_api, "transfers/", body, expect=201)["id"]
    assert post(staff_api, f"transfers/{other}/cancel/")["status"] == "cancelled"
    assert ledgers_agree()


def test_cycle_count_lifecycle(staff_api, lay):
    receive(lay, 4, lay.overflow)
    extra = SKUFactory()
    receive(lay, 2, sku=extra)
    sheet = post(staff_api, "counts/", {"warehouse": "DC", "skus": [lay.sku.code, extra.code]}, expect=201)
    assert [(ln["sku"], ln["expected"], ln["counted"]) for ln in sheet["lines"]] == [
        (lay.sku.code, 4, None),
        (extra.code, 2, None),
    ]
    sid = sheet["id"]
    refused(staff_api, f"counts/{sid}/record/", {"counts": [{"sku": lay.sku.code, "counted": -1}]}, 400, {
        f"counts.{lay.sku.code}"
    })  # fmt: skip
    refused(
        staff_api,
        f"counts/{sid}/record/",
        {"counts": [{"sku": "NOPE", "counted": 1}]},
        400,
        {"counts[0].sku"},
    )
    refused(staff_api, f"counts/{sid}/record/", {"counts": []}, 400, {"counts"})
    refused(staff_api, f"counts/{sid}/submit/", {}, 400, {"counts"})  # not all counted
    post(
        staff_api,
        f"counts/{sid}/record/",
        {"counts": [{"sku": lay.sku.code, "counted": 3}, {"sku": extra.code, "counted": 5}]},
    )
    assert post(staff_api, f"counts/{sid}/submit/")["status"] == "submitted"
    refused(
        staff_api, f"counts/{sid}/approve/", {"bin": "A-01-01-05"}, 400, {"bin"}
    )  # inactive takes no gains
    approved = post(staff_api, f"counts/{sid}/approve/", {"bin": "A-01-01-03"})
    assert approved["status"] == "approved"
    assert [ln["variance"] for ln in approved["lines"]] == [-1, 3]
    assert located(lay.sku, lay.wh) == {None: 0, "A-01-01-03": 3}
    assert located(extra, lay.wh) == {None: 2, "A-01-01-03": 3}
    assert stock_level(extra, lay.wh).on_hand == 5
    assert ledgers_agree()


def test_count_cancel_and_missing_sheets(staff_api, lay):
    receive(lay, 1)
    sid = post(staff_api, "counts/", {"warehouse": "DC"}, expect=201)["id"]
    assert post(staff_api, f"counts/{sid}/cancel/")["status"] == "cancelled"
    refused(staff_api, f"counts/{sid}/record/", {"counts": [{"sku": lay.sku.code, "counted": 1}]}, 409, set())
    assert CountSheet.objects.get(pk=sid).status == "cancelled"
    assert staff_api.get(f"{API}/counts/999999/").status_code == 404
    refused(staff_api, "counts/", {"warehouse": "DC", "skus": ["NOPE"]}, 400, {"skus[0]"})


def test_schema_documents_the_operations(staff_api):
    schema = staff_api.get("/api/schema/?format=json").json()
    for path in (
        "adjustments/",
        "bin-moves/",
        "transfers/{id}/receive/",
        "counts/{id}/approve/",
        "bin-stock/",
    ):
        assert f"/api/v1/inventory/{path}" in schema["paths"], path
    assert "BinMoveInRequest" in schema["components"]["schemas"]
