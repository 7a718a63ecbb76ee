"""Shipments API (staff): list and read shipments, confirm hand-over to the
carrier or collection in store; and the carriers' signed tracking webhook
(no login: the signature is the credential)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import text_params
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput, NotFound

from ..models import FulfillmentOrder
from ..shipping import pickup_collect, shipment_ship
from ..shipping.selectors import carrier_tracking_url, public_tracking_url, shipment_detail, shipments
from ..tracking import SIGNATURE_HEADER, tracking_receive
from .scoping import check_visible, scoped

ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error: {code, message, fields}}` naming the field"),
    404: OpenApiResponse(description="No such shipment"),
    409: OpenApiResponse(
        description="`already_shipped`, `already_collected`, `no_label`, `pickup_not_shipped`, "
        "`not_a_pickup` or `invalid_transition` (e.g. the shipment is not packed)"
    ),
}


class ShipmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    shipment = serializers.CharField(source="number")
    order_id = serializers.IntegerField()
    order = serializers.CharField(source="order.number")
    status = serializers.CharField()
    method = serializers.CharField()
    warehouse = serializers.CharField(source="warehouse.code")
    carrier = serializers.SerializerMethodField()
    service = serializers.SerializerMethodField()
    tracking_number = serializers.CharField(allow_null=True)
    tracking_url = serializers.SerializerMethodField(help_text="The carrier's public tracking page.")
    units = serializers.IntegerField()
    ship_by = serializers.DateField(allow_null=True)
    promised_delivery = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()
    packed_at = serializers.DateTimeField(allow_null=True)
    shipped_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)

    def get_carrier(self, fo: FulfillmentOrder) -> str | None:
        return fo.service.carrier.code if fo.service_id else None

    def get_service(self, fo: FulfillmentOrder) -> str | None:
        return fo.service.code if fo.service_id else None

    def get_tracking_url(self, fo: FulfillmentOrder) -> str | None:
        return carrier_tracking_url(fo)


class ShipmentLineOut(serializers.Serializer):
    id = serializers.IntegerField()
    order_line_id = serializers.IntegerField()
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    quantity = serializers.IntegerField()
    picked = serializers.IntegerField(source="quantity_picked")
    packed = serializers.IntegerField(source="quantity_packed")
    short = serializers.IntegerField(source="quantity_short")


class ShipmentEventOut(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    kind = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = serializers.CharField(source="actor_type")
    user = serializers.CharField(source="actor_user.username", allow_null=True, default=None)
    message = serializers.CharField()
    data = serializers.JSONField()


class TrackingEventOut(serializers.Serializer):
    carrier_event_id = serializers.CharField()
    status = serializers.CharField()
    description = serializers.CharField()
    location = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()


class ShipmentDetailOut(ShipmentOut):
    decision_id = serializers.IntegerField(allow_null=True)
    service_overridden = serializers.BooleanField()
    shipping_cost = serializers.DecimalField(max_digits=18, decimal_places=4)
    shipping_cost_currency = serializers.CharField()
    ship_to = serializers.JSONField()
    box = serializers.CharField(source="box.code", allow_null=True, default=None)
    weight_grams = serializers.IntegerField(allow_null=True)
    dim_weight_grams = serializers.IntegerField(allow_null=True)
    public_tracking_url = serializers.SerializerMethodField(help_text="Our page for the customer.")
    lines = ShipmentLineOut(many=True)
    events = ShipmentEventOut(many=True)
    tracking = TrackingEventOut(many=True)

    def get_public_tracking_url(self, fo: FulfillmentOrder) -> str | None:
        return public_tracking_url(fo)


class TrackingReportOut(serializers.Serializer):
    carrier = serializers.CharField()
    received = serializers.IntegerField(help_text="Events in the request.")
    stored = serializers.IntegerField(help_text="New events stored.")
    duplicates = serializers.IntegerField(help_text="Events already stored (a retry): ignored.")
    unknown = serializers.ListField(child=serializers.CharField(), help_text="Tracking numbers not ours.")
    waiting = serializers.ListField(
        child=serializers.CharField(), help_text="Parcels scanned before their hand-over was confirmed."
    )
    moved = serializers.ListField(child=serializers.DictField(child=serializers.CharField()))


def _detail_response(request: Request, pk: int) -> Response:
    check_visible(request, FulfillmentOrder, pk, "Shipment")
    fo = shipment_detail(pk)
    if fo is None:
        raise NotFound(f"Shipment {pk} does not exist.")
    return Response(ShipmentDetailOut(fo).data)


@extend_schema(
    parameters=[
        OpenApiParameter("status", str, description="Comma-separated statuses."),
        OpenApiParameter("warehouse", str, description="Warehouse code."),
        OpenApiParameter("order", int, description="Order id (= order number)."),
        OpenApiParameter("carrier", str, description="Carrier code."),
        OpenApiParameter("method", str, enum=FulfillmentOrder.Method.values),
        OpenApiParameter("tracking_number", str),
    ]
)
class ShipmentList(generics.ListAPIView):
    """Shipments, newest first."""

    permission_classes = [IsStaff]
    serializer_class = ShipmentOut
    filter_backends: list = []

    def get_queryset(self):
        qs = scoped(shipments(), self.request)
        params = self.request.query_params
        if params.get("status"):
            wanted = [s.strip() for s in params["status"].split(",") if s.strip()]
            bad = [s for s in wanted if s not in FulfillmentOrder.Status.values]
            if bad:
                choices = ", ".join(FulfillmentOrder.Status.values)
                raise InvalidInput.field("status", f"unknown status {bad[0]!r}; one of {choices}")
            qs = qs.filter(status__in=wanted)
        if params.get("method"):
            if params["method"] not in FulfillmentOrder.Method.values:
                raise InvalidInput.field(
                    "method", f"must be one of {', '.join(FulfillmentOrder.Method.values)}"
                )
            qs = qs.filter(method=params["method"])
        if params.get("order"):
            if not params["order"].isdigit() or len(params["order"]) > 18:
                raise InvalidInput.field("order", "must be an order number")
            qs = qs.filter(order_id=int(params["order"]))
        text = text_params(params, "warehouse", "carrier", "tracking_number")
        if "warehouse" in text:
            qs = qs.filter(warehouse__code=text["warehouse"])
        if "carrier" in text:
            qs = qs.filter(service__carrier__code=text["carrier"])
        if "tracking_number" in text:
            qs = qs.filter(tracking_number__iexact=text["tracking_number"].strip())
        return qs


@extend_schema(responses={200: ShipmentDetailOut, 404: ERRORS[404]})
class ShipmentDetail(APIView):
    """A shipment: lines (picked / packed / short), its history, the carrier's
    scans, the routing decision, service, cost and tracking links."""

    permission_classes = [IsStaff]

    def get(self, request: Request, pk: int) -> Response:
        return _detail_response(request, pk)


@extend_schema(request=None, responses={200: ShipmentDetailOut, **ERRORS})
class ShipmentShip(APIView):
    """The packed parcel was handed to the carrier: stock leaves, the order
    follows, payment is captured and the customer e-mailed (after commit)."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, FulfillmentOrder, pk, "Shipment")
        shipment_ship(fulfillment_order_id=pk, actor=Actor.for_user(request.user))
        return _detail_response(request, pk)


