"""Shared fixtures for the fulfillment tests: a carrier with rate tables,
standard boxes, a warehouse with zones and bins, and an allocated order
turned into a released fulfillment order."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest

from fulfillment.models import (
    Box,
    Carrier,
    CarrierService,
    CarrierZone,
    PackagingMaterial,
    ServiceRate,
)
from fulfillment.services.lifecycle import fulfillment_order_create
from inventory.models import Bin, SKUBin, Zone
from inventory.services import stock_receive
from oms.actors import Actor
from orders.models import Order
from orders.payments import CardDetails
from orders.services.placement import CustomerInput, LineInput, OrderInput, PaymentInput, order_place
from tests.factories import VISA, SKUFactory

SERVICE_LEVELS = [
    # code, level, cutoff, base price, per kg, transit days by zone 1..4
    ("ground", CarrierService.Level.GROUND, time(17, 0), Decimal("6.00"), Decimal("0.80"), [1, 2, 4, 6]),
    ("express", CarrierService.Level.EXPRESS, time(16, 0), Decimal("14.00"), Decimal("1.50"), [1, 1, 2, 3]),
    (
        "overnight",
        CarrierService.Level.OVERNIGHT,
        time(15, 0),
        Decimal("29.00"),
        Decimal("2.50"),
        [1, 1, 1, 2],
    ),
]
ZONE_LIMITS_KM = [150, 600, 1800, 20000]
WEIGHT_BANDS_G = [500, 1000, 2000, 5000, 10000, 20000, 30000]


def make_carrier(code: str = "acme", *, currency: str = "USD", price_factor: Decimal = Decimal(1)) -> Carrier:
    """A carrier with ground / express / overnight, four distance zones and
    weight bands: price = (base + per kg x band) x zone factor x price_factor."""
    carrier = Carrier.objects.create(
        code=code,
        name=code.title(),
        currency=currency,
        tracking_prefix=code[:2].upper(),
        tracking_url=f"https://track.example.com/{code}/{{tracking}}",
        webhook_secret=f"{code}-webhook-secret",
    )
    CarrierZone.objects.bulk_create(
        [CarrierZone(carrier=carrier, zone=i + 1, max_km=km) for i, km in enumerate(ZONE_LIMITS_KM)]
    )
    for svc_code, level, cutoff, base, per_kg, transit in SERVICE_LEVELS:
        service = CarrierService.objects.create(
            carrier=carrier, code=svc_code, name=f"{code.title()} {svc_code}", level=level, cutoff_time=cutoff
        )
        ServiceRate.objects.bulk_create(
            [
                ServiceRate(
                    service=service,
                    zone=zone,
                    max_weight_grams=band,
                    amount=(
                        (base + per_kg * band / 1000) * (1 + Decimal("0.25") * (zone - 1)) * price_factor
                    ).quantize(Decimal("0.01")),
                    transit_days=transit[zone - 1],
                )
                for zone in range(1, 5)
                for band in WEIGHT_BANDS_G
            ]
        )
    return carrier


@pytest.fixture
def carrier(db) -> Carrier:
    return make_carrier()


@pytest.fixture
def boxes(db) -> dict[str, Box]:
    specs = [
        ("mailer", 250, 180, 40, 40, Decimal("0.30"), 0),
        ("small", 300, 220, 120, 150, Decimal("0.60"), 1),
        ("medium", 400, 300, 200, 300, Decimal("0.90"), 1),
        ("large", 600, 400, 400, 600, Decimal("1.50"), 1),
        ("protective", 420, 320, 220, 450, Decimal("1.80"), 2),
    ]
    return {
        code: Box.objects.create(
            code=code,
            name=code.title(),
            inner_length_mm=length,
            inner_width_mm=width,
            inner_height_mm=height,
            empty_weight_grams=weight,
            max_weight_grams=20000,
            cost=cost,
            protection=protection,
        )
        for code, length, width, height, weight, cost, protection in specs
    }


@pytest.fixture
def materials(db) -> dict[str, PackagingMaterial]:
    return {
        "none": PackagingMaterial.objects.create(code="none", name="No fill", padding_mm=0, cost=0),
        "bubble": PackagingMaterial.objects.create(
            code="bubble",
            name="Bubble wrap",
            padding_mm=15,
            cost=Decimal("0.40"),
            protection=1,
            weight_grams=30,
        ),
    }


def add_bins(warehouse, layout: dict[str, list[str]]) -> dict[str, Bin]:
    """Zones with bins in walking order: {"A": ["A-01", "A-02"], "B": [...]}."""
    bins = {}
    sequence = 0
    for z_index, (zone_code, codes) in enumerate(layout.items()):
        zone = Zone.objects.create(
            warehouse=warehouse, code=zone_code, name=f"Zone {zone_code}", walk_sequence=z_index
        )
        for code in codes:
            sequence += 10
            aisle, _, rest = code.partition("-")
            bins[code] = Bin.objects.create(
                warehouse=warehouse,
                zone=zone,
                code=code,
                aisle=aisle,
                rack=rest or "01",
                shelf="1",
                position="1",
                walk_sequence=sequence,
            )
    return bins


def stock_in_bin(sku, bin_: Bin, quantity: int, *, primary: bool = True) -> None:
    """Receive units straight into a bin (and make it the SKU's primary bin)."""
    if primary:
        SKUBin.objects.get_or_create(
            sku=sku, warehouse_id=bin_.warehouse_id, bin=bin_, defaults={"kind": SKUBin.Kind.PRIMARY}
        )
    stock_receive(
        warehouse_id=bin_.warehouse_id, sku_id=sku.pk, quantity=quantity, reference="test", bin_id=bin_.pk
    )


def place_order(channel, lines: list[tuple[str, int]], *, country: str = "US", **address) -> Order:
    """Place an order through the real placement service (stock is allocated
    in the nearest warehouse that can ship it all)."""
    shipping = {
        "name": "Ada Lovelace",
        "line1": "350 5th Ave",
        "city": "New York",
        "region": "NY",
        "postal_code": "10118",
        "country": country,
        **address,
    }
    result = order_place(
        data=OrderInput(
            channel=channel,
            actor=Actor.for_channel(channel),
            currency=channel.currency,
            customer=CustomerInput(email="ada@example.com", first_name="Ada", last_name="Lovelace"),
            shipping_address=shipping,
            lines=[LineInput(sku=code, quantity=qty) for code, qty in lines],
            payment=PaymentInput(gateway="test", card=CardDetails(**VISA)),
        )
    )
    return result.order


def release_whole_order(order: Order, **kwargs):
    """One released fulfillment order for every line, from where placement allocated it."""
    return fulfillment_order_create(
        order=order,
        warehouse_id=order.warehouse_id,
        lines=[(line, line.quantity) for line in order.lines.all()],
        actor=Actor.system(),
        **kwargs,
    )


@pytest.fixture
def sku_factory():
    return SKUFactory
