"""Bad input gets a 4xx naming the field and the problem, and writes nothing."""

from __future__ import annotations

import pytest

from customers.models import Customer
from inventory.models import Reservation, StockLevel, StockMovement
from oms.models import OutboxEvent
from orders.models import IdempotencyKey, Order
from tests.factories import order_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def nothing_written(sku):
    """Snapshot of everything an order touches; asserts it did not change."""

    def snapshot():
        return (
            Order.objects.count(),
            Customer.objects.count(),
            StockMovement.objects.count(),
            Reservation.objects.count(),
            OutboxEvent.objects.count(),
            IdempotencyKey.objects.count(),
            list(StockLevel.objects.values_list("on_hand", "allocated", "soft_reserved")),
        )

    before = snapshot()
    yield
    assert snapshot() == before


def error_of(response, status=400):
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()["error"]
    assert body["code"] and body["message"]
    return body


def test_unknown_sku(api, sku, nothing_written):
    body = error_of(api.post("/api/v1/orders/", order_payload("NO-SUCH-SKU"), format="json"))
    assert body["code"] == "unknown_sku"
    assert body["fields"] == {"lines[0].sku": ["unknown SKU 'NO-SUCH-SKU'"]}


@pytest.mark.parametrize("quantity", [0, -1, 10**9, 2.5, "many", None, True])
def test_bad_quantities(api, sku, nothing_written, quantity):
    payload = order_payload(sku.code)
    payload["lines"][0]["quantity"] = quantity
    body = error_of(api.post("/api/v1/orders/", payload, format="json"))
    assert "lines[0].quantity" in body["fields"]


def test_quantity_above_stock_is_a_conflict(api, sku, nothing_written):
    body = error_of(api.post("/api/v1/orders/", order_payload(sku.code, 101), format="json"), 409)
    assert body["code"] == "insufficient_stock"
    assert body["fields"]["lines[0].quantity"] == [
        f"only 100 of {sku.code} available in one warehouse (100 in all)"
    ]


def test_wrong_currency(api, sku, nothing_written):
    body = error_of(api.post("/api/v1/orders/", order_payload(sku.code, currency="EUR"), format="json"))
    assert body["code"] == "wrong_currency"
    assert "currency" in body["fields"]


def test_unknown_currency_code(api, sku, nothing_written):
    body = error_of(api.post("/api/v1/orders/", order_payload(sku.code, currency="XXX"), format="json"))
    assert "currency" in body["fields"]


def test_malformed_json(api, sku, nothing_written):
    response = api.post(
        "/api/v1/orders/", data='{"currency": "USD", "lines": [', content_type="application/json"
    )
    assert error_of(response)["code"] == "malformed_request"


def test_body_must_be_an_object(api, sku, nothing_written):
    response = api.post("/api/v1/orders/", data="[1, 2]", content_type="application/json")
    assert error_of(response)["code"] == "invalid"


@pytest.mark.parametrize("missing", ["currency", "customer", "shipping_address", "lines"])
def test_missing_fields(api, sku, nothing_written, missing):
    payload = order_payload(sku.code)
    del payload[missing]
    body = error_of(api.post("/api/v1/orders/", payload, format="json"))
    assert body["fields"][missing] == ["This field is required."]


def test_missing_nested_fields(api, sku, nothing_written):
    payload = order_payload(sku.code)
    del payload["shipping_address"]["line1"]
    payload["customer"]["email"] = "not-an-email"
    body = error_of(api.post("/api/v1/orders/", payload, format="json"))
    assert set(body["fields"]) == {"shipping_address.line1", "customer.email"}


def test_unknown_field_is_refused(api, sku, nothing_written):
    payload = order_payload(sku.code)
    payload["lines"][0]["quantiy"] = 3
    body = error_of(api.post("/api/v1/orders/", payload, format="json"))
    assert body["fields"] == {"lines[0].quantiy": ["unknown field"]}


