"""Customers for storefronts: a channel sees and edits only its own."""

from __future__ import annotations

from django.db.models import Q
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from oms.api.auth import request_channel
from oms.api.fields import CountryField, StrictSerializer, text_params
from oms.errors import InvalidInput
from oms.models import Channel

from .models import Address, Customer
from .services import customer_create, customer_update


class AddressSerializer(StrictSerializer, serializers.ModelSerializer):
    country = CountryField()
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False, allow_null=True
    )

    class Meta:
        model = Address
        fields = [
            "id",
            "name",
            "company",
            "line1",
            "line2",
            "city",
            "region",
            "postal_code",
            "country",
            "phone",
            "latitude",
            "longitude",
            "is_default_shipping",
            "is_default_billing",
        ]
        read_only_fields = ["id"]


class CustomerSerializer(StrictSerializer, serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Channel.objects.all(),
        required=False,
        allow_null=True,
        help_text="Staff only; a channel's own is implied.",
    )
    addresses = AddressSerializer(many=True, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=50)

    class Meta:
        model = Customer
        fields = [
            "id",
            "channel",
            "external_id",
            "email",
            "first_name",
            "last_name",
            "phone",
            "company",
            "is_vip",
            "tags",
            "addresses",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness is checked by the service (409), not by a racy validator here.
        validators = []

    def get_fields(self):
        fields = super().get_fields()
        if request_channel(self.context["request"]) is not None:
            fields["is_vip"].read_only = True  # VIP status is the merchant's call
        return fields


def _customers(request):
    qs = Customer.objects.select_related("channel").prefetch_related("addresses")
    channel = request_channel(request)
    return qs.filter(channel=channel) if channel is not None else qs


@extend_schema_view(
    post=extend_schema(
        responses={
            201: CustomerSerializer,
            409: OpenApiResponse(description="`duplicate_customer`: the e-mail is taken in that channel"),
        }
    )
)
class CustomerList(generics.ListCreateAPIView):
    serializer_class = CustomerSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("email", str, description="Exact e-mail (case-insensitive)."),
            OpenApiParameter("q", str, description="Search e-mail, name or phone."),
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        qs = _customers(self.request).order_by("-id")
        params = text_params(self.request.query_params, "email", "q")
        if params.get("email"):
            qs = qs.filter(email__iexact=params["email"].strip())
        if params.get("q"):
            q = params["q"].strip()
            qs = qs.filter(
                Q(email__icontains=q)
                | Q(first_name__icontains=q)
                | Q(last_name__icontains=q)
                | Q(phone__icontains=q)
            )
        return qs

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        channel = request_channel(request)
        if channel is not None:
            if data.get("channel") not in (None, channel):
                raise InvalidInput.field("channel", "a channel can only create its own customers")
            data["channel"] = channel
        # Staff may create a customer of no channel (phone and store sales).
        customer = customer_create(**{"channel": None, **data})
        return Response(self.get_serializer(customer).data, status=status.HTTP_201_CREATED)


class CustomerDetail(generics.RetrieveUpdateAPIView):
    serializer_class = CustomerSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self):
        return _customers(self.request)

    def update(self, request, *args, **kwargs):
        customer = self.get_object()
        serializer = self.get_serializer(customer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "channel" in changes:
            raise InvalidInput.field("channel", "cannot be changed")
        customer = customer_update(customer=customer, **changes)
        return Response(self.get_serializer(_customers(request).get(pk=customer.pk)).data)


urlpatterns = [
    path("customers/", CustomerList.as_view(), name="customer-list"),
    path("customers/<int:pk>/", CustomerDetail.as_view(), name="customer-detail"),
]
