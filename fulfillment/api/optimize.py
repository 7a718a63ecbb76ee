"""Wave allocation of backorders (staff): solve, compare with greedy, optionally apply."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff

from ..optimize import backorders_optimize
from ..optimize.services import DEFAULT_TIME_LIMIT, MAX_SHIPMENTS, MAX_TIME_LIMIT

MAX_WAVE = 10_000

ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error: {code, message, fields}}` naming the field"),
}


class BackorderWaveIn(StrictSerializer):
    limit = serializers.IntegerField(
        min_value=1, max_value=MAX_WAVE, default=2000, help_text="At most this many orders, oldest first."
    )
    skus = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=500,
        default=list,
        help_text="Only orders with a line of one of these SKU codes.",
    )
    channel = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)
    apply = serializers.BooleanField(default=False, help_text="Source the chosen orders with the plan.")
    time_limit = serializers.FloatField(
        min_value=0.1,
        max_value=MAX_TIME_LIMIT,
        default=DEFAULT_TIME_LIMIT,
        help_text="Seconds HiGHS may spend on each stage; past it, the best plan found is used.",
    )
    max_shipments = serializers.IntegerField(
        min_value=1, max_value=MAX_SHIPMENTS, required=False, allow_null=True, default=None
    )


class WaveScoreOut(serializers.Serializer):
    filled = serializers.IntegerField(help_text="Orders filled whole.")
    weighted_fill = serializers.IntegerField(help_text="Sum of (1 + priority) x units over filled orders.")
    units = serializers.IntegerField()
    shipments = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=18, decimal_places=2)
    seconds = serializers.FloatField()


class WaveSolverOut(serializers.Serializer):
    status = serializers.ChoiceField(["optimal", "time_limit", "error"])
    message = serializers.CharField()
    stages = serializers.ListField(child=serializers.CharField())
    variables = serializers.IntegerField()
    constraints = serializers.IntegerField()
    seconds = serializers.FloatField()


class WaveGainOut(serializers.Serializer):
    orders = serializers.IntegerField()
    weighted_fill = serializers.IntegerField()
    weighted_fill_pct = serializers.FloatField(allow_null=True)
    units = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=18, decimal_places=2)


class WaveOrderNoteOut(serializers.Serializer):
    order_id = serializers.IntegerField()
    reason = serializers.CharField()


class BackorderWaveOut(serializers.Serializer):
    orders = serializers.IntegerField()
    locations = serializers.IntegerField()
    skus = serializers.IntegerField()
    excluded = WaveOrderNoteOut(many=True)
    mip = WaveScoreOut()
    greedy = WaveScoreOut()
    gain = WaveGainOut()
    solver = WaveSolverOut()
    load_seconds = serializers.FloatField()
    plan = serializers.DictField(
        child=serializers.DictField(child=serializers.IntegerField()),
        help_text="order id -> {order line id -> location id}",
    )
    applied = serializers.ListField(child=serializers.IntegerField(), allow_null=True)
    skipped = WaveOrderNoteOut(many=True)


@extend_schema(request=BackorderWaveIn, responses={200: BackorderWaveOut, **ERRORS})
class OptimizeBackorders(APIView):
    """Allocate backordered orders as one wave (a MIP maximising priority-weighted
    fill, then minimising cost) and report the gain over first-come greedy;
    with `apply`, source the chosen orders with the plan."""

    permission_classes = [IsStaff]

    def post(self, request: Request) -> Response:
        data = BackorderWaveIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        report = backorders_optimize(actor=Actor.for_user(request.user), **v)
        return Response(BackorderWaveOut(report.as_dict()).data)


urlpatterns = [
    path(
        "fulfillment/optimize/backorders/",
        OptimizeBackorders.as_view(),
        name="fulfillment-optimize-backorders",
    ),
]
