from __future__ import annotations

from decimal import Decimal

import pytest

from oms.models import OutboxEvent
from orders.models import Order, OrderEvent, Payment
from tests.factories import (
    DECLINED,
    GATEWAY_ERROR,
    NO_FUNDS,
    WarehouseFactory,
    order_payload,
    sku_in_stock,
    stock_level,
    tax_rate,
)

pytestmark = pytest.mark.django_db


def test_places_an_order_with_prices_tax_and_allocation(api, channel, sku, warehouse):
    tax_rate("US", "0.08875", region="NY")
    tax_rate("US", "0.05")
    response = api.post("/api/v1/orders/", order_payload(sku.code, 3), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "allocated"
    assert body["subtotal"] == "30.00"
    assert body["shipping_total"] == "5.00"
    # NY rate (not the country's) on merchandise and shipping, rounded per line.
    assert body["tax_total"] == str(Decimal("2.66") + Decimal("0.44"))
    assert body["grand_total"] == "38.10"
    assert body["warehouse"] == warehouse.code
    assert body["lines"][0]["quantity_allocated"] == 3
    assert body["payments"][0]["status"] == "authorized"
    assert body["payments"][0]["last4"] == "4242"
    assert body["events"][0]["kind"] == "placed"
    assert body["events"][0]["actor"] == f"channel:{channel.code}"
    stock = stock_level(sku, warehouse)
    assert (stock.on_hand, stock.allocated, stock.soft_reserved) == (100, 3, 0)
    assert OutboxEvent.objects.filter(topic="order.placed").count() == 1


def test_card_number_is_never_stored(api, sku):
    api.post("/api/v1/orders/", order_payload(sku.code), format="json")
    payment = Payment.objects.get()
    stored = " ".join(str(v) for v in payment.__dict__.values())
    assert "4242424242424242" not in stored
    assert payment.brand == "visa" and payment.last4 == "4242"


def test_nearest_warehouse_that_can_ship_everything_wins(api, channel):
    near = WarehouseFactory(code="NEAR", latitude=Decimal("40.75"), longitude=Decimal("-73.99"))
    far = WarehouseFactory(code="FAR", latitude=Decimal("39.53"), longitude=Decimal("-119.81"))
    a = sku_in_stock(channel=channel, warehouse=far, quantity=5)
    from inventory.services import stock_receive

    stock_receive(warehouse_id=near.pk, sku_id=a.pk, quantity=1, reference="test")
    b = sku_in_stock(channel=channel, warehouse=far, quantity=5)
    stock_receive(warehouse_id=near.pk, sku_id=b.pk, quantity=5, reference="test")

    only_b = api.post("/api/v1/orders/", order_payload(b.code, 2), format="json").json()
    assert only_b["warehouse"] == "NEAR"
    payload = order_payload(a.code, 2)
    payload["lines"].append({"sku": b.code, "quantity": 1})
    both = api.post("/api/v1/orders/", payload, format="json").json()
    assert both["warehouse"] == "FAR"  # NEAR cannot ship 2 x a


@pytest.mark.parametrize(
    ("card", "status", "reason"),
    [(DECLINED, 402, "card_declined"), (NO_FUNDS, 402, "insufficient_funds"), (GATEWAY_ERROR, 503, None)],
)
def test_failed_payment_rejects_order_and_releases_stock(api, sku, warehouse, card, status, reason):
    response = api.post(
        "/api/v1/orders/",
        order_payload(sku.code, 4, payment={"gateway": "test", "card": card}),
        format="json",
    )
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    if reason:
        assert error["code"] == "payment_declined"
        assert error["details"]["reason"] == reason
    else:
        assert error["code"] == "payment_unavailable"
    assert not Order.objects.exists()
    stock = stock_level(sku, warehouse)
    assert (stock.allocated, stock.soft_reserved) == (0, 0)


def test_idempotency_key_replays_the_same_order(api, sku, warehouse):
    payload = order_payload(sku.code, 2)
    first = api.post("/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    # The 201 is rendered from the objects just written, the replay from the
    # database: they must say exactly the same.
    assert first.json() == again.json()
    assert Order.objects.count() == 1
    assert stock_level(sku, warehouse).allocated == 2


def test_idempotency_key_reused_for_another_request_is_refused(api, sku):
    api.post("/api/v1/orders/", order_payload(sku.code, 1), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    other = api.post("/api/v1/orders/", order_payload(sku.code, 5), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_external_id_is_unique_per_channel(api, sku):
    payload = order_payload(sku.code, 1, external_id="SHOP-1001")
    assert api.post("/api/v1/orders/", payload, format="json").status_code == 201
    again = api.post("/api/v1/orders/", payload, format="json")
    assert again.status_code == 200
    assert Order.objects.count() == 1


def test_declined_then_retried_with_same_key_can_succeed(api, sku):
    bad = order_payload(sku.code, 1, payment={"gateway": "test", "card": DECLINED})
    assert api.post("/api/v1/orders/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3").status_code == 402
    good = order_payload(sku.code, 1)
    response = api.post("/api/v1/orders/", good, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 201


def test_cancel_releases_stock_and_voids_payment(api, sku, warehouse):
    order_id = api.post("/api/v1/orders/", order_payload(sku.code, 3), format="json").json()["id"]
    response = api.post(f"/api/v1/orders/{order_id}/cancel/", {"reason": "customer asked"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["payments"][0]["status"] == "voided"
    assert body["lines"][0]["quantity_cancelled"] == 3
    assert stock_level(sku, warehouse).allocated == 0
    assert OrderEvent.objects.filter(order_id=order_id, kind="cancelled").exists()
    again = api.post(f"/api/v1/orders/{order_id}/cancel/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


def test_price_authoritative_channel_checks_totals(db, warehouse):
    from rest_framework.test import APIClient

    from tests.factories import channel_with_key

    _, key = channel_with_key(code="MKT", price_authority=True, currency="GBP")
    tax_rate("GB", "0.20")
    sku = sku_in_stock(warehouse=warehouse, quantity=10)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    lines = [
        {"sku": sku.code, "quantity": 2, "unit_price": "12.50", "discount": "5.00", "tax_amount": "4.00"}
    ]
    payload = order_payload(
        sku.code,
        currency="GBP",
        lines=lines,
        shipping_amount="3.00",
        total="27.60",
        external_id="MKT-1",
        shipping_address={"name": "B", "line1": "1 High St", "city": "London", "country": "GB"},
    )
    wrong = client.post("/api/v1/orders/", {**payload, "total": "30.00"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "totals_mismatch"
    assert "total" in wrong.json()["error"]["fields"]
    # 25.00 - 5.00 + 3.00 shipping + (4.00 line tax + 0.60 shipping tax) = 27.60
    ok = client.post("/api/v1/orders/", payload, format="json")
    assert ok.status_code == 201, ok.json()
    assert ok.json()["grand_total"] == "27.60"


def test_other_channels_order_is_not_found(api, sku, db):
    from rest_framework.test import APIClient

    from tests.factories import channel_with_key

    order_id = api.post("/api/v1/orders/", order_payload(sku.code), format="json").json()["id"]
    _, other_key = channel_with_key()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert other.get(f"/api/v1/orders/{order_id}/").status_code == 404
    assert other.post(f"/api/v1/orders/{order_id}/cancel/", {}, format="json").status_code == 404
    assert other.get("/api/v1/orders/").json()["count"] == 0
    assert Order.objects.get(pk=order_id).status == "allocated"


def test_external_id_and_idempotency_key_together(api, sku):
    payload = order_payload(sku.code, 1, external_id="SHOP-77")
    first = api.post("/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-a")
    assert first.status_code == 201
    # Same order sent again under another key: it is the same channel order.
    again = api.post("/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-b")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    # A different order reusing the external id is refused, naming the field.
    other = api.post("/api/v1/orders/", order_payload(sku.code, 4, external_id="SHOP-77"), format="json")
    assert other.status_code == 409
    assert other.json()["error"]["fields"] == {"external_id": ["already used for a different request"]}
    assert Order.objects.count() == 1
