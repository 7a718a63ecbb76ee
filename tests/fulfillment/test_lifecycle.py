"""Fulfillment order state machine and the order status that follows it."""

from __future__ import annotations

import pytest

from fulfillment.models import FulfillmentOrder
from fulfillment.services.lifecycle import fo_transition, order_follow_shipments
from oms.actors import Actor
from oms.errors import InvalidTransition
from orders.models import Order
from tests.factories import sku_in_stock

from .conftest import place_order, release_whole_order

pytestmark = pytest.mark.django_db


def test_created_released_with_events(channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    order = place_order(channel, [(sku.code, 2)])
    fo = release_whole_order(order)
    assert fo.status == FulfillmentOrder.Status.RELEASED
    assert [e.kind for e in fo.events.all()] == ["created", "released"]
    assert fo.released_at is not None
    assert list(fo.lines.values_list("quantity", flat=True)) == [2]


def test_transitions_are_enforced(channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    fo = release_whole_order(place_order(channel, [(sku.code, 1)]))
    with pytest.raises(InvalidTransition):
        fo_transition(fo, FulfillmentOrder.Status.DELIVERED, actor=Actor.system())
    fo.refresh_from_db()
    assert fo.status == FulfillmentOrder.Status.RELEASED


def test_order_follows_its_shipments(channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    order = place_order(channel, [(sku.code, 1)])
    fo = release_whole_order(order)
    order_follow_shipments(order, actor=Actor.system())
    assert order.status == Order.Status.ALLOCATED  # released work can still be cancelled
    fo_transition(fo, FulfillmentOrder.Status.PICKING, actor=Actor.system())
    order_follow_shipments(order, actor=Actor.system())
    assert order.status == Order.Status.FULFILLING
