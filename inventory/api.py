"""Staff API: the consolidated inventory view (every SKU in every location)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers

from oms.api.fields import text_params
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput

from . import access
from .api_alerts import urlpatterns as alert_urlpatterns
from .api_atp import urlpatterns as atp_urlpatterns
from .api_importexport import urlpatterns as importexport_urlpatterns
from .api_operations import urlpatterns as operations_urlpatterns
from .api_purchasing import urlpatterns as purchasing_urlpatterns
from .models import StockLevel
from .selectors import DEMAND_WINDOW_DAYS, STATUSES, position_status, status_filter, stock_positions


class StockPositionSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    warehouse = serializers.CharField(source="warehouse.code")
    available = serializers.IntegerField(source="available_qty")
    incoming = serializers.IntegerField(
        help_text="In transit to here plus still due on open purchase orders."
    )
    next_eta = serializers.DateField(allow_null=True, help_text="Earliest ETA of an open purchase order.")
    demand = serializers.IntegerField(help_text=f"Units allocated in the last {DEMAND_WINDOW_DAYS} days.")
    avg_daily_demand = serializers.DecimalField(max_digits=14, decimal_places=2)
    days_of_cover = serializers.DecimalField(
        max_digits=14,
        decimal_places=1,
        allow_null=True,
        help_text="Available / average daily demand; null without demand.",
    )
    status = serializers.SerializerMethodField()

    class Meta:
        model = StockLevel
        fields = [
            "sku",
            "name",
            "warehouse",
            "on_hand",
            "allocated",
            "soft_reserved",
            "available",
            "incoming",
            "next_eta",
            "demand",
            "avg_daily_demand",
            "days_of_cover",
            "status",
        ]

    def get_status(self, level: StockLevel) -> str:
        return position_status(level.available_qty, level.days_of_cover, level.demand)


class StockPositions(generics.ListAPIView):
    """On hand, allocated, reserved, available, incoming and days of cover for
    every SKU in every active location. `status`: out (nothing available), low
    (fewer than LOW_STOCK_DAYS of cover), over (no demand, or more than
    OVERSTOCK_DAYS of cover). Warehouse staff see their own locations only."""

    serializer_class = StockPositionSerializer
    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[
            OpenApiParameter("warehouse", str, description="Warehouse code."),
            OpenApiParameter("sku", str, description="SKU code."),
            OpenApiParameter("category", str),
            OpenApiParameter("status", str, enum=list(STATUSES)),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        qs = access.scope(stock_positions(), self.request, field="warehouse")
        text = text_params(params, "warehouse", "sku", "category")
        if "warehouse" in text:
            qs = qs.filter(warehouse__code=text["warehouse"])
        if "sku" in text:
            qs = qs.filter(sku__code=text["sku"])
        if "category" in text:
            qs = qs.filter(sku__product__category__iexact=text["category"])
        status = params.get("status")
        if status:
            if status not in STATUSES:
                raise InvalidInput.field("status", f"must be one of: {', '.join(STATUSES)}")
            qs = qs.filter(status_filter(status))
        return qs.order_by("sku__code", "warehouse__code")


urlpatterns = [path("inventory/positions/", StockPositions.as_view(), name="stock-positions")]
urlpatterns += atp_urlpatterns
urlpatterns += alert_urlpatterns
urlpatterns += importexport_urlpatterns
urlpatterns += operations_urlpatterns
urlpatterns += purchasing_urlpatterns
