"""The returns API over HTTP: a storefront starts returns of its own orders
(inside the policy: authorized; outside: 409 naming why), never sees another
channel's; staff move returns along, preview and make refunds, send
replacements, print the return label, edit policies and work the case queue."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pypdfium2
import pytest
import zxingcpp
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from inventory.models import StockLevel
from orders.models import Order, Payment
from returns.models import CustomerCase, ReturnPolicy, ReturnRequest
from tests.factories import WarehouseFactory, channel_with_key

pytestmark = pytest.mark.django_db
D = Decimal
URL = "/api/v1/returns/"


def lines_by_price(order: Order) -> tuple:
    """(the 2 x 25.00 line, the 1 x 40.00 line)."""
    lines = sorted(order.lines.select_related("sku"), key=lambda ln: ln.unit_price)
    return lines[0], lines[1]


def ask(client, order, *items, **body):
    """POST a return of (order line, quantity, reason) items."""
    payload = {
        "order_id": order.pk,
        "lines": [{"order_line_id": ln.pk, "quantity": q, "reason": r} for ln, q, r in items],
        **body,
    }
    return client.post(URL, payload, format="json")


def inspection(line_id: int, quantity: int, condition: str, disposition: str) -> dict:
    return {"line_id": line_id, "quantity": quantity, "condition": condition, "disposition": disposition}


def error(response) -> dict:
    return response.json()["error"]


@pytest.fixture
def other_api(db) -> APIClient:
    """Another channel's key."""
    _, raw = channel_with_key(code="OTHER")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# --- A storefront starts returns -------------------------------------------------------


def test_a_channel_return_inside_the_policy_is_authorized_at_once(api, shipped_order, warehouse):
    order, _ = shipped_order
    shirt, jacket = lines_by_price(order)
    response = ask(api, order, (shirt, 2, "size_fit"), (jacket, 1, "defective"), note="Too small")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert response["Location"] == f"/api/v1/returns/{body['id']}/"
    assert (body["status"], body["source"], body["resolution"]) == ("authorized", "api", "refund")
    assert (body["number"], body["order_number"], body["location"]) == (
        f"RMA{body['id']:08d}",
        order.number,
        warehouse.code,
    )
    assert body["return_shipping_paid_by"] == "merchant"  # a defect is on the merchant
    assert body["customer_note"] == "Too small" and body["currency"] == "USD"
    assert [(ln["sku"], ln["quantity"], ln["reason"]) for ln in body["lines"]] == [
        (shirt.sku.code, 2, "size_fit"),
        (jacket.sku.code, 1, "defective"),
    ]
    assert [e["kind"] for e in body["events"]] == ["requested"]
    assert body["events"][0]["actor_type"] == "channel"

    listed = api.get(URL).json()
    assert [r["id"] for r in listed["results"]] == [body["id"]]
    assert api.get(f"{URL}{body['id']}/").json()["status"] == "authorized"


def test_outside_the_policy_a_channel_gets_409_with_the_reason_and_nothing_is_written(
    api, staff_api, shipped_order
):
    order, _ = shipped_order
    shirt, jacket = lines_by_price(order)
    ReturnPolicy.objects.create(channel=order.channel, non_returnable_skus=[jacket.sku.code])
    response = ask(api, order, (shirt, 1, "size_fit"), (jacket, 1, "size_fit"))
    assert response.status_code == 409
    assert error(response)["code"] == "outside_policy"
    assert f"{jacket.sku.code} cannot be returned" in error(response)["message"]
    assert not ReturnRequest.objects.exists() and not CustomerCase.objects.exists()

    # A channel cannot ask for a review; staff can, and the return waits with a case.
    refused = ask(api, order, (jacket, 1, "size_fit"), review=True)
    assert refused.status_code == 400 and "review" in error(refused)["fields"]
    review = ask(staff_api, order, (jacket, 1, "size_fit"), review=True)
    assert review.status_code == 201, review.json()
    assert (review.json()["status"], review.json()["source"]) == ("requested", "staff")
    assert "cannot be returned" in review.json()["review_reason"]
    assert CustomerCase.objects.get().kind == "return_review"


