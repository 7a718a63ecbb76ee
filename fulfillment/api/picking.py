"""Picking API (staff, scanner-friendly): make pick lists, walk them bin by
bin scanning units, report units short, cancel; waves are in picking_waves."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import Warehouse
from oms.actors import Actor
from oms.api.fields import StrictSerializer, text_params
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput, NotFound

from ..documents.picking import pick_list_rows
from ..models import PickList, PickListLine
from ..picking import (
    pick_confirm_line,
    pick_list_cancel,
    pick_lists_create,
    pick_progress,
    pick_scan,
    pick_short,
)
from ..picking.common import MAX_SCAN_QUANTITY, next_stop, units_left
from ..picking.lists import MAX_ORDERS
from ..picking.selectors import pick_list_lines, pick_lists
from .scoping import check_visible, check_workplace, scoped

ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error: {code, message, fields}}` naming the field"),
    404: OpenApiResponse(description="No such pick list, line or wave"),
    409: OpenApiResponse(
        description="`wrong_bin` (names the expected bin), `wrong_item`, `over_pick`, `bin_short`, "
        "`already_listed`, `not_released`, `nothing_to_pick`, `wave_not_released` or `invalid_transition`"
    ),
}


def warehouse_by_code(code: str, field: str = "warehouse") -> Warehouse:
    warehouse = Warehouse.objects.filter(code=code).first()
    if warehouse is None:
        raise InvalidInput.field(field, f"unknown warehouse '{code[:32]}'", code="unknown_warehouse")
    return warehouse


# --- Serializers ------------------------------------------------------------------------------


class PickListOut(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.SerializerMethodField()
    warehouse = serializers.CharField(source="warehouse.code")
    mode = serializers.CharField()
    status = serializers.CharField()
    zone = serializers.CharField(source="zone.code", allow_null=True, default=None)
    wave = serializers.IntegerField(source="wave_id", allow_null=True)
    picker = serializers.CharField(source="picker.get_username", allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    units = serializers.IntegerField()
    picked = serializers.IntegerField(source="units_picked")
    short = serializers.IntegerField(source="units_short")
    stops = serializers.IntegerField()
    shipments = serializers.IntegerField()

    def get_number(self, pick_list: PickList) -> str:
        return f"P{pick_list.pk:06d}"


class PickToteOut(serializers.Serializer):
    slot = serializers.IntegerField()
    quantity = serializers.IntegerField()


class PickNextOut(serializers.Serializer):
    sequence = serializers.IntegerField()
    bin = serializers.CharField(allow_null=True, help_text="Bin code; null: the unlocated stock.")
    sku = serializers.CharField()
    name = serializers.CharField()
    barcode = serializers.CharField()
    quantity = serializers.IntegerField()
    totes = PickToteOut(many=True, help_text="How the units split into tote slots.")


class PickRowOut(serializers.Serializer):
    sequence = serializers.IntegerField()
    bin = serializers.CharField()
    sku = serializers.CharField()
    name = serializers.CharField()
    barcode = serializers.CharField()
    quantity = serializers.IntegerField()
    picked = serializers.IntegerField()
    totes = serializers.SerializerMethodField()

    def get_totes(self, row: dict) -> list[dict]:
        return [{"slot": slot, "quantity": qty} for slot, qty in sorted(row["totes"].items())]


class PickLineOut(serializers.Serializer):
    id = serializers.IntegerField()
    sequence = serializers.IntegerField()
    bin = serializers.CharField(source="bin.code", allow_null=True, default=None)
    zone = serializers.CharField(source="bin.zone.code", allow_null=True, default=None)
    sku = serializers.CharField(source="sku.code")
    barcode = serializers.CharField(source="sku.barcode")
    quantity = serializers.IntegerField()
    picked = serializers.IntegerField(source="quantity_picked")
    short = serializers.IntegerField(source="quantity_short")
    left = serializers.SerializerMethodField()
    tote_slot = serializers.IntegerField()
    shipment_id = serializers.IntegerField(source="fulfillment_line.fulfillment_order_id")
    shipment = serializers.CharField(source="fulfillment_line.fulfillment_order.number")
    shipment_status = serializers.CharField(source="fulfillment_line.fulfillment_order.status")

    def get_left(self, line) -> int:
        return units_left(line)


class PickListDetailOut(PickListOut):
    consolidation_point = serializers.CharField(
        source="wave.consolidation_point", default=None, allow_null=True
    )
    rows = PickRowOut(many=True, help_text="As printed: one row per stop (bin and SKU), walking order.")
    lines = PickLineOut(many=True)
    next = PickNextOut(allow_null=True, help_text="Where to go next; null when nothing is left.")


class PickListCreateIn(StrictSerializer):
    warehouse = serializers.CharField(max_length=32, help_text="Warehouse code.")
    mode = serializers.ChoiceField([PickList.Mode.SINGLE, PickList.Mode.BATCH, PickList.Mode.ZONE])
    shipments = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=MAX_ORDERS,
        help_text="Shipment ids; left out: the most urgent released shipments, up to max_orders.",
    )
    max_orders = serializers.IntegerField(min_value=1, max_value=MAX_ORDERS, required=False)
    zone = serializers.CharField(
        max_length=16, required=False, help_text="Zone code: only shipments whose units all sit in it."
    )


class PickListsCreatedOut(serializers.Serializer):
    pick_lists = PickListOut(many=True)


class PickScanIn(StrictSerializer):
    bin = serializers.CharField(
        max_length=32,
        allow_blank=True,
        allow_null=True,
        default=None,
        help_text="The scanned bin code; empty: units from the unlocated stock.",
    )
    barcode = serializers.CharField(max_length=64, help_text="The item's barcode (or SKU code typed in).")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_SCAN_QUANTITY, default=1)
    scan_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="Client id of the scan: a retry with the same id is not counted twice.",
    )


class PickQuantityIn(StrictSerializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_SCAN_QUANTITY)


class PickPlacedOut(serializers.Serializer):
    slot = serializers.IntegerField()
    quantity = serializers.IntegerField()
    shipment = serializers.CharField()


class PickProgressOut(serializers.Serializer):
    pick_list_id = serializers.IntegerField()
    status = serializers.CharField()
    units = serializers.IntegerField()
    picked = serializers.IntegerField()
    short = serializers.IntegerField()
    left = serializers.IntegerField()
    complete = serializers.BooleanField()
    replayed = serializers.BooleanField(help_text="A retried scan_id: nothing was counted again.")
    placed = PickPlacedOut(many=True, help_text="Which tote slots the confirmed units go into.")
    next = PickNextOut(allow_null=True)


class PickResourcedOut(serializers.Serializer):
    shipment_id = serializers.IntegerField()
    shipment = serializers.CharField()
    warehouse = serializers.CharField()


class PickShortOut(PickProgressOut):
    shipment = serializers.CharField(help_text="The shipment the units were short for.")
    resourced = PickResourcedOut(
        allow_null=True, help_text="The new shipment from another location; null: the units wait."
    )


# --- Views --------------------------------------------------------------------------------------


def detail(request: Request, pk: int) -> dict:
    pick_list = scoped(pick_lists(), request).filter(pk=pk).first()
    if pick_list is None:
        raise NotFound(f"Pick list {pk} does not exist.")
    lines = pick_list_lines(pick_list)
    data = PickListOut(pick_list).data
    data["consolidation_point"] = pick_list.wave.consolidation_point if pick_list.wave_id else None
    data["rows"] = PickRowOut(pick_list_rows(pick_list), many=True).data
    data["lines"] = PickLineOut(lines, many=True).data
    stop = next_stop(lines)
    data["next"] = stop.as_dict() if stop else None
    return data


@extend_schema(
    parameters=[
        OpenApiParameter("warehouse", str, description="Warehouse code."),
        OpenApiParameter("status", str, enum=PickList.Status.values),
        OpenApiParameter("mode", str, enum=PickList.Mode.values),
        OpenApiParameter("wave", int, description="Wave id."),
    ]
)
class PickListList(generics.ListAPIView):
    """Pick lists, newest first; or make new ones (POST)."""

    permission_classes = [IsStaff]
    serializer_class = PickListOut
    filter_backends: list = []

    def get_queryset(self):
        qs = scoped(pick_lists(), self.request)
        params = self.request.query_params
        if warehouse := text_params(params, "warehouse").get("warehouse"):
            qs = qs.filter(warehouse__code=warehouse)
        for name, choices in (("status", PickList.Status.values), ("mode", PickList.Mode.values)):
            if params.get(name):
                if params[name] not in choices:
                    raise InvalidInput.field(name, f"must be one of {', '.join(choices)}")
                qs = qs.filter(**{name: params[name]})
        if params.get("wave"):
            if not params["wave"].isdigit():
                raise InvalidInput.field("wave", "must be a wave id")
            qs = qs.filter(wave_id=int(params["wave"]))
        return qs

    @extend_schema(request=PickListCreateIn, responses={201: PickListsCreatedOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = PickListCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        warehouse = warehouse_by_code(v["warehouse"])
        check_workplace(request, warehouse)
        created = pick_lists_create(
            warehouse_id=warehouse.pk,
            mode=v["mode"],
            actor=Actor.for_user(request.user),
            fulfillment_order_ids=v.get("shipments"),
            max_orders=v.get("max_orders"),
            zone_code=v.get("zone"),
        )
        rows = pick_lists().filter(pk__in=[pl.pk for pl in created]).order_by("id")
        return Response({"pick_lists": PickListOut(rows, many=True).data}, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: PickListDetailOut, 404: ERRORS[404]})
class PickListDetail(APIView):
    """A pick list: rows as printed, lines (ids to confirm or short), and where to go next."""

    permission_classes = [IsStaff]

    def get(self, request: Request, pk: int) -> Response:
        return Response(detail(request, pk))


@extend_schema(request=PickScanIn, responses={200: PickProgressOut, **ERRORS})
class PickScan(APIView):
    """Scan the bin and the item: the units are confirmed at that stop and the
    answer says which tote slots they go into and where to go next."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, PickList, pk, "Pick list")
        data = PickScanIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        result = pick_scan(
            pick_list_id=pk,
            bin=v["bin"],
            barcode=v["barcode"],
            quantity=v["quantity"],
            scan_id=v["scan_id"],
            actor=Actor.for_user(request.user),
        )
        return Response(PickProgressOut(result.as_dict()).data)


