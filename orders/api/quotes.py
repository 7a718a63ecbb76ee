"""B2B quotes (staff): create, list, read, send, accept, reject, and the PDF.

The customer's copy of the PDF is reached by the signed link the quote e-mail
carries (quotes/shared/<token>/pdf/), without a login.
"""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django.db.models import Prefetch
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import MoneyOutField, StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput, NotFound
from oms.models import Channel
from oms.money import ZERO

from ..documents_quotes import quote_pdf
from ..models import Quote, QuoteEvent, QuoteLine
from ..services.quotes import (
    QuoteInput,
    QuoteLineInput,
    quote_accept,
    quote_create,
    quote_from_share_token,
    quote_reject,
    quote_send,
)
from .serializers import AMOUNT, AddressIn

PDF = "application/pdf"
ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="No such quote"),
    409: OpenApiResponse(description="`invalid_transition`, `quote_expired`, `quote_prices_changed`, ..."),
}
DEFAULT_VALIDITY_DAYS = 30


def quote_queryset(*, detail: bool = False):
    qs = Quote.objects.select_related("channel", "customer").prefetch_related(
        Prefetch("lines", queryset=QuoteLine.objects.select_related("sku").order_by("line_number"))
    )
    if detail:
        qs = qs.prefetch_related(
            Prefetch("events", queryset=QuoteEvent.objects.select_related("actor_user", "actor_channel"))
        )
    return qs


def _fetch(pk: int, *, detail: bool = True) -> Quote:
    quote = quote_queryset(detail=detail).filter(pk=pk).first()
    if quote is None:
        raise NotFound(f"Quote {pk} does not exist.")
    return quote


# --- Shapes ------------------------------------------------------------------------------


class QuoteLineIn(StrictSerializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10**6)
    discount = serializers.DecimalField(**AMOUNT, required=False, help_text="Discount on the whole line.")
    unit_price = serializers.DecimalField(
        **AMOUNT,
        required=False,
        help_text="Only on channels that set their own prices; elsewhere it must equal the list price.",
    )
    tax_amount = serializers.DecimalField(
        **AMOUNT, required=False, help_text="Only on channels that set their own prices."
    )


