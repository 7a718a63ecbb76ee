"""Carrier rates (zones, weight bands, dimensional weight, surcharges, cut-offs),
rate shopping, the staff override of a shipment's service, and the rate API.

The `carrier` fixture (tests/fulfillment/conftest.py) is "acme" in USD with
zones up to 150 / 600 / 1800 / 20000 km, weight bands 500 g .. 30 kg, and
price = (base + per kg x band) x (1 + 0.25 x (zone - 1)):
ground 6.00 + 0.80/kg, cut-off 17:00, transit 1/2/4/6 days by zone;
express 14.00 + 1.50/kg, cut-off 16:00, transit 1/1/2/3;
overnight 29.00 + 2.50/kg, cut-off 15:00, transit 1/1/1/2.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment.carriers import Lane, Parcel, Quote, adapter_for
from fulfillment.carriers import base as carriers_base
from fulfillment.carriers.base import CarrierAdapter
from fulfillment.carriers.table import NoQuote, TableCarrier, TableRates, add_working_days, luhn_digit
from fulfillment.models import CarrierService, FulfillmentEvent, FulfillmentOrder, Surcharge
from fulfillment.rates import (
    RateBook,
    explain,
    fulfillment_order_rate,
    fulfillment_order_set_service,
    parcel_for,
    rate_shop,
)
from oms.actors import Actor
from oms.errors import InvalidInput, InvalidTransition
from oms.models import PostalCode
from tests.factories import SKUFactory, sku_in_stock

from .conftest import make_carrier, place_order, release_whole_order

pytestmark = pytest.mark.django_db

EDISON = (40.5187, -74.4121)
SMALL = Parcel(weight_grams=600, length_mm=200, width_mm=150, height_mm=100)  # dim weight 600 g


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in December 2026 (the 4th is a Friday, the 7th a Monday)."""
    return timezone.make_aware(datetime(2026, 12, day, hour, minute))


MONDAY_10 = at(7, 10)


def lane(km: float | None = 100, *, country: str = "US") -> Lane:
    return Lane(
        origin=EDISON,
        origin_country="US",
        destination=None if km is None else (40.75, -73.99),
        destination_country=country,
        distance_km=km,
    )


def service(carrier, code: str) -> CarrierService:
    return CarrierService.objects.get(carrier=carrier, code=code)


def rate(carrier, code: str, *, lane_=None, parcel=SMALL, ready_at=MONDAY_10) -> Quote | NoQuote:
    return TableRates.load(carrier).rate(
        service(carrier, code), lane=lane_ or lane(), parcel=parcel, ready_at=ready_at
    )


def by_service(quotes) -> dict[str, Quote]:
    return {q.service_code: q for q in quotes}


# --- Zones and weights ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("km", "zone", "amount"), [(0, 1, "6.80"), (150, 1, "6.80"), (151, 2, "8.50"), (1000, 3, "10.20")]
)
def test_zone_is_the_first_reaching_the_distance(carrier, km, zone, amount):
    quote = rate(carrier, "ground", lane_=lane(km))
    assert (quote.zone, quote.amount, quote.currency) == (zone, Decimal(amount), "USD")


def test_beyond_the_last_zone_or_unknown_destination_no_quote(carrier):
    far = rate(carrier, "ground", lane_=lane(20001))
    assert isinstance(far, NoQuote) and "does not reach 20001 km" in far.reason
    unknown = rate(carrier, "ground", lane_=lane(None))
    assert isinstance(unknown, NoQuote) and "location is unknown" in unknown.reason


@pytest.mark.parametrize(
    ("grams", "band", "amount"), [(500, 500, "6.40"), (501, 1000, "6.80"), (1001, 2000, "7.60")]
)
def test_weight_band_is_the_smallest_holding_the_billable_weight(carrier, grams, band, amount):
    quote = rate(carrier, "ground", parcel=Parcel(grams, 100, 100, 100))
    assert quote.breakdown["weight_band_grams"] == band
    assert quote.amount == Decimal(amount)


