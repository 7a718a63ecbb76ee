"""Staff API: stock alerts (list, acknowledge); its urlpatterns also carry the
stock-out risk and overstock reports (inventory.api_reports)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import NotFound

from . import access
from .alerts import stock_alert_acknowledge
from .api_reports import urlpatterns as report_urlpatterns
from .models import StockAlert

LIVE = "live"  # open or acknowledged: what still needs someone


class StockAlertSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    sku_name = serializers.CharField(source="sku.name")
    warehouse = serializers.CharField(source="warehouse.code")
    acknowledged_by = serializers.CharField(
        source="acknowledged_by.get_username", default=None, allow_null=True
    )

    class Meta:
        model = StockAlert
        fields = [
            "id",
            "kind",
            "status",
            "sku",
            "sku_name",
            "warehouse",
            "count_sheet",
            "message",
            "data",
            "opened_at",
            "last_seen_at",
            "acknowledged_at",
            "acknowledged_by",
            "resolved_at",
            "notified_at",
        ]


class AlertFilters(serializers.Serializer):
    kind = serializers.ChoiceField(choices=StockAlert.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=[*StockAlert.Status.values, LIVE], required=False)
    warehouse = serializers.CharField(required=False, allow_blank=True, help_text="Warehouse code.")
    sku = serializers.CharField(required=False, allow_blank=True, help_text="SKU code.")


def _alerts():
    return StockAlert.objects.select_related("sku", "warehouse", "acknowledged_by")


class StockAlertList(generics.ListAPIView):
    """Low stock, stock-out, overstock and count-variance alerts, newest first.
    `status=live` is every alert not resolved yet (open or acknowledged).
    Warehouse staff see their own locations' alerts only."""

    serializer_class = StockAlertSerializer
    permission_classes = [IsStaff]

    @extend_schema(parameters=[AlertFilters])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        filters = AlertFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        qs = access.scope(_alerts(), self.request, field="warehouse")
        if "kind" in params:
            qs = qs.filter(kind=params["kind"])
        if params.get("status") == LIVE:
            qs = qs.exclude(status=StockAlert.Status.RESOLVED)
        elif "status" in params:
            qs = qs.filter(status=params["status"])
        if params.get("warehouse"):
            qs = qs.filter(warehouse__code=params["warehouse"])
        if params.get("sku"):
            qs = qs.filter(sku__code=params["sku"])
        return qs


class AcknowledgeInput(StrictSerializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=500)


class StockAlertAcknowledge(APIView):
    """Acknowledge alerts (all or nothing): someone is on it. Resolved alerts
    refuse with 409 alert_resolved; acknowledging twice changes nothing."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=AcknowledgeInput,
        responses={
            200: StockAlertSerializer(many=True),
            404: OpenApiResponse(description="An id is no stock alert; `error.fields.ids` names them"),
        },
    )
    def post(self, request):
        data = AcknowledgeInput(data=request.data)
        data.is_valid(raise_exception=True)
        ids = data.validated_data["ids"]
        if access.location_ids(request) is not None:
            # Another location's alert is none of a warehouse user's business: unknown to them.
            yours = set(
                access.scope(StockAlert.objects.filter(pk__in=ids), request, "warehouse").values_list(
                    "pk", flat=True
                )
            )
            if others := sorted(set(ids) - yours):
                listed = ", ".join(map(str, others))
                raise NotFound(
                    f"No stock alert {listed}.", fields={"ids": [f"unknown alert id(s): {listed}"]}
                )
        stock_alert_acknowledge(alert_ids=ids, actor=Actor.from_request(request))
        return Response(StockAlertSerializer(_alerts().filter(pk__in=ids).order_by("pk"), many=True).data)


urlpatterns = [
    path("inventory/alerts/", StockAlertList.as_view(), name="stock-alerts"),
    path("inventory/alerts/acknowledge/", StockAlertAcknowledge.as_view(), name="stock-alerts-acknowledge"),
    *report_urlpatterns,
]
