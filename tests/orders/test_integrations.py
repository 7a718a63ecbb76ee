"""Inbound channel adapters: Shopify and WooCommerce webhooks and CSV batches.

Payloads follow each platform's documented format (Shopify's REST order
resource as sent by the `orders/create` webhook, WooCommerce's REST v3 order
as sent by the `order.created` webhook), with a second currency, discounts,
taxes and shipping lines. Signatures are computed here the way each platform
documents it: base64 of HMAC-SHA256 over the raw body with the shared secret.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from orders.models import ChannelIntegration, InboundOrder, Order, Payment
from tests.factories import ChannelFactory, WarehouseFactory, sku_in_stock, stock_level, tax_rate

pytestmark = pytest.mark.django_db

SHOPIFY_SECRET = "shpss_0123456789abcdef"
WOO_SECRET = "wc-webhook-secret-42"
SHOPIFY_URL = "/api/v1/integrations/shopify/SHOP-EU/orders/"
WOO_URL = "/api/v1/integrations/woocommerce/WOO-UK/orders/"


@pytest.fixture(autouse=True)
def _platform_gateway(settings):
    settings.PAYMENT_GATEWAYS = {
        **settings.PAYMENT_GATEWAYS,
        "platform": "orders.integrations.gateway.PlatformGateway",
    }


@pytest.fixture
def warehouse():
    return WarehouseFactory(code="DC-NJ")


@pytest.fixture
def shop(db):
    # A Shopify store selling to EU customers in EUR (its own currency is USD).
    channel = ChannelFactory(code="SHOP-EU", currency="EUR", price_authority=True, kind="web")
    ChannelIntegration.objects.create(channel=channel, platform="shopify", webhook_secret=SHOPIFY_SECRET)
    tax_rate("DE", "0.19")
    return channel


@pytest.fixture
def woo(db):
    channel = ChannelFactory(code="WOO-UK", currency="GBP", price_authority=True, kind="web")
    ChannelIntegration.objects.create(channel=channel, platform="woocommerce", webhook_secret=WOO_SECRET)
    tax_rate("GB", "0.20")
    return channel


@pytest.fixture
def skus(warehouse):
    return (
        sku_in_stock(warehouse=warehouse, quantity=10, code="TEE-BLK-M"),
        sku_in_stock(warehouse=warehouse, quantity=10, code="MUG-WHT", barcode="4006381333931"),
    )


def _set(shop_amount: str, presentment_amount: str) -> dict:
    return {
        "shop_money": {"amount": shop_amount, "currency_code": "USD"},
        "presentment_money": {"amount": presentment_amount, "currency_code": "EUR"},
    }


def shopify_order(**overrides) -> dict:
    """An orders/create body: 2 x 25.00 EUR tee with a 5.00 discount and 19%
    tax, 1 mug (by its barcode) at 10.00, 5.00 shipping taxed at 19%. The
    shop's own currency is USD, and its amounts differ, so a mix-up shows."""
    order = {
        "id": 5940139491234,
        "admin_graphql_api_id": "gid://shopify/Order/5940139491234",
        "name": "#1001",
        "email": "Jon@Example.com",
        "created_at": "2024-11-10T10:30:00-05:00",
        "currency": "USD",
        "presentment_currency": "EUR",
        "taxes_included": False,
        "financial_status": "paid",
        "cancelled_at": None,
        "note": "Leave at the door",
        "subtotal_price": "55.00",
        "subtotal_price_set": _set("60.50", "55.00"),
        "total_discounts": "5.50",
        "total_discounts_set": _set("5.50", "5.00"),
        "total_tax": "12.54",
        "total_tax_set": _set("12.54", "11.40"),
        "total_price": "78.54",
        "total_price_set": _set("78.54", "71.40"),
        "line_items": [
            {
                "id": 866550311766439020,
                "sku": "TEE-BLK-M",
                "title": "Tee",
                "quantity": 2,
                "price": "27.50",
                "price_set": _set("27.50", "25.00"),
                "total_discount": "5.50",
                "total_discount_set": _set("5.50", "5.00"),
                "discount_allocations": [
                    {"amount": "5.50", "amount_set": _set("5.50", "5.00"), "discount_application_index": 0}
                ],
                "tax_lines": [
                    {"title": "MwSt", "rate": 0.19, "price": "9.41", "price_set": _set("9.41", "8.55")}
                ],
            },
            {
                "id": 141249953214522974,
                "sku": "4006381333931",
                "title": "Mug",
                "quantity": 1,
                "price": "11.00",
                "price_set": _set("11.00", "10.00"),
                "total_discount": "0.00",
                "discount_allocations": [],
                "tax_lines": [
                    {"title": "MwSt", "rate": 0.19, "price": "2.09", "price_set": _set("2.09", "1.90")}
                ],
            },
        ],
        "shipping_lines": [
            {
                "id": 271878346596884015,
                "title": "Standard",
                "price": "5.50",
                "price_set": _set("5.50", "5.00"),
                "discounted_price": "5.50",
                "discounted_price_set": _set("5.50", "5.00"),
                "discount_allocations": [],
                "tax_lines": [
                    {"title": "MwSt", "rate": 0.19, "price": "1.05", "price_set": _set("1.05", "0.95")}
                ],
            }
        ],
        "shipping_address": {
            "first_name": "Jon",
            "last_name": "Doe",
            "name": "Jon Doe",
            "address1": "Friedrichstr. 123",
            "address2": None,
            "city": "Berlin",
            "province": "Berlin",
            "province_code": "BE",
            "zip": "10117",
            "country": "Germany",
            "country_code": "DE",
            "phone": "+49 30 1234567",
            "company": None,
            "latitude": 52.5200066,
            "longitude": 13.404954,
        },
        "billing_address": {
            "first_name": "Jon",
            "last_name": "Doe",
            "name": "Jon Doe",
            "address1": "Friedrichstr. 123",
            "city": "Berlin",
            "province_code": "BE",
            "zip": "10117",
            "country_code": "DE",
        },
        "customer": {
            "id": 115310627314723954,
            "email": "jon@example.com",
            "first_name": "Jon",
            "last_name": "Doe",
        },
    }
    order.update(overrides)
    return order


