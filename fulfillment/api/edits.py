"""Order edits before shipment (staff, or the order's own channel)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import StrictSerializer
from oms.errors import InvalidInput, NotFound
from orders.api.serializers import AddressIn, OrderDetailOut
from orders.api.views import order_queryset
from orders.models import Order

from ..edits import order_edit


class AddLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField()


class OrderEditIn(StrictSerializer):
    reason = serializers.CharField(max_length=400, help_text="Why the order is edited (kept in its history).")
    lines = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text="Order line id -> new quantity (>= 1)."
    )
    add = AddLineIn(many=True, required=False)
    remove = serializers.ListField(child=serializers.IntegerField(), required=False)
    shipping_address = AddressIn(required=False)
    shipping_speed = serializers.ChoiceField(choices=Order.ShippingSpeed.choices, required=False)


def _line_ids(raw: dict) -> dict[int, int]:
    out = {}
    for key, qty in raw.items():
        try:
            out[int(key)] = qty
        except (TypeError, ValueError):
            raise InvalidInput.field(f"lines.{key}", "is not an order line id") from None
    return out


class OrderEdit(APIView):
    """Change quantities, add or remove lines, or change the address or
    shipping speed of an order no shipment of which has started. The order is
    re-priced, its stock re-allocated and re-routed, and a higher total
    authorized on the card on file."""

    @extend_schema(
        request=OrderEditIn,
        responses={
            200: OrderDetailOut,
            400: OpenApiResponse(description="Invalid input naming the field"),
            402: OpenApiResponse(description="The extra authorization was declined"),
            404: OpenApiResponse(description="No such order (or another channel's)"),
            409: OpenApiResponse(description="A shipment started, or not enough stock"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        data = OrderEditIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if not order_queryset(request).filter(pk=pk).exists():
            raise NotFound("No such order.")
        order_edit(
            order_id=pk,
            actor=Actor.from_request(request),
            reason=values["reason"],
            set_quantities=_line_ids(values.get("lines") or {}),
            add_lines=[(a["sku"], a["quantity"]) for a in values.get("add", [])],
            remove_lines=values.get("remove"),
            shipping_address=dict(values["shipping_address"]) if "shipping_address" in values else None,
            shipping_speed=values.get("shipping_speed"),
        )
        return Response(OrderDetailOut(order_queryset(request, detail=True).get(pk=pk)).data)


urlpatterns = [
    path("orders/<int:pk>/edit/", OrderEdit.as_view(), name="order-edit"),
]
