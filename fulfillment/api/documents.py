"""Printable documents (staff): labels (PDF 4x6 or ZPL), packing slips,
receipts, pick lists, a wave's print run, and labels in bulk."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from inventory.access import location_ids
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput, NotFound
from orders.models import Order

from ..documents import label_pdf, label_zpl, packing_slip_pdf, pick_list_pdf, receipt_pdf, wave_documents_pdf
from ..models import FulfillmentOrder, PickList, Wave
from .scoping import scoped

PDF = "application/pdf"
# ZPL has no registered media type; printers' drivers and Browser Print take plain text.
ZPL = "text/plain; charset=utf-8"
MAX_BULK = 500

PDF_RESPONSE = {(200, PDF): OpenApiResponse(OpenApiTypes.BINARY, description="PDF document")}
ERRORS = {
    400: OpenApiResponse(description="Invalid input, e.g. a shipment with no tracking number yet"),
    404: OpenApiResponse(description="Not found"),
}


def shipments(request: Request) -> QuerySet[FulfillmentOrder]:
    """The shipments the request's user may print (a warehouse user: their locations')."""
    return scoped(
        FulfillmentOrder.objects.select_related("order__channel", "warehouse", "service__carrier", "box"),
        request,
    )


def document(
    content: bytes | str, content_type: str, filename: str, *, download: bool = False
) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def fetch(queryset: QuerySet, pk: int, what: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"{what} {pk} does not exist.")
    return found


class StaffDocument(APIView):
    permission_classes = [IsStaff]

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # "Accept: application/pdf" must not be refused as unacceptable: the
        # document is returned as is, and errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)


@extend_schema(responses={**PDF_RESPONSE, **ERRORS})
class LabelPdf(StaffDocument):
    """The shipping label, 4 x 6 inch PDF."""

    def get(self, request: Request, pk: int) -> HttpResponse:
        fo = fetch(shipments(request), pk, "Shipment")
        return document(label_pdf([fo]), PDF, f"label-{fo.number}.pdf")


@extend_schema(
    responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="ZPL II"), **ERRORS}
)
class LabelZpl(StaffDocument):
    """The shipping label as ZPL II for a 203 dpi thermal printer."""

    def get(self, request: Request, pk: int) -> HttpResponse:
        fo = fetch(shipments(request), pk, "Shipment")
        return document(label_zpl([fo]), ZPL, f"label-{fo.number}.zpl", download=True)


@extend_schema(responses={**PDF_RESPONSE, **ERRORS})
class PackingSlipPdf(StaffDocument):
    """The shipment's packing slip (no prices on gift orders)."""

    def get(self, request: Request, pk: int) -> HttpResponse:
        fo = fetch(shipments(request), pk, "Shipment")
        return document(packing_slip_pdf([fo]), PDF, f"packing-slip-{fo.number}.pdf")


@extend_schema(responses={**PDF_RESPONSE, **ERRORS})
class ReceiptPdf(StaffDocument):
    """The order's receipt: prices, discounts, tax, shipping, total and payment."""

    def get(self, request: Request, pk: int) -> HttpResponse:
        # A warehouse user prints receipts of orders that ship from their locations.
        orders = Order.objects.select_related("channel")
        if location_ids(request) is not None:
            orders = orders.filter(
                pk__in=scoped(FulfillmentOrder.objects.filter(order_id=pk), request).values("order_id")
            )
        order = fetch(orders, pk, "Order")
        return document(receipt_pdf([order]), PDF, f"receipt-{order.number}.pdf")


@extend_schema(responses={**PDF_RESPONSE, **ERRORS})
class PickListPdf(StaffDocument):
    """A pick list in walking order, bins as barcodes."""

    def get(self, request: Request, pk: int) -> HttpResponse:
        pick_lists = scoped(PickList.objects.select_related("warehouse", "zone", "picker"), request)
        pick_list = fetch(pick_lists, pk, "Pick list")
        return document(pick_list_pdf([pick_list]), PDF, f"pick-list-P{pick_list.pk:06d}.pdf")


@extend_schema(
    responses={**PDF_RESPONSE, 404: ERRORS[404], 409: OpenApiResponse(description="Nothing to print yet")}
)
class WaveDocumentsPdf(StaffDocument):
    """A wave's print run: label and packing slip of every packed shipment, then its pick lists."""

    def get(self, request: Request, pk: int) -> HttpResponse:
        wave = fetch(scoped(Wave.objects.all(), request), pk, "Wave")
        return document(wave_documents_pdf(wave), PDF, f"wave-W{wave.pk:06d}.pdf")


class BulkLabelsIn(StrictSerializer):
    shipments = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=1,
        max_length=MAX_BULK,
        help_text="Shipment ids.",
    )
    format = serializers.ChoiceField(["pdf", "zpl"], default="pdf")


@extend_schema(
    request=BulkLabelsIn,
    responses={
        **PDF_RESPONSE,
        (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="ZPL II"),
        400: ERRORS[400],
    },
)
class BulkLabels(StaffDocument):
    """Labels of many shipments in one document, in the order given."""

    def post(self, request: Request) -> HttpResponse:
        data = BulkLabelsIn(data=request.data)
        data.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(data.validated_data["shipments"]))
        found = {fo.pk: fo for fo in shipments(request).filter(pk__in=ids)}
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise InvalidInput.field("shipments", f"no such shipment: {', '.join(missing)}")
        fos = [found[pk] for pk in ids]
        if data.validated_data["format"] == "zpl":
            return document(label_zpl(fos), ZPL, f"labels-{len(fos)}.zpl", download=True)
        return document(label_pdf(fos), PDF, f"labels-{len(fos)}.pdf")


urlpatterns = [
    path("fulfillment/shipments/<int:pk>/label.pdf", LabelPdf.as_view(), name="fulfillment-label-pdf"),
    path("fulfillment/shipments/<int:pk>/label.zpl", LabelZpl.as_view(), name="fulfillment-label-zpl"),
    path(
        "fulfillment/shipments/<int:pk>/packing-slip.pdf",
        PackingSlipPdf.as_view(),
        name="fulfillment-packing-slip",
    ),
    path("fulfillment/orders/<int:pk>/receipt.pdf", ReceiptPdf.as_view(), name="fulfillment-receipt"),
    path(
        "fulfillment/pick-lists/<int:pk>/pick-list.pdf",
        PickListPdf.as_view(),
        name="fulfillment-pick-list-pdf",
    ),
    path(
        "fulfillment/waves/<int:pk>/documents.pdf",
        WaveDocumentsPdf.as_view(),
        name="fulfillment-wave-documents",
    ),
    path("fulfillment/documents/labels/", BulkLabels.as_view(), name="fulfillment-bulk-labels"),
]