def test_too_heavy_too_long_or_beyond_the_bands(carrier):
    heavy = rate(carrier, "ground", parcel=Parcel(30001, 100, 100, 100))
    assert isinstance(heavy, NoQuote) and "up to 30000 g" in heavy.reason
    long = rate(carrier, "ground", parcel=Parcel(1000, 1201, 100, 100))
    assert isinstance(long, NoQuote) and "up to 1200 mm long" in long.reason
    CarrierService.objects.filter(carrier=carrier, code="ground").update(max_weight_grams=50000)
    beyond = rate(carrier, "ground", parcel=Parcel(35000, 100, 100, 100))
    assert isinstance(beyond, NoQuote) and "no rate for 35000 g billable in zone 1" in beyond.reason


def test_dimensional_weight_beats_a_light_parcel(carrier):
    # 40 x 30 x 20 cm / 5000 = 4.8 kg, though it weighs 500 g.
    quote = rate(carrier, "ground", parcel=Parcel(500, 400, 300, 200))
    assert quote.billable_weight_grams == 4800
    assert quote.breakdown["dim_weight_grams"] == 4800
    assert quote.breakdown["actual_weight_grams"] == 500
    assert quote.amount == Decimal("10.00")  # the 5 kg band
    # Rounded up to the gram: 101^3 mm^3 / 5000 = 206.06 g.
    assert rate(carrier, "ground", parcel=Parcel(1, 101, 101, 101)).breakdown["dim_weight_grams"] == 207
    # A bigger divisor makes the same box lighter.
    CarrierService.objects.filter(carrier=carrier, code="ground").update(dim_divisor=6000)
    assert rate(carrier, "ground", parcel=Parcel(500, 400, 300, 200)).billable_weight_grams == 4000


# --- Surcharges and borders ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("applies_to", "extra", "lane_kwargs", "parcel", "applied"),
    [
        ("all", {}, {}, SMALL, True),
        ("cross_border", {}, {}, SMALL, False),
        ("cross_border", {}, {"country": "CA"}, SMALL, True),
        ("oversize", {"threshold": 1000}, {}, Parcel(600, 1001, 100, 100), True),
        ("oversize", {"threshold": 1000}, {}, Parcel(600, 1000, 100, 100), False),
        ("heavy", {"threshold": 10000}, {}, Parcel(10001, 100, 100, 100), True),
        ("heavy", {"threshold": 10000}, {}, Parcel(500, 600, 400, 300), True),  # dim weight 14.4 kg counts
        ("heavy", {"threshold": 10000}, {}, Parcel(10000, 100, 100, 100), False),
        ("remote", {"countries": "pr gu"}, {"country": "PR"}, SMALL, True),
        ("remote", {"countries": "PR GU"}, {"country": "CA"}, SMALL, False),
    ],
)
def test_each_surcharge_kind(carrier, applies_to, extra, lane_kwargs, parcel, applied):
    CarrierService.objects.filter(carrier=carrier, code="express").update(international=True)
    Surcharge.objects.create(
        carrier=carrier, name=applies_to, applies_to=applies_to, amount=Decimal("1.25"), percent=10, **extra
    )
    quote = rate(carrier, "express", lane_=lane(100, **lane_kwargs), parcel=parcel)
    base = Decimal(quote.breakdown["base"])
    expected = (base * Decimal("0.10") + Decimal("1.25")).quantize(Decimal("0.01"))
    assert quote.breakdown["surcharges"] == (
        [{"name": applies_to, "applies_to": applies_to, "amount": str(expected)}] if applied else []
    )
    assert quote.amount == base + (expected if applied else 0)


