"""Orders and carts endpoints: parse, call one service, render.

Scoping: a channel key sees only its own channel's carts and orders (another
channel's id is a 404, as if it did not exist); staff see everything.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.auth import request_channel
from oms.api.render import parse, render, render_many
from oms.errors import InvalidInput, NotFound
from oms.models import Channel

from ..models import Cart, CartLine, Order, OrderEvent, OrderLine
from ..services import cart_checkout, cart_create, cart_set_line, order_cancel, order_place
from . import serializers as s

ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="Not found (or another channel's)"),
    409: OpenApiResponse(description="Conflict, e.g. `insufficient_stock`"),
}


def order_queryset(request, *, detail: bool = False):
    qs = Order.objects.select_related("channel", "customer", "warehouse").prefetch_related(
        Prefetch(
            "lines", queryset=OrderLine.objects.select_related("sku", "warehouse").order_by("line_number")
        ),
        "payments",
    )
    if detail:
        qs = qs.prefetch_related(
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor_user", "actor_channel"))
        )
    channel = request_channel(request)
    return qs.filter(channel=channel) if channel is not None else qs


def _acting_channel(request, code: str | None) -> Channel:
    """The channel an order is placed for: the key's own, or (staff) the one named."""
    channel = request_channel(request)
    if channel is not None:
        if code and code != channel.code:
            raise InvalidInput.field("channel", "a channel key can only place orders for its own channel")
        return channel
    if not code:
        raise InvalidInput.field("channel", "is required when staff place an order")
    found = Channel.objects.filter(code=code).first()
    if found is None:
        raise InvalidInput.field("channel", f"unknown channel '{code}'")
    return found


def placement_response(result, request) -> Response:
    # A new order comes back from the service with its lines, payments and
    # events attached; only a replay needs reading.
    order = result.order if result.created else order_queryset(request, detail=True).get(pk=result.order.pk)
    code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    response = Response(render(s.OrderDetailOut, order), status=code)
    if not result.created:
        response["Idempotent-Replayed"] = "true"
    response["Location"] = f"/api/v1/orders/{order.pk}/"
    return response


class OrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Order.Status.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    email = django_filters.CharFilter(field_name="email", lookup_expr="iexact")
    external_id = django_filters.CharFilter()
    customer = django_filters.NumberFilter(field_name="customer_id")
    placed_after = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="gte")
    placed_before = django_filters.IsoDateTimeFilter(field_name="placed_at", lookup_expr="lt")
    is_vip = django_filters.BooleanFilter()
    is_gift = django_filters.BooleanFilter()
    is_replacement = django_filters.BooleanFilter()
    special_code = django_filters.CharFilter()

    class Meta:
        model = Order
        fields = []


class OrderList(generics.ListAPIView):
    """List orders (newest first) or place one.

    Placing is idempotent: send an `Idempotency-Key` header (or an
    `external_id`); a repeat returns the same order with 200 and the header
    `Idempotent-Replayed: true`.
    """

    serializer_class = s.OrderOut
    filterset_class = OrderFilter

    def get_queryset(self):
        return order_queryset(self.request).order_by("-id")

    def list(self, request, *args, **kwargs):
        # Through the shared serializer (oms.api.render), as the 201 is: DRF built
        # every field of OrderOut on each request.
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(render_many(s.OrderOut, page))

    @extend_schema(
        request=s.OrderIn,
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        responses={
            201: s.OrderDetailOut,
            200: s.OrderDetailOut,
            402: OpenApiResponse(description="Declined"),
            **ERRORS,
        },
    )
    def post(self, request):
        values = parse(s.OrderIn, request.data)
        channel = _acting_channel(request, values.get("channel"))
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key and len(key) > 255:
            raise InvalidInput.field("Idempotency-Key", "must be at most 255 characters")
        source = Order.Source.API if request_channel(request) else Order.Source.STAFF
        result = order_place(
            data=s.order_input(values, channel=channel, actor=Actor.from_request(request), source=source),
            idempotency_key=key,
        )
        return placement_response(result, request)


class OrderDetail(generics.RetrieveAPIView):
    serializer_class = s.OrderDetailOut

    def get_queryset(self):
        return order_queryset(self.request, detail=True)

    def retrieve(self, request, *args, **kwargs):
        return Response(render(s.OrderDetailOut, self.get_object()))


