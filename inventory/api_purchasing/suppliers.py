"""Suppliers (read-only here; staff edit them in the admin) and what each sells."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.permissions import IsStaff

from ..models import Supplier, SupplierSKU
from ..purchasing import supplier_detail
from .common import COST, NOT_FOUND


class SupplierOut(serializers.ModelSerializer):
    class Meta:
        model = Supplier
        fields = [
            "code",
            "name",
            "currency",
            "default_lead_time_days",
            "email",
            "contact_name",
            "phone",
            "is_active",
        ]


class SupplierItemOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    unit_cost = serializers.DecimalField(**COST, help_text="In the supplier's currency.")
    lead_time_days = serializers.IntegerField(
        source="effective_lead_time_days", help_text="The SKU's own lead time, else the supplier's default."
    )

    class Meta:
        model = SupplierSKU
        fields = [
            "sku",
            "name",
            "supplier_sku_code",
            "unit_cost",
            "lead_time_days",
            "min_order_qty",
            "pack_size",
            "is_preferred",
        ]


class SupplierListOut(SupplierOut):
    sku_count = serializers.IntegerField(help_text="SKUs it supplies.")

    class Meta(SupplierOut.Meta):
        fields = [*SupplierOut.Meta.fields, "sku_count"]


class SupplierDetailOut(SupplierOut):
    items = SupplierItemOut(many=True, help_text="What it sells us, by SKU code.")

    class Meta(SupplierOut.Meta):
        fields = [*SupplierOut.Meta.fields, "notes", "created_at", "items"]


class SupplierFilters(serializers.Serializer):
    active = serializers.BooleanField(allow_null=True, default=None, help_text="Only (in)active suppliers.")
    search = serializers.CharField(required=False, allow_blank=True, help_text="Part of the code or name.")


class SupplierList(generics.ListAPIView):
    """Suppliers by code, with how many SKUs each supplies."""

    serializer_class = SupplierListOut
    permission_classes = [IsStaff]

    @extend_schema(parameters=[SupplierFilters])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Supplier]:
        filters = SupplierFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        qs = Supplier.objects.annotate(sku_count=Count("items")).order_by("code")
        if params["active"] is not None:
            qs = qs.filter(is_active=params["active"])
        if params.get("search"):
            qs = qs.filter(Q(code__icontains=params["search"]) | Q(name__icontains=params["search"]))
        return qs


class SupplierDetail(APIView):
    """One supplier and, per SKU, its cost, lead time, minimum order quantity,
    pack size and whether reorder rules buy from it (preferred)."""

    permission_classes = [IsStaff]

    @extend_schema(responses={200: SupplierDetailOut, 404: NOT_FOUND})
    def get(self, request: Request, code: str) -> Response:
        return Response(SupplierDetailOut(supplier_detail(code)).data)


urlpatterns = [
    path("inventory/suppliers/", SupplierList.as_view(), name="supplier-list"),
    path("inventory/suppliers/<str:code>/", SupplierDetail.as_view(), name="supplier-detail"),
]
