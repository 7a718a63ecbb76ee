"""Moving a purchase order: send, cancel, close, and receive its goods."""

from __future__ import annotations

from collections.abc import Callable

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput
from oms.money import MAX_DIGITS

from ..api_operations.common import bin_code_field, bin_id, fetch, staff
from ..models import PurchaseOrder, PurchaseOrderLine
from ..purchasing import (
    PurchaseReceipt,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_detail,
    purchase_order_receive,
    purchase_order_send,
)
from .common import NOT_FOUND, PO_ERRORS
from .orders import PurchaseOrderDetailOut, po_response

# --- Send, cancel, close -------------------------------------------------------------


class PurchaseCancelIn(StrictSerializer):
    reason = serializers.CharField(max_length=500, help_text="Why; kept in the order's history.")


class PurchaseCloseIn(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class TransitionView(APIView):
    """Parse the input (if any), call `service` with it, answer with the order."""

    permission_classes = [IsStaff]
    input_class: type[StrictSerializer] | None = None
    service: Callable[..., PurchaseOrder]

    def post(self, request: Request, pk: int) -> Response:
        arguments = {}
        if self.input_class is not None:
            data = self.input_class(data=request.data)
            data.is_valid(raise_exception=True)
            arguments = data.validated_data
        type(self).service(po_id=pk, actor=staff(request), **arguments)
        return po_response(pk)


@extend_schema(request=None, responses={200: PurchaseOrderDetailOut, 404: NOT_FOUND, 409: PO_ERRORS[409]})
class Send(TransitionView):
    """Send a draft to the supplier: from now on its goods count as incoming."""

    service = purchase_order_send


@extend_schema(request=PurchaseCancelIn, responses={200: PurchaseOrderDetailOut, **PO_ERRORS})
class Cancel(TransitionView):
    """Cancel a draft or sent order; once goods arrived, close it instead."""

    input_class = PurchaseCancelIn
    service = purchase_order_cancel


@extend_schema(request=PurchaseCloseIn, responses={200: PurchaseOrderDetailOut, **PO_ERRORS})
class Close(TransitionView):
    """Close a (partially) received order: what is still outstanding will not come."""

    input_class = PurchaseCloseIn
    service = purchase_order_close


# --- Receive -----------------------------------------------------------------------


class PurchaseReceiptLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64, help_text="SKU code of one of the order's lines.")
    quantity = serializers.IntegerField(
        help_text="Units that arrived. A line may receive up to ordered x (1 + tolerance) in total."
    )


class PurchaseReceiveIn(StrictSerializer):
    receipts = PurchaseReceiptLineIn(many=True)
    bin = bin_code_field("Bin of the order's warehouse the goods go into; none: unlocated.")
    to_primary_bin = serializers.BooleanField(
        default=False, help_text="Each SKU into its primary bin (unlocated if it has none)."
    )
    reference = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text="E.g. the delivery note."
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate_receipts(self, receipts: list[dict]) -> list[dict]:
        # The service takes sku -> units: a SKU listed twice would silently keep one row.
        first: dict[str, int] = {}
        errors: list[dict] = []
        for i, row in enumerate(receipts):
            seen = first.setdefault(row["sku"], i)
            errors.append({"sku": [f"already listed in receipts[{seen}]"]} if seen != i else {})
        if any(errors):
            raise serializers.ValidationError(errors)
        return receipts


class PurchaseReceivedLineOut(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(help_text="Units received now.")
    received = serializers.IntegerField(help_text="Units received on the line in all.")
    outstanding = serializers.IntegerField()


class PurchaseReceiptOut(serializers.Serializer):
    event = serializers.IntegerField(help_text="Id of the order event recording the receipt.")
    reference = serializers.CharField()
    value = serializers.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=None,
        help_text="Units received now x unit cost, rounded to the order's currency.",
    )
    currency = serializers.CharField()
    lines = PurchaseReceivedLineOut(many=True)


class PurchaseReceiveOut(serializers.Serializer):
    receipt = PurchaseReceiptOut()
    purchase_order = PurchaseOrderDetailOut()


def _summary(receipt: PurchaseReceipt, reference: str) -> dict:
    return {
        "event": receipt.event.pk,
        "reference": reference,
        "value": receipt.value,
        "currency": receipt.currency,
        "lines": [
            {
                "sku": line.sku.code,
                "quantity": receipt.quantities[line.sku_id],
                "received": line.quantity_received,
                "outstanding": line.outstanding,
            }
            for line in receipt.lines
        ],
    }


def _name_rows(exc: InvalidInput, po_id: int, skus: list[str]) -> InvalidInput:
    """The service names a refused receipt `receipts.<sku>` (it takes a mapping);
    the request is a list, so name its row, and in the row the SKU when it is
    not on the order, else the quantity."""
    if not any(name.startswith("receipts.") for name in exc.fields):
        return exc
    row = {sku: i for i, sku in enumerate(skus)}
    on_order = set(PurchaseOrderLine.objects.filter(po_id=po_id).values_list("sku__code", flat=True))
    fields: dict[str, list[str]] = {}
    for name, problems in exc.fields.items():
        sku = name.removeprefix("receipts.")
        if sku != name and sku in row:
            name = f"receipts[{row[sku]}].{'quantity' if sku in on_order else 'sku'}"
        fields[name] = problems
    first, problems = next(iter(fields.items()))
    return InvalidInput(f"{first}: {problems[0]}", fields=fields, code=exc.code, **exc.details)


class Receive(APIView):
    """Goods arrive against a sent order, all or nothing: stock goes up through
    the ledger (RECEIPT movements referencing po:<id>), the lines and status
    follow, and an event records who received what. Each line may receive up
    to ordered x (1 + the order's over-receipt tolerance) in total."""

    permission_classes = [IsStaff]

    @extend_schema(request=PurchaseReceiveIn, responses={200: PurchaseReceiveOut, **PO_ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = PurchaseReceiveIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        po = fetch(PurchaseOrder.objects.select_related("warehouse"), pk, "purchase order")
        skus = [row["sku"] for row in v["receipts"]]
        try:
            receipt = purchase_order_receive(
                po_id=pk,
                receipts={row["sku"]: row["quantity"] for row in v["receipts"]},
                actor=staff(request),
                reference=v["reference"],
                note=v["note"],
                bin_id=bin_id(po.warehouse, v["bin"]),
                to_primary_bin=v["to_primary_bin"],
            )
        except InvalidInput as exc:
            raise _name_rows(exc, pk, skus) from exc
        order = fetch(purchase_order_detail(), pk, "purchase order")
        return Response(
            PurchaseReceiveOut({"receipt": _summary(receipt, v["reference"]), "purchase_order": order}).data
        )


urlpatterns = [
    path("inventory/purchase-orders/<int:pk>/send/", Send.as_view(), name="purchase-order-send"),
    path("inventory/purchase-orders/<int:pk>/cancel/", Cancel.as_view(), name="purchase-order-cancel"),
    path("inventory/purchase-orders/<int:pk>/close/", Close.as_view(), name="purchase-order-close"),
    path("inventory/purchase-orders/<int:pk>/receive/", Receive.as_view(), name="purchase-order-receive"),
]
