"""Return policies API: a channel's policy (by channel code) or the default
one ("default"). A channel without a policy of its own reads the default
(`inherited`), else the built-in one (30 days, everything returnable, no
fee). A channel key may read its own; staff read and replace any (PUT: the
whole policy, a field left out takes its default)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.auth import request_channel
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from oms.errors import NotFound
from oms.models import Channel

from .models import ReturnPolicy
from .services import return_policy_for, return_policy_set

ERRORS = {
    400: OpenApiResponse(description="Invalid input naming the field: `{error: {code, message, fields}}`"),
    404: OpenApiResponse(description="No such channel (or another channel's)"),
}


class ReturnPolicyOut(serializers.Serializer):
    channel = serializers.CharField(allow_null=True, help_text="null: the default policy.")
    inherited = serializers.BooleanField(
        help_text="The channel has no policy of its own: this is the default one (or the built-in one)."
    )
    window_days = serializers.IntegerField()
    non_returnable_skus = serializers.ListField(child=serializers.CharField())
    non_returnable_categories = serializers.ListField(child=serializers.CharField())
    restocking_fee_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    return_shipping_paid_by = serializers.ChoiceField(choices=ReturnPolicy.ShippingPaidBy.choices)
    refund_original_shipping = serializers.BooleanField()
    locations = serializers.ListField(child=serializers.CharField(), help_text="Empty: every location.")
    instructions = serializers.CharField()
    updated_at = serializers.DateTimeField(allow_null=True)


class ReturnPolicyIn(StrictSerializer):
    """The whole policy (PUT): a field left out takes its default."""

    window_days = serializers.IntegerField(min_value=0, max_value=3650, default=30)
    non_returnable_skus = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=1000, default=list
    )
    non_returnable_categories = serializers.ListField(
        child=serializers.CharField(max_length=80), max_length=200, default=list
    )
    restocking_fee_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, default=0
    )
    return_shipping_paid_by = serializers.ChoiceField(
        choices=ReturnPolicy.ShippingPaidBy.choices, default=ReturnPolicy.ShippingPaidBy.CUSTOMER
    )
    refund_original_shipping = serializers.BooleanField(default=False)
    locations = serializers.ListField(
        child=serializers.CharField(max_length=32),
        max_length=200,
        default=list,
        help_text="Codes of the stores and warehouses that take returns; empty: every location.",
    )
    instructions = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


def _policy_channel(request: Request, key: str) -> Channel | None:
    """The channel a policy key names (None: "default"); a channel key reads only its own."""
    own = request_channel(request)
    if key == "default":
        if own is not None:
            raise NotFound("No such return policy.")
        return None
    found = Channel.objects.filter(code=key).first()
    if found is None or (own is not None and found.pk != own.pk):
        raise NotFound(f"No channel '{key[:32]}'.")
    return found


def _policy_out(policy: ReturnPolicy, channel: Channel | None) -> dict:
    return ReturnPolicyOut(
        {
            "channel": channel.code if channel else None,
            "inherited": policy.channel_id != (channel.pk if channel else None) or policy.pk is None,
            "window_days": policy.window_days,
            "non_returnable_skus": policy.non_returnable_skus,
            "non_returnable_categories": policy.non_returnable_categories,
            "restocking_fee_pct": policy.restocking_fee_pct,
            "return_shipping_paid_by": policy.return_shipping_paid_by,
            "refund_original_shipping": policy.refund_original_shipping,
            "locations": sorted(w.code for w in policy.locations.all()) if policy.pk else [],
            "instructions": policy.instructions,
            "updated_at": policy.updated_at,
        }
    ).data


class ReturnPolicyDetail(APIView):
    """A channel's return policy (code), or the default one ("default"). A
    channel without its own policy reads the default (`inherited`). A channel
    key may read its own; staff read and replace any."""

    def get_permissions(self):
        return [IsStaff()] if self.request.method == "PUT" else super().get_permissions()

    @extend_schema(responses={200: ReturnPolicyOut, 404: ERRORS[404]})
    def get(self, request: Request, key: str) -> Response:
        channel = _policy_channel(request, key)
        policy = return_policy_for(channel.pk if channel else None)
        return Response(_policy_out(policy, channel))

    @extend_schema(
        request=ReturnPolicyIn, responses={200: ReturnPolicyOut, 400: ERRORS[400], 404: ERRORS[404]}
    )
    def put(self, request: Request, key: str) -> Response:
        channel = _policy_channel(request, key)
        data = ReturnPolicyIn(data=request.data)
        data.is_valid(raise_exception=True)
        policy = return_policy_set(channel=channel, values=data.validated_data)
        return Response(_policy_out(policy, channel))


urlpatterns = [
    path("return-policies/<str:key>/", ReturnPolicyDetail.as_view(), name="return-policy"),
]
