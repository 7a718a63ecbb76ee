"""Staff API for customer value and privacy.

GET  /api/v1/customers/ranking/?by=margin|revenue&limit=20   the most profitable
     customers (or the biggest spenders), from the metrics the beat task refreshes
GET  /api/v1/customers/<id>/export/     everything about a customer, as JSON
POST /api/v1/customers/<id>/anonymize/  {"confirm": "<the customer's e-mail>"}:
     erase the customer's personal data, keeping orders and the books
"""

from __future__ import annotations

from django.conf import settings
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import CustomerMetrics
from oms.actors import Actor
from oms.api.fields import MoneyOutField, StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput

from .metrics import MAX_RANKING_LIMIT, RANKING_BY, customer_ranking
from .privacy import customer_anonymize, customer_export

ERRORS = {
    400: OpenApiResponse(description="Invalid input naming the field: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="No such customer"),
}


class RankingRowOut(serializers.ModelSerializer):
    customer_id = serializers.IntegerField()
    email = serializers.EmailField(source="customer.email")
    name = serializers.CharField(source="customer.full_name")
    company = serializers.CharField(source="customer.company")
    revenue = MoneyOutField()
    cogs = MoneyOutField()
    refunds = MoneyOutField()
    shipping_cost = MoneyOutField()
    margin = MoneyOutField()
    average_order_value = MoneyOutField()

    class Meta:
        model = CustomerMetrics
        fields = [
            "customer_id",
            "email",
            "name",
            "company",
            "revenue",
            "cogs",
            "refunds",
            "shipping_cost",
            "margin",
            "order_count",
            "average_order_value",
            "return_rate",
            "last_order_at",
            "recency_score",
            "frequency_score",
            "monetary_score",
            "segment",
            "refreshed_at",
        ]


class RankingOut(serializers.Serializer):
    by = serializers.CharField()
    currency = serializers.CharField()
    results = RankingRowOut(many=True)


class CustomerRanking(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[
            OpenApiParameter("by", OpenApiTypes.STR, enum=list(RANKING_BY), description="Default margin."),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"1 to {MAX_RANKING_LIMIT}, default 20."),
        ],
        responses={200: RankingOut, 400: ERRORS[400]},
    )
    def get(self, request: Request) -> Response:
        by = request.query_params.get("by", "margin")
        raw_limit = request.query_params.get("limit", "20")
        try:
            limit = int(raw_limit)
        except ValueError:
            raise InvalidInput.field("limit", f"{raw_limit[:20]!r} is not a whole number") from None
        rows = customer_ranking(by=by, limit=limit)
        currency = rows[0].currency if rows else settings.BASE_CURRENCY
        return Response(RankingOut({"by": by, "currency": currency, "results": rows}).data)


class CustomerExport(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        response = Response(customer_export(customer_id=pk))
        response["Content-Disposition"] = f'attachment; filename="customer-{pk}.json"'
        return response


class AnonymizeIn(StrictSerializer):
    confirm = serializers.CharField(max_length=254, help_text="The customer's e-mail address, repeated.")


class AnonymizedOut(serializers.Serializer):
    customer_id = serializers.IntegerField()
    email = serializers.CharField()


class CustomerAnonymize(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        request=AnonymizeIn,
        responses={
            200: AnonymizedOut,
            **ERRORS,
            409: OpenApiResponse(
                description="`already_anonymized`, `customer_has_open_orders`, `customer_has_open_returns`, "
                "`customer_has_open_invoices`"
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        data = AnonymizeIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = customer_anonymize(
            customer_id=pk, confirm=data.validated_data["confirm"], actor=Actor.for_user(request.user)
        )
        return Response({"customer_id": customer.pk, "email": customer.email})


urlpatterns = [
    path("customers/ranking/", CustomerRanking.as_view(), name="customer-ranking"),
    path("customers/<int:pk>/export/", CustomerExport.as_view(), name="customer-export"),
    path("customers/<int:pk>/anonymize/", CustomerAnonymize.as_view(), name="customer-anonymize"),
]