def test_a_service_surcharge_applies_to_that_service_only(carrier):
    Surcharge.objects.create(
        carrier=carrier, service=service(carrier, "overnight"), name="Saturday", applies_to="all", amount=5
    )
    assert rate(carrier, "ground").breakdown["surcharges"] == []
    assert rate(carrier, "overnight").breakdown["surcharges"][0]["amount"] == "5.00"


def test_cross_border_only_on_international_services(carrier):
    CarrierService.objects.filter(carrier=carrier, code="express").update(international=True)
    book = RateBook.load()
    results = book.rate_all(lane(500, country="CA"), SMALL, MONDAY_10)
    quotes = [r for r in results if isinstance(r, Quote)]
    assert [q.service_code for q in quotes] == ["express"]
    refused = [r.reason for r in results if isinstance(r, NoQuote)]
    assert all("does not ship across borders (US to CA)" in why for why in refused) and len(refused) == 2


# --- Cut-offs and dates -----------------------------------------------------------------------


def test_cutoff_pushes_the_ship_date_to_the_next_working_day(carrier):
    wednesday_1630 = at(2, 16, 30)
    q = by_service(RateBook.load().quotes(lane(100), SMALL, wednesday_1630))
    assert q["ground"].ship_date == date(2026, 12, 2)  # before 17:00
    assert q["express"].ship_date == date(2026, 12, 3)  # after 16:00
    assert q["overnight"].ship_date == date(2026, 12, 3)
    assert q["ground"].delivery_date == date(2026, 12, 3)
    at_cutoff = by_service(RateBook.load().quotes(lane(100), SMALL, at(2, 16, 0)))
    assert at_cutoff["express"].ship_date == date(2026, 12, 2)  # at the cut-off still goes


def test_cutoff_on_friday_ships_monday_and_transit_skips_weekends(carrier):
    friday_late = by_service(RateBook.load().quotes(lane(1000), SMALL, at(4, 17, 30)))
    assert friday_late["ground"].ship_date == date(2026, 12, 7)
    assert friday_late["ground"].delivery_date == date(2026, 12, 11)  # 4 working days
    friday_noon = by_service(RateBook.load().quotes(lane(1000), SMALL, at(4, 12)))
    assert friday_noon["ground"].ship_date == date(2026, 12, 4)
    assert friday_noon["ground"].delivery_date == date(2026, 12, 10)  # Mon, Tue, Wed, Thu
    saturday = by_service(RateBook.load().quotes(lane(1000), SMALL, at(5, 9)))
    assert saturday["express"].ship_date == date(2026, 12, 7)
    assert add_working_days(date(2026, 12, 4), 0) == date(2026, 12, 4)
    assert add_working_days(date(2026, 12, 4), 1) == date(2026, 12, 7)


# --- Rate shopping ------------------------------------------------------------------------------


@pytest.fixture
def zone3_quotes(carrier):
    """Ready Monday 10:00, 1000 km: ground arrives Fri 11th, express Wed 9th, overnight Tue 8th."""
    return by_service(RateBook.load().quotes(lane(1000), SMALL, MONDAY_10))


def test_rate_shop_cheapest_meeting_the_date(zone3_quotes):
    quotes = list(zone3_quotes.values())
    assert rate_shop(quotes) == zone3_quotes["ground"]
    assert rate_shop(quotes, deliver_by=date(2026, 12, 11)) == zone3_quotes["ground"]
    assert rate_shop(quotes, deliver_by=date(2026, 12, 9)) == zone3_quotes["express"]
    assert rate_shop(quotes, deliver_by=date(2026, 12, 8)) == zone3_quotes["overnight"]
    assert rate_shop(quotes, deliver_by=date(2026, 12, 7)) is None


