"""Integration endpoints, under /api/v1/integrations/.

Platform webhooks carry no API key: the HMAC signature of the raw body, keyed
with the channel's ChannelIntegration.webhook_secret, authenticates them. A
bad or missing signature is a 401 and nothing is stored. A signed delivery is
always kept: placed (201, or 200 for a repeat) or held with the reason (also
2xx, so the platform does not resend what only staff can fix).

    POST shopify/<channel code>/orders/        Shopify orders/create webhook
    POST woocommerce/<channel code>/orders/    WooCommerce order.created webhook
    POST csv/<channel code>/orders/            staff: CSV batch upload (multipart `file`)
    GET  inbound-orders/[<id>/]                staff: the intake records
    POST inbound-orders/<id>/retry/            staff: place a held one again
    POST inbound-orders/<id>/reject/           staff: give up on a held one
"""

from __future__ import annotations

import json
from types import ModuleType

import django_filters
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.errors import error_response
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput, NotFound
from oms.models import Channel

from ..models_intake import ChannelIntegration, InboundOrder, Platform
from . import shopify, woocommerce
from .common import MAX_PAYLOAD_BYTES, signature_valid
from .csv_import import MAX_FILE_BYTES, ImportReport, orders_import_csv
from .services import Intake, inbound_order_receive, inbound_order_reject, inbound_order_retry

# --- Output ---------------------------------------------------------------------------