@extend_schema(responses={200: PickProgressOut, 404: ERRORS[404]})
class PickProgressView(APIView):
    """Where the picker stands: units left and the next stop."""

    permission_classes = [IsStaff]

    def get(self, request: Request, pk: int) -> Response:
        check_visible(request, PickList, pk, "Pick list")
        return Response(PickProgressOut(pick_progress(pick_list_id=pk).as_dict()).data)


@extend_schema(request=PickQuantityIn, responses={200: PickProgressOut, **ERRORS})
class PickLineConfirm(APIView):
    """Confirm units of one line without a scanner."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, PickListLine, pk, "Pick line", field="pick_list__warehouse_id")
        data = PickQuantityIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = pick_confirm_line(
            pick_line_id=pk, quantity=data.validated_data["quantity"], actor=Actor.for_user(request.user)
        )
        return Response(PickProgressOut(result.as_dict()).data)


@extend_schema(request=PickQuantityIn, responses={200: PickShortOut, **ERRORS})
class PickLineShort(APIView):
    """Units of the line are not in the bin: they are released here, a cycle
    count is opened and they ship from another location, or wait."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, PickListLine, pk, "Pick line", field="pick_list__warehouse_id")
        data = PickQuantityIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = pick_short(
            pick_line_id=pk, quantity=data.validated_data["quantity"], actor=Actor.for_user(request.user)
        )
        return Response(PickShortOut(result.as_dict()).data)