def test_rate_shop_fastest_within_the_ceiling(zone3_quotes):
    quotes = list(zone3_quotes.values())
    express, overnight = zone3_quotes["express"].amount, zone3_quotes["overnight"].amount
    assert rate_shop(quotes, cost_ceiling=overnight) == zone3_quotes["overnight"]
    assert rate_shop(quotes, cost_ceiling=overnight - Decimal("0.01")) == zone3_quotes["express"]
    assert rate_shop(quotes, cost_ceiling=express - Decimal("0.01")) == zone3_quotes["ground"]
    assert rate_shop(quotes, cost_ceiling=Decimal("1.00")) is None


def test_rate_shop_level_and_reasons(zone3_quotes):
    quotes = list(zone3_quotes.values())
    assert rate_shop(quotes, level="express") == zone3_quotes["express"]
    chosen, reasons = explain(quotes, level="express", deliver_by=date(2026, 12, 8))
    assert chosen == zone3_quotes["overnight"]
    why = {q.service_code: reason for q, reason in reasons}
    assert why["ground"] == "ground is slower than the express level asked for"
    assert why["express"] == "arrives 2026-12-09, after 2026-12-08"
    assert why["overnight"].startswith("chosen: the cheapest arriving by 2026-12-08")
    with pytest.raises(InvalidInput) as exc:
        rate_shop(quotes, level="teleport")
    assert "level" in exc.value.fields


def test_rate_shop_ties_go_to_the_faster(carrier):
    beta = make_carrier("beta")
    beta_ground = service(beta, "ground")
    beta_ground.rates.update(transit_days=1)
    quotes = RateBook.load().quotes(lane(1000), SMALL, MONDAY_10)
    grounds = [q for q in quotes if q.service_code == "ground"]
    assert grounds[0].amount == grounds[1].amount
    assert rate_shop(quotes).carrier_code == "beta"


# --- The rate book and the table adapter -------------------------------------------------------


def test_rate_book_queries_do_not_grow_with_carriers_or_quotes(carrier):
    with CaptureQueriesContext(connection) as one:
        RateBook.load()
    make_carrier("beta")
    make_carrier("gamma")
    Surcharge.objects.create(carrier=carrier, name="fuel", applies_to="all", percent=5)
    with CaptureQueriesContext(connection) as three:
        book = RateBook.load()
    assert len(one) == len(three) <= 6
    with CaptureQueriesContext(connection) as quoting:
        for km in range(0, 5000, 5):
            quotes = book.quotes(lane(km), Parcel(500 + km, 300, 200, 100), MONDAY_10)
            assert len(quotes) == 9
    assert len(quoting) == 0


def test_table_adapter_quotes_what_the_book_quotes(carrier):
    adapter = adapter_for(carrier)
    assert isinstance(adapter, TableCarrier)
    services = list(carrier.services.all())
    direct = adapter.quote(services=services, lane=lane(700), parcel=SMALL, ready_at=MONDAY_10)
    assert sorted(direct, key=lambda q: q.service_id) == sorted(
        RateBook.load().quotes(lane(700), SMALL, MONDAY_10), key=lambda q: q.service_id
    )


def test_inactive_carriers_and_services_are_not_quoted(carrier):
    CarrierService.objects.filter(carrier=carrier, code="overnight").update(is_active=False)
    assert {q.service_code for q in RateBook.load().quotes(lane(), SMALL, MONDAY_10)} == {"ground", "express"}
    carrier.is_active = False
    carrier.save()
    assert RateBook.load().quotes(lane(), SMALL, MONDAY_10) == []


def test_tracking_number_is_deterministic_with_a_check_digit(carrier, channel, warehouse):
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    fo = release_whole_order(place_order(channel, [(sku.code, 1)]))
    adapter = adapter_for(carrier)
    number = adapter.create_shipment(fulfillment_order=fo, parcel=SMALL)
    assert number == adapter.create_shipment(fulfillment_order=fo, parcel=SMALL)
    assert number == f"AC{fo.pk:010d}{luhn_digit(f'{fo.pk:010d}')}"
    digits = number[2:]
    total = sum(
        int(d) if i % 2 == 0 else (int(d) * 2 - 9 if int(d) > 4 else int(d) * 2)
        for i, d in enumerate(reversed(digits))
    )
    assert total % 10 == 0  # a valid Luhn number
    assert luhn_digit("7992739871") == 3  # the textbook example
    other = FulfillmentOrder(pk=fo.pk + 1)
    assert adapter.create_shipment(fulfillment_order=other, parcel=SMALL) != number


