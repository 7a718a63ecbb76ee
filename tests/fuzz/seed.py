"""The world the fuzzer runs in: two channels, stock, orders in several states,
a return, a quote, purchasing, picking and webhook objects, and a staff manager
with an API token. Built once per module through the real services and the
API, so every path parameter has a real object to hit as well as random ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from customers.models import Customer
from fulfillment.models import Box, PackagingMaterial
from fulfillment.shipping import shipment_ship
from inventory.models import Supplier, SupplierSKU
from oms.actors import Actor
from oms.models import StaffToken
from oms.roles import MANAGER
from orders.models import OrderLine
from tests.factories import WarehouseFactory, channel_with_key, sku_in_stock, staff_user
from tests.fulfillment.conftest import add_bins, make_carrier, place_order, release_whole_order, stock_in_bin
from tests.fulfillment.shipping_world import pack

API = "/api/v1"
ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "350 5th Ave",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
}


@dataclass
class World:
    channel_key: str
    staff_token: str
    # Path parameter values of real objects, by the path template's first fixed part after /api/v1/.
    params: dict[str, dict[str, object]] = field(default_factory=dict)


def _call(client: Client, auth: str, method: str, path: str, body: dict | None = None) -> dict:
    response = getattr(client, method)(
        f"{API}/{path}", body or {}, content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert response.status_code in (200, 201), (path, response.status_code, response.content[:500])
    return response.json()


def build_world() -> World:
    channel, key = channel_with_key(code="WEB")
    channel_with_key(code="MARKET")  # a second channel, whose data the first must never reach
    warehouse = WarehouseFactory(code="DC-NJ")
    bins = add_bins(warehouse, {"A": ["A-01", "A-02"], "B": ["B-01"]})
    shirt = sku_in_stock(channel=channel, warehouse=warehouse, quantity=0, price="25.00", code="SHIRT")
    mug = sku_in_stock(channel=channel, warehouse=warehouse, quantity=0, price="12.00", code="MUG")
    stock_in_bin(shirt, bins["A-01"], 200)
    stock_in_bin(mug, bins["B-01"], 200)
    carrier = make_carrier()
    Box.objects.create(
        code="medium",
        name="Medium",
        inner_length_mm=400,
        inner_width_mm=300,
        inner_height_mm=200,
        empty_weight_grams=300,
        max_weight_grams=20000,
        cost=Decimal("0.90"),
    )
    PackagingMaterial.objects.create(code="none", name="No fill", padding_mm=0, cost=0)
    ground = carrier.services.get(code="ground")
    manager = staff_user("fuzz-manager", MANAGER)
    _, raw = StaffToken.issue(user=manager, name="fuzz")
    staff = f"Token {raw}"
    bearer = f"Bearer {key}"
    client = Client()

    supplier = Supplier.objects.create(code="ACME", name="ACME Ltd", email="acme@example.com", currency="USD")
    SupplierSKU.objects.create(supplier=supplier, sku=shirt, unit_cost=Decimal("9.00"), is_preferred=True)

    # An order placed and left allocated, and one shipped so it can be returned.
    open_order = place_order(channel, [(shirt.code, 1), (mug.code, 1)])
    shipped = place_order(channel, [(shirt.code, 2)])
    fo = release_whole_order(shipped, service_id=ground.pk)
    pack(fo)
    shipment_ship(fulfillment_order_id=fo.pk, actor=Actor.system())
    released = release_whole_order(open_order, service_id=ground.pk)

    line = OrderLine.objects.get(order=shipped)
    rma = _call(
        client,
        bearer,
        "post",
        "returns/",
        {"order_id": shipped.pk, "lines": [{"order_line_id": line.pk, "quantity": 1, "reason": "size_fit"}]},
    )
    cart = _call(
        client,
        bearer,
        "post",
        "carts/",
        {"email": "ada@example.com", "ship_country": "US", "lines": [{"sku": mug.code, "quantity": 1}]},
    )
    po = _call(
        client,
        staff,
        "post",
        "inventory/purchase-orders/",
        {"supplier": "ACME", "warehouse": warehouse.code, "lines": [{"sku": shirt.code, "quantity": 10}]},
    )
    pick_lists = _call(
        client, staff, "post", "fulfillment/pick-lists/", {"warehouse": warehouse.code, "mode": "single"}
    )
    [pick_list] = pick_lists["pick_lists"]
    count = _call(client, staff, "post", "inventory/counts/", {"warehouse": warehouse.code})
    customer = Customer.objects.get(email="ada@example.com")
    buyer = Customer.objects.create(
        channel=channel, email="buyer@acme.example", company="Acme Inc", payment_terms_days=30
    )
    quote = _call(
        client,
        staff,
        "post",
        "quotes/",
        {
            "channel": channel.code,
            "customer_id": buyer.pk,
            "valid_until": str(timezone.localdate() + timedelta(days=14)),
            "lines": [{"sku": shirt.code, "quantity": 3}],
            "shipping_address": ADDRESS,
        },
    )
    order_id = {"id": open_order.pk}
    return World(
        channel_key=key,
        staff_token=raw,
        params={
            "orders": order_id,
            "fulfillment/orders": order_id,
            "returns": {"id": rma["id"]},
            "customers": {"id": customer.pk},
            "carts": {"cart_id": cart["id"], "sku": mug.code},
            "skus": {"code": shirt.code},
            "inventory/purchase-orders": {"id": po["id"]},
            "inventory/suppliers": {"code": "ACME"},
            "fulfillment/shipments": {"id": released.pk},
            "fulfillment/pick-lists": {"id": pick_list["id"]},
            "inventory/counts": {"id": count["id"]},
            "quotes": {"id": quote["id"]},
            "fulfillment/carriers": {"code": carrier.code},
            "integrations": {"code": channel.code},
            "return-policies": {"key": channel.code},
        },
    )