def test_returning_more_than_shipped_is_400_naming_the_line(api, shipped_order):
    order, _ = shipped_order
    shirt, _ = lines_by_price(order)
    response = ask(api, order, (shirt, 3, "size_fit"))
    assert response.status_code == 400
    assert error(response)["code"] == "invalid"
    assert "2 shipped" in error(response)["fields"]["lines[0].quantity"][0]
    assert not ReturnRequest.objects.exists()

    # Units already in a return are not returnable twice.
    assert ask(api, order, (shirt, 2, "size_fit")).status_code == 201
    again = ask(api, order, (shirt, 1, "size_fit"))
    assert again.status_code == 400 and "lines[0].quantity" in error(again)["fields"]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"lines": []}, "lines"),
        ({"order_id": "x"}, "order_id"),
        ({"resolution": "store_credit"}, "resolution"),
        ({"lines": [{"order_line_id": 1, "quantity": 1, "reason": "bored"}]}, "lines[0].reason"),
        ({"lines": [{"order_line_id": 1, "quantity": 0, "reason": "other"}]}, "lines[0].quantity"),
        ({"lines": [{"order_line_id": 1, "quantity": 1, "reason": "other", "qty": 1}]}, "lines[0].qty"),
        ({"location": "NOWHERE"}, "location"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, shipped_order, body, field):
    order, _ = shipped_order
    shirt, _ = lines_by_price(order)
    payload = {
        "order_id": order.pk,
        "lines": [{"order_line_id": shirt.pk, "quantity": 1, "reason": "size_fit"}],
        **body,
    }
    response = api.post(URL, payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in error(response)["fields"], error(response)
    assert not ReturnRequest.objects.exists()


def test_a_channel_never_sees_or_touches_another_channels_returns(api, other_api, staff_api, shipped_order):
    order, _ = shipped_order
    shirt, _ = lines_by_price(order)
    rma = ask(api, order, (shirt, 1, "size_fit")).json()["id"]

    assert ask(other_api, order, (shirt, 1, "size_fit")).status_code == 404  # not its order
    assert other_api.get(URL).json()["results"] == []
    assert other_api.get(f"{URL}?channel={order.channel.code}").json()["results"] == []
    for path in ("", "label/"):
        assert other_api.get(f"{URL}{rma}/{path}").status_code == 404
    assert other_api.get(f"/api/v1/return-policies/{order.channel.code}/").status_code == 404
    # Moving a return along is for staff only, the owning channel included.
    for client in (api, other_api):
        assert client.post(f"{URL}{rma}/cancel/", {}, format="json").status_code == 403
        assert client.get(f"{URL}{rma}/refund-preview/").status_code == 403
        assert client.get("/api/v1/cases/").status_code == 403
    assert ReturnRequest.objects.get().status == "authorized"
    # Staff see every channel's, and filter them.
    assert [r["id"] for r in staff_api.get(URL, {"channel": order.channel.code}).json()["results"]] == [rma]
    assert staff_api.get(URL, {"channel": "OTHER"}).json()["results"] == []
    assert staff_api.get(URL, {"status": "received"}).json()["results"] == []
    assert staff_api.get(URL, {"status": "nonsense"}).status_code == 400
    assert [r["id"] for r in staff_api.get(URL, {"order": order.pk}).json()["results"]] == [rma]
    assert staff_api.get(f"{URL}999999/").status_code == 404


# --- Staff move returns along ------------------------------------------------------------


def test_staff_receive_preview_and_refund_over_http(api, staff_api, shipped_order, warehouse):
    order, _ = shipped_order
    shirt, jacket = lines_by_price(order)
    ReturnPolicy.objects.create(channel=order.channel, restocking_fee_pct=D("10"))
    rma = ask(api, order, (shirt, 2, "no_longer_needed"), (jacket, 1, "defective")).json()
    line_ids = {ln["sku"]: ln["id"] for ln in rma["lines"]}
    url = f"{URL}{rma['id']}/"

    early = staff_api.post(f"{url}refund/", {}, format="json")
    assert early.status_code == 409 and error(early)["code"] == "invalid_transition"
    before = StockLevel.objects.get(sku=shirt.sku, warehouse=warehouse).on_hand

    bad = staff_api.post(
        f"{url}receive/",
        {"inspections": [inspection(line_ids[shirt.sku.code], 2, "damaged", "restock")]},
        format="json",
    )
    assert bad.status_code == 400
    assert set(error(bad)["fields"]) == {"inspections[0].disposition", "inspections"}

    received = staff_api.post(
        f"{url}receive/",
        {
            "inspections": [
                inspection(line_ids[shirt.sku.code], 2, "new", "restock"),
                inspection(line_ids[jacket.sku.code], 1, "damaged", "scrap"),
            ]
        },
        format="json",
    )
    assert received.status_code == 200, received.json()
    assert received.json()["status"] == "received"
    assert StockLevel.objects.get(sku=shirt.sku, warehouse=warehouse).on_hand == before + 2

    preview = staff_api.get(f"{url}refund-preview/").json()
    # 10% fee on the unwanted shirts only; shipping comes back for the defect.
    assert (preview["goods"], preview["fee"], preview["shipping"]) == ("85.00", "5.00", "5.00")
    assert preview["total"] == "90.00" and preview["refunded"] == "0.00"

    too_much = staff_api.post(f"{url}refund/", {"amount": "90.01"}, format="json")
    assert too_much.status_code == 400 and "amount" in error(too_much)["fields"]
    assert staff_api.post(f"{url}refund/", {"amount": "ten"}, format="json").status_code == 400
    refunded = staff_api.post(f"{url}refund/", {"amount": "80.00"}, format="json")
    assert refunded.status_code == 200, refunded.json()
    body = refunded.json()
    assert (body["status"], body["refund_total"], body["restocking_fee"]) == ("completed", "80.00", "5.00")
    assert [e["kind"] for e in body["events"]] == ["requested", "received", "refunded"]
    assert Payment.objects.get(order=order).amount_refunded == D("80.00")
    again = staff_api.post(f"{url}refund/", {}, format="json")
    assert again.status_code == 409
    assert Payment.objects.get(order=order).amount_refunded == D("80.00")


def test_staff_review_authorize_reject_and_cancel(staff_api, shipped_order):
    order, _ = shipped_order
    shirt, jacket = lines_by_price(order)
    ReturnPolicy.objects.create(channel=order.channel, non_returnable_skus=[jacket.sku.code])
    first = ask(staff_api, order, (jacket, 1, "size_fit"), review=True).json()
    assert first["status"] == "requested"

    missing = staff_api.post(f"{URL}{first['id']}/reject/", {}, format="json")
    assert missing.status_code == 400 and "reason" in error(missing)["fields"]
    rejected = staff_api.post(f"{URL}{first['id']}/reject/", {"reason": "Final sale item"}, format="json")
    assert (rejected.status_code, rejected.json()["status"]) == (200, "rejected")
    assert rejected.json()["review_reason"] == "Final sale item"
    late = staff_api.post(f"{URL}{first['id']}/authorize/", {}, format="json")
    assert late.status_code == 409 and error(late)["code"] == "invalid_transition"

    second = ask(staff_api, order, (shirt, 1, "size_fit")).json()
    assert second["status"] == "authorized"
    twice = staff_api.post(f"{URL}{second['id']}/authorize/", {}, format="json")
    assert twice.status_code == 409
    cancelled = staff_api.post(f"{URL}{second['id']}/cancel/", {"reason": "changed mind"}, format="json")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    # The cancelled units can be returned again.
    assert ask(staff_api, order, (shirt, 2, "size_fit")).status_code == 201


def test_staff_send_a_replacement_for_an_exchange(api, staff_api, shipped_order):
    order, _ = shipped_order
    shirt, _ = lines_by_price(order)
    rma = ask(api, order, (shirt, 1, "damaged"), resolution="exchange").json()
    url = f"{URL}{rma['id']}/exchange/"
    assert staff_api.post(url, {"lines": {}}, format="json").status_code == 400
    assert staff_api.post(url, {"lines": {shirt.sku.code: 0}}, format="json").status_code == 400
    response = staff_api.post(url, {}, format="json")
    assert response.status_code == 200, response.json()
    replacement = Order.objects.get(pk=response.json()["replacement_order_id"])
    assert replacement.is_replacement and replacement.grand_total == 0
    assert [(ln.sku_id, ln.quantity) for ln in replacement.lines.all()] == [(shirt.sku_id, 1)]
    assert response.json()["status"] == "authorized"  # an advance exchange: the goods still come back
    again = staff_api.post(url, {}, format="json")
    assert again.json()["replacement_order_id"] == replacement.pk
    refund = staff_api.post(f"{URL}{rma['id']}/refund/", {}, format="json")
    assert refund.status_code == 409


# --- The return label ----------------------------------------------------------------------


def test_the_label_is_a_4x6_pdf_from_the_customer_to_the_location_with_the_rma_barcode(
    api, staff_api, shipped_order
):
    order, _ = shipped_order
    shirt, _ = lines_by_price(order)
    store = WarehouseFactory(code="ST-SOHO", name="SoHo store", line1="120 Spring St", city="New York")
    rma = ask(api, order, (shirt, 1, "size_fit"), location=store.code).json()
    number = rma["number"]

    for client in (api, staff_api):
        response = client.get(f"{URL}{rma['id']}/label/", HTTP_ACCEPT="application/pdf")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert number in response["Content-Disposition"]
    data = response.content
    [page] = PdfReader(io.BytesIO(data)).pages
    assert (float(page.mediabox.width), float(page.mediabox.height)) == (288.0, 432.0)
    text = page.extract_text()
    for expected in [number, "Ada Lovelace", "350 5th Ave", "SoHo store", "120 Spring St", order.number]:
        assert expected in text, expected
    image = pypdfium2.PdfDocument(data)[0].render(scale=300 / 72).to_pil()
    assert [(b.format, b.text) for b in zxingcpp.read_barcodes(image)] == [
        (zxingcpp.BarcodeFormat.Code128, number)
    ]

    staff_api.post(f"{URL}{rma['id']}/cancel/", {}, format="json")
    refused = staff_api.get(f"{URL}{rma['id']}/label/")
    assert refused.status_code == 409 and error(refused)["code"] == "no_label"


# --- Return policies -----------------------------------------------------------------------


def test_policy_get_and_put(api, staff_api, channel, warehouse, sku):
    url = f"/api/v1/return-policies/{channel.code}/"
    built_in = staff_api.get(url).json()
    assert (built_in["channel"], built_in["inherited"], built_in["window_days"]) == (channel.code, True, 30)

    default = staff_api.put(
        "/api/v1/return-policies/default/",
        {"window_days": 14, "instructions": "Print the label."},
        format="json",
    )
    assert default.status_code == 200, default.json()
    assert (default.json()["channel"], default.json()["inherited"]) == (None, False)
    inherited = api.get(url).json()  # the channel reads its own
    assert (inherited["inherited"], inherited["window_days"], inherited["instructions"]) == (
        True,
        14,
        "Print the label.",
    )

    body = {
        "window_days": 60,
        "non_returnable_skus": [sku.code],
        "non_returnable_categories": ["gift cards"],
        "restocking_fee_pct": "15.00",
        "return_shipping_paid_by": "merchant",
        "refund_original_shipping": True,
        "locations": [warehouse.code],
    }
    own = staff_api.put(url, body, format="json")
    assert own.status_code == 200, own.json()
    assert own.json() | {"updated_at": None} == {
        **body,
        "channel": channel.code,
        "inherited": False,
        "instructions": "",
        "updated_at": None,
    }
    policy = ReturnPolicy.objects.get(channel=channel)
    assert (policy.window_days, list(policy.locations.all())) == (60, [warehouse])
    assert staff_api.put(url, {**body, "window_days": 30}, format="json").json()["window_days"] == 30
    assert ReturnPolicy.objects.filter(channel=channel).count() == 1

    for bad, field in [
        ({"locations": ["NOWHERE"]}, "locations"),
        ({"non_returnable_skus": ["NO-SUCH-SKU"]}, "non_returnable_skus"),
        ({"restocking_fee_pct": "101"}, "restocking_fee_pct"),
        ({"window_days": -1}, "window_days"),
        ({"return_shipping_paid_by": "carrier"}, "return_shipping_paid_by"),
        ({"windows": 3}, "windows"),
    ]:
        response = staff_api.put(url, bad, format="json")
        assert response.status_code == 400 and field in error(response)["fields"], (bad, response.json())
    assert ReturnPolicy.objects.get(channel=channel).window_days == 30
    assert api.put(url, body, format="json").status_code == 403
    assert api.get("/api/v1/return-policies/default/").status_code == 404
    assert staff_api.get("/api/v1/return-policies/NOPE/").status_code == 404


# --- The case queue ------------------------------------------------------------------------


def test_the_case_queue_lists_open_cases_first_and_staff_update_them(
    staff_api, shipped_order, django_user_model
):
    order, _ = shipped_order
    customer = order.customer
    now = timezone.now()

    def case(subject, status, kind="other", age=0):
        made = CustomerCase.objects.create(
            customer=customer, order=order, kind=kind, status=status, subject=subject
        )
        CustomerCase.objects.filter(pk=made.pk).update(created_at=now - timedelta(days=age))
        return made

    done = case("done", "resolved", age=9)
    working = case("working", "in_progress", age=8)
    newer = case("newer", "open", kind="missing_item", age=1)
    older = case("older", "open", age=5)

    listed = staff_api.get("/api/v1/cases/").json()["results"]
    assert [c["subject"] for c in listed] == ["older", "newer", "working", "done"]
    assert listed[1]["order_number"] == order.number and listed[1]["customer_email"] == customer.email
    kind = staff_api.get("/api/v1/cases/", {"kind": "missing_item"}).json()["results"]
    assert [c["id"] for c in kind] == [newer.pk]
    open_ = staff_api.get("/api/v1/cases/", {"status": ["open", "in_progress"]}).json()["results"]
    assert [c["id"] for c in open_] == [older.pk, newer.pk, working.pk]

    agent = django_user_model.objects.create_user("agent", password="x", is_staff=True)
    url = f"/api/v1/cases/{older.pk}/"
    taken = staff_api.patch(url, {"status": "in_progress", "assigned_to": agent.pk}, format="json")
    assert taken.status_code == 200, taken.json()
    assert (taken.json()["status"], taken.json()["assigned_to_username"]) == ("in_progress", "agent")
    resolved = staff_api.patch(url, {"status": "resolved"}, format="json").json()
    assert resolved["resolved_at"] is not None and resolved["assigned_to"] == agent.pk
    reopened = staff_api.patch(url, {"status": "open", "assigned_to": None}, format="json").json()
    assert (reopened["resolved_at"], reopened["assigned_to"]) == (None, None)

    customer_user = django_user_model.objects.create_user("shopper", password="x")
    for bad, field in [
        ({}, "status"),
        ({"status": "closed"}, "status"),
        ({"assigned_to": customer_user.pk}, "assigned_to"),
        ({"subject": "x"}, "subject"),
    ]:
        response = staff_api.patch(url, bad, format="json")
        assert response.status_code == 400 and field in error(response)["fields"], (bad, response.json())
    assert staff_api.patch("/api/v1/cases/999999/", {"status": "open"}, format="json").status_code == 404
    assert CustomerCase.objects.get(pk=done.pk).status == "resolved"


# --- Query counts --------------------------------------------------------------------------


def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_query_counts_do_not_grow_with_returns_or_cases(api, staff_api, shipped_order):
    order, _ = shipped_order
    shirt, jacket = lines_by_price(order)
    lists = [(api, URL), (staff_api, URL), (staff_api, "/api/v1/cases/")]
    ask(api, order, (shirt, 1, "size_fit"))
    CustomerCase.objects.create(customer=order.customer, order=order, kind="other", subject="one")
    before = [count_queries(client, url) for client, url in lists]

    ask(api, order, (shirt, 1, "damaged"), (jacket, 1, "defective"))
    for i in range(3):
        CustomerCase.objects.create(customer=order.customer, kind="other", subject=f"more {i}")
    assert ReturnRequest.objects.count() == 2
    assert [count_queries(client, url) for client, url in lists] == before