class QuoteIn(StrictSerializer):
    channel = serializers.CharField(max_length=32, help_text="Channel code the quote (and its order) is for.")
    customer_id = serializers.IntegerField(min_value=1)
    valid_until = serializers.DateField(
        required=False, help_text=f"Last day it may be accepted (default: in {DEFAULT_VALIDITY_DAYS} days)."
    )
    currency = serializers.CharField(max_length=3, required=False)
    lines = QuoteLineIn(many=True, allow_empty=False, max_length=500)
    shipping_address = AddressIn(required=False, help_text="Default: the customer's shipping address.")
    billing_address = AddressIn(required=False, allow_null=True)
    shipping_amount = serializers.DecimalField(
        **AMOUNT, required=False, help_text="Only on channels that set their own prices."
    )
    total = serializers.DecimalField(
        **AMOUNT, required=False, help_text="The grand total expected; checked against the OMS's."
    )
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RejectIn(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class QuoteLineOut(serializers.ModelSerializer):
    sku = serializers.CharField(source="sku.code")
    name = serializers.CharField(source="sku.name")
    unit_price = MoneyOutField(currency_attr="quote_currency")
    discount = MoneyOutField(currency_attr="quote_currency")
    tax_amount = MoneyOutField(currency_attr="quote_currency")
    line_total = MoneyOutField(currency_attr="quote_currency")

    class Meta:
        model = QuoteLine
        fields = [
            "line_number",
            "sku",
            "name",
            "quantity",
            "unit_price",
            "discount",
            "tax_rate",
            "tax_amount",
            "line_total",
        ]


class QuoteEventOut(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = QuoteEvent
        fields = ["kind", "from_status", "to_status", "actor", "message", "data", "created_at"]

    def get_actor(self, event: QuoteEvent) -> str:
        if event.actor_type == QuoteEvent.Actor.STAFF and event.actor_user_id:
            return f"staff:{event.actor_user.get_username()}"
        if event.actor_type == QuoteEvent.Actor.CHANNEL and event.actor_channel_id:
            return f"channel:{event.actor_channel.code}"
        return event.actor_type


class QuoteOut(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    customer = serializers.SerializerMethodField()
    subtotal = MoneyOutField()
    discount_total = MoneyOutField()
    shipping_total = MoneyOutField()
    tax_total = MoneyOutField()
    grand_total = MoneyOutField()
    order_id = serializers.IntegerField(allow_null=True)
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Quote
        fields = [
            "id",
            "number",
            "channel",
            "customer",
            "status",
            "currency",
            "valid_until",
            "subtotal",
            "discount_total",
            "shipping_total",
            "tax_total",
            "grand_total",
            "prices_include_tax",
            "shipping_address",
            "billing_address",
            "notes",
            "order_id",
            "sent_at",
            "accepted_at",
            "rejected_at",
            "expired_at",
            "rejection_reason",
            "created_at",
            "lines",
        ]

    def get_customer(self, quote: Quote) -> dict:
        c = quote.customer
        return {
            "id": c.pk,
            "email": c.email,
            "company": c.company,
            "name": c.full_name,
            "payment_terms_days": c.payment_terms_days,
        }

    def get_lines(self, quote: Quote) -> list[dict]:
        lines = list(quote.lines.all())
        for line in lines:
            line.quote_currency = quote.currency
        return QuoteLineOut(lines, many=True).data


class QuoteDetailOut(QuoteOut):
    events = QuoteEventOut(many=True)

    class Meta(QuoteOut.Meta):
        fields = [*QuoteOut.Meta.fields, "events"]


# --- Views -------------------------------------------------------------------------------


class QuoteFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Quote.Status.choices)
    channel = django_filters.CharFilter(field_name="channel__code")
    customer_id = django_filters.NumberFilter(field_name="customer_id")

    class Meta:
        model = Quote
        fields = []


class QuoteList(generics.ListAPIView):
    """List quotes (newest first) or create a draft, priced as an order for
    the same lines would be."""

    permission_classes = [IsStaff]
    serializer_class = QuoteOut
    filterset_class = QuoteFilter

    def get_queryset(self):
        return quote_queryset().order_by("-id")

    @extend_schema(request=QuoteIn, responses={201: QuoteDetailOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = QuoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        channel = Channel.objects.filter(code=v["channel"]).first()
        if channel is None:
            raise InvalidInput.field("channel", f"unknown channel '{v['channel']}'")
        quote = quote_create(
            data=QuoteInput(
                channel=channel,
                customer_id=v["customer_id"],
                valid_until=v.get("valid_until")
                or timezone.localdate() + timedelta(days=DEFAULT_VALIDITY_DAYS),
                currency=v.get("currency"),
                lines=[
                    QuoteLineInput(
                        sku=ln["sku"],
                        quantity=ln["quantity"],
                        discount=ln.get("discount") or ZERO,
                        unit_price=ln.get("unit_price"),
                        tax_amount=ln.get("tax_amount"),
                    )
                    for ln in v["lines"]
                ],
                shipping_address=dict(v["shipping_address"]) if v.get("shipping_address") else None,
                billing_address=dict(v["billing_address"]) if v.get("billing_address") else None,
                shipping_amount=v.get("shipping_amount"),
                expected_total=v.get("total"),
                notes=v["notes"],
            ),
            actor=Actor.for_user(request.user),
        )
        response = Response(QuoteDetailOut(_fetch(quote.pk)).data, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/quotes/{quote.pk}/"
        return response


class QuoteDetail(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: QuoteDetailOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(QuoteDetailOut(_fetch(pk)).data)


class QuoteSend(APIView):
    """E-mail a draft quote to the customer (with a link to its PDF)."""

    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={200: QuoteDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        quote_send(quote_id=pk, actor=Actor.for_user(request.user))
        return Response(QuoteDetailOut(_fetch(pk)).data)


class QuoteAccept(APIView):
    """The customer accepted: the quote becomes an order on account with the
    quoted prices (on hold when it takes the customer over its credit limit)."""

    permission_classes = [IsStaff]

    @extend_schema(request=None, responses={200: QuoteDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        quote_accept(quote_id=pk, actor=Actor.for_user(request.user))
        return Response(QuoteDetailOut(_fetch(pk)).data)


class QuoteReject(APIView):
    permission_classes = [IsStaff]

    @extend_schema(request=RejectIn, responses={200: QuoteDetailOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = RejectIn(data=request.data)
        data.is_valid(raise_exception=True)
        quote_reject(quote_id=pk, actor=Actor.for_user(request.user), reason=data.validated_data["reason"])
        return Response(QuoteDetailOut(_fetch(pk)).data)


def _pdf(quote: Quote) -> HttpResponse:
    response = HttpResponse(quote_pdf(quote), content_type=PDF)
    response["Content-Disposition"] = f'inline; filename="quote-{quote.number}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


class PdfView(APIView):
    def perform_content_negotiation(self, request: Request, force: bool = False):
        # "Accept: application/pdf" must not be refused: errors still render as JSON.
        return super().perform_content_negotiation(request, force=True)


@extend_schema(responses={(200, PDF): OpenApiResponse(OpenApiTypes.BINARY), 404: ERRORS[404]})
class QuotePdf(PdfView):
    permission_classes = [IsStaff]

    def get(self, request: Request, pk: int) -> HttpResponse:
        return _pdf(_fetch(pk, detail=False))


@extend_schema(responses={(200, PDF): OpenApiResponse(OpenApiTypes.BINARY), 404: ERRORS[404]})
class QuoteSharedPdf(PdfView):
    """The customer's copy, by the signed link in the quote e-mail."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request, token: str) -> HttpResponse:
        return _pdf(quote_from_share_token(token))


urlpatterns = [
    path("quotes/", QuoteList.as_view(), name="quote-list"),
    path("quotes/shared/<str:token>/pdf/", QuoteSharedPdf.as_view(), name="quote-shared-pdf"),
    path("quotes/<int:pk>/", QuoteDetail.as_view(), name="quote-detail"),
    path("quotes/<int:pk>/send/", QuoteSend.as_view(), name="quote-send"),
    path("quotes/<int:pk>/accept/", QuoteAccept.as_view(), name="quote-accept"),
    path("quotes/<int:pk>/reject/", QuoteReject.as_view(), name="quote-reject"),
    path("quotes/<int:pk>/pdf/", QuotePdf.as_view(), name="quote-pdf"),
]
