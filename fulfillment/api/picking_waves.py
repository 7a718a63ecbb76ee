"""Wave API (staff): group the most urgent released shipments of a location
(by carrier and ship-by day) into zone pick lists, release them to the
pickers, follow them to completion. Its urls are served by api/picking.py."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import StrictSerializer, text_params
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput, NotFound

from ..models import Carrier, FulfillmentOrder, Wave
from ..picking import wave_cancel, wave_create, wave_release
from ..picking.lists import MAX_ORDERS
from ..picking.selectors import pick_lists, waves
from .picking import ERRORS, PickListOut, warehouse_by_code
from .scoping import check_visible, check_workplace, scoped


class WaveOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField(source="__str__")
    warehouse = serializers.CharField(source="warehouse.code")
    status = serializers.CharField()
    carrier = serializers.CharField(source="carrier.code", allow_null=True, default=None)
    cutoff_at = serializers.DateTimeField(allow_null=True)
    consolidation_point = serializers.CharField()
    created_by = serializers.CharField(source="created_by.get_username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    released_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    lists = serializers.IntegerField(help_text="Pick lists of the wave.")
    lists_open = serializers.IntegerField(help_text="Of them still open or in progress.")
    shipment_count = serializers.IntegerField()


class WaveShipmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    shipment = serializers.CharField(source="number")
    status = serializers.CharField()
    priority = serializers.IntegerField()
    ship_by = serializers.DateField(allow_null=True)
    service = serializers.CharField(source="service.__str__", allow_null=True, default=None)


class WaveDetailOut(WaveOut):
    pick_lists = PickListOut(many=True)
    shipments = WaveShipmentOut(many=True)


class WaveIn(StrictSerializer):
    warehouse = serializers.CharField(max_length=32, help_text="Warehouse code.")
    carrier = serializers.CharField(
        max_length=32, required=False, allow_null=True, default=None, help_text="Carrier code; none: any."
    )
    ship_by = serializers.DateField(
        required=False, allow_null=True, default=None, help_text="Shipments due on or before this day."
    )
    max_orders = serializers.IntegerField(min_value=1, max_value=MAX_ORDERS, required=False)
    consolidation_point = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)


def wave_detail(request: Request, pk: int) -> dict:
    wave = scoped(waves(), request).filter(pk=pk).first()
    if wave is None:
        raise NotFound(f"Wave {pk} does not exist.")
    data = WaveOut(wave).data
    data["pick_lists"] = PickListOut(pick_lists().filter(wave=wave).order_by("id"), many=True).data
    fos = FulfillmentOrder.objects.filter(wave=wave).select_related("service__carrier").order_by("id")
    data["shipments"] = WaveShipmentOut(fos, many=True).data
    return data


@extend_schema(
    parameters=[
        OpenApiParameter("warehouse", str, description="Warehouse code."),
        OpenApiParameter("status", str, enum=Wave.Status.values),
    ]
)
class WaveList(generics.ListAPIView):
    """Waves, newest first; or plan one (POST)."""

    permission_classes = [IsStaff]
    serializer_class = WaveOut
    filter_backends: list = []

    def get_queryset(self):
        qs = scoped(waves(), self.request)
        params = self.request.query_params
        if warehouse := text_params(params, "warehouse").get("warehouse"):
            qs = qs.filter(warehouse__code=warehouse)
        if params.get("status"):
            if params["status"] not in Wave.Status.values:
                raise InvalidInput.field("status", f"must be one of {', '.join(Wave.Status.values)}")
            qs = qs.filter(status=params["status"])
        return qs

    @extend_schema(request=WaveIn, responses={201: WaveDetailOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = WaveIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        carrier_id = None
        if v["carrier"]:
            carrier = Carrier.objects.filter(code=v["carrier"]).first()
            if carrier is None:
                raise InvalidInput.field("carrier", f"unknown carrier '{v['carrier']}'")
            carrier_id = carrier.pk
        warehouse = warehouse_by_code(v["warehouse"])
        check_workplace(request, warehouse)
        wave = wave_create(
            warehouse_id=warehouse.pk,
            carrier_id=carrier_id,
            ship_by=v["ship_by"],
            max_orders=v.get("max_orders"),
            consolidation_point=v["consolidation_point"],
            actor=Actor.for_user(request.user),
        )
        return Response(wave_detail(request, wave.pk), status=status.HTTP_201_CREATED)


@extend_schema(responses={200: WaveDetailOut, 404: ERRORS[404]})
class WaveDetail(APIView):
    """A wave with its pick lists and shipments."""

    permission_classes = [IsStaff]

    def get(self, request: Request, pk: int) -> Response:
        return Response(wave_detail(request, pk))


@extend_schema(request=None, responses={200: WaveDetailOut, **ERRORS})
class WaveRelease(APIView):
    """Open a planned wave's pick lists to the pickers."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, Wave, pk, "Wave")
        wave_release(wave_id=pk, actor=Actor.for_user(request.user))
        return Response(wave_detail(request, pk))


@extend_schema(request=None, responses={200: WaveDetailOut, **ERRORS})
class WaveCancel(APIView):
    """Cancel a wave's open lists; shipments with nothing picked go back to released."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, Wave, pk, "Wave")
        wave_cancel(wave_id=pk, actor=Actor.for_user(request.user))
        return Response(wave_detail(request, pk))


urlpatterns = [
    path("fulfillment/waves/", WaveList.as_view(), name="fulfillment-waves"),
    path("fulfillment/waves/<int:pk>/", WaveDetail.as_view(), name="fulfillment-wave"),
    path("fulfillment/waves/<int:pk>/release/", WaveRelease.as_view(), name="fulfillment-wave-release"),
    path("fulfillment/waves/<int:pk>/cancel/", WaveCancel.as_view(), name="fulfillment-wave-cancel"),
]
