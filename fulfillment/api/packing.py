"""Pack station API (staff): scan units, ask for a box, close the parcel."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff

from ..models import FulfillmentOrder
from ..packing import MAX_PARCEL_GRAMS, MAX_SCAN_QUANTITY, box_suggest, pack_complete, pack_scan
from .scoping import check_visible

ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error: {code, message, fields}}` naming the field"),
    404: OpenApiResponse(description="No such shipment"),
    409: OpenApiResponse(
        description="`wrong_item`, `extra_unit`, `not_picked`, `pack_incomplete`, `no_box_fits` "
        "or `invalid_transition` (e.g. the shipment is already shipped)"
    ),
}


class ScanIn(StrictSerializer):
    barcode = serializers.CharField(
        max_length=64, help_text="The scanned barcode (or the SKU code typed in)."
    )
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_SCAN_QUANTITY, default=1)


class LineProgressOut(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    barcode = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units this shipment carries.")
    picked = serializers.IntegerField()
    packed = serializers.IntegerField()
    left = serializers.IntegerField(help_text="Units still to scan.")


class ScanOut(serializers.Serializer):
    fulfillment_order_id = serializers.IntegerField()
    shipment = serializers.CharField()
    sku = serializers.CharField()
    packed_now = serializers.IntegerField()
    units_left = serializers.IntegerField()
    complete = serializers.BooleanField()
    lines = LineProgressOut(many=True)


class RejectionOut(serializers.Serializer):
    box = serializers.CharField()
    material = serializers.CharField()
    reason = serializers.ChoiceField(["not_protective", "too_heavy", "does_not_fit", "costs_more"])
    message = serializers.CharField()


class BoxOut(serializers.Serializer):
    box = serializers.CharField()
    material = serializers.CharField(allow_null=True)
    box_dims_mm = serializers.ListField(child=serializers.IntegerField())
    usable_mm = serializers.ListField(child=serializers.IntegerField(), help_text="Inside, after padding.")
    weight_grams = serializers.IntegerField(help_text="Contents + empty box + material.")
    contents_weight_grams = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=18, decimal_places=4)
    units = serializers.IntegerField()
    rejected = RejectionOut(many=True, help_text="Every other box/material pair and why it lost.")


class CompleteIn(StrictSerializer):
    box = serializers.CharField(
        max_length=32,
        required=False,
        allow_null=True,
        default=None,
        help_text="Box code; none: the suggested.",
    )
    material = serializers.CharField(
        max_length=32,
        required=False,
        allow_null=True,
        default=None,
        help_text="Material code; none: the best.",
    )
    weight_grams = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PARCEL_GRAMS,
        required=False,
        allow_null=True,
        default=None,
        help_text="Measured parcel weight; none: computed from the items, box and material.",
    )


class ShipmentPackedOut(serializers.Serializer):
    id = serializers.IntegerField()
    shipment = serializers.CharField(source="number")
    status = serializers.CharField()
    method = serializers.CharField()
    box = serializers.CharField(source="box.code", allow_null=True)
    material = serializers.CharField(source="material.code", allow_null=True, default=None)
    weight_grams = serializers.IntegerField()
    dim_weight_grams = serializers.IntegerField()
    tracking_number = serializers.CharField(allow_null=True)
    service = serializers.CharField(source="service.__str__", allow_null=True, default=None)
    shipping_cost = serializers.DecimalField(max_digits=18, decimal_places=4)
    shipping_cost_currency = serializers.CharField()


@extend_schema(request=ScanIn, responses={200: ScanOut, **ERRORS})
class PackScan(APIView):
    """Scan units into the parcel: a wrong item or an extra unit is refused."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, FulfillmentOrder, pk, "Shipment")
        data = ScanIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = pack_scan(
            fulfillment_order_id=pk,
            barcode=data.validated_data["barcode"],
            quantity=data.validated_data["quantity"],
            actor=Actor.for_user(request.user),
        )
        return Response(ScanOut(result.as_dict()).data)


@extend_schema(responses={200: BoxOut, **ERRORS})
class BoxSuggestion(APIView):
    """The cheapest standard box the shipment fits in, and why every other lost."""

    permission_classes = [IsStaff]

    def get(self, request: Request, pk: int) -> Response:
        check_visible(request, FulfillmentOrder, pk, "Shipment")
        return Response(BoxOut(box_suggest(fulfillment_order_id=pk).as_dict()).data)


@extend_schema(request=CompleteIn, responses={200: ShipmentPackedOut, **ERRORS})
class PackComplete(APIView):
    """Close the parcel once every unit is scanned: box, weight, rate, tracking
    number; the shipment becomes packed (pick-up: ready for collection)."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, FulfillmentOrder, pk, "Shipment")
        data = CompleteIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        fo = pack_complete(
            fulfillment_order_id=pk,
            actor=Actor.for_user(request.user),
            box_code=v["box"],
            material_code=v["material"],
            weight_grams=v["weight_grams"],
        )
        return Response(ShipmentPackedOut(fo).data)


urlpatterns = [
    path("fulfillment/shipments/<int:pk>/pack/scan/", PackScan.as_view(), name="fulfillment-pack-scan"),
    path("fulfillment/shipments/<int:pk>/box/", BoxSuggestion.as_view(), name="fulfillment-box"),
    path(
        "fulfillment/shipments/<int:pk>/pack/complete/",
        PackComplete.as_view(),
        name="fulfillment-pack-complete",
    ),
]
