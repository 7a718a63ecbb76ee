"""Staff API: stock-out risk and overstock reports from the demand forecast."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from oms.api.permissions import IsStaff

from . import access
from .models import StockLevel
from .reports import OVERSTOCK, STOCKOUT_RISK, stock_report


class ReportParams(serializers.Serializer):
    horizon_days = serializers.IntegerField(
        required=False, help_text="Days ahead to forecast (stock-out risk: 14, overstock: 30)."
    )
    history_days = serializers.IntegerField(required=False, help_text="Days of demand history (112).")
    warehouse = serializers.CharField(required=False, allow_blank=True, help_text="Warehouse code.")
    sku = serializers.CharField(required=False, allow_blank=True, help_text="SKU code.")


class OverstockParams(ReportParams):
    factor = serializers.FloatField(
        required=False, help_text="More than factor x forecast demand (default: OVERSTOCK_DAYS / horizon)."
    )


class PositionForecastSerializer(serializers.Serializer):
    sku = serializers.CharField(source="sku_code")
    warehouse = serializers.CharField(source="warehouse_code")
    available = serializers.IntegerField()
    forecast_demand = serializers.FloatField(help_text="Units expected over the horizon.")
    forecast_sigma = serializers.FloatField(help_text="Standard deviation of that demand.")
    method = serializers.CharField(help_text="The forecasting method chosen for the series.")
    stockout_probability = serializers.FloatField()
    days_until_stockout = serializers.IntegerField(
        allow_null=True, help_text="Day (0 = today) cumulative demand first exceeds available."
    )
    cover_ratio = serializers.FloatField(allow_null=True, help_text="Available / forecast demand.")


class OverstockSerializer(PositionForecastSerializer):
    excess = serializers.SerializerMethodField(help_text="Units above factor x forecast demand.")

    def get_excess(self, row) -> float:
        return round(row.available - self.context["factor"] * row.forecast_demand, 2)


class _Report(generics.ListAPIView):
    permission_classes = [IsStaff]
    # The rows are forecasts, not a queryset; this only tells the schema
    # generator which model they describe.
    queryset = StockLevel.objects.none()
    report = ""
    params_class: type[ReportParams] = ReportParams

    def list(self, request, *args, **kwargs):
        params = self.params_class(data=request.query_params)
        params.is_valid(raise_exception=True)
        result = stock_report(name=self.report, **params.validated_data)
        rows = result.rows
        if (ids := access.location_ids(request)) is not None:
            # The cached report covers every location; warehouse staff get theirs.
            rows = [r for r in rows if r.warehouse_id in ids]
        page = self.paginate_queryset(rows)
        context = {**self.get_serializer_context(), "factor": result.factor}
        serializer = self.get_serializer(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)


class StockoutRisk(_Report):
    """Positions whose available stock will not cover the forecast demand over
    the horizon, soonest stock-out first."""

    report = STOCKOUT_RISK
    serializer_class = PositionForecastSerializer

    @extend_schema(parameters=[ReportParams])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class Overstock(_Report):
    """Positions holding more than `factor` x the forecast demand over the
    horizon (stock nobody is forecast to buy included), largest excess first."""

    report = OVERSTOCK
    serializer_class = OverstockSerializer
    params_class = OverstockParams

    @extend_schema(parameters=[OverstockParams])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


urlpatterns = [
    path("inventory/reports/stockout-risk/", StockoutRisk.as_view(), name="report-stockout-risk"),
    path("inventory/reports/overstock/", Overstock.as_view(), name="report-overstock"),
]