class OrderCancel(APIView):
    """Cancel an order that has not started fulfilment; stock is released and the
    payment authorization voided."""

    @extend_schema(request=s.CancelIn, responses={200: s.OrderDetailOut, **ERRORS})
    def post(self, request, pk: int):
        data = s.CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        if not order_queryset(request).filter(pk=pk).exists():
            raise NotFound("No such order.")
        order_cancel(order_id=pk, actor=Actor.from_request(request), reason=data.validated_data["reason"])
        return Response(render(s.OrderDetailOut, order_queryset(request, detail=True).get(pk=pk)))


def cart_queryset(request):
    qs = Cart.objects.select_related("channel").prefetch_related(
        Prefetch(
            "lines", queryset=CartLine.objects.select_related("sku", "reservation__warehouse").order_by("id")
        )
    )
    channel = request_channel(request)
    return qs.filter(channel=channel) if channel is not None else qs


def _cart_for(request, cart_id) -> Cart:
    cart = cart_queryset(request).filter(public_id=cart_id).first()
    if cart is None:
        raise NotFound("No such cart.")
    return cart


def _require_channel(request) -> Channel:
    channel = request_channel(request)
    if channel is None:
        raise PermissionDenied("Carts are created and changed with a channel's API key.")
    return channel


def _cart_response(request, cart: Cart, code: int = status.HTTP_200_OK) -> Response:
    return Response(s.CartOut(_cart_for(request, cart.public_id)).data, status=code)


class CartCreate(APIView):
    """Start a cart; its lines hold stock (soft reservations) until it expires."""

    @extend_schema(request=s.CartIn, responses={201: s.CartOut, **ERRORS})
    def post(self, request):
        channel = _require_channel(request)
        data = s.CartIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        cart = cart_create(
            channel=channel,
            email=v["email"],
            ship_country=v["ship_country"],
            lines=[(ln["sku"], ln["quantity"]) for ln in v.get("lines", [])],
        )
        return _cart_response(request, cart, status.HTTP_201_CREATED)


class CartDetail(APIView):
    @extend_schema(responses={200: s.CartOut, 404: ERRORS[404]})
    def get(self, request, cart_id):
        return Response(s.CartOut(_cart_for(request, cart_id)).data)


class CartLines(APIView):
    """Add units of a SKU to the cart (creating the line if needed)."""

    @extend_schema(request=s.CartLineIn, responses={200: s.CartOut, **ERRORS})
    def post(self, request, cart_id):
        _require_channel(request)
        cart = _cart_for(request, cart_id)
        data = s.CartLineIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart_set_line(
            cart=cart, sku_code=data.validated_data["sku"], quantity=data.validated_data["quantity"], add=True
        )
        return _cart_response(request, cart)


class CartLineDetail(APIView):
    """Set a line's quantity (0 removes it), or remove it."""

    @extend_schema(request=s.CartLineQuantityIn, responses={200: s.CartOut, **ERRORS})
    def put(self, request, cart_id, sku):
        _require_channel(request)
        cart = _cart_for(request, cart_id)
        data = s.CartLineQuantityIn(data=request.data)
        data.is_valid(raise_exception=True)
        cart_set_line(cart=cart, sku_code=sku, quantity=data.validated_data["quantity"])
        return _cart_response(request, cart)

    patch = put

    @extend_schema(request=None, responses={200: s.CartOut, **ERRORS})
    def delete(self, request, cart_id, sku):
        _require_channel(request)
        cart = _cart_for(request, cart_id)
        if not cart.lines.filter(sku__code=sku).exists():
            raise NotFound(f"The cart has no line for SKU '{sku}'.")
        cart_set_line(cart=cart, sku_code=sku, quantity=0)
        return _cart_response(request, cart)


class CartCheckout(APIView):
    """Turn the cart into an order (once: repeating returns the same order)."""

    @extend_schema(
        request=s.CheckoutIn,
        responses={
            201: s.OrderDetailOut,
            200: s.OrderDetailOut,
            402: OpenApiResponse(description="Declined"),
            **ERRORS,
        },
    )
    def post(self, request, cart_id):
        channel = _require_channel(request)
        cart = _cart_for(request, cart_id)
        data = s.CheckoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        order_data = s.order_input(
            data.validated_data,
            channel=channel,
            actor=Actor.from_request(request),
            lines=[],
            source=Order.Source.CART,
        )
        return placement_response(cart_checkout(cart=cart, data=order_data), request)