class RemoteAdapter(CarrierAdapter):
    """Stands in for a carrier API: a flat 9.99 per service, or down."""

    down = False

    def quote(self, *, services, lane, parcel, ready_at):
        if self.down:
            raise ConnectionError("carrier API timed out")
        return [
            Quote(s.pk, self.carrier.code, s.code, s.level, Decimal("9.99"), self.carrier.currency, 1,
                  parcel.weight_grams, 1, ready_at.date(), add_working_days(ready_at.date(), 1))
            for s in services
        ]  # fmt: skip

    def create_shipment(self, *, fulfillment_order, parcel):
        return f"R{fulfillment_order.pk}"


def test_other_adapters_quote_through_their_api(carrier, monkeypatch):
    monkeypatch.setitem(carriers_base._ADAPTERS, "remote-test", RemoteAdapter)
    remote = make_carrier("remote")
    remote.adapter = "remote-test"
    remote.save()
    quotes = RateBook.load().quotes(lane(), SMALL, MONDAY_10)
    assert {q.amount for q in quotes if q.carrier_code == "remote"} == {Decimal("9.99")}
    assert len(quotes) == 6
    monkeypatch.setattr(RemoteAdapter, "down", True)
    results = RateBook.load().rate_all(lane(), SMALL, MONDAY_10)
    assert len([r for r in results if isinstance(r, Quote)]) == 3  # the table carrier still quotes
    assert any("carrier API timed out" in r.reason for r in results if isinstance(r, NoQuote))


# --- Parcels ------------------------------------------------------------------------------------


def test_parcel_estimate_without_boxes(db):
    sku = SKUFactory(weight_grams=500, length_mm=300, width_mm=200, height_mm=100)
    parcel = parcel_for([(sku, 2)])
    assert parcel.weight_grams == 1000
    volume = parcel.length_mm * parcel.width_mm * parcel.height_mm
    assert volume >= 2 * 300 * 200 * 100 * 1.2  # room around the items
    assert sorted((parcel.length_mm, parcel.width_mm, parcel.height_mm), reverse=True) >= [300, 200, 100]
    assert parcel_for([]) == Parcel(0, 0, 0, 0)


def test_parcel_in_the_smallest_box_that_fits(boxes):
    shoe = SKUFactory(weight_grams=500, length_mm=280, width_mm=200, height_mm=100)
    one = parcel_for([(shoe, 1)], boxes=list(boxes.values()))
    assert (one.length_mm, one.width_mm, one.height_mm) == (300, 220, 120)  # "small"
    assert one.weight_grams == 500 + 150
    three = parcel_for([(shoe, 3)], boxes=list(boxes.values()))
    assert (three.length_mm, three.width_mm, three.height_mm) == (400, 300, 200)  # "medium"
    pole = SKUFactory(weight_grams=800, length_mm=900, width_mm=50, height_mm=50)
    too_long = parcel_for([(pole, 1)], boxes=list(boxes.values()))
    assert too_long.length_mm == 900 and too_long.weight_grams == 800  # no box: an estimate


# --- A shipment's service ------------------------------------------------------------------------


@pytest.fixture
def fo(carrier, channel, warehouse):
    """A released shipment from Edison NJ to New York 10118 (about 40 km: zone 1)
    of one 500 g, 30 x 20 x 10 cm item: estimated 30 x 20 x 12 cm, 1440 g billable."""
    PostalCode.objects.create(country="US", postal_code="10118", latitude="40.7490", longitude="-73.9860")
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    return release_whole_order(place_order(channel, [(sku.code, 1)]))


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user("lead", "lead@example.com", "pw-lead-123", is_staff=True)


