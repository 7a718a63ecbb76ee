"""Builders for test data. Stock always arrives through the service, so the
ledger is right from the start."""

from __future__ import annotations

import itertools
from decimal import Decimal

import factory

from inventory.barcodes import make_ean13
from inventory.models import SKU, Product, StockLevel, Warehouse
from inventory.services import stock_receive
from oms.models import Channel, ChannelToken
from orders.models import PriceListEntry, TaxRate

_seq = itertools.count(1)

VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"}
DECLINED = {**VISA, "number": "4000000000000002"}
NO_FUNDS = {**VISA, "number": "4000000000009995"}
GATEWAY_ERROR = {**VISA, "number": "4000000000000119"}


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel

    code = factory.Sequence(lambda n: f"CH{n}")
    name = factory.LazyAttribute(lambda o: f"Channel {o.code}")
    kind = Channel.Kind.WEB
    currency = "USD"
    shipping_flat_rate = Decimal("5.00")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    category = "apparel"


class SKUFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SKU

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"SKU-{n:05d}")
    barcode = factory.Sequence(lambda n: make_ean13("200", n + 1))
    name = factory.LazyAttribute(lambda o: f"Item {o.code}")
    weight_grams = 500
    length_mm = 300
    width_mm = 200
    height_mm = 100
    unit_cost = Decimal("4.00")
    cost_currency = "USD"


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    kind = Warehouse.Kind.DC
    city = "Edison"
    region = "NJ"
    country = "US"
    latitude = Decimal("40.518700")
    longitude = Decimal("-74.412100")


def channel_with_key(**kwargs) -> tuple[Channel, str]:
    channel = ChannelFactory(**kwargs)
    _, raw = ChannelToken.issue(channel=channel, name="test")
    return channel, raw


def sku_in_stock(
    *, channel: Channel | None = None, warehouse: Warehouse, quantity: int, price: str = "10.00", **kwargs
) -> SKU:
    sku = SKUFactory(**kwargs)
    if quantity:
        stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=quantity, reference="test")
    if channel is not None:
        PriceListEntry.objects.create(channel=channel, sku=sku, unit_price=Decimal(price))
    return sku


def tax_rate(country: str, rate: str, region: str = "") -> TaxRate:
    return TaxRate.objects.create(
        country=country, region=region, rate=Decimal(rate), name=f"Tax {country}{region}"
    )


def order_payload(sku_code: str, quantity: int = 1, **overrides) -> dict:
    payload = {
        "currency": "USD",
        "customer": {"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"},
        "shipping_address": {
            "name": "Ada Lovelace",
            "line1": "350 5th Ave",
            "city": "New York",
            "region": "NY",
            "postal_code": "10118",
            "country": "US",
        },
        "lines": [{"sku": sku_code, "quantity": quantity}],
        "payment": {"gateway": "test", "card": dict(VISA)},
    }
    payload.update(overrides)
    return payload


def stock_level(sku: SKU, warehouse: Warehouse) -> StockLevel:
    return StockLevel.objects.get(sku=sku, warehouse=warehouse)


def create_cart(api, *lines: tuple[str, int], email: str = "ada@example.com") -> dict:
    """Create a cart over the API; returns its JSON."""
    response = api.post(
        "/api/v1/carts/",
        {"email": email, "ship_country": "US", "lines": [{"sku": s, "quantity": q} for s, q in lines]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def staff_user(username: str, *roles: str, locations=(), password: str = "pw-staff-123", **extra):
    """A staff user in the given roles (oms.roles), assigned to `locations`
    (warehouses) when given. Creates the role groups if a flush removed them."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user(
        username, f"{username}@example.com", password, is_staff=True, **extra
    )
    for role in roles:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    for location in locations:
        location.staff.add(user)
    return user
