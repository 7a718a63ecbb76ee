"""Cycle counts: start a sheet, record, submit, approve (variances to stock), cancel."""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff

from ..models import SKU, CountLine, CountSheet, Warehouse
from ..operations import count_approve, count_cancel, count_record, count_start, count_submit
from .common import ERRORS, bin_code_field, bin_id, code_field, fetch, staff


class CountLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    variance = serializers.IntegerField(allow_null=True, help_text="counted - expected; null until counted.")

    class Meta:
        model = CountLine
        fields = ["sku", "expected", "counted", "variance"]


class CountSheetOut(serializers.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    lines = CountLineOut(many=True)

    class Meta:
        model = CountSheet
        fields = ["id", "warehouse", "status", "note", "created_at", "submitted_at", "approved_at", "lines"]


# --- Cycle counts ------------------------------------------------------------------


class CountStartIn(StrictSerializer):
    warehouse = code_field(Warehouse, "warehouse")
    skus = serializers.ListField(
        child=code_field(SKU, "SKU"),
        required=False,
        allow_null=True,
        default=None,
        help_text="SKU codes to count; none: every SKU stocked in the warehouse.",
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class CountIn(StrictSerializer):
    sku = code_field(SKU, "SKU")
    counted = serializers.IntegerField(help_text="Units on the shelf, 0 or more.")


class CountRecordIn(StrictSerializer):
    counts = CountIn(many=True, allow_empty=False)


class CountApproveIn(StrictSerializer):
    bin = bin_code_field("The bin that was counted: gains go into it, losses come out of it.")


def count_queryset():
    return CountSheet.objects.select_related("warehouse").prefetch_related(
        Prefetch("lines", queryset=CountLine.objects.select_related("sku").order_by("id"))
    )


def _sheet(pk: int) -> CountSheet:
    return fetch(count_queryset(), pk, "count sheet")


def count_response(pk: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(CountSheetOut(_sheet(pk)).data, status=code)


class CountStart(APIView):
    """Open a count sheet; expected quantities are today's on hand."""

    permission_classes = [IsStaff]

    @extend_schema(request=CountStartIn, responses={201: CountSheetOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = CountStartIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        sheet = count_start(
            warehouse_id=v["warehouse"].pk,
            sku_ids=None if v["skus"] is None else [s.pk for s in v["skus"]],
            note=v["note"],
            actor=staff(request),
        )
        return count_response(sheet.pk, status.HTTP_201_CREATED)


class CountDetail(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: CountSheetOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return count_response(pk)


class CountRecord(APIView):
    """Record counted quantities while the sheet is open (again to correct)."""

    permission_classes = [IsStaff]

    @extend_schema(request=CountRecordIn, responses={200: CountSheetOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = CountRecordIn(data=request.data)
        data.is_valid(raise_exception=True)
        count_record(sheet_id=pk, counts={c["sku"].pk: c["counted"] for c in data.validated_data["counts"]})
        return count_response(pk)


class CountSubmit(APIView):
    """Every line counted: hand the sheet over for approval."""

    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={200: CountSheetOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        count_submit(sheet_id=pk, actor=staff(request))
        return count_response(pk)


class CountApprove(APIView):
    """Apply the variances to on hand as count movements."""

    permission_classes = [IsStaff]

    @extend_schema(request=CountApproveIn, responses={200: CountSheetOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = CountApproveIn(data=request.data)
        data.is_valid(raise_exception=True)
        sheet = _sheet(pk)
        count_approve(
            sheet_id=pk, bin_id=bin_id(sheet.warehouse, data.validated_data["bin"]), actor=staff(request)
        )
        return count_response(pk)


class CountCancel(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={200: CountSheetOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        count_cancel(sheet_id=pk, actor=staff(request))
        return count_response(pk)


urlpatterns = [
    path("inventory/counts/", CountStart.as_view(), name="count-start"),
    path("inventory/counts/<int:pk>/", CountDetail.as_view(), name="count-detail"),
    path("inventory/counts/<int:pk>/record/", CountRecord.as_view(), name="count-record"),
    path("inventory/counts/<int:pk>/submit/", CountSubmit.as_view(), name="count-submit"),
    path("inventory/counts/<int:pk>/approve/", CountApprove.as_view(), name="count-approve"),
    path("inventory/counts/<int:pk>/cancel/", CountCancel.as_view(), name="count-cancel"),
]
