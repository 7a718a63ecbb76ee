"""Catalogue with channel prices, and availability (available-to-promise), for storefronts.

A channel is shown what it may be promised (inventory.atp): only the active
locations that serve it (ship or allow pickup), and in each only the stock
above the location's safety stock. Staff see every active location, with the
safety stock held back too.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.atp import Fulfilment, atp_levels, atp_total
from inventory.models import SKU
from oms.api.auth import request_channel
from oms.api.fields import SKU_CODES_PARAMETER, sku_codes_param, text_params
from oms.errors import InvalidInput
from oms.money import round_money

from ..models import PriceListEntry

MAX_AVAILABILITY_SKUS = 200


class WarehouseStockSerializer(serializers.Serializer):
    warehouse = serializers.CharField(source="warehouse.code")
    name = serializers.CharField(source="warehouse.name")
    kind = serializers.CharField(source="warehouse.kind")
    ships = serializers.BooleanField(source="warehouse.ships")
    allows_pickup = serializers.BooleanField(source="warehouse.allows_pickup")
    available = serializers.IntegerField(source="atp", help_text="Available to promise here.")


class SKUSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.name")
    category = serializers.CharField(source="product.category")
    price = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    total_available = serializers.IntegerField(
        source="total_atp", help_text="Available to promise, over the locations that serve the channel."
    )

    class Meta:
        model = SKU
        fields = [
            "code",
            "barcode",
            "name",
            "product",
            "category",
            "weight_grams",
            "length_mm",
            "width_mm",
            "height_mm",
            "price",
            "currency",
            "total_available",
        ]

    def _channel(self):
        return request_channel(self.context["request"])

    def get_price(self, sku: SKU) -> str | None:
        channel = self._channel()
        price = getattr(sku, "channel_price", None)
        return str(round_money(price, channel.currency)) if channel and price is not None else None

    def get_currency(self, sku: SKU) -> str | None:
        channel = self._channel()
        return channel.currency if channel else None


class SKUDetailSerializer(SKUSerializer):
    warehouses = WarehouseStockSerializer(source="active_levels", many=True)

    class Meta(SKUSerializer.Meta):
        fields = [*SKUSerializer.Meta.fields, "warehouses"]


def _scope(request) -> dict:
    """Whose ATP: a channel's (its locations, shipping or pickup), or for staff every active location."""
    channel = request_channel(request)
    if channel is None:
        return {"channel_id": None, "fulfilment": None}
    return {"channel_id": channel.pk, "fulfilment": Fulfilment.ANY}


def _sku_queryset(request):
    """SKUs a requester may see: a channel sees what it sells, with its price."""
    qs = (
        SKU.objects.filter(is_active=True)
        .select_related("product")
        .annotate(total_atp=atp_total(**_scope(request)))
    )
    channel = request_channel(request)
    if channel is not None:
        prices = PriceListEntry.objects.filter(channel=channel, sku=OuterRef("pk"))
        qs = qs.filter(Exists(prices)).annotate(channel_price=Subquery(prices.values("unit_price")[:1]))
    return qs.order_by("code")


class SKUList(generics.ListAPIView):
    """SKUs with total available stock; a channel sees only SKUs it sells, with its price."""

    serializer_class = SKUSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="Search code, barcode or name."),
            OpenApiParameter("category", str),
            OpenApiParameter("barcode", str),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = _sku_queryset(self.request)
        params = text_params(self.request.query_params, "q", "category", "barcode")
        if "q" in params:
            q = params["q"]
            qs = qs.filter(Q(code__icontains=q) | Q(barcode=q) | Q(name__icontains=q))
        if "category" in params:
            qs = qs.filter(product__category__iexact=params["category"])
        if "barcode" in params:
            qs = qs.filter(barcode=params["barcode"])
        return qs


def _active_levels(request) -> Prefetch:
    return Prefetch(
        "stock_levels",
        queryset=atp_levels(**_scope(request)).select_related("warehouse").order_by("warehouse__code"),
        to_attr="active_levels",
    )


class SKUDetail(generics.RetrieveAPIView):
    """One SKU with its available stock per warehouse."""

    serializer_class = SKUDetailSerializer
    lookup_field = "code"

    def get_queryset(self):
        return _sku_queryset(self.request).prefetch_related(_active_levels(self.request))


class Availability(APIView):
    """Available-to-promise per SKU, in total and per location: on hand -
    allocated - soft-reserved - safety stock, never below zero, over the
    locations that serve the channel."""

    @extend_schema(
        parameters=[SKU_CODES_PARAMETER],
        responses=inline_serializer(
            "AvailabilityItem",
            {
                "sku": serializers.CharField(),
                "total_available": serializers.IntegerField(),
                "warehouses": WarehouseStockSerializer(many=True),
            },
            many=True,
        ),
    )
    def get(self, request):
        codes = sku_codes_param(request.query_params, limit=MAX_AVAILABILITY_SKUS)
        skus = {
            s.code: s
            for s in _sku_queryset(request).filter(code__in=codes).prefetch_related(_active_levels(request))
        }
        unknown = [c for c in codes if c not in skus]
        if unknown:
            raise InvalidInput.field("sku", f"unknown SKU(s): {', '.join(unknown)}", code="unknown_sku")
        return Response(
            [
                {
                    "sku": code,
                    "total_available": skus[code].total_atp,
                    "warehouses": WarehouseStockSerializer(skus[code].active_levels, many=True).data,
                }
                for code in codes
            ]
        )