def test_empty_lines(api, sku, nothing_written):
    body = error_of(api.post("/api/v1/orders/", order_payload(sku.code, lines=[]), format="json"))
    assert "lines" in body["fields"]


def test_bad_country(api, sku, nothing_written):
    payload = order_payload(sku.code)
    payload["shipping_address"]["country"] = "ZZ"
    body = error_of(api.post("/api/v1/orders/", payload, format="json"))
    assert body["fields"]["shipping_address.country"] == ["'ZZ' is not an ISO 3166-1 alpha-2 country code."]


def test_invalid_card_number(api, sku, nothing_written):
    payload = order_payload(sku.code)
    payload["payment"]["card"]["number"] = "4242424242424241"  # fails the Luhn check
    body = error_of(api.post("/api/v1/orders/", payload, format="json"), 402)
    assert body["fields"] == {"payment.card.number": ["The card number is not valid."]}


def test_expired_card(api, sku, nothing_written):
    payload = order_payload(sku.code)
    payload["payment"]["card"]["exp_year"] = 2020
    body = error_of(api.post("/api/v1/orders/", payload, format="json"), 402)
    assert body["details"]["reason"] == "expired_card"


def test_missing_payment(api, sku, nothing_written):
    body = error_of(api.post("/api/v1/orders/", order_payload(sku.code, payment=None), format="json"))
    assert "payment" in body["fields"]


def test_price_mismatch_for_a_priced_channel(api, sku, nothing_written):
    payload = order_payload(sku.code)
    payload["lines"][0]["unit_price"] = "1.00"
    body = error_of(api.post("/api/v1/orders/", payload, format="json"))
    assert body["code"] == "price_mismatch"
    assert body["fields"]["lines[0].unit_price"] == ["is 1.00 but the current price is 10.00"]


def test_too_many_decimals(api, sku, nothing_written):
    payload = order_payload(sku.code)
    payload["lines"][0]["discount"] = "0.001"
    body = error_of(api.post("/api/v1/orders/", payload, format="json"))
    assert body["fields"]["lines[0].discount"] == ["has more decimals than USD allows"]


def test_discount_larger_than_line(api, sku, nothing_written):
    payload = order_payload(sku.code, 1)
    payload["lines"][0]["discount"] = "10.01"
    body = error_of(api.post("/api/v1/orders/", payload, format="json"))
    assert body["fields"]["lines[0].discount"] == ["is larger than the line amount"]


def test_no_credentials_and_bad_key(client, sku, nothing_written):
    assert (
        client.post("/api/v1/orders/", order_payload(sku.code), content_type="application/json").status_code
        == 401
    )
    response = client.post(
        "/api/v1/orders/",
        order_payload(sku.code),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer wrong",
    )
    assert error_of(response, 401)["code"] == "authentication_failed"


def test_another_channels_order_id(api, sku, nothing_written):
    from rest_framework.test import APIClient

    from tests.factories import channel_with_key

    _, other_key = channel_with_key()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert error_of(other.get("/api/v1/orders/999999/"), 404)["code"] == "not_found"


def test_staff_must_name_a_channel(staff_api, sku, nothing_written):
    body = error_of(staff_api.post("/api/v1/orders/", order_payload(sku.code), format="json"))
    assert body["fields"] == {"channel": ["is required when staff place an order"]}


def test_overlong_idempotency_key(api, sku, nothing_written):
    response = api.post(
        "/api/v1/orders/", order_payload(sku.code), format="json", HTTP_IDEMPOTENCY_KEY="k" * 300
    )
    assert "Idempotency-Key" in error_of(response)["fields"]


def test_availability_needs_known_skus(api, sku):
    assert error_of(api.get("/api/v1/availability/"))["fields"] == {
        "sku": ["give at least one SKU code, e.g. ?sku=ABC-1&sku=ABC-2"]
    }
    assert error_of(api.get("/api/v1/availability/?sku=NOPE"))["code"] == "unknown_sku"