def test_rate_sets_the_cheapest_service_keeping_the_promise(carrier, fo):
    rating = fulfillment_order_rate(fulfillment_order_id=fo.pk, actor=Actor.system(), ready_at=MONDAY_10)
    fo.refresh_from_db()
    assert rating.chosen.service_code == "ground" and rating.chosen.zone == 1
    assert rating.parcel == Parcel(500, 300, 200, 120)
    assert (fo.service_id, fo.service_overridden) == (service(carrier, "ground").pk, False)
    assert (fo.shipping_cost, fo.shipping_cost_currency) == (Decimal("7.60"), "USD")
    event = fo.events.get(kind="rated")
    assert event.data["service"] == "acme/ground" and event.data["late"] is False

    FulfillmentOrder.objects.filter(pk=fo.pk).update(promised_delivery=date(2026, 12, 7))
    rating = fulfillment_order_rate(fulfillment_order_id=fo.pk, actor=Actor.system(), ready_at=at(4, 16, 30))
    # Friday after the express cut-off: only ground (17:00) leaves today and arrives Monday.
    assert rating.chosen.service_code == "ground" and rating.chosen.delivery_date == date(2026, 12, 7)
    rating = fulfillment_order_rate(fulfillment_order_id=fo.pk, actor=Actor.system(), ready_at=at(4, 17, 30))
    # Too late for anything to arrive Monday: the earliest, flagged late.
    assert rating.chosen.delivery_date == date(2026, 12, 8)
    assert fo.events.filter(kind="rated").last().data["late"] is True


def test_staff_override_sets_the_service_and_records_who_and_why(carrier, fo, staff_user):
    express = service(carrier, "express")
    rating = fulfillment_order_set_service(
        fulfillment_order_id=fo.pk,
        service_id=express.pk,
        actor=Actor.for_user(staff_user),
        reason="VIP customer, goodwill upgrade",
        ready_at=MONDAY_10,
    )
    fo.refresh_from_db()
    assert (fo.service_id, fo.service_overridden) == (express.pk, True)
    assert fo.shipping_cost == Decimal("17.00") == rating.chosen.amount  # express zone 1, 2 kg band
    event = FulfillmentEvent.objects.get(fulfillment_order=fo, kind="service_overridden")
    assert (event.actor_type, event.actor_user, event.message) == (
        "staff",
        staff_user,
        "VIP customer, goodwill upgrade",
    )
    assert (
        event.data["service"] == "acme/express" and event.data["reason"] == "VIP customer, goodwill upgrade"
    )

    # Rating again keeps the hand-picked service and refreshes its cost.
    CarrierService.objects.filter(pk=express.pk).first().rates.update(amount=Decimal("18.00"))
    rating = fulfillment_order_rate(fulfillment_order_id=fo.pk, actor=Actor.system(), ready_at=MONDAY_10)
    fo.refresh_from_db()
    assert (fo.service_id, fo.shipping_cost) == (express.pk, Decimal("18.00"))


