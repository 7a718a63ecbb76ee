"""Catalogue with channel prices, and availability (available-to-promise), for storefronts."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import SKU, StockLevel
from inventory.selectors import sku_availability
from oms.api.auth import request_channel
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
    available = serializers.SerializerMethodField()

    def get_available(self, level: StockLevel) -> int:
        return max(level.available, 0)


class SKUSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.name")
    category = serializers.CharField(source="product.category")
    price = serializers.SerializerMethodField()
    currency = serializers.SerializerMethodField()
    total_available = serializers.IntegerField()

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


def _sku_queryset(request):
    """SKUs a requester may see: a channel sees what it sells, with its price."""
    qs = sku_availability(SKU.objects.filter(is_active=True).select_related("product"))
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
        params = self.request.query_params
        if params.get("q"):
            q = params["q"]
            qs = qs.filter(Q(code__icontains=q) | Q(barcode=q) | Q(name__icontains=q))
        if params.get("category"):
            qs = qs.filter(product__category__iexact=params["category"])
        if params.get("barcode"):
            qs = qs.filter(barcode=params["barcode"])
        return qs


def _active_levels():
    return Prefetch(
        "stock_levels",
        queryset=StockLevel.objects.filter(warehouse__is_active=True)
        .select_related("warehouse")
        .order_by("warehouse__code"),
        to_attr="active_levels",
    )


class SKUDetail(generics.RetrieveAPIView):
    """One SKU with its available stock per warehouse."""

    serializer_class = SKUDetailSerializer
    lookup_field = "code"

    def get_queryset(self):
        return _sku_queryset(self.request).prefetch_related(_active_levels())


class Availability(APIView):
    """Available-to-promise per SKU: in total and per warehouse
    (on hand - allocated - soft-reserved, never below zero)."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "sku",
                OpenApiTypes.STR,
                many=True,
                required=True,
                description="SKU code; repeat, or comma-separate, for several.",
            )
        ],
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
        codes = [
            c.strip() for raw in request.query_params.getlist("sku") for c in raw.split(",") if c.strip()
        ]
        if not codes:
            raise InvalidInput.field("sku", "give at least one SKU code, e.g. ?sku=ABC-1&sku=ABC-2")
        if len(codes) > MAX_AVAILABILITY_SKUS:
            raise InvalidInput.field("sku", f"at most {MAX_AVAILABILITY_SKUS} SKUs per request")
        skus = {
            s.code: s
            for s in _sku_queryset(request).filter(code__in=codes).prefetch_related(_active_levels())
        }
        unknown = [c for c in dict.fromkeys(codes) if c not in skus]
        if unknown:
            raise InvalidInput.field("sku", f"unknown SKU(s): {', '.join(unknown)}", code="unknown_sku")
        return Response(
            [
                {
                    "sku": code,
                    "total_available": max(skus[code].total_available, 0),
                    "warehouses": WarehouseStockSerializer(skus[code].active_levels, many=True).data,
                }
                for code in dict.fromkeys(codes)
            ]
        )