@extend_schema(request=None, responses={200: ShipmentDetailOut, **ERRORS})
class ShipmentCollect(APIView):
    """The customer collected the packed pick-up order in store."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, FulfillmentOrder, pk, "Shipment")
        pickup_collect(fulfillment_order_id=pk, actor=Actor.for_user(request.user))
        return _detail_response(request, pk)


@extend_schema(
    request={"application/json": {"type": "object"}},
    parameters=[OpenApiParameter(SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True)],
    responses={
        200: TrackingReportOut,
        400: ERRORS[400],
        401: OpenApiResponse(description="`bad_signature`: nothing was stored"),
        404: OpenApiResponse(description="No such carrier"),
    },
)
class CarrierTrackingWebhook(APIView):
    """A carrier's tracking events, signed with HMAC-SHA256 of the raw body
    (header X-Carrier-Signature). Events are stored once; unknown tracking
    numbers are listed in the answer, not refused."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request: Request, code: str) -> Response:
        report = tracking_receive(
            carrier_code=code, body=request.body, signature=request.headers.get(SIGNATURE_HEADER, "")
        )
        return Response(TrackingReportOut(report.as_dict()).data)


urlpatterns = [
    path("fulfillment/shipments/", ShipmentList.as_view(), name="fulfillment-shipments"),
    path("fulfillment/shipments/<int:pk>/", ShipmentDetail.as_view(), name="fulfillment-shipment"),
    path("fulfillment/shipments/<int:pk>/ship/", ShipmentShip.as_view(), name="fulfillment-shipment-ship"),
    path(
        "fulfillment/shipments/<int:pk>/collect/",
        ShipmentCollect.as_view(),
        name="fulfillment-shipment-collect",
    ),
    path(
        "fulfillment/carriers/<slug:code>/tracking/",
        CarrierTrackingWebhook.as_view(),
        name="fulfillment-carrier-tracking",
    ),
]
