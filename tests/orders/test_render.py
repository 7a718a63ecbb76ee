"""The placement path renders and parses through shared serializer instances
(oms.api.render): the bodies must be exactly what DRF's per-request
serializers give, for the order placed and for bad input."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError

from oms.api.render import parse, render, render_many
from orders.api import serializers as s
from orders.api.views import order_queryset
from tests.factories import VISA, order_payload, staff_user

pytestmark = pytest.mark.django_db


def _drf_errors(data) -> dict:
    serializer = s.OrderIn(data=data)
    assert not serializer.is_valid()
    return serializer.errors


def _orders(request_factory_user=None):
    class _Request:
        user = request_factory_user

    return list(order_queryset(_Request(), detail=True).order_by("id"))


def test_rendered_order_is_what_the_serializer_gives(api, sku, channel):
    gift = order_payload(sku.code, 2, is_gift=True, gift_message="Happy birthday", external_id="EXT-1")
    assert api.post("/api/v1/orders/", gift, format="json").status_code == 201
    card = order_payload(sku.code, 1, payment={"gateway": "test", "card": dict(VISA)})
    response = api.post("/api/v1/orders/", card, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201
    orders = _orders()
    assert len(orders) == 2
    assert orders[-1].payments.all(), "the second order has a payment"
    for order in orders:
        assert render(s.OrderDetailOut, order) == s.OrderDetailOut(order).data
        assert render(s.OrderOut, order) == s.OrderOut(order).data
    assert render_many(s.OrderOut, orders) == s.OrderOut(orders, many=True).data
    # The 201 body, rendered from the objects just written, is the order as stored.
    assert response.json() == s.OrderDetailOut(orders[-1]).data


def test_staff_events_render_the_same(staff_api, sku, channel):
    staff_user("rita", "customer_service")
    payload = order_payload(sku.code, 1, channel=channel.code)
    response = staff_api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 201, response.content
    (order,) = _orders()
    assert render(s.OrderDetailOut, order) == s.OrderDetailOut(order).data
    assert response.json()["events"][0]["actor"].startswith("staff:")


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        "text",
        {},
        {"customer": {"email": "not-an-email"}, "lines": [{"sku": "X", "quantity": 0}]},
        {**order_payload("X", 1), "lines": [{"sku": "X", "quantity": 1, "quantiy": 2}]},
        {**order_payload("X", 1), "payment": {"gateway": "test"}},
        {**order_payload("X", 1), "shipping_address": {"name": "A", "country": "ZZ"}},
    ],
)
def test_parse_fails_exactly_like_is_valid(data):
    with pytest.raises(ValidationError) as caught:
        parse(s.OrderIn, data)
    assert caught.value.detail == _drf_errors(data)


def test_parse_returns_the_validated_data(sku):
    data = order_payload(sku.code, 2)
    serializer = s.OrderIn(data=data)
    assert serializer.is_valid(), serializer.errors
    assert parse(s.OrderIn, data) == serializer.validated_data