@extend_schema(request=None, responses={200: PickListDetailOut, **ERRORS})
class PickListCancel(APIView):
    """Cancel an open list: shipments with nothing picked go back to released."""

    permission_classes = [IsStaff]

    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, PickList, pk, "Pick list")
        pick_list_cancel(pick_list_id=pk, actor=Actor.for_user(request.user))
        return Response(detail(request, pk))


urlpatterns = [
    path("fulfillment/pick-lists/", PickListList.as_view(), name="fulfillment-pick-lists"),
    path("fulfillment/pick-lists/<int:pk>/", PickListDetail.as_view(), name="fulfillment-pick-list"),
    path("fulfillment/pick-lists/<int:pk>/scan/", PickScan.as_view(), name="fulfillment-pick-scan"),
    path(
        "fulfillment/pick-lists/<int:pk>/progress/",
        PickProgressView.as_view(),
        name="fulfillment-pick-progress",
    ),
    path("fulfillment/pick-lists/<int:pk>/cancel/", PickListCancel.as_view(), name="fulfillment-pick-cancel"),
    path(
        "fulfillment/pick-lines/<int:pk>/confirm/",
        PickLineConfirm.as_view(),
        name="fulfillment-pick-line-confirm",
    ),
    path(
        "fulfillment/pick-lines/<int:pk>/short/", PickLineShort.as_view(), name="fulfillment-pick-line-short"
    ),
    path("", include("fulfillment.api.picking_waves")),
]
