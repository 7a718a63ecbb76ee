"""Shared fixtures for the returns tests: a card-paid order with two lines,
shipped through the real pack station and captured, so it can be returned
and refunded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fulfillment.shipping import shipment_ship
from fulfillment.shipping.capture import capture_shipment
from oms.models import OutboxEvent
from tests.factories import sku_in_stock
from tests.fulfillment.conftest import boxes, carrier, materials, place_order, release_whole_order
from tests.fulfillment.shipping_world import STAFF, pack

__all__ = ["boxes", "carrier", "materials"]  # fixtures shared with the fulfillment tests


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


@pytest.fixture
def shipped_order(channel, warehouse, carrier, boxes, materials):
    """(order, fulfillment order): 2 x a 25.00 item and 1 x a 40.00 item (plus
    the channel's 5.00 shipping), paid by card, shipped from DC-NJ with one
    parcel and the card captured."""
    shirt = sku_in_stock(
        channel=channel, warehouse=warehouse, quantity=10, price="25.00", unit_cost=Decimal("9.00")
    )
    jacket = sku_in_stock(
        channel=channel, warehouse=warehouse, quantity=10, price="40.00", unit_cost=Decimal("15.00")
    )
    order = place_order(channel, [(shirt.code, 2), (jacket.code, 1)])
    fo = release_whole_order(order, service_id=carrier.services.get(code="ground").pk)
    pack(fo)
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    capture_shipment(OutboxEvent.objects.get(topic="shipment.shipped", aggregate=f"shipment:{fo.pk}"))
    order.refresh_from_db()
    fo.refresh_from_db()
    return order, fo