def signed_post(
    url: str, payload: dict | bytes, *, secret: str, headers: dict, client: APIClient | None = None
):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    platform_headers = {
        "HTTP_" + name.upper().replace("-", "_"): value.replace("{sig}", signature)
        for name, value in headers.items()
    }
    return (client or APIClient()).post(url, data=body, content_type="application/json", **platform_headers)


def post_shopify(payload, *, secret: str = SHOPIFY_SECRET, topic: str = "orders/create"):
    return signed_post(
        SHOPIFY_URL,
        payload,
        secret=secret,
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": "{sig}",
            "X-Shopify-Shop-Domain": "example.myshopify.com",
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        },
    )


# --- Shopify --------------------------------------------------------------------------


def test_shopify_order_is_placed_in_the_customers_currency_with_platform_prices(shop, skus, warehouse):
    response = post_shopify(shopify_order())
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "placed", body
    order = Order.objects.get(pk=body["order_id"])
    assert order.channel == shop and order.external_id == "5940139491234"
    assert order.source == Order.Source.IMPORT
    assert order.currency == "EUR"  # presentment money, not the shop's USD amounts
    assert (order.subtotal, order.discount_total, order.shipping_total) == (
        Decimal("60.00"),
        Decimal("5.00"),
        Decimal("5.00"),
    )
    # Line taxes as Shopify charged them (8.55 + 1.90) plus 19% on shipping.
    assert order.tax_total == Decimal("11.40")
    assert order.grand_total == Decimal("71.40")
    lines = list(order.lines.order_by("line_number"))
    assert [(ln.sku.code, ln.quantity, ln.unit_price, ln.discount, ln.tax_amount) for ln in lines] == [
        ("TEE-BLK-M", 2, Decimal("25.00"), Decimal("5.00"), Decimal("8.55")),
        ("MUG-WHT", 1, Decimal("10.00"), Decimal("0.00"), Decimal("1.90")),  # found by barcode
    ]
    assert lines[0].external_id == "866550311766439020"
    assert order.ship_country == "DE"
    assert order.shipping_address["line1"] == "Friedrichstr. 123"
    assert order.shipping_address["region"] == "BE"
    assert order.billing_address["postal_code"] == "10117"
    assert order.customer.email == "jon@example.com" and order.customer.first_name == "Jon"
    assert "Shopify order #1001" in order.notes
    payment = Payment.objects.get(order=order)
    assert payment.gateway == "platform" and payment.amount_authorized == Decimal("71.40")
    assert stock_level(skus[0], warehouse).allocated == 2
    inbound = InboundOrder.objects.get()
    assert inbound.payload["name"] == "#1001" and inbound.order == order and inbound.platform == "shopify"


