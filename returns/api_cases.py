"""Customer-service case queue API (staff): cases opened by post-sale
answers ("something is missing") and by returns outside the policy, open
ones first; staff move a case along and assign it."""

from __future__ import annotations

import django_filters
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import NotFound

from .models import CustomerCase
from .services import case_update

ERRORS = {
    400: OpenApiResponse(description="Invalid input naming the field: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="Not found"),
}


class CustomerCaseOut(serializers.ModelSerializer):
    customer_email = serializers.CharField(source="customer.email")
    order_id = serializers.IntegerField(allow_null=True)
    order_number = serializers.CharField(source="order.number", default=None, allow_null=True)
    assigned_to = serializers.IntegerField(source="assigned_to_id", allow_null=True)
    assigned_to_username = serializers.CharField(source="assigned_to.username", default=None, allow_null=True)

    class Meta:
        model = CustomerCase
        fields = [
            "id",
            "kind",
            "status",
            "subject",
            "description",
            "customer_id",
            "customer_email",
            "order_id",
            "order_number",
            "assigned_to",
            "assigned_to_username",
            "created_at",
            "resolved_at",
        ]


QUEUE_ORDER = Case(
    When(status=CustomerCase.Status.OPEN, then=Value(0)),
    When(status=CustomerCase.Status.IN_PROGRESS, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def case_queue() -> QuerySet[CustomerCase]:
    """Open cases first, then in progress, then resolved; oldest first in each."""
    return (
        CustomerCase.objects.select_related("customer", "order", "assigned_to")
        .annotate(queue_rank=QUEUE_ORDER)
        .order_by("queue_rank", "created_at", "id")
    )


def _case(pk: int) -> CustomerCase:
    found = case_queue().filter(pk=pk).first()
    if found is None:
        raise NotFound(f"Case {pk} does not exist.")
    return found


class CaseFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CustomerCase.Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=CustomerCase.Kind.choices)
    assigned_to = django_filters.NumberFilter(field_name="assigned_to_id")
    order = django_filters.NumberFilter(field_name="order_id")

    class Meta:
        model = CustomerCase
        fields = []


class CaseList(generics.ListAPIView):
    """The customer-service queue: open cases first, oldest first."""

    permission_classes = [IsStaff]
    serializer_class = CustomerCaseOut
    filterset_class = CaseFilter

    def get_queryset(self):
        return case_queue()


class CustomerCaseIn(StrictSerializer):
    status = serializers.ChoiceField(choices=CustomerCase.Status.choices, required=False)
    assigned_to = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, help_text="A staff user's id; null: nobody."
    )

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"status": ["give a status and/or assigned_to"]})
        return attrs


class CaseDetail(APIView):
    """A case; PATCH its status (resolved stamps when) or who works on it."""

    permission_classes = [IsStaff]

    @extend_schema(responses={200: CustomerCaseOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(CustomerCaseOut(_case(pk)).data)

    @extend_schema(
        request=CustomerCaseIn, responses={200: CustomerCaseOut, 400: ERRORS[400], 404: ERRORS[404]}
    )
    def patch(self, request: Request, pk: int) -> Response:
        data = CustomerCaseIn(data=request.data)
        data.is_valid(raise_exception=True)
        case_update(case_id=pk, values=data.validated_data)
        return Response(CustomerCaseOut(_case(pk)).data)


urlpatterns = [
    path("cases/", CaseList.as_view(), name="case-list"),
    path("cases/<int:pk>/", CaseDetail.as_view(), name="case-detail"),
]
