from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from oms.roles import CUSTOMER_SERVICE
from tests.factories import (
    SKUFactory,
    WarehouseFactory,
    channel_with_key,
    order_payload,
    sku_in_stock,
    staff_user,
)

pytestmark = pytest.mark.django_db


def test_sku_list_shows_only_the_channels_catalogue_with_its_price(api, channel, sku, warehouse):
    SKUFactory()  # not sold on this channel
    body = api.get("/api/v1/skus/").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert (item["code"], item["price"], item["currency"], item["total_available"]) == (
        sku.code,
        "10.00",
        "USD",
        100,
    )


def test_sku_detail_has_per_warehouse_availability(api, channel, sku, warehouse):
    api.post("/api/v1/orders/", order_payload(sku.code, 7), format="json")
    body = api.get(f"/api/v1/skus/{sku.code}/").json()
    assert body["total_available"] == 93
    assert body["warehouses"] == [
        {
            "warehouse": warehouse.code,
            "name": warehouse.name,
            "kind": "dc",
            "ships": True,
            "allows_pickup": False,
            "available": 93,
        }
    ]


def test_availability_counts_soft_reservations(api, channel, sku, warehouse):
    store = WarehouseFactory(code="STORE-1", kind="store", allows_pickup=True)
    from inventory.services import stock_receive

    stock_receive(warehouse_id=store.pk, sku_id=sku.pk, quantity=4, reference="t")
    api.post("/api/v1/carts/", {"lines": [{"sku": sku.code, "quantity": 6}]}, format="json")
    body = api.get(f"/api/v1/availability/?sku={sku.code}").json()
    assert body[0]["total_available"] == 98
    assert {w["warehouse"]: w["available"] for w in body[0]["warehouses"]} == {
        warehouse.code: 94,
        "STORE-1": 4,
    }


def test_staff_see_every_sku_without_price(staff_api, sku):
    other = SKUFactory()
    codes = {item["code"]: item["price"] for item in staff_api.get("/api/v1/skus/").json()["results"]}
    assert codes == {sku.code: None, other.code: None}


def test_sku_search(api, channel, warehouse):
    a = sku_in_stock(channel=channel, warehouse=warehouse, quantity=1, name="Blue Shirt")
    sku_in_stock(channel=channel, warehouse=warehouse, quantity=1, name="Red Hat")
    assert [i["code"] for i in api.get("/api/v1/skus/?q=shirt").json()["results"]] == [a.code]
    assert [i["code"] for i in api.get(f"/api/v1/skus/?barcode={a.barcode}").json()["results"]] == [a.code]


def test_customers_are_scoped_to_their_channel(api, channel):
    created = api.post(
        "/api/v1/customers/",
        {
            "email": "Grace@Example.com",
            "first_name": "Grace",
            "addresses": [{"name": "Grace", "line1": "1 Navy Way", "city": "Arlington", "country": "us"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["email"] == "grace@example.com" and body["channel"] == channel.code
    assert body["addresses"][0]["country"] == "US"
    _, other_key = channel_with_key()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {other_key}")
    assert other.get(f"/api/v1/customers/{body['id']}/").status_code == 404
    assert other.get("/api/v1/customers/").json()["count"] == 0
    dup = api.post("/api/v1/customers/", {"email": "grace@example.com"}, format="json")
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "duplicate_customer"


def test_customer_update_and_vip_is_staff_only(api, staff_api, channel):
    cid = api.post("/api/v1/customers/", {"email": "a@example.com"}, format="json").json()["id"]
    response = api.patch(f"/api/v1/customers/{cid}/", {"phone": "+1 555 0100", "is_vip": True}, format="json")
    assert response.status_code == 200
    assert response.json()["phone"] == "+1 555 0100"
    assert response.json()["is_vip"] is False
    assert (
        staff_api.patch(f"/api/v1/customers/{cid}/", {"is_vip": True}, format="json").json()["is_vip"] is True
    )
    bad = api.patch(f"/api/v1/customers/{cid}/", {"email": "nope"}, format="json")
    assert bad.status_code == 400 and "email" in bad.json()["error"]["fields"]


def test_orders_create_customers_once_per_email(api, sku):
    api.post(
        "/api/v1/orders/", order_payload(sku.code, customer={"email": "Same@Example.com"}), format="json"
    )
    api.post(
        "/api/v1/orders/",
        order_payload(sku.code, customer={"email": "same@example.com", "first_name": "S"}),
        format="json",
    )
    customer = Customer.objects.get()
    assert customer.email == "same@example.com" and customer.first_name == "S"
    assert customer.orders.count() == 2


def test_vip_customer_orders_get_priority_and_a_code(api, staff_api, sku):
    cid = api.post("/api/v1/customers/", {"email": "vip@example.com"}, format="json").json()["id"]
    staff_api.patch(f"/api/v1/customers/{cid}/", {"is_vip": True}, format="json")
    body = api.post(
        "/api/v1/orders/", order_payload(sku.code, customer={"email": "vip@example.com"}), format="json"
    ).json()
    assert body["is_vip"] is True and body["priority"] == 10
    assert body["special_code"].startswith("V-")


def test_order_list_filters(api, sku):
    api.post("/api/v1/orders/", order_payload(sku.code, external_id="E-1"), format="json")
    second = api.post(
        "/api/v1/orders/",
        order_payload(sku.code, is_gift=True, customer={"email": "b@example.com"}),
        format="json",
    ).json()
    api.post(f"/api/v1/orders/{second['id']}/cancel/", {}, format="json")
    assert api.get("/api/v1/orders/?status=cancelled").json()["count"] == 1
    assert api.get("/api/v1/orders/?status=allocated&status=cancelled").json()["count"] == 2
    assert api.get("/api/v1/orders/?external_id=E-1").json()["count"] == 1
    assert api.get("/api/v1/orders/?email=B@example.com").json()["results"][0]["id"] == second["id"]
    assert api.get("/api/v1/orders/?is_gift=true").json()["count"] == 1
    assert api.get("/api/v1/orders/?page_size=1").json()["next"]
    bad = api.get("/api/v1/orders/?status=nope")
    assert bad.status_code == 400 and "status" in bad.json()["error"]["fields"]


def test_staff_token_auth_and_staff_orders(db, django_user_model, channel, sku):
    from oms.models import StaffToken

    user = staff_user("cs", CUSTOMER_SERVICE)
    _, raw = StaffToken.issue(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    response = client.post("/api/v1/orders/", order_payload(sku.code, channel=channel.code), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["source"] == "staff"
    assert response.json()["events"][0]["actor"] == "staff:cs"
    non_staff = django_user_model.objects.create_user("shopper", password="pw-sh-12345")
    client.credentials(HTTP_AUTHORIZATION=f"Token {StaffToken.issue(user=non_staff, name='test')[1]}")
    assert client.get("/api/v1/orders/").status_code == 403


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/orders/" in schema.content
    assert client.get("/api/docs/").status_code == 200
    assert client.get("/api/redoc/").status_code == 200


def test_the_customer_lookup_by_email_can_use_the_lower_email_index(channel):
    """The per-order customer lookup must not read every customer of the channel."""
    from django.db import connection

    from customers.services import customers_with_email

    sql, params = customers_with_email(channel=channel, email=" Ada@Example.COM ").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "customer_unique_email_per_channel" in plan, plan
