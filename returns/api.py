"""Returns API: return requests (RMA) for storefronts and staff, and the
return label (return policies: api_policies; the case queue: api_cases).

Scoping: a channel key sees and starts returns of its own channel's orders
only (another channel's return or order is a 404, as if it did not exist);
starting one inside the policy authorizes it at once, outside it is a 409
naming why. Staff see every channel, may let a return outside the policy
wait for review, and move returns along (authorize, reject, cancel, receive,
refund, exchange) through returns.services.
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.urls import include, path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.auth import request_channel
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import NotFound
from oms.money import round_money
from orders.models import Order

from .documents import return_label_pdf
from .models import ReturnEvent, ReturnLine, ReturnRequest
from .services import (
    Inspection,
    ReturnLineInput,
    refund_due,
    return_authorize,
    return_cancel,
    return_exchange,
    return_receive,
    return_refund,
    return_reject,
    return_request,
)

PDF = "application/pdf"
AMOUNT = {"max_digits": 16, "decimal_places": 4, "max_value": 10**11}
MAX_LINES = 200
ERRORS = {
    400: OpenApiResponse(description="Invalid input naming the field: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="Not found (or another channel's)"),
    409: OpenApiResponse(
        description="`outside_policy`, `invalid_transition` (the return's status does not allow it), ..."
    ),
}


def _fetch(queryset: QuerySet, pk: int, what: str):
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"{what} {pk} does not exist.")
    return found


# --- Output ---------------------------------------------------------------------------


@extend_schema_field({"type": "string", "format": "decimal", "example": "19.99"})
class OrderMoneyField(serializers.Field):
    """An amount of a return, rounded to its order's currency."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return (super().get_attribute(instance), instance.order.currency)

    def to_representation(self, value):
        amount, currency = value
        return str(round_money(amount, currency))


class ReturnLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    order_line_id = serializers.IntegerField()

    class Meta:
        model = ReturnLine
        fields = [
            "id",
            "order_line_id",
            "sku",
            "quantity",
            "reason",
            "note",
            "quantity_received",
            "condition",
            "disposition",
        ]


class ReturnEventOut(serializers.ModelSerializer):
    class Meta:
        model = ReturnEvent
        fields = ["kind", "from_status", "to_status", "actor_type", "message", "created_at"]


class ReturnOut(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True)
    order_id = serializers.IntegerField()
    order_number = serializers.CharField(source="order.number")
    channel = serializers.CharField(source="channel.code")
    customer_id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    currency = serializers.CharField(source="order.currency")
    restocking_fee = OrderMoneyField()
    shipping_refund = OrderMoneyField()
    refund_total = OrderMoneyField()
    replacement_order_id = serializers.IntegerField(allow_null=True)
    lines = ReturnLineOut(many=True)

    class Meta:
        model = ReturnRequest
        fields = [
            "id",
            "number",
            "status",
            "resolution",
            "source",
            "order_id",
            "order_number",
            "channel",
            "customer_id",
            "location",
            "review_reason",
            "customer_note",
            "label_tracking",
            "return_shipping_paid_by",
            "currency",
            "restocking_fee",
            "shipping_refund",
            "refund_total",
            "replacement_order_id",
            "created_at",
            "updated_at",
            "received_at",
            "completed_at",
            "lines",
        ]


class ReturnDetailOut(ReturnOut):
    events = ReturnEventOut(many=True)

    class Meta(ReturnOut.Meta):
        fields = [*ReturnOut.Meta.fields, "events"]


def returns_for(request: Request, *, detail: bool = False) -> QuerySet[ReturnRequest]:
    qs = ReturnRequest.objects.select_related("order", "channel", "location").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.select_related("sku").order_by("id"))
    )
    if detail:
        qs = qs.prefetch_related(Prefetch("events", queryset=ReturnEvent.objects.order_by("id")))
    channel = request_channel(request)
    return qs.filter(channel=channel) if channel is not None else qs


def _detail(request: Request, pk: int, code: int = status.HTTP_200_OK) -> Response:
    found = _fetch(returns_for(request, detail=True), pk, "Return")
    response = Response(ReturnDetailOut(found).data, status=code)
    if code == status.HTTP_201_CREATED:
        response["Location"] = f"/api/v1/returns/{pk}/"
    return response


# --- Return requests ------------------------------------------------------------------


