"""Customer service's view of a customer (staff): the activity timeline,
other records of the same person and merging them, consents and B2B
contacts."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Consent, Contact, Customer
from customers.services import consent_record, consents_current, contact_add, customer_duplicates
from oms.actors import Actor
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import NotFound

from .customers import customer_merge, customer_timeline

ERRORS = {
    400: OpenApiResponse(description="Invalid input naming the field: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="Not found"),
    409: OpenApiResponse(description="Not the same person"),
}


def _customer(pk: int) -> Customer:
    customer = Customer.objects.filter(pk=pk).first()
    if customer is None:
        raise NotFound(f"Customer {pk} does not exist.")
    return customer


class ActivityOut(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    ref = serializers.CharField()
    text = serializers.CharField()


class CustomerTimeline(APIView):
    """Everything that happened with the customer, newest first."""

    permission_classes = [IsStaff]

    @extend_schema(responses={200: ActivityOut(many=True), 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(ActivityOut(customer_timeline(customer_id=pk), many=True).data)


class DuplicateOut(serializers.ModelSerializer):
    channel = serializers.CharField(source="channel.code", default=None, allow_null=True)

    class Meta:
        model = Customer
        fields = ["id", "email", "first_name", "last_name", "phone", "company", "channel", "created_at"]


class MergeIn(StrictSerializer):
    duplicate_id = serializers.IntegerField(min_value=1, help_text="The record folded into this one.")


class CustomerDuplicates(APIView):
    """Other records of the same person (same e-mail on any channel, or the same phone)."""

    permission_classes = [IsStaff]

    @extend_schema(responses={200: DuplicateOut(many=True), 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(DuplicateOut(customer_duplicates(_customer(pk)), many=True).data)


class CustomerMerge(APIView):
    """Fold a duplicate into this customer (its orders, returns, invoices, ...)."""

    permission_classes = [IsStaff]

    @extend_schema(request=MergeIn, responses={200: DuplicateOut, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        data = MergeIn(data=request.data)
        data.is_valid(raise_exception=True)
        survivor = customer_merge(
            survivor_id=pk,
            duplicate_id=data.validated_data["duplicate_id"],
            actor=Actor.for_user(request.user),
        )
        return Response(DuplicateOut(survivor).data)


class ConsentIn(StrictSerializer):
    purpose = serializers.ChoiceField(choices=Consent.Purpose.choices)
    granted = serializers.BooleanField()
    source = serializers.CharField(max_length=60)


class CustomerConsents(APIView):
    """The current answer per purpose; POST records a new one (history is kept)."""

    permission_classes = [IsStaff]

    @extend_schema(responses={200: OpenApiResponse(description="{purpose: granted}"), 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(consents_current(_customer(pk)))

    @extend_schema(
        request=ConsentIn, responses={201: OpenApiResponse(description="{purpose: granted}"), **ERRORS}
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = _customer(pk)
        data = ConsentIn(data=request.data)
        data.is_valid(raise_exception=True)
        consent_record(customer=customer, **data.validated_data)
        return Response(consents_current(customer), status=201)


class ContactSerializer(StrictSerializer, serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = ["id", "name", "email", "phone", "role", "is_primary"]
        read_only_fields = ["id"]


class CustomerContacts(APIView):
    """A business customer's contacts; POST adds one (a new primary replaces the old)."""

    permission_classes = [IsStaff]

    @extend_schema(responses={200: ContactSerializer(many=True), 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(ContactSerializer(_customer(pk).contacts.all(), many=True).data)

    @extend_schema(request=ContactSerializer, responses={201: ContactSerializer, **ERRORS})
    def post(self, request: Request, pk: int) -> Response:
        customer = _customer(pk)
        data = ContactSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contact_add(customer=customer, **data.validated_data)
        return Response(ContactSerializer(contact).data, status=201)


urlpatterns = [
    path("customers/<int:pk>/timeline/", CustomerTimeline.as_view(), name="customer-timeline"),
    path("customers/<int:pk>/duplicates/", CustomerDuplicates.as_view(), name="customer-duplicates"),
    path("customers/<int:pk>/merge/", CustomerMerge.as_view(), name="customer-merge"),
    path("customers/<int:pk>/consents/", CustomerConsents.as_view(), name="customer-consents"),
    path("customers/<int:pk>/contacts/", CustomerContacts.as_view(), name="customer-contacts"),
]
