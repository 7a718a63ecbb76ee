"""Transfers between locations: create, ship (goods in transit), receive, cancel."""

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

from ..models import SKU, Transfer, TransferLine, Warehouse
from ..operations import transfer_cancel, transfer_create, transfer_receive, transfer_ship
from .common import ERRORS, bin_code_field, bin_id, code_field, fetch, staff


class TransferLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")

    class Meta:
        model = TransferLine
        fields = ["sku", "quantity", "quantity_received"]


class TransferOut(serializers.ModelSerializer):
    from_warehouse = serializers.CharField(source="from_warehouse.code")
    to_warehouse = serializers.CharField(source="to_warehouse.code")
    lines = TransferLineOut(many=True)

    class Meta:
        model = Transfer
        fields = [
            "id",
            "from_warehouse",
            "to_warehouse",
            "status",
            "expected_at",
            "note",
            "created_at",
            "shipped_at",
            "received_at",
            "lines",
        ]


# --- Transfers ---------------------------------------------------------------------


class TransferLineIn(StrictSerializer):
    sku = code_field(SKU, "SKU")
    quantity = serializers.IntegerField()


class TransferIn(StrictSerializer):
    from_warehouse = code_field(Warehouse, "warehouse")
    to_warehouse = code_field(Warehouse, "warehouse")
    lines = TransferLineIn(many=True)
    expected_at = serializers.DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class TransferShipIn(StrictSerializer):
    bin = bin_code_field("Bin of the sending warehouse every line comes out of; none: draw order.")


class TransferReceiveIn(StrictSerializer):
    bin = bin_code_field("Bin of the receiving warehouse the goods go into; none: unlocated.")
    to_primary_bin = serializers.BooleanField(
        default=False, help_text="Each SKU into its primary bin (unlocated if it has none)."
    )


def transfer_queryset():
    return Transfer.objects.select_related("from_warehouse", "to_warehouse").prefetch_related(
        Prefetch("lines", queryset=TransferLine.objects.select_related("sku").order_by("id"))
    )


def _transfer(pk: int) -> Transfer:
    return fetch(transfer_queryset(), pk, "transfer")


def transfer_response(pk: int, code: int = status.HTTP_200_OK) -> Response:
    return Response(TransferOut(_transfer(pk)).data, status=code)


class TransferCreate(APIView):
    """A draft transfer between two locations; nothing moves until it ships."""

    permission_classes = [IsStaff]

    @extend_schema(request=TransferIn, responses={201: TransferOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = TransferIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        transfer = transfer_create(
            from_warehouse_id=v["from_warehouse"].pk,
            to_warehouse_id=v["to_warehouse"].pk,
            lines=[(ln["sku"].pk, ln["quantity"]) for ln in v["lines"]],
            expected_at=v["expected_at"],
            note=v["note"],
            actor=staff(request),
        )
        return transfer_response(transfer.pk, status.HTTP_201_CREATED)


class TransferDetail(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: TransferOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return transfer_response(pk)


class TransferShip(APIView):
    """The goods leave: the sending location's on hand drops; they are in transit."""

    permission_classes = [IsStaff]

    @extend_schema(request=TransferShipIn, responses={200: TransferOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = TransferShipIn(data=request.data)
        data.is_valid(raise_exception=True)
        transfer = _transfer(pk)
        transfer_ship(
            transfer_id=pk,
            bin_id=bin_id(transfer.from_warehouse, data.validated_data["bin"]),
            actor=staff(request),
        )
        return transfer_response(pk)


class TransferReceive(APIView):
    """The goods arrive: the receiving location's on hand rises."""

    permission_classes = [IsStaff]

    @extend_schema(request=TransferReceiveIn, responses={200: TransferOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = TransferReceiveIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        transfer = _transfer(pk)
        transfer_receive(
            transfer_id=pk,
            bin_id=bin_id(transfer.to_warehouse, v["bin"]),
            to_primary_bin=v["to_primary_bin"],
            actor=staff(request),
        )
        return transfer_response(pk)


class TransferCancel(APIView):
    """Cancel a draft transfer."""

    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={200: TransferOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        transfer_cancel(transfer_id=pk, actor=staff(request))
        return transfer_response(pk)


urlpatterns = [
    path("inventory/transfers/", TransferCreate.as_view(), name="transfer-create"),
    path("inventory/transfers/<int:pk>/", TransferDetail.as_view(), name="transfer-detail"),
    path("inventory/transfers/<int:pk>/ship/", TransferShip.as_view(), name="transfer-ship"),
    path("inventory/transfers/<int:pk>/receive/", TransferReceive.as_view(), name="transfer-receive"),
    path("inventory/transfers/<int:pk>/cancel/", TransferCancel.as_view(), name="transfer-cancel"),
]