@pytest.mark.parametrize(
    "tamper",
    ["wrong_secret", "missing_header", "changed_body", "unknown_channel", "no_secret_set"],
)
def test_bad_or_missing_signature_is_401_and_stores_nothing(shop, skus, tamper):
    payload = shopify_order()
    body = json.dumps(payload).encode()
    url, secret, headers = SHOPIFY_URL, SHOPIFY_SECRET, {"X-Shopify-Topic": "orders/create"}
    headers["X-Shopify-Hmac-Sha256"] = "{sig}"
    if tamper == "wrong_secret":
        secret = "not-the-secret"
    elif tamper == "missing_header":
        del headers["X-Shopify-Hmac-Sha256"]
    elif tamper == "unknown_channel":
        url = "/api/v1/integrations/shopify/NOPE/orders/"
    elif tamper == "no_secret_set":
        ChannelIntegration.objects.filter(channel=shop).update(webhook_secret="")
        secret = ""
    if tamper == "changed_body":
        signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        forged = body.replace(b'"total_price": "78.54"', b'"total_price": "0.01"')
        assert forged != body
        response = APIClient().post(
            url,
            data=forged,
            content_type="application/json",
            HTTP_X_SHOPIFY_TOPIC="orders/create",
            HTTP_X_SHOPIFY_HMAC_SHA256=signature,
        )
    else:
        response = signed_post(url, body, secret=secret, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert InboundOrder.objects.count() == 0
    assert Order.objects.count() == 0


def test_a_duplicate_delivery_gives_one_order(shop, skus, warehouse):
    first = post_shopify(shopify_order())
    again = post_shopify(shopify_order())
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["order_id"] == first.json()["order_id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    assert InboundOrder.objects.get().deliveries == 2
    assert stock_level(skus[0], warehouse).allocated == 2


def test_unknown_sku_is_held_with_the_reason_and_placed_on_retry(shop, skus, warehouse, staff_api):
    payload = shopify_order()
    payload["line_items"][1]["sku"] = "CAP-RED"
    response = post_shopify(payload)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "held"
    assert "line_items[1].sku" in body["reason"] and "CAP-RED" in body["reason"]
    assert body["problems"] == {"line_items[1].sku": ["unknown SKU or barcode 'CAP-RED'"]}
    assert body["order_id"] is None
    assert Order.objects.count() == 0
    assert stock_level(skus[0], warehouse).soft_reserved == 0  # nothing held back for it
    # A repeat delivery does not place it either: staff fix the cause, then retry.
    assert post_shopify(payload).json()["status"] == "held"
    sku_in_stock(warehouse=warehouse, quantity=5, code="CAP-RED")
    retried = staff_api.post(f"/api/v1/integrations/inbound-orders/{body['id']}/retry/")
    assert retried.status_code == 200, retried.json()
    assert retried.json()["status"] == "placed" and retried.json()["reason"] == ""
    order = Order.objects.get()
    assert order.external_id == "5940139491234" and order.grand_total == Decimal("71.40")
    assert order.created_by is not None  # the staff member who retried it
    again = staff_api.post(f"/api/v1/integrations/inbound-orders/{body['id']}/retry/")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


def test_a_total_that_does_not_add_up_is_held(shop, skus):
    payload = shopify_order(total_price_set=_set("78.54", "70.00"))
    body = post_shopify(payload).json()
    assert body["status"] == "held"
    assert body["reason"].startswith("total: is 70.00 but")
    assert "71.40" in body["reason"]
    assert Order.objects.count() == 0


def test_another_currency_is_held(shop, skus):
    payload = shopify_order(currency="USD", presentment_currency="USD")
    body = post_shopify(payload).json()
    assert body["status"] == "held"
    assert "USD" in body["reason"] and "sells in EUR" in body["reason"]
    assert list(body["problems"]) == ["presentment_currency"]
    assert Order.objects.count() == 0


def test_shop_currency_is_used_when_it_is_the_channels(shop, skus):
    # A channel in the shop's currency books the shop_money amounts.
    shop.currency = "USD"
    shop.save()
    tax_free = shopify_order()
    for item in tax_free["line_items"]:
        item["tax_lines"] = []
    tax_free["shipping_lines"][0]["tax_lines"] = []
    tax_free["shipping_address"]["country_code"] = "FR"  # no tax rate for FR here
    # USD: 2 x 27.50 + 11.00 - 5.50 discount + 5.50 shipping = 66.00
    tax_free["total_price_set"] = _set("66.00", "60.00")
    body = post_shopify(tax_free).json()
    assert body["status"] == "placed", body
    order = Order.objects.get()
    assert order.currency == "USD" and order.grand_total == Decimal("66.00")


def test_stock_refusal_is_held(shop, skus):
    payload = shopify_order()
    payload["line_items"][0]["quantity"] = 50
    payload["line_items"][0]["tax_lines"] = []
    payload["line_items"][0]["discount_allocations"] = []
    payload["line_items"][1]["tax_lines"] = []
    payload["total_price_set"] = _set("0", "1265.95")  # 50 x 25 + 10 + 5 + 0.95 shipping tax
    body = post_shopify(payload).json()
    assert body["status"] == "held"
    assert "only 10 of TEE-BLK-M available" in body["reason"]
    assert Order.objects.count() == 0


def test_a_signed_delivery_of_another_topic_is_ignored(shop, skus):
    response = post_shopify(shopify_order(), topic="orders/updated")
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert InboundOrder.objects.count() == 0


def test_signed_but_not_an_order_is_a_400_naming_the_field(shop):
    response = post_shopify(b"[1, 2]")
    assert response.status_code == 400 and "body" in response.json()["error"]["fields"]
    response = post_shopify({"email": "x@example.com"})
    assert response.status_code == 400 and "id" in response.json()["error"]["fields"]
    assert InboundOrder.objects.count() == 0


def test_a_payload_of_an_unexpected_shape_is_held_not_a_500(shop, skus):
    payload = shopify_order()
    payload["line_items"][0]["quantity"] = "two"
    body = post_shopify(payload).json()
    assert body["status"] == "held" and "line_items[0].quantity" in body["reason"]
    body = post_shopify(shopify_order(id=777, shipping_lines="free")).json()
    assert body["status"] == "held" and "shipping_lines[0]" in body["reason"]


def test_staff_reject_a_held_delivery(shop, skus, staff_api):
    payload = shopify_order()
    payload["line_items"][0]["sku"] = "GONE"
    inbound_id = post_shopify(payload).json()["id"]
    response = staff_api.post(
        f"/api/v1/integrations/inbound-orders/{inbound_id}/reject/", {"reason": "cancelled"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "rejected" and "cancelled" in response.json()["reason"]
    assert staff_api.post(f"/api/v1/integrations/inbound-orders/{inbound_id}/retry/").status_code == 409
    listed = staff_api.get("/api/v1/integrations/inbound-orders/", {"status": "rejected"}).json()
    assert [r["id"] for r in listed["results"]] == [inbound_id]
    detail = staff_api.get(f"/api/v1/integrations/inbound-orders/{inbound_id}/").json()
    assert detail["payload"]["line_items"][0]["sku"] == "GONE"


def test_staff_endpoints_need_staff(shop, api):
    assert APIClient().get("/api/v1/integrations/inbound-orders/").status_code in {401, 403}
    assert api.get("/api/v1/integrations/inbound-orders/").status_code == 403


# --- WooCommerce ----------------------------------------------------------------------


def woo_order(**overrides) -> dict:
    """An order.created body: 3 tees at 10.00 with a 3.00 coupon and 20% VAT,
    4.00 flat-rate shipping with 0.80 VAT; total 37.20 GBP."""
    order = {
        "id": 727,
        "parent_id": 0,
        "number": "727",
        "order_key": "wc_order_58d2d042d1d",
        "created_via": "checkout",
        "status": "processing",
        "currency": "GBP",
        "prices_include_tax": False,
        "date_created": "2024-03-22T16:28:02",
        "discount_total": "3.00",
        "discount_tax": "0.60",
        "shipping_total": "4.00",
        "shipping_tax": "0.80",
        "cart_tax": "5.40",
        "total": "37.20",
        "total_tax": "6.20",
        "customer_id": 0,
        "billing": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "",
            "address_1": "12 St James's Square",
            "address_2": "",
            "city": "London",
            "state": "",
            "postcode": "SW1Y 4JH",
            "country": "GB",
            "email": "ada@example.co.uk",
            "phone": "+44 20 7946 0000",
        },
        "shipping": {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "company": "",
            "address_1": "12 St James's Square",
            "address_2": "",
            "city": "London",
            "state": "",
            "postcode": "SW1Y 4JH",
            "country": "GB",
        },
        "payment_method": "stripe",
        "payment_method_title": "Credit card",
        "transaction_id": "ch_1",
        "customer_note": "",
        "line_items": [
            {
                "id": 315,
                "name": "Tee",
                "product_id": 93,
                "variation_id": 0,
                "quantity": 3,
                "tax_class": "",
                "subtotal": "30.00",
                "subtotal_tax": "6.00",
                "total": "27.00",
                "total_tax": "5.40",
                "taxes": [{"id": 1, "total": "5.4", "subtotal": "6"}],
                "sku": "TEE-BLK-M",
                "price": 9,
            }
        ],
        "tax_lines": [
            {"id": 318, "rate_code": "GB-VAT-1", "rate_id": 1, "label": "VAT", "tax_total": "5.40"}
        ],
        "shipping_lines": [
            {
                "id": 316,
                "method_title": "Flat rate",
                "method_id": "flat_rate",
                "total": "4.00",
                "total_tax": "0.80",
            }
        ],
        "fee_lines": [],
        "coupon_lines": [{"id": 317, "code": "spring10", "discount": "3.00", "discount_tax": "0.60"}],
    }
    order.update(overrides)
    return order


def post_woo(payload, *, secret: str = WOO_SECRET, topic: str = "order.created"):
    return signed_post(
        WOO_URL,
        payload,
        secret=secret,
        headers={
            "X-WC-Webhook-Source": "https://shop.example.co.uk/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": "order",
            "X-WC-Webhook-Event": "created",
            "X-WC-Webhook-Signature": "{sig}",
            "X-WC-Webhook-ID": "12",
            "X-WC-Webhook-Delivery-ID": "9a4e3b2c",
        },
    )


def test_woocommerce_order_is_placed_with_coupon_tax_and_shipping(woo, skus):
    response = post_woo(woo_order())
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "placed", response.json()
    order = Order.objects.get()
    assert order.channel == woo and order.external_id == "727" and order.currency == "GBP"
    assert (
        order.subtotal,
        order.discount_total,
        order.shipping_total,
        order.tax_total,
        order.grand_total,
    ) == (
        Decimal("30.00"),
        Decimal("3.00"),
        Decimal("4.00"),
        Decimal("6.20"),
        Decimal("37.20"),
    )
    line = order.lines.get()
    assert (line.unit_price, line.discount, line.tax_amount, line.external_id) == (
        Decimal("10.00"),
        Decimal("3.00"),
        Decimal("5.40"),
        "315",
    )
    assert order.shipping_address["postal_code"] == "SW1Y 4JH"
    assert order.customer.email == "ada@example.co.uk"
    assert "spring10" in order.notes
    # The same order again: no second order.
    assert post_woo(woo_order()).status_code == 200
    assert Order.objects.count() == 1


def test_woocommerce_bad_signature_is_401_and_ping_is_answered(woo, skus):
    assert post_woo(woo_order(), secret="wrong").status_code == 401
    unsigned = APIClient().post(
        WOO_URL,
        data=json.dumps(woo_order()),
        content_type="application/json",
        HTTP_X_WC_WEBHOOK_TOPIC="order.created",
    )
    assert unsigned.status_code == 401
    ping = APIClient().post(WOO_URL, data=b"webhook_id=12", content_type="application/x-www-form-urlencoded")
    assert ping.status_code == 200 and ping.json() == {"status": "ping"}
    assert InboundOrder.objects.count() == 0 and Order.objects.count() == 0


def test_woocommerce_line_amount_not_divisible_by_quantity_keeps_the_line_total(woo, skus):
    payload = woo_order(total="27.80", total_tax="0.80", cart_tax="0.00", discount_total="0.00")
    payload["line_items"] = [
        {
            "id": 1,
            "sku": "TEE-BLK-M",
            "quantity": 3,
            "subtotal": "23.00",
            "subtotal_tax": "0",
            "total": "23.00",
            "total_tax": "0",
        }
    ]
    body = post_woo(payload).json()
    assert body["status"] == "placed", body
    line = Order.objects.get().lines.get()
    # 7.67 x 3 = 23.01, less 0.01: the line still comes to what the shop charged.
    assert (line.unit_price, line.discount, line.line_total) == (
        Decimal("7.67"),
        Decimal("0.01"),
        Decimal("23.00"),
    )


def test_woocommerce_fees_and_cancelled_orders_are_held(woo, skus):
    fee = woo_order(id=728, fee_lines=[{"id": 1, "name": "Gift wrap", "total": "2.50", "total_tax": "0.50"}])
    body = post_woo(fee).json()
    assert body["status"] == "held" and "Gift wrap" in body["reason"]
    body = post_woo(woo_order(id=729, status="cancelled")).json()
    assert body["status"] == "held" and "cancelled" in body["reason"]
    assert Order.objects.count() == 0


# --- CSV ------------------------------------------------------------------------------

CSV = (
    (
        "order_id,sku,quantity,email,first_name,last_name,ship_name,ship_line1,ship_city,ship_postal_code,"
        "ship_country,unit_price,discount,tax,shipping,total\n"
    )
    + """MKT-1,TEE-BLK-M,2,ann@example.com,Ann,Lee,Ann Lee,1 High St,London,E1 6AN,GB,12.50,5.00,4.00,3.00,
MKT-1,4006381333931,1,,,,,,,,,8.00,0,1.60,,37.20
MKT-2,NOPE-1,1,bob@example.com,Bob,Ray,Bob Ray,2 High St,Leeds,LS1 1AA,GB,10.00,0,2.00,0,12.00
,TEE-BLK-M,1,cy@example.com,,,Cy,3 High St,York,YO1 7HH,GB,10.00,0,2.00,0,12.00
MKT-3,TEE-BLK-M,1,dee@example.com,,,Dee,4 High St,Bath,BA1 1AA,GB,10.00,0,2.00,0,99.00
MKT-4,MUG-WHT,1,eve@example.com,,,Eve,5 High St,Hull,HU1 1AA,GB,8.00,0,1.60,0,9.60
MKT-4,TEE-BLK-M,1,eve@example.com,,,Eve,6 Low St,Hull,HU1 1AA,GB,10.00,0,2.00,0,
"""
)


@pytest.fixture
def marketplace(db):
    channel = ChannelFactory(code="MKT", currency="GBP", price_authority=True, kind="marketplace")
    tax_rate("GB", "0.20")
    return channel


def test_csv_import_groups_rows_into_orders_and_holds_bad_ones(marketplace, skus, tmp_path, capsys):
    path = tmp_path / "batch.csv"
    path.write_text(CSV)
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_orders", "MKT", str(path))
    assert exit_info.value.code == 2  # some orders held
    out = capsys.readouterr().out
    order = Order.objects.get(external_id="MKT-1")
    # Two rows, one order: 2 x 12.50 - 5.00 + 8.00 + 3.00 shipping + 4.00 + 1.60 + 0.60 shipping tax.
    assert [(ln.sku.code, ln.quantity) for ln in order.lines.order_by("line_number")] == [
        ("TEE-BLK-M", 2),
        ("MUG-WHT", 1),
    ]
    assert order.grand_total == Decimal("37.20") and order.discount_total == Decimal("5.00")
    assert order.shipping_address["city"] == "London"
    held = {i.external_id: i for i in InboundOrder.objects.filter(status="held")}
    assert set(held) == {"MKT-2", "MKT-3", "MKT-4"}
    assert "NOPE-1" in held["MKT-2"].reason
    assert held["MKT-3"].reason.startswith("total: is 99.00 but")
    assert "ship_line1" in held["MKT-4"].reason and "differs" in held["MKT-4"].reason
    assert Order.objects.count() == 1
    assert "placed  MKT-1" in out and "held    MKT-2" in out and "NOPE-1" in out
    assert "skipped row 5: order_id is required" in out
    assert "1 placed, 3 held, 1 row(s) unusable." in out
    # The same file again places nothing twice.
    with pytest.raises(SystemExit):
        call_command("import_orders", "MKT", str(path))
    assert Order.objects.count() == 1
    assert "(already imported)" in capsys.readouterr().out


def test_csv_upload_by_staff_reports_each_order(marketplace, skus, staff_api):
    upload = SimpleUploadedFile("batch.csv", CSV.encode(), content_type="text/csv")
    response = staff_api.post("/api/v1/integrations/csv/MKT/orders/", {"file": upload}, format="multipart")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["placed"], body["held"]) == (1, 3)
    outcomes = {o["external_id"]: o for o in body["orders"]}
    assert outcomes["MKT-1"]["rows"] == [2, 3] and outcomes["MKT-1"]["status"] == "placed"
    assert outcomes["MKT-2"]["status"] == "held" and "NOPE-1" in outcomes["MKT-2"]["reason"]
    assert body["row_errors"] == [{"row": 5, "message": "order_id is required"}]


def test_csv_file_problems_name_the_field(marketplace, staff_api):
    bad = SimpleUploadedFile("batch.csv", b"order_id,sku\nA,B\n", content_type="text/csv")
    response = staff_api.post("/api/v1/integrations/csv/MKT/orders/", {"file": bad}, format="multipart")
    assert response.status_code == 400
    assert "missing column(s): quantity" in response.json()["error"]["fields"]["file"][0]
    latin = SimpleUploadedFile("batch.csv", "order_id\nStraße".encode("latin-1"), content_type="text/csv")
    response = staff_api.post("/api/v1/integrations/csv/MKT/orders/", {"file": latin}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["fields"]["file"] == ["is not UTF-8 text"]
    assert InboundOrder.objects.count() == 0


def test_payload_is_stored_as_sent(shop, skus):
    payload = shopify_order()
    post_shopify(copy.deepcopy(payload))
    assert InboundOrder.objects.get().payload == payload


# --- Admin ----------------------------------------------------------------------------


def test_admin_shows_deliveries_hides_the_secret_and_retries(admin_client, shop, skus, warehouse):
    payload = shopify_order()
    payload["line_items"][1]["sku"] = "CAP-RED"
    inbound_id = post_shopify(payload).json()["id"]
    integration = ChannelIntegration.objects.get(channel=shop)
    for url in (
        "/admin/orders/inboundorder/?status__exact=held&platform__exact=shopify",
        f"/admin/orders/inboundorder/{inbound_id}/change/",
        "/admin/orders/channelintegration/",
        f"/admin/orders/channelintegration/{integration.pk}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert SHOPIFY_SECRET not in response.content.decode()
    page = admin_client.get(f"/admin/orders/inboundorder/{inbound_id}/change/").content.decode()
    assert "CAP-RED" in page and "unknown SKU or barcode" in page
    # Saving the integration with the secret left blank keeps it.
    saved = admin_client.post(
        f"/admin/orders/channelintegration/{integration.pk}/change/",
        {"channel": shop.pk, "platform": "shopify", "webhook_secret": "", "is_active": "on"},
    )
    assert saved.status_code == 302
    integration.refresh_from_db()
    assert integration.webhook_secret == SHOPIFY_SECRET
    sku_in_stock(warehouse=warehouse, quantity=5, code="CAP-RED")
    admin_client.post("/admin/orders/inboundorder/", {"action": "retry", "_selected_action": [inbound_id]})
    inbound = InboundOrder.objects.get(pk=inbound_id)
    assert inbound.status == "placed" and inbound.order is not None


def test_the_platform_gateway_never_fakes_giving_money_back():
    """The platform holds the money: a void or refund is refused with what to do, not faked."""
    from orders.integrations.gateway import PlatformGateway
    from orders.payments import GatewayDeclined

    gateway = PlatformGateway()
    auth = gateway.authorize(
        amount=Decimal("10.00"), currency="USD", card=None, token="shopify:1", idempotency_key="k"
    )
    assert gateway.capture(reference=auth.reference, amount=Decimal("10.00"), currency="USD")
    for call in (
        lambda: gateway.void(reference=auth.reference),
        lambda: gateway.refund(reference=auth.reference, amount=Decimal("10.00"), currency="USD"),
    ):
        with pytest.raises(GatewayDeclined) as err:
            call()
        assert err.value.reason == "paid_on_platform" and "refund it there" in err.value.message