def test_override_refusals_name_the_problem(carrier, fo, staff_user):
    actor = Actor.for_user(staff_user)
    express = service(carrier, "express")

    def override(service_id=express.pk, reason="customer asked"):
        return fulfillment_order_set_service(
            fulfillment_order_id=fo.pk, service_id=service_id, actor=actor, reason=reason
        )

    with pytest.raises(InvalidInput) as exc:
        override(reason="  ")
    assert "reason" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        override(service_id=999999)
    assert exc.value.fields == {"service": ["unknown service 999999"]}
    CarrierService.objects.filter(pk=express.pk).update(is_active=False)
    with pytest.raises(InvalidInput, match="acme/express is not active"):
        override()
    CarrierService.objects.filter(pk=express.pk).update(is_active=True, max_weight_grams=400)
    with pytest.raises(InvalidInput) as exc:
        override()
    assert "takes parcels up to 400 g" in exc.value.fields["service"][0]
    CarrierService.objects.filter(pk=express.pk).update(max_weight_grams=30000)

    FulfillmentOrder.objects.filter(pk=fo.pk).update(tracking_number="AC123")
    with pytest.raises(InvalidTransition, match="already has a label"):
        override()
    for status in (FulfillmentOrder.Status.SHIPPED, FulfillmentOrder.Status.CANCELLED):
        FulfillmentOrder.objects.filter(pk=fo.pk).update(status=status, tracking_number=None)
        with pytest.raises(InvalidTransition):
            override()
        with pytest.raises(InvalidTransition):
            fulfillment_order_rate(fulfillment_order_id=fo.pk, actor=actor)
    fo.refresh_from_db()
    assert fo.service_overridden is False
    assert not fo.events.filter(kind="service_overridden").exists()


# --- API ---------------------------------------------------------------------------------------------


QUOTE_URL = "/api/v1/fulfillment/rates/quote/"


def quote_body(**overrides):
    body = {
        "origin": "DC-NJ",
        "destination": {"country": "US", "postal_code": "10118"},
        "parcel": {"weight_grams": 600, "length_mm": 200, "width_mm": 150, "height_mm": 100},
        "ready_at": "2026-12-07T10:00:00Z",
    }
    body.update(overrides)
    return body


def test_quote_api_lists_quotes_and_the_choice(carrier, warehouse, staff_api):
    PostalCode.objects.create(country="US", postal_code="10118", latitude="40.7490", longitude="-73.9860")
    r = staff_api.post(QUOTE_URL, quote_body(deliver_by="2026-12-08"), format="json")
    assert r.status_code == 200, r.content
    data = r.json()
    assert data["lane"]["destination_source"] == "postal_code"
    assert 30 < data["lane"]["distance_km"] < 50
    assert {q["service"] for q in data["quotes"]} == {"acme/ground", "acme/express", "acme/overnight"}
    assert data["chosen"]["service"] == "acme/ground" and data["chosen"]["amount"] == "6.80"
    assert data["chosen"]["breakdown"]["billable_weight_grams"] == 600
    assert data["unavailable"] == []

    r = staff_api.post(QUOTE_URL, quote_body(level="overnight", cost_ceiling="40"), format="json")
    assert r.json()["chosen"]["service"] == "acme/overnight"
    r = staff_api.post(QUOTE_URL, quote_body(cost_ceiling="1"), format="json")
    assert r.json()["chosen"] is None
    assert all("over the ceiling" in q["reason"] for q in r.json()["quotes"])


