"""Adjust, write off, put away and move between bins; where the units are."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.fields import StrictSerializer, text_params
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput

from .. import access
from ..bins import StockLocations, bin_stock, stock_locations
from ..models import SKU, BinStock, Warehouse
from ..operations import stock_adjust, stock_bin_move, stock_putaway, stock_write_off
from .common import ERRORS, bin_code_field, bin_id, code_field, staff


class LocatedBinOut(serializers.ModelSerializer):
    bin = serializers.CharField(source="bin.code")
    zone = serializers.CharField(source="bin.zone.code")
    walk_sequence = serializers.IntegerField(source="bin.walk_sequence")
    assignment = serializers.CharField(
        allow_null=True, help_text="primary, overflow, or null: the SKU is not assigned to this bin."
    )

    class Meta:
        model = BinStock
        fields = ["bin", "zone", "walk_sequence", "quantity", "assignment"]


class BinStockOut(LocatedBinOut):
    warehouse = serializers.CharField(source="warehouse.code")
    sku = serializers.CharField(source="sku.code")

    class Meta(LocatedBinOut.Meta):
        fields = ["warehouse", "bin", "zone", "walk_sequence", "sku", "quantity", "assignment"]


class StockLocationsOut(serializers.Serializer):
    sku = serializers.CharField(source="level.sku.code")
    warehouse = serializers.CharField(source="level.warehouse.code")
    on_hand = serializers.IntegerField(source="level.on_hand")
    allocated = serializers.IntegerField(source="level.allocated")
    soft_reserved = serializers.IntegerField(source="level.soft_reserved")
    available = serializers.IntegerField(source="level.available")
    unlocated = serializers.IntegerField(help_text="On hand not in any bin yet (e.g. on the receiving dock).")
    bins = LocatedBinOut(many=True, help_text="Bins holding the SKU, in walk order.")


# --- Adjust, write off, put away, move ----------------------------------------------


class StockChangeIn(StrictSerializer):
    warehouse = code_field(Warehouse, "warehouse")
    sku = code_field(SKU, "SKU")
    quantity = serializers.IntegerField()
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class AdjustIn(StockChangeIn):
    quantity = serializers.IntegerField(help_text="Units to add (positive) or remove (negative).")
    reason = serializers.CharField(max_length=24, help_text="Reason code, e.g. damaged, found, lost.")
    bin = bin_code_field("Bin the units go into or come out of; none: unlocated / draw order.")


class WriteOffIn(StockChangeIn):
    quantity = serializers.IntegerField(help_text="Units to write off (positive).")
    reason = serializers.CharField(max_length=24, help_text="damaged, expired, lost, theft or recalled.")
    bin = bin_code_field("Bin the units come out of; none: draw order.")


class PutawayIn(StockChangeIn):
    quantity = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Units to put away; none: every unlocated unit.",
    )
    bin = bin_code_field("Bin to put the unlocated units in; none: the SKU's primary bin.")


class BinMoveIn(StockChangeIn):
    from_bin = serializers.CharField(max_length=32)
    to_bin = serializers.CharField(max_length=32)


class StockChangeView(APIView):
    """Parse the input, call `service` with it, answer with the SKU's position
    shelf by shelf. `arguments` adds the service's own. Warehouse staff change
    stock at their own locations only (403 elsewhere)."""

    permission_classes = [IsStaff]
    input_class: type[StockChangeIn]
    service: Callable[..., object]

    def arguments(self, v: dict) -> dict:
        return {"bin_id": bin_id(v["warehouse"], v["bin"])}

    def post(self, request: Request) -> Response:
        data = self.input_class(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        warehouse_id, sku_id = v["warehouse"].pk, v["sku"].pk
        if not access.may_work(request, warehouse_id):
            raise PermissionDenied(f"You do not work at location {v['warehouse'].code}.")
        type(self).service(
            warehouse_id=warehouse_id,
            sku_id=sku_id,
            quantity=v["quantity"],
            note=v["note"],
            actor=staff(request),
            **self.arguments(v),
        )
        position = stock_locations(sku_id=sku_id, warehouse_id=warehouse_id)[0]
        return Response(StockLocationsOut(position).data)


@extend_schema(request=AdjustIn, responses={200: StockLocationsOut, **ERRORS})
class Adjust(StockChangeView):
    """Add or remove units with a reason code. A removal without a bin takes
    unlocated units first, then the bins other than the primary, the primary last."""

    input_class = AdjustIn
    service = stock_adjust

    def arguments(self, v: dict) -> dict:
        return {**super().arguments(v), "reason": v["reason"]}


@extend_schema(request=WriteOffIn, responses={200: StockLocationsOut, **ERRORS})
class WriteOff(Adjust):
    """Take unsellable units out of stock for good."""

    input_class = WriteOffIn
    service = stock_write_off


@extend_schema(request=PutawayIn, responses={200: StockLocationsOut, **ERRORS})
class Putaway(StockChangeView):
    """Put unlocated units on a shelf (on hand does not change)."""

    input_class = PutawayIn
    service = stock_putaway


@extend_schema(request=BinMoveIn, responses={200: StockLocationsOut, **ERRORS})
class BinMove(StockChangeView):
    """Move units from one bin to another of the same warehouse."""

    input_class = BinMoveIn
    service = stock_bin_move

    def arguments(self, v: dict) -> dict:
        return {
            "from_bin_id": bin_id(v["warehouse"], v["from_bin"], "from_bin"),
            "to_bin_id": bin_id(v["warehouse"], v["to_bin"], "to_bin"),
        }


# --- Where the units are ---------------------------------------------------------------


class BinStockList(generics.ListAPIView):
    """Units on the shelves, in walk order: what is in a bin, where a SKU is
    (warehouse staff: at their own locations)."""

    serializer_class = BinStockOut
    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[
            OpenApiParameter("warehouse", str, description="Warehouse code."),
            OpenApiParameter("bin", str, description="Bin code."),
            OpenApiParameter("sku", str, description="SKU code."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = access.scope(bin_stock(), self.request, field="warehouse")
        text = text_params(self.request.query_params, "warehouse", "bin", "sku")
        for param, lookup in (("warehouse", "warehouse__code"), ("bin", "bin__code"), ("sku", "sku__code")):
            if param in text:
                qs = qs.filter(**{lookup: text[param]})
        return qs


class StockLocationsView(APIView):
    """One SKU per warehouse: on hand, available, unlocated and the bins that hold it
    (warehouse staff: at their own locations)."""

    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[
            OpenApiParameter("sku", str, required=True, description="SKU code."),
            OpenApiParameter("warehouse", str, description="Warehouse code."),
        ],
        responses={200: StockLocationsOut(many=True), 400: ERRORS[400]},
    )
    def get(self, request: Request) -> Response:
        params = text_params(request.query_params, "sku", "warehouse")
        sku = SKU.objects.filter(code=params.get("sku", "")).first()
        if sku is None:
            raise InvalidInput.field("sku", f"unknown SKU '{params.get('sku', '')}'", code="unknown_sku")
        warehouse_id = None
        if params.get("warehouse"):
            warehouse = Warehouse.objects.filter(code=params["warehouse"]).first()
            if warehouse is None:
                raise InvalidInput.field("warehouse", f"unknown warehouse '{params['warehouse']}'")
            warehouse_id = warehouse.pk
        found: list[StockLocations] = [
            position
            for position in stock_locations(sku_id=sku.pk, warehouse_id=warehouse_id)
            if access.may_work(request, position.level.warehouse_id)
        ]
        return Response(StockLocationsOut(found, many=True).data)


urlpatterns = [
    path("inventory/adjustments/", Adjust.as_view(), name="stock-adjust"),
    path("inventory/write-offs/", WriteOff.as_view(), name="stock-write-off"),
    path("inventory/putaways/", Putaway.as_view(), name="stock-putaway"),
    path("inventory/bin-moves/", BinMove.as_view(), name="stock-bin-move"),
    path("inventory/bin-stock/", BinStockList.as_view(), name="bin-stock"),
    path("inventory/locations/", StockLocationsView.as_view(), name="stock-locations"),
]