class InboundOrderOut(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    # Plain strings: the values are listed in the list filter, and a second
    # "status" enum would collide with the other apps' in the schema.
    status = serializers.CharField(help_text="received, placed, held or rejected")
    platform = serializers.CharField(help_text="shopify, woocommerce or csv")
    order_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = InboundOrder
        fields = [
            "id",
            "channel",
            "platform",
            "external_id",
            "status",
            "reason",
            "problems",
            "order_id",
            "deliveries",
            "attempts",
            "created_at",
            "updated_at",
        ]


class InboundOrderDetailOut(InboundOrderOut):
    class Meta(InboundOrderOut.Meta):
        fields = [*InboundOrderOut.Meta.fields, "payload"]


def _intake_response(intake: Intake) -> Response:
    response = Response(
        InboundOrderOut(intake.inbound).data, status=status.HTTP_201_CREATED if intake.created else 200
    )
    if not intake.created:
        response["Idempotent-Replayed"] = "true"
    return response


# --- Webhooks -------------------------------------------------------------------------

WEBHOOK_RESPONSES = {
    201: InboundOrderOut,
    200: OpenApiResponse(InboundOrderOut, description="A repeated delivery, or a topic that is ignored"),
    400: OpenApiResponse(description="Signed, but not an order payload: `{error: {code, message, fields}}`"),
    401: OpenApiResponse(description="Bad or missing signature; nothing stored"),
}


class _Webhook(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    platform: str
    adapter: ModuleType

    def post(self, request, code: str):
        body = request.body  # the raw bytes: the signature is over them, not over parsed JSON
        if self.platform == Platform.WOOCOMMERCE and woocommerce.PING.match(body):
            return Response({"status": "ping"})  # sent unsigned when the webhook is set up; stores nothing
        integration = (
            ChannelIntegration.objects.select_related("channel")
            .filter(channel__code=code, platform=self.platform, is_active=True)
            .first()
        )
        signature = request.headers.get(self.adapter.SIGNATURE_HEADER)
        if integration is None or not signature_valid(
            secret=integration.webhook_secret, body=body, signature=signature
        ):
            return error_response(
                "invalid_signature",
                f"Missing or invalid {self.adapter.SIGNATURE_HEADER} for channel '{code}'.",
                status.HTTP_401_UNAUTHORIZED,
            )
        topic = request.headers.get(self.adapter.TOPIC_HEADER, "")
        if topic != self.adapter.ORDER_TOPIC:
            return Response({"status": "ignored", "topic": topic[:100]})
        if len(body) > MAX_PAYLOAD_BYTES:
            raise InvalidInput.field("body", f"is larger than {MAX_PAYLOAD_BYTES // 1024} KB")
        if b"\\u0000" in body:
            raise InvalidInput.field("body", "contains a NUL character")
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise InvalidInput.field("body", "is not JSON", code="malformed_request") from None
        if not isinstance(payload, dict):
            raise InvalidInput.field("body", "must be a JSON object")
        intake = inbound_order_receive(
            channel=integration.channel,
            platform=self.platform,
            external_id=self.adapter.external_id(payload),
            payload=payload,
            actor=Actor.for_channel(integration.channel),
        )
        return _intake_response(intake)


class ShopifyOrderWebhook(_Webhook):
    """Shopify `orders/create` webhook, signed with `X-Shopify-Hmac-Sha256`."""

    platform = Platform.SHOPIFY
    adapter = shopify

    @extend_schema(operation_id="integrations_shopify_order", request=None, responses=WEBHOOK_RESPONSES)
    def post(self, request, code: str):
        return super().post(request, code)


class WooCommerceOrderWebhook(_Webhook):
    """WooCommerce `order.created` webhook, signed with `X-WC-Webhook-Signature`."""

    platform = Platform.WOOCOMMERCE
    adapter = woocommerce

    @extend_schema(operation_id="integrations_woocommerce_order", request=None, responses=WEBHOOK_RESPONSES)
    def post(self, request, code: str):
        return super().post(request, code)


# --- Staff ----------------------------------------------------------------------------


class CsvImportIn(StrictSerializer):
    file = serializers.FileField()


class OrderOutcomeOut(serializers.Serializer):
    external_id = serializers.CharField()
    rows = serializers.ListField(child=serializers.IntegerField())
    status = serializers.CharField()
    reason = serializers.CharField()
    order_id = serializers.IntegerField(allow_null=True)
    inbound_order_id = serializers.IntegerField(allow_null=True)
    duplicate = serializers.BooleanField()


class ImportReportOut(serializers.Serializer):
    placed = serializers.SerializerMethodField()
    held = serializers.SerializerMethodField()
    orders = OrderOutcomeOut(many=True)
    row_errors = serializers.ListField(child=serializers.DictField())

    def get_placed(self, report: ImportReport) -> int:
        return report.count(InboundOrder.Status.PLACED)

    def get_held(self, report: ImportReport) -> int:
        return report.count(InboundOrder.Status.HELD)


class CsvOrderImport(APIView):
    """Import a CSV batch of orders for a channel (columns: see
    orders.integrations.csv_import). Each order is placed or held on its own."""

    permission_classes = [IsStaff]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        operation_id="integrations_csv_orders",
        request={"multipart/form-data": CsvImportIn},
        responses={200: ImportReportOut},
    )
    def post(self, request, code: str):
        channel = Channel.objects.filter(code=code).first()
        if channel is None:
            raise NotFound(f"Channel '{code}' does not exist.")
        params = CsvImportIn(data=request.data)
        params.is_valid(raise_exception=True)
        report = orders_import_csv(
            channel=channel,
            data=params.validated_data["file"].read(MAX_FILE_BYTES + 1),
            actor=Actor.from_request(request),
        )
        return Response(ImportReportOut(report).data)


class InboundOrderFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=InboundOrder.Status.choices)
    platform = django_filters.ChoiceFilter(choices=Platform.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    external_id = django_filters.CharFilter()

    class Meta:
        model = InboundOrder
        fields = ["status", "platform", "channel", "external_id"]


class InboundOrderList(generics.ListAPIView):
    """Channel order deliveries, newest first; `?status=held` is the work queue."""

    permission_classes = [IsStaff]
    serializer_class = InboundOrderOut
    filterset_class = InboundOrderFilter
    queryset = InboundOrder.objects.select_related("channel").order_by("-id")


class InboundOrderDetail(generics.RetrieveAPIView):
    permission_classes = [IsStaff]
    serializer_class = InboundOrderDetailOut
    queryset = InboundOrder.objects.select_related("channel")


class InboundOrderRetry(APIView):
    """Place a held delivery again, after fixing what held it."""

    permission_classes = [IsStaff]

    @extend_schema(operation_id="integrations_inbound_retry", request=None, responses={200: InboundOrderOut})
    def post(self, request, pk: int):
        inbound = inbound_order_retry(inbound_order_id=pk, actor=Actor.from_request(request))
        return Response(InboundOrderOut(inbound).data)


class InboundRejectIn(StrictSerializer):
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class InboundOrderReject(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="integrations_inbound_reject",
        request=InboundRejectIn,
        responses={200: InboundOrderOut, 409: OpenApiResponse(description="Not held")},
    )
    def post(self, request, pk: int):
        params = InboundRejectIn(data=request.data)
        params.is_valid(raise_exception=True)
        inbound = inbound_order_reject(
            inbound_order_id=pk, actor=Actor.from_request(request), reason=params.validated_data["reason"]
        )
        return Response(InboundOrderOut(inbound).data)


urlpatterns = [
    path("shopify/<str:code>/orders/", ShopifyOrderWebhook.as_view(), name="integrations-shopify-orders"),
    path(
        "woocommerce/<str:code>/orders/",
        WooCommerceOrderWebhook.as_view(),
        name="integrations-woocommerce-orders",
    ),
    path("csv/<str:code>/orders/", CsvOrderImport.as_view(), name="integrations-csv-orders"),
    path("inbound-orders/", InboundOrderList.as_view(), name="inbound-order-list"),
    path("inbound-orders/<int:pk>/", InboundOrderDetail.as_view(), name="inbound-order-detail"),
    path("inbound-orders/<int:pk>/retry/", InboundOrderRetry.as_view(), name="inbound-order-retry"),
    path("inbound-orders/<int:pk>/reject/", InboundOrderReject.as_view(), name="inbound-order-reject"),
]