def test_quote_api_from_sku_lines_and_coordinates(carrier, warehouse, staff_api, sku, boxes):
    body = quote_body(
        lines=[{"sku": sku.code, "quantity": 2}],
        destination={"country": "US", "latitude": "41.8858", "longitude": "-87.6181"},
    )
    del body["parcel"]
    data = staff_api.post(QUOTE_URL, body, format="json").json()
    assert data["lane"]["destination_source"] == "address"
    assert data["parcel"]["weight_grams"] == 2 * sku.weight_grams + boxes["medium"].empty_weight_grams
    assert data["chosen"]["zone"] == 3  # about 1100 km


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"origin": "NOPE"}, "origin"),
        ({"destination": {"country": "XX"}}, "destination.country"),
        ({"destination": {"country": "US", "latitude": "40.7"}}, "destination.longitude"),
        (
            {"parcel": {"weight_grams": 0, "length_mm": 1, "width_mm": 1, "height_mm": 1}},
            "parcel.weight_grams",
        ),
        ({"parcel": None}, "parcel"),
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, "lines"),
        ({"level": "teleport"}, "level"),
        ({"cost_ceiling": "-1"}, "cost_ceiling"),
        ({"deliver_by": "soon"}, "deliver_by"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_quote_api_bad_input_names_the_field(carrier, warehouse, staff_api, change, field):
    body = quote_body(**change)
    if change.get("parcel", "") is None:
        del body["parcel"]
    r = staff_api.post(QUOTE_URL, body, format="json")
    assert r.status_code == 400, r.content
    fields = r.json()["error"]["fields"]
    assert any(name == field or name.startswith(field) for name in fields), fields


def test_rate_api_is_staff_only(carrier, warehouse, api):
    assert api.post(QUOTE_URL, quote_body(), format="json").status_code == 403


def test_override_api(carrier, fo, staff_api):
    url = f"/api/v1/fulfillment/shipments/{fo.pk}/service/"
    overnight = service(carrier, "overnight")
    r = staff_api.post(url, {"service": overnight.pk, "reason": "missed the promise once"}, format="json")
    assert r.status_code == 200, r.content
    data = r.json()
    assert (data["service_id"], data["service_overridden"]) == (overnight.pk, True)
    assert data["quote"]["service"] == "acme/overnight"
    assert data["shipping_cost"] == str(
        FulfillmentOrder.objects.get(pk=fo.pk).shipping_cost.quantize(Decimal("0.01"))
    )

    r = staff_api.post(url, {"service": 999999, "reason": "x"}, format="json")
    assert r.status_code == 400 and "service" in r.json()["error"]["fields"]
    r = staff_api.post(url, {"service": overnight.pk}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["error"]["fields"]
    r = staff_api.post(
        "/api/v1/fulfillment/shipments/999999/service/", {"service": 1, "reason": "x"}, format="json"
    )
    assert r.status_code == 404
    FulfillmentOrder.objects.filter(pk=fo.pk).update(status=FulfillmentOrder.Status.SHIPPED)
    r = staff_api.post(url, {"service": overnight.pk, "reason": "x"}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"


def test_ready_time_is_read_in_local_time(carrier):
    # 21:30 UTC on Monday is 16:30 in New York: after express's 16:00 cut-off there.
    ready = datetime(2026, 12, 7, 21, 30, tzinfo=UTC)
    with timezone.override("America/New_York"):
        q = by_service(RateBook.load().quotes(lane(100), SMALL, ready))
    assert q["express"].ship_date == date(2026, 12, 8)
    assert q["ground"].ship_date == date(2026, 12, 7)
    with timezone.override("UTC"):
        assert by_service(RateBook.load().quotes(lane(100), SMALL, ready))["ground"].ship_date == date(
            2026, 12, 8
        )


# --- Admin ----------------------------------------------------------------------------------------


def test_carrier_admin_pages_render(carrier, admin_client):
    from django.urls import reverse

    Surcharge.objects.create(carrier=carrier, name="fuel", applies_to="all", percent=5)
    PostalCode.objects.create(country="US", postal_code="10118", latitude="40.7490", longitude="-73.9860")
    ground = service(carrier, "ground")
    pages = {
        "carrier": carrier.pk,
        "carrierservice": ground.pk,
        "servicerate": ground.rates.first().pk,
        "carrierzone": carrier.zones.first().pk,
        "surcharge": carrier.surcharges.first().pk,
    }
    for model, pk in pages.items():
        for url in (
            reverse(f"admin:fulfillment_{model}_changelist"),
            reverse(f"admin:fulfillment_{model}_change", args=[pk]),
            reverse(f"admin:fulfillment_{model}_add"),
        ):
            assert admin_client.get(url).status_code == 200, url
    response = admin_client.get(reverse("admin:fulfillment_carrier_change", args=[carrier.pk]))
    assert re.search(rb"Installed: [^.]*\btable\b", response.content)
    assert admin_client.get(reverse("admin:oms_postalcode_changelist") + "?q=10118").status_code == 200
