"""Staff endpoints: quote a parcel on a lane across every carrier (with the
rate-shopping choice and why each other quote lost), and choose a
shipment's carrier service by hand."""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory.models import SKU, Warehouse
from oms.actors import Actor
from oms.api.fields import CountryField, StrictSerializer
from oms.api.permissions import IsStaff
from oms.geo import resolve_destination

from ..carriers import Parcel
from ..carriers.table import NoQuote
from ..models import FulfillmentOrder
from ..rates import LEVEL_RANK, RateBook, Rating, explain, fulfillment_order_set_service, lane_for
from .scoping import check_visible

ERRORS = {
    400: OpenApiResponse(description="Invalid input: `{error: {code, message, fields}}`"),
    403: OpenApiResponse(description="Staff only"),
}
MAX_LINES = 500


def _code_field(model: type[SKU] | type[Warehouse], label: str, **kwargs) -> serializers.SlugRelatedField:
    return serializers.SlugRelatedField(
        slug_field="code",
        queryset=model.objects.all(),
        error_messages={"does_not_exist": f"unknown {label} '{{value}}'"},
        **kwargs,
    )


class RateDestinationIn(StrictSerializer):
    country = CountryField()
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False, allow_null=True
    )

    def validate(self, attrs):
        if (attrs.get("latitude") is None) != (attrs.get("longitude") is None):
            missing = "longitude" if attrs.get("longitude") is None else "latitude"
            raise serializers.ValidationError({missing: ["give latitude and longitude together"]})
        return attrs


class RateParcelIn(StrictSerializer):
    weight_grams = serializers.IntegerField(min_value=1, max_value=1_000_000)
    length_mm = serializers.IntegerField(min_value=1, max_value=10_000)
    width_mm = serializers.IntegerField(min_value=1, max_value=10_000)
    height_mm = serializers.IntegerField(min_value=1, max_value=10_000)


class RateLineIn(StrictSerializer):
    sku = _code_field(SKU, "SKU")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class RateQuoteIn(StrictSerializer):
    origin = _code_field(Warehouse, "warehouse", help_text="Code of the location the parcel leaves from.")
    destination = RateDestinationIn()
    parcel = RateParcelIn(required=False, help_text="The parcel as packed; or give `lines` to estimate it.")
    lines = RateLineIn(many=True, required=False, help_text="SKUs and quantities: the parcel is estimated.")
    ready_at = serializers.DateTimeField(
        required=False, help_text="When the parcel is ready to hand over; default now."
    )
    deliver_by = serializers.DateField(required=False, help_text="Cheapest quote arriving by this day.")
    cost_ceiling = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        min_value=0,
        required=False,
        help_text="Fastest quote costing at most this.",
    )
    level = serializers.ChoiceField(
        choices=list(LEVEL_RANK), required=False, help_text="Only services of this level or faster."
    )

    def validate(self, attrs):
        has_parcel, lines = "parcel" in attrs, attrs.get("lines")
        if has_parcel and lines:
            raise serializers.ValidationError({"lines": ["give either parcel or lines, not both"]})
        if not has_parcel and not lines:
            raise serializers.ValidationError({"parcel": ["give the parcel, or lines to estimate it from"]})
        if lines is not None and len(lines) > MAX_LINES:
            raise serializers.ValidationError({"lines": [f"at most {MAX_LINES} lines"]})
        return attrs


class RateQuoteOut(serializers.Serializer):
    service_id = serializers.IntegerField()
    service = serializers.CharField(help_text="carrier/service")
    level = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    zone = serializers.IntegerField()
    billable_weight_grams = serializers.IntegerField()
    transit_days = serializers.IntegerField()
    ship_date = serializers.DateField()
    delivery_date = serializers.DateField()
    breakdown = serializers.DictField(
        help_text="Base rate, each surcharge, actual / dimensional / billable weight."
    )
    reason = serializers.CharField(required=False, help_text="Why rate shopping chose or passed over it.")


class RateUnavailableOut(serializers.Serializer):
    service_id = serializers.IntegerField()
    reason = serializers.CharField(help_text="Why the service cannot carry this parcel on this lane.")


class RateLaneOut(serializers.Serializer):
    origin = serializers.CharField()
    origin_country = serializers.CharField()
    destination_country = serializers.CharField()
    destination_source = serializers.CharField(
        allow_null=True,
        help_text="Where the destination point came from: address, postal_code, country, or null.",
    )
    distance_km = serializers.FloatField(allow_null=True)