class ReturnLineIn(StrictSerializer):
    order_line_id = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    reason = serializers.ChoiceField(choices=ReturnLine.Reason.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReturnIn(StrictSerializer):
    order_id = serializers.IntegerField(min_value=1)
    lines = ReturnLineIn(many=True, allow_empty=False, max_length=MAX_LINES)
    resolution = serializers.ChoiceField(
        choices=ReturnRequest.Resolution.choices, default=ReturnRequest.Resolution.REFUND
    )
    location = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="Code of the store or warehouse the goods go back to (default: the policy's first, "
        "else where the order shipped from).",
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class StaffReturnIn(ReturnIn):
    review = serializers.BooleanField(
        default=False,
        help_text="Outside the return policy, let the return wait for review (and open a case) "
        "instead of refusing it.",
    )


class ReturnFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ReturnRequest.Status.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    order = django_filters.NumberFilter(field_name="order_id")

    class Meta:
        model = ReturnRequest
        fields = []


class ReturnList(generics.ListAPIView):
    """Returns, newest first (a channel key: its own channel's), or start one.

    A channel starts returns of its own orders; inside the return policy the
    return is authorized at once, outside it the answer is 409
    `outside_policy` naming why. Staff may send `"review": true` to let such
    a return wait for review instead.
    """

    serializer_class = ReturnOut
    filterset_class = ReturnFilter

    def get_queryset(self):
        return returns_for(self.request).order_by("-id")

    @extend_schema(request=StaffReturnIn, responses={201: ReturnDetailOut, **ERRORS})
    def post(self, request: Request) -> Response:
        channel = request_channel(request)
        data = (ReturnIn if channel is not None else StaffReturnIn)(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if channel is not None and not Order.objects.filter(pk=v["order_id"], channel=channel).exists():
            raise NotFound(f"Order {v['order_id']} does not exist.")
        created = return_request(
            order_id=v["order_id"],
            lines=[
                ReturnLineInput(
                    order_line_id=ln["order_line_id"],
                    quantity=ln["quantity"],
                    reason=ln["reason"],
                    note=ln["note"],
                )
                for ln in v["lines"]
            ],
            actor=Actor.from_request(request),
            source=ReturnRequest.Source.API if channel is not None else ReturnRequest.Source.STAFF,
            resolution=v["resolution"],
            location_code=v["location"],
            note=v["note"],
            allow_review=channel is None and v["review"],
        )
        return _detail(request, created.pk, status.HTTP_201_CREATED)


class ReturnDetail(APIView):
    @extend_schema(responses={200: ReturnDetailOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return _detail(request, pk)


class ReturnMessageIn(StrictSerializer):
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReturnRejectIn(StrictSerializer):
    reason = serializers.CharField(max_length=500, help_text="Why; the customer is told.")


class ReturnCancelIn(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class StaffAction(APIView):
    permission_classes = [IsStaff]


class ReturnAuthorize(StaffAction):
    """Authorize a return that waited for review."""

    @extend_schema(request=ReturnMessageIn, responses={200: ReturnDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = ReturnMessageIn(data=request.data)
        data.is_valid(raise_exception=True)
        return_authorize(
            return_id=pk, actor=Actor.for_user(request.user), message=data.validated_data["message"]
        )
        return _detail(request, pk)


class ReturnReject(StaffAction):
    """Reject a return that waited for review, saying why."""

    @extend_schema(request=ReturnRejectIn, responses={200: ReturnDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = ReturnRejectIn(data=request.data)
        data.is_valid(raise_exception=True)
        return_reject(return_id=pk, actor=Actor.for_user(request.user), reason=data.validated_data["reason"])
        return _detail(request, pk)


class ReturnCancel(StaffAction):
    """Cancel a return before its goods arrive."""

    @extend_schema(request=ReturnCancelIn, responses={200: ReturnDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = ReturnCancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        return_cancel(return_id=pk, actor=Actor.for_user(request.user), reason=data.validated_data["reason"])
        return _detail(request, pk)


class ReturnInspectionIn(StrictSerializer):
    line_id = serializers.IntegerField(min_value=1, help_text="Return line id.")
    quantity = serializers.IntegerField(min_value=0, max_value=100_000, help_text="Units that arrived.")
    condition = serializers.ChoiceField(
        choices=ReturnLine.Condition.choices, required=False, allow_blank=True, default=""
    )
    disposition = serializers.ChoiceField(
        choices=ReturnLine.Disposition.choices, required=False, allow_blank=True, default=""
    )


class ReturnReceiveIn(StrictSerializer):
    inspections = ReturnInspectionIn(many=True, allow_empty=False, max_length=MAX_LINES)


class ReturnReceive(StaffAction):
    """The parcel arrived: per line the units that came, their condition and
    what becomes of them (restock, quarantine, refurbish, scrap)."""

    staff_change = "receiving.change"

    @extend_schema(request=ReturnReceiveIn, responses={200: ReturnDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = ReturnReceiveIn(data=request.data)
        data.is_valid(raise_exception=True)
        return_receive(
            return_id=pk,
            inspections=[
                Inspection(
                    line_id=i["line_id"],
                    quantity=i["quantity"],
                    condition=i["condition"],
                    disposition=i["disposition"],
                )
                for i in data.validated_data["inspections"]
            ],
            actor=Actor.for_user(request.user),
        )
        return _detail(request, pk)


class ReturnRefundIn(StrictSerializer):
    amount = serializers.DecimalField(
        **AMOUNT,
        required=False,
        allow_null=True,
        default=None,
        help_text="Less than what is due for a partial refund; default: everything due (refund-preview).",
    )


class ReturnRefund(StaffAction):
    """Refund a received return to the original payment; the return is completed."""

    @extend_schema(request=ReturnRefundIn, responses={200: ReturnDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = ReturnRefundIn(data=request.data)
        data.is_valid(raise_exception=True)
        return_refund(return_id=pk, actor=Actor.for_user(request.user), amount=data.validated_data["amount"])
        return _detail(request, pk)


class ReturnExchangeIn(StrictSerializer):
    lines = serializers.DictField(
        child=serializers.IntegerField(min_value=1, max_value=100_000),
        required=False,
        allow_null=True,
        allow_empty=False,
        default=None,
        help_text="SKU code -> quantity to send; default: the SKUs and quantities returned.",
    )

    def validate_lines(self, value):
        if value is not None and len(value) > MAX_LINES:
            raise serializers.ValidationError(f"at most {MAX_LINES} SKUs")
        return value


class ReturnExchange(StaffAction):
    """Send a replacement order at no charge (once the return is authorized)."""

    @extend_schema(request=ReturnExchangeIn, responses={200: ReturnDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = ReturnExchangeIn(data=request.data)
        data.is_valid(raise_exception=True)
        return_exchange(return_id=pk, actor=Actor.for_user(request.user), lines=data.validated_data["lines"])
        return _detail(request, pk)


class ReturnRefundPreviewOut(serializers.Serializer):
    return_id = serializers.IntegerField()
    number = serializers.CharField()
    currency = serializers.CharField()
    goods = serializers.CharField(help_text="Goods received, net of tax and of the restocking fee.")
    shipping = serializers.CharField(help_text="Original shipping given back (net of tax).")
    tax = serializers.CharField()
    fee = serializers.CharField(help_text="Restocking fee kept.")
    total = serializers.CharField(help_text="What a refund now would give back.")
    refunded = serializers.CharField(help_text="Refunded so far.")


class ReturnRefundPreview(StaffAction):
    """What a refund of the units received would give back, and the fee kept."""

    @extend_schema(responses={200: ReturnRefundPreviewOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        found = _fetch(returns_for(request), pk, "Return")
        split, fee = refund_due(found)
        currency = found.order.currency

        def money(amount) -> str:
            return str(round_money(amount, currency))

        return Response(
            ReturnRefundPreviewOut(
                {
                    "return_id": found.pk,
                    "number": found.number,
                    "currency": currency,
                    "goods": money(split.goods_net),
                    "shipping": money(split.shipping_net),
                    "tax": money(split.tax),
                    "fee": money(fee),
                    "total": money(split.total),
                    "refunded": money(found.refund_total),
                }
            ).data
        )


@extend_schema(
    responses={
        (200, PDF): OpenApiResponse(OpenApiTypes.BINARY, description="4 x 6 inch PDF"),
        404: ERRORS[404],
        409: OpenApiResponse(description="`no_label`: the return is not authorized"),
    }
)
class ReturnLabel(APIView):
    """The return label the customer sticks on the parcel: from their address
    to the return location, the RMA number as a barcode (staff, or the
    return's own channel)."""

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # "Accept: application/pdf" must not be refused: errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request: Request, pk: int) -> HttpResponse:
        found = _fetch(returns_for(request), pk, "Return")
        response = HttpResponse(return_label_pdf(found), content_type=PDF)
        response["Content-Disposition"] = f'inline; filename="return-label-{found.number}.pdf"'
        response["Cache-Control"] = "private, no-store"
        return response


urlpatterns = [
    path("returns/", ReturnList.as_view(), name="return-list"),
    path("returns/<int:pk>/", ReturnDetail.as_view(), name="return-detail"),
    path("returns/<int:pk>/authorize/", ReturnAuthorize.as_view(), name="return-authorize"),
    path("returns/<int:pk>/reject/", ReturnReject.as_view(), name="return-reject"),
    path("returns/<int:pk>/cancel/", ReturnCancel.as_view(), name="return-cancel"),
    path("returns/<int:pk>/receive/", ReturnReceive.as_view(), name="return-receive"),
    path("returns/<int:pk>/refund/", ReturnRefund.as_view(), name="return-refund"),
    path("returns/<int:pk>/exchange/", ReturnExchange.as_view(), name="return-exchange"),
    path("returns/<int:pk>/refund-preview/", ReturnRefundPreview.as_view(), name="return-refund-preview"),
    path("returns/<int:pk>/label/", ReturnLabel.as_view(), name="return-label"),
    path("", include("returns.api_policies")),
    path("", include("returns.api_cases")),
]
