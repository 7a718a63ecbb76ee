"""Sourcing API (staff): an order's routing decisions, and re-running sourcing."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.fields import StrictSerializer
from oms.api.permissions import IsStaff
from orders.models import Order

from ..models import FulfillmentOrder, SourcingDecision
from ..sourcing.services import order_source

HISTORY = 20  # decisions shown per order, newest first


class DecisionOut(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = SourcingDecision
        fields = [
            "id",
            "outcome",
            "summary",
            "chosen",
            "candidates",
            "rules_fired",
            "total_cost",
            "trigger",
            "actor",
            "created_at",
        ]

    def get_actor(self, decision: SourcingDecision) -> str:
        return decision.actor_user.get_username() if decision.actor_user_id else "system"


class ShipmentBriefOut(serializers.ModelSerializer):
    number = serializers.CharField()
    warehouse = serializers.CharField(source="warehouse.code")

    class Meta:
        model = FulfillmentOrder
        fields = ["id", "number", "warehouse", "status", "method", "decision_id", "ship_by"]


class OrderSourcingOut(serializers.Serializer):
    order = serializers.CharField(source="order.number")
    status = serializers.CharField(source="order.status")
    priority = serializers.IntegerField(source="order.priority")
    hold_reason = serializers.CharField(source="order.hold_reason")
    decision = DecisionOut(allow_null=True, help_text="The latest run.")
    history = DecisionOut(many=True, help_text=f"Up to {HISTORY} runs, newest first.")
    shipments = ShipmentBriefOut(many=True, help_text="Shipments not cancelled.")


def _sourcing(order: Order) -> dict:
    history = list(
        SourcingDecision.objects.filter(order=order).select_related("actor_user").order_by("-id")[:HISTORY]
    )
    shipments = (
        FulfillmentOrder.objects.filter(order=order)
        .exclude(status=FulfillmentOrder.Status.CANCELLED)
        .select_related("warehouse")
        .order_by("id")
    )
    return {
        "order": order,
        "decision": history[0] if history else None,
        "history": history,
        "shipments": shipments,
    }


class OrderSourcing(APIView):
    """How an order was routed: every run with the candidates considered,
    their scores and why each lost, and the rules that fired."""

    permission_classes = [IsStaff]

    @extend_schema(responses={200: OrderSourcingOut, 404: OpenApiResponse(description="No such order")})
    def get(self, request: Request, pk: int) -> Response:
        order = get_object_or_404(Order, pk=pk)
        return Response(OrderSourcingOut(_sourcing(order)).data)


class SourceIn(StrictSerializer):
    ignore_holds = serializers.BooleanField(
        default=False, help_text="Release an order a hold rule stopped (staff reviewed it)."
    )


class OrderSource(APIView):
    """Run sourcing again now: shipments not yet being picked are replaced by
    the new choice. An order a rule held is released with `ignore_holds`."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=SourceIn,
        responses={
            200: OrderSourcingOut,
            400: OpenApiResponse(description="Invalid input naming the field"),
            404: OpenApiResponse(description="No such order"),
            409: OpenApiResponse(
                description="The order is not allocated, backordered or held, or a shipment is being picked"
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        data = SourceIn(data=request.data)
        data.is_valid(raise_exception=True)
        order = get_object_or_404(Order, pk=pk)
        order_source(
            order_id=order.pk,
            actor=Actor.for_user(request.user),
            trigger="staff",
            ignore_holds=data.validated_data["ignore_holds"],
        )
        order.refresh_from_db()
        return Response(OrderSourcingOut(_sourcing(order)).data)


urlpatterns = [
    path("fulfillment/orders/<int:pk>/sourcing/", OrderSourcing.as_view(), name="fulfillment-order-sourcing"),
    path("fulfillment/orders/<int:pk>/source/", OrderSource.as_view(), name="fulfillment-order-source"),
]