class RateParcelOut(serializers.Serializer):
    weight_grams = serializers.IntegerField()
    length_mm = serializers.IntegerField()
    width_mm = serializers.IntegerField()
    height_mm = serializers.IntegerField()


class RateQuoteResultOut(serializers.Serializer):
    lane = RateLaneOut()
    parcel = RateParcelOut(help_text="As given, or estimated from the lines.")
    chosen = RateQuoteOut(allow_null=True, help_text="What rate shopping picks; null when nothing qualifies.")
    quotes = RateQuoteOut(many=True)
    unavailable = RateUnavailableOut(many=True)


class RateQuote(APIView):
    """Every active carrier service's quote for a parcel from a location to a
    destination, the one rate shopping picks, and why each other one lost."""

    permission_classes = [IsStaff]

    @extend_schema(request=RateQuoteIn, responses={200: RateQuoteResultOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = RateQuoteIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        book = RateBook.load()
        if "parcel" in v:
            parcel = Parcel(**v["parcel"])
        else:
            parcel = book.parcel_for((ln["sku"], ln["quantity"]) for ln in v["lines"])
        destination = resolve_destination(v["destination"])
        warehouse = v["origin"]
        lane = lane_for(warehouse, destination)
        results = book.rate_all(lane, parcel, v.get("ready_at") or timezone.now())
        chosen, reasons = explain(
            [q for q in results if not isinstance(q, NoQuote)],
            deliver_by=v.get("deliver_by"),
            cost_ceiling=v.get("cost_ceiling"),
            level=v.get("level"),
        )
        return Response(
            {
                "lane": {
                    "origin": warehouse.code,
                    "origin_country": lane.origin_country,
                    "destination_country": lane.destination_country,
                    "destination_source": destination.source,
                    "distance_km": None if lane.distance_km is None else round(lane.distance_km, 1),
                },
                "parcel": {
                    "weight_grams": parcel.weight_grams,
                    "length_mm": parcel.length_mm,
                    "width_mm": parcel.width_mm,
                    "height_mm": parcel.height_mm,
                },
                "chosen": chosen.as_dict() if chosen else None,
                "quotes": [{**q.as_dict(), "reason": why} for q, why in reasons],
                "unavailable": [
                    {"service_id": r.service_id, "reason": r.reason}
                    for r in results
                    if isinstance(r, NoQuote)
                ],
            }
        )


class ShipmentServiceIn(StrictSerializer):
    service = serializers.IntegerField(min_value=1, help_text="Id of the carrier service to ship with.")
    reason = serializers.CharField(max_length=400, help_text="Why (kept on the shipment's history).")


class ShipmentServiceOut(serializers.Serializer):
    id = serializers.IntegerField(source="fulfillment_order.pk")
    number = serializers.CharField(source="fulfillment_order.number")
    status = serializers.CharField(source="fulfillment_order.status")
    service_id = serializers.IntegerField(source="fulfillment_order.service_id")
    service_overridden = serializers.BooleanField(source="fulfillment_order.service_overridden")
    shipping_cost = serializers.CharField(source="chosen.amount")
    shipping_cost_currency = serializers.CharField(source="chosen.currency")
    quote = serializers.SerializerMethodField()

    def get_quote(self, rating: Rating) -> dict:
        return rating.chosen.as_dict() if rating.chosen else {}


class ShipmentServiceOverride(APIView):
    """Staff choose the carrier service a shipment goes with, saying why; it is
    re-quoted for the shipment's parcel and lane and kept when rated again."""

    permission_classes = [IsStaff]

    @extend_schema(
        request=ShipmentServiceIn,
        responses={
            200: ShipmentServiceOut,
            **ERRORS,
            404: OpenApiResponse(description="No such shipment"),
            409: OpenApiResponse(description="`invalid_transition`: shipped, cancelled or labelled"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        check_visible(request, FulfillmentOrder, pk, "Shipment")
        data = ShipmentServiceIn(data=request.data)
        data.is_valid(raise_exception=True)
        rating = fulfillment_order_set_service(
            fulfillment_order_id=pk,
            service_id=data.validated_data["service"],
            actor=Actor.for_user(request.user),
            reason=data.validated_data["reason"],
        )
        return Response(ShipmentServiceOut(rating).data)


urlpatterns = [
    path("fulfillment/rates/quote/", RateQuote.as_view(), name="rates-quote"),
    path(
        "fulfillment/shipments/<int:pk>/service/",
        ShipmentServiceOverride.as_view(),
        name="shipment-service-override",
    ),
]
