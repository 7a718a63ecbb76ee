"""Purchase orders: list, read, create and edit drafts.

Creating and editing call inventory.purchasing, which checks the lines against
what the supplier sells (MOQ, pack size) and prices them from its SKU costs;
its errors already name `lines[i].sku` / `lines[i].quantity` by the index of
the request's list.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.fields import MoneyOutField, StrictSerializer
from oms.api.permissions import IsStaff

from .. import access
from ..api_operations.common import fetch, staff
from ..models import PurchaseOrder, PurchaseOrderEvent, PurchaseOrderLine, Supplier, Warehouse
from ..purchasing import purchase_order_create, purchase_order_detail, purchase_order_update, purchase_orders
from .common import COST, NOT_FOUND, PO_ERRORS, active_code_field

# --- Output ------------------------------------------------------------------------


class PurchaseOrderLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    ordered = serializers.IntegerField(source="quantity_ordered")
    received = serializers.IntegerField(source="quantity_received")
    outstanding = serializers.IntegerField(help_text="Still to come: 0 once received in full (or over).")
    unit_cost = serializers.DecimalField(**COST, help_text="In the order's currency.")

    class Meta:
        model = PurchaseOrderLine
        fields = ["sku", "name", "ordered", "received", "outstanding", "unit_cost"]


class PurchaseOrderEventOut(serializers.ModelSerializer):
    actor = serializers.CharField(help_text="Who: 'staff <user>', 'channel <code>' or 'system'.")
    user = serializers.CharField(
        source="actor_user.get_username",
        default=None,
        allow_null=True,
        help_text="The staff user, when a person did it.",
    )

    class Meta:
        model = PurchaseOrderEvent
        fields = ["id", "kind", "from_status", "to_status", "actor", "user", "message", "data", "created_at"]


class PurchaseOrderOut(serializers.ModelSerializer):
    supplier = serializers.CharField(source="supplier.code")
    supplier_name = serializers.CharField(source="supplier.name")
    warehouse = serializers.CharField(source="warehouse.code")
    line_count = serializers.IntegerField()
    units_ordered = serializers.IntegerField()
    units_received = serializers.IntegerField()
    units_outstanding = serializers.IntegerField()
    total = MoneyOutField(help_text="Ordered value, rounded to the order's currency.")
    created_by = serializers.CharField(source="created_by.get_username", default=None, allow_null=True)

    class Meta:
        model = PurchaseOrder
        fields = [
            "id",
            "supplier",
            "supplier_name",
            "warehouse",
            "status",
            "currency",
            "expected_at",
            "over_receipt_tolerance_pct",
            "note",
            "line_count",
            "units_ordered",
            "units_received",
            "units_outstanding",
            "total",
            "created_by",
            "created_at",
            "sent_at",
            "received_at",
            "closed_at",
            "cancelled_at",
        ]


class PurchaseOrderDetailOut(PurchaseOrderOut):
    lines = PurchaseOrderLineOut(many=True)
    events = PurchaseOrderEventOut(many=True, help_text="The history, oldest first.")

    class Meta(PurchaseOrderOut.Meta):
        fields = [*PurchaseOrderOut.Meta.fields, "lines", "events"]


def po_response(pk: int, code: int = status.HTTP_200_OK) -> Response:
    po = fetch(purchase_order_detail(), pk, "purchase order")
    return Response(PurchaseOrderDetailOut(po).data, status=code)


# --- Input -------------------------------------------------------------------------


class PurchaseLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64, help_text="SKU code; the supplier must sell it.")
    quantity = serializers.IntegerField(
        help_text="Units: at least the supplier's minimum order quantity, a multiple of its pack size."
    )


class PurchaseOrderIn(StrictSerializer):
    supplier = active_code_field(Supplier, "supplier")
    warehouse = active_code_field(Warehouse, "warehouse", help_text="Code of the delivery warehouse.")
    lines = PurchaseLineIn(many=True, help_text="Priced from the supplier's SKU costs.")
    expected_at = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="ETA; none: today plus the longest lead time of the lines.",
    )
    over_receipt_tolerance_pct = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="How far (in %, 0 to 100) a line may be over-received; none: the default, 5.",
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class PurchaseOrderUpdateIn(PurchaseOrderIn):
    """Every field is optional: what is left out stays as it is (the lines too)."""

    # Read with partial=True. No nulls: the service cannot clear an ETA or a tolerance.
    expected_at = serializers.DateField(required=False)
    over_receipt_tolerance_pct = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True)


def _lines(rows: list[dict]) -> list[tuple[str, int]]:
    return [(row["sku"], row["quantity"]) for row in rows]


# --- Views -------------------------------------------------------------------------


class PurchaseOrderFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=PurchaseOrder.Status.choices, required=False)
    supplier = serializers.CharField(required=False, allow_blank=True, help_text="Supplier code.")
    warehouse = serializers.CharField(required=False, allow_blank=True, help_text="Warehouse code.")
    sku = serializers.CharField(required=False, allow_blank=True, help_text="Orders with a line of this SKU.")


class PurchaseOrderList(generics.ListAPIView):
    serializer_class = PurchaseOrderOut
    permission_classes = [IsStaff]

    @extend_schema(parameters=[PurchaseOrderFilters])
    def get(self, request, *args, **kwargs):
        """Purchase orders, newest first, with their line totals (warehouse
        staff: those delivered to their own locations)."""
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[PurchaseOrder]:
        filters = PurchaseOrderFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        params = filters.validated_data
        qs = access.scope(purchase_orders(), self.request, field="warehouse")
        if "status" in params:
            qs = qs.filter(status=params["status"])
        if params.get("supplier"):
            qs = qs.filter(supplier__code=params["supplier"])
        if params.get("warehouse"):
            qs = qs.filter(warehouse__code=params["warehouse"])
        if params.get("sku"):
            # EXISTS leaves alone the join on lines that the totals sum over: they stay whole-order.
            has_sku = PurchaseOrderLine.objects.filter(po=OuterRef("pk"), sku__code=params["sku"])
            qs = qs.filter(Exists(has_sku))
        return qs.order_by("-id")

    @extend_schema(request=PurchaseOrderIn, responses={201: PurchaseOrderDetailOut, 400: PO_ERRORS[400]})
    def post(self, request: Request) -> Response:
        """A draft purchase order: nothing is incoming until it is sent."""
        data = PurchaseOrderIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        po = purchase_order_create(
            supplier_id=v["supplier"].pk,
            warehouse_id=v["warehouse"].pk,
            lines=_lines(v["lines"]),
            actor=staff(request),
            expected_at=v["expected_at"],
            over_receipt_tolerance_pct=v["over_receipt_tolerance_pct"],
            note=v["note"],
        )
        return po_response(po.pk, status.HTTP_201_CREATED)


class PurchaseOrderDetail(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: PurchaseOrderDetailOut, 404: NOT_FOUND})
    def get(self, request: Request, pk: int) -> Response:
        """One order: its lines (ordered, received, outstanding) and its history."""
        return po_response(pk)

    @extend_schema(request=PurchaseOrderUpdateIn, responses={200: PurchaseOrderDetailOut, **PO_ERRORS})
    def patch(self, request: Request, pk: int) -> Response:
        """Edit a draft (409 once sent). New `lines` replace all of them and are
        re-priced; without `lines` the current ones are checked again (against
        the new supplier, if it changes)."""
        data = PurchaseOrderUpdateIn(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        po = fetch(PurchaseOrder.objects, pk, "purchase order")
        # The service replaces the lines wholesale, so keeping them means passing them back.
        # They are read before the service locks the order: of two edits racing on one
        # draft, the last wins whole, lines included, as it does for every other field.
        lines = (
            _lines(v["lines"])
            if "lines" in v
            else list(po.lines.order_by("id").values_list("sku__code", "quantity_ordered"))
        )
        purchase_order_update(
            po_id=pk,
            actor=staff(request),
            lines=lines,
            supplier_id=v["supplier"].pk if "supplier" in v else None,
            warehouse_id=v["warehouse"].pk if "warehouse" in v else None,
            expected_at=v.get("expected_at"),
            over_receipt_tolerance_pct=v.get("over_receipt_tolerance_pct"),
            note=v.get("note"),
        )
        return po_response(pk)


urlpatterns = [
    path("inventory/purchase-orders/", PurchaseOrderList.as_view(), name="purchase-order-list"),
    path("inventory/purchase-orders/<int:pk>/", PurchaseOrderDetail.as_view(), name="purchase-order-detail"),
]
