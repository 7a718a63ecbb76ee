"""Outbound webhooks API (staff): subscriptions (the secret is in the response
to the create only), the delivery log, and replaying a failed delivery.
Writes go through oms.webhooks."""

from __future__ import annotations

import django_filters
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import NotFound
from oms.models_webhooks import WebhookDelivery, WebhookSubscription
from oms.webhooks import (
    EVENT_TYPES,
    webhook_replay,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)

ERRORS = {
    400: OpenApiResponse(description="Invalid input naming the field: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="Not found"),
}
EVENT_TYPES_HELP = "Public event types: " + ", ".join(EVENT_TYPES) + "."


class SubscriptionOut(serializers.ModelSerializer):
    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "event_types", "is_active", "created_at"]


class SubscriptionCreatedOut(SubscriptionOut):
    class Meta(SubscriptionOut.Meta):
        fields = [*SubscriptionOut.Meta.fields, "secret"]


# Types are checked by the service, so an unknown one is reported with the known list.
class SubscriptionIn(StrictSerializer):
    name = serializers.CharField(max_length=120)
    url = serializers.CharField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=40), help_text=EVENT_TYPES_HELP
    )
    secret = serializers.CharField(
        required=False,
        min_length=16,
        max_length=128,
        help_text="Signing secret; generated when left out. Shown once, in this response.",
    )
    is_active = serializers.BooleanField(default=True)


class SubscriptionPatch(StrictSerializer):
    name = serializers.CharField(max_length=120, required=False)
    url = serializers.CharField(max_length=500, required=False)
    event_types = serializers.ListField(
        child=serializers.CharField(max_length=40), required=False, help_text=EVENT_TYPES_HELP
    )
    is_active = serializers.BooleanField(required=False)


class DeliveryOut(serializers.ModelSerializer):
    subscription_name = serializers.CharField(source="subscription.name")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription",
            "subscription_name",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
        ]


class DeliveryDetailOut(DeliveryOut):
    class Meta(DeliveryOut.Meta):
        fields = [*DeliveryOut.Meta.fields, "payload"]


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=WebhookDelivery.Status.choices)
    subscription = django_filters.ModelChoiceFilter(queryset=WebhookSubscription.objects.all())
    event_type = django_filters.ChoiceFilter(choices=[(t, t) for t in EVENT_TYPES])

    class Meta:
        model = WebhookDelivery
        fields = []


def _subscription(pk: int) -> WebhookSubscription:
    found = WebhookSubscription.objects.filter(pk=pk).first()
    if found is None:
        raise NotFound(f"Webhook subscription {pk} does not exist.")
    return found


class SubscriptionList(generics.ListAPIView):
    """Webhook subscriptions; POST adds one (its secret is shown in that response only)."""

    permission_classes = [IsStaff]
    serializer_class = SubscriptionOut
    queryset = WebhookSubscription.objects.order_by("id")

    @extend_schema(request=SubscriptionIn, responses={201: SubscriptionCreatedOut, 400: ERRORS[400]})
    def post(self, request: Request) -> Response:
        data = SubscriptionIn(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhook_subscription_create(**data.validated_data)
        return Response(SubscriptionCreatedOut(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetail(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: SubscriptionOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        return Response(SubscriptionOut(_subscription(pk)).data)

    @extend_schema(request=SubscriptionPatch, responses={200: SubscriptionOut, **ERRORS})
    def patch(self, request: Request, pk: int) -> Response:
        data = SubscriptionPatch(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = webhook_subscription_update(subscription_id=pk, **data.validated_data)
        return Response(SubscriptionOut(subscription).data)

    @extend_schema(responses={204: None, 404: ERRORS[404]})
    def delete(self, request: Request, pk: int) -> Response:
        webhook_subscription_delete(subscription_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryList(generics.ListAPIView):
    """The delivery log, newest first; filter by status, subscription, event_type."""

    permission_classes = [IsStaff]
    serializer_class = DeliveryOut
    filterset_class = DeliveryFilter
    queryset = WebhookDelivery.objects.select_related("subscription").order_by("-id")


class DeliveryDetail(APIView):
    permission_classes = [IsStaff]

    @extend_schema(responses={200: DeliveryDetailOut, 404: ERRORS[404]})
    def get(self, request: Request, pk: int) -> Response:
        delivery = WebhookDelivery.objects.select_related("subscription").filter(pk=pk).first()
        if delivery is None:
            raise NotFound(f"Webhook delivery {pk} does not exist.")
        return Response(DeliveryDetailOut(delivery).data)


class DeliveryReplay(APIView):
    """Send a delivery that failed for good again (a fresh set of attempts)."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=None,
        responses={
            200: DeliveryDetailOut,
            404: ERRORS[404],
            409: OpenApiResponse(description="`invalid_transition`: only a failed delivery can be replayed"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        webhook_replay(delivery_id=pk)
        delivery = WebhookDelivery.objects.select_related("subscription").get(pk=pk)
        return Response(DeliveryDetailOut(delivery).data)


urlpatterns = [
    path("webhooks/subscriptions/", SubscriptionList.as_view(), name="webhook-subscriptions"),
    path("webhooks/subscriptions/<int:pk>/", SubscriptionDetail.as_view(), name="webhook-subscription"),
    path("webhooks/deliveries/", DeliveryList.as_view(), name="webhook-deliveries"),
    path("webhooks/deliveries/<int:pk>/", DeliveryDetail.as_view(), name="webhook-delivery"),
    path("webhooks/deliveries/<int:pk>/replay/", DeliveryReplay.as_view(), name="webhook-delivery-replay"),
]
