"""Staff API: available-to-promise per SKU, per location and in total, with its timeline."""

from __future__ import annotations

from django.http import QueryDict
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.fields import SKU_CODES_PARAMETER, sku_codes_param
from oms.api.permissions import IsStaff
from oms.errors import InvalidInput
from oms.models import Channel

from .atp import Fulfilment, sku_atp
from .models import SKU, Warehouse

MAX_SKUS_PER_REQUEST = 200


class FiguresSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField()
    allocated = serializers.IntegerField()
    reserved = serializers.IntegerField(help_text="Soft-reserved by carts and orders being placed.")
    available = serializers.IntegerField(help_text="On hand - allocated - reserved.")
    held_back = serializers.IntegerField(
        help_text="Safety stock: the SKU's own setting here, else the location's."
    )
    atp = serializers.IntegerField(
        help_text="Available to promise: max(available - held back, 0) per location."
    )
    incoming = serializers.IntegerField(
        help_text="Still due on open purchase orders and transfers in transit."
    )


class LocationSerializer(FiguresSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    name = serializers.CharField(source="warehouse.name")
    kind = serializers.CharField(source="warehouse.kind")
    ships = serializers.BooleanField(source="warehouse.ships")
    allows_pickup = serializers.BooleanField(source="warehouse.allows_pickup")
    next_eta = serializers.DateField(allow_null=True)


class TimelinePointSerializer(serializers.Serializer):
    date = serializers.DateField()
    incoming = serializers.IntegerField(
        help_text="Units due that day (a missing or past ETA counts as today)."
    )
    atp = serializers.IntegerField(help_text="Units promisable by that day, in total.")


class SKUATPSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    total = FiguresSerializer()
    locations = LocationSerializer(many=True)
    timeline = TimelinePointSerializer(many=True)


class ATPResponseSerializer(serializers.Serializer):
    channel = serializers.CharField(allow_null=True)
    warehouse = serializers.CharField(allow_null=True)
    fulfilment = serializers.CharField(allow_null=True)
    as_of = serializers.DateField()
    results = SKUATPSerializer(many=True)


def _lookup(model, params: QueryDict, name: str):
    code = params.get(name, "").strip()
    if not code:
        return None
    found = model.objects.filter(code=code).first()
    if found is None:
        raise InvalidInput.field(name, f"unknown {name} '{code}'", code=f"unknown_{name}")
    return found


class AvailableToPromise(APIView):
    """What each location may promise of each SKU (safety stock held back), the
    total, and the forward timeline from purchase orders and transfers by ETA.

    With `channel`, only the active locations that serve it count (by default
    those that ship or allow pickup); without, every active location."""

    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[
            SKU_CODES_PARAMETER,
            OpenApiParameter("channel", str, description="Channel code: only the locations serving it."),
            OpenApiParameter("warehouse", str, description="Warehouse code: only that location."),
            OpenApiParameter(
                "fulfilment",
                str,
                enum=[f.value for f in Fulfilment],
                description="Locations that ship, allow pickup, or either (default with a channel: any).",
            ),
        ],
        responses=ATPResponseSerializer,
    )
    def get(self, request):
        params = request.query_params
        codes = sku_codes_param(params, limit=MAX_SKUS_PER_REQUEST)
        fulfilment = params.get("fulfilment", "").strip() or None
        choices = [f.value for f in Fulfilment]
        if fulfilment is not None and fulfilment not in choices:
            raise InvalidInput.field("fulfilment", f"must be one of: {', '.join(choices)}")
        channel = _lookup(Channel, params, "channel")
        warehouse = _lookup(Warehouse, params, "warehouse")
        if warehouse is not None and not warehouse.is_active:
            raise InvalidInput.field("warehouse", f"{warehouse.code} is inactive: it promises nothing")
        if channel is not None and fulfilment is None:
            fulfilment = Fulfilment.ANY
        skus = {s.code: s for s in SKU.objects.filter(code__in=codes)}
        unknown = [c for c in codes if c not in skus]
        if unknown:
            raise InvalidInput.field("sku", f"unknown SKU(s): {', '.join(unknown)}", code="unknown_sku")

        today = timezone.localdate()
        atp = sku_atp(
            [s.pk for s in skus.values()],
            channel_id=channel.pk if channel else None,
            fulfilment=Fulfilment(fulfilment) if fulfilment else None,
            warehouse_ids=[warehouse.pk] if warehouse else None,
            today=today,
        )
        results = [
            {
                "sku": code,
                "name": skus[code].name,
                "total": atp[skus[code].pk].totals(),
                "locations": atp[skus[code].pk].locations,
                "timeline": atp[skus[code].pk].timeline,
            }
            for code in codes
        ]
        body = {
            "channel": channel.code if channel else None,
            "warehouse": warehouse.code if warehouse else None,
            "fulfilment": fulfilment,
            "as_of": today,
            "results": results,
        }
        return Response(ATPResponseSerializer(body).data)


urlpatterns = [path("inventory/atp/", AvailableToPromise.as_view(), name="inventory-atp")]
