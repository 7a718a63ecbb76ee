"""The built-in "table" carrier: rates from the carrier's rate tables in the
database, tracking numbers in the carrier's prefix.

Rating is one pure function over rows loaded beforehand (`TableRates`), so
the rate engine (fulfillment.rates.RateBook) can load every carrier's tables
once and rate thousands of parcels without a query, and TableCarrier.quote()
gives the same answer because it runs the same code.

How a parcel is rated, per service:
  zone           the first of the carrier's zones (by max_km) that reaches the
                 lane's distance; beyond the last zone there is no quote
  billable       the larger of actual weight and dimensional weight
                 (L x W x H in cm / service.dim_divisor kg, i.e. mm^3 / divisor
                 grams, rounded up to a whole gram)
  base           the service's rate for that zone and the smallest weight band
                 that holds the billable weight
  surcharges     the carrier's (all services or this one): flat amount plus a
                 percent of the base, when they apply
  dates          ship date: the ready day, or the next one when ready after the
                 service's cut-off, weekends skipped; delivery: transit days
                 later, counting working days only
Times are read in the project's time zone (settings.TIME_ZONE).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from django.utils import timezone

from oms.money import round_money

from .base import CarrierAdapter, Lane, Parcel, Quote, register_adapter

if TYPE_CHECKING:
    from ..models import Carrier, CarrierService, CarrierZone, FulfillmentOrder, ServiceRate, Surcharge

HUNDRED = Decimal(100)
TRACKING_DIGITS = 10


@dataclass(frozen=True)
class NoQuote:
    """Why a service cannot carry a parcel on a lane."""

    service_id: int
    reason: str


def dimensional_weight_grams(parcel: Parcel, divisor: int) -> int:
    # cm^3 / divisor gives kg, so mm^3 / divisor gives grams.
    volume_mm3 = parcel.length_mm * parcel.width_mm * parcel.height_mm
    return -(-volume_mm3 // max(divisor, 1))


@lru_cache(maxsize=4096)
def add_working_days(day: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `day`."""
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def ship_date(ready_at: datetime, cutoff) -> date:
    """The day the carrier takes the parcel: the ready day, or the next one when
    it is ready after the cut-off; Saturdays and Sundays roll to Monday."""
    local = timezone.localtime(ready_at) if timezone.is_aware(ready_at) else ready_at
    day = local.date()
    if local.time() > cutoff:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@dataclass
class TableRates:
    """One carrier's rate tables, loaded once and read in memory."""

    carrier: Carrier
    zones: list[CarrierZone] = field(default_factory=list)  # by max_km
    bands: dict[tuple[int, int], list[ServiceRate]] = field(default_factory=dict)  # (service, zone)
    surcharges: list[Surcharge] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.zones = sorted(self.zones, key=lambda z: z.max_km)
        self._zone_limits = [z.max_km for z in self.zones]
        for rows in self.bands.values():
            rows.sort(key=lambda r: r.max_weight_grams)
        self._band_limits = {key: [r.max_weight_grams for r in rows] for key, rows in self.bands.items()}
        # Prices depend on a few things only; routing asks for the same ones
        # many times (every candidate location, every split), so keep them.
        self._prices: dict[tuple, tuple[ServiceRate, Decimal, Decimal, list[dict]]] = {}
        self._ship_dates: dict[tuple[datetime, object], date] = {}
        self._floors: dict[int, Decimal] = {}

    @classmethod
    def build(
        cls,
        carrier: Carrier,
        *,
        zones: Iterable[CarrierZone],
        rates: Iterable[ServiceRate],
        surcharges: Iterable[Surcharge],
    ) -> TableRates:
        bands: dict[tuple[int, int], list[ServiceRate]] = defaultdict(list)
        for rate in rates:
            bands[(rate.service_id, rate.zone)].append(rate)
        return cls(carrier, list(zones), dict(bands), list(surcharges))

    @classmethod
    def load(cls, carrier: Carrier, services: Sequence[CarrierService] | None = None) -> TableRates:
        """Three queries: the carrier's zones, rates (of `services`, or all) and surcharges."""
        from ..models import CarrierZone, ServiceRate, Surcharge

        rates = ServiceRate.objects.filter(service__carrier=carrier)
        if services is not None:
            rates = rates.filter(service_id__in=[s.pk for s in services])
        return cls.build(
            carrier,
            zones=CarrierZone.objects.filter(carrier=carrier),
            rates=rates,
            surcharges=Surcharge.objects.filter(carrier=carrier),
        )

    def zone_for(self, distance_km: float) -> CarrierZone | None:
        i = bisect_left(self._zone_limits, distance_km)
        return self.zones[i] if i < len(self.zones) else None

    def floor_price(self, distance_km: float | None) -> Decimal:
        """The least any parcel can cost with this carrier over that distance
        (lightest band of the cheapest service, before surcharges): a lower
        bound that lets routing skip plans which cannot win."""
        zone = self.zone_for(distance_km) if distance_km is not None else None
        if zone is None:
            return Decimal(0)
        cached = self._floors.get(zone.zone)
        if cached is None:
            firsts = [rows[0].amount for (_, z), rows in self.bands.items() if z == zone.zone and rows]
            cached = self._floors[zone.zone] = min(firsts, default=Decimal(0))
        return cached

    def _price(
        self,
        service: CarrierService,
        zone: int,
        band_index: int,
        lane: Lane,
        parcel: Parcel,
        billable: int,
        cross_border: bool,
    ) -> tuple[ServiceRate, Decimal, Decimal, list[dict]]:
        """The band, base price, total and surcharges applied (cached by what they depend on)."""
        country = lane.destination_country
        key = (service.pk, zone, band_index, billable, parcel.longest_mm, cross_border, country)
        if (hit := self._prices.get(key)) is not None:
            return hit
        band = self.bands[(service.pk, zone)][band_index]
        currency = self.carrier.currency
        base = round_money(band.amount, currency)
        applied = []
        for s in self.surcharges:
            if s.service_id is not None and s.service_id != service.pk:
                continue
            if _applies(s, lane=lane, parcel=parcel, billable=billable, cross_border=cross_border):
                amount = round_money(s.amount + base * s.percent / HUNDRED, currency)
                applied.append({"name": s.name, "applies_to": s.applies_to, "amount": str(amount)})
        total = round_money(base + sum((Decimal(a["amount"]) for a in applied), Decimal(0)), currency)
        self._prices[key] = (band, base, total, applied)
        return self._prices[key]

    def rate(
        self, service: CarrierService, *, lane: Lane, parcel: Parcel, ready_at: datetime
    ) -> Quote | NoQuote:
        """The quote for one service, or why there is none."""
        carrier = self.carrier
        cross_border = lane.origin_country.upper() != lane.destination_country.upper()

        def no(reason: str) -> NoQuote:
            return NoQuote(service.pk, f"{carrier.code}/{service.code}: {reason}")

        if not service.is_active or not carrier.is_active:
            return no("is not active")
        if cross_border and not service.international:
            return no(f"does not ship across borders ({lane.origin_country} to {lane.destination_country})")
        if parcel.weight_grams > service.max_weight_grams:
            return no(
                f"takes parcels up to {service.max_weight_grams} g, this one weighs {parcel.weight_grams} g"
            )
        if parcel.longest_mm > service.max_length_mm:
            return no(
                f"takes parcels up to {service.max_length_mm} mm long, this one is {parcel.longest_mm} mm"
            )
        distance = lane.distance_km
        if distance is None:
            return no("the destination's location is unknown")
        zone = self.zone_for(distance)
        if zone is None:
            limit = self._zone_limits[-1] if self.zones else 0
            return no(f"does not reach {distance:.0f} km (zones end at {limit} km)")
        dim_weight = dimensional_weight_grams(parcel, service.dim_divisor)
        billable = max(parcel.weight_grams, dim_weight)
        key = (service.pk, zone.zone)
        limits = self._band_limits.get(key, [])
        i = bisect_left(limits, billable)
        if i == len(limits):
            top = f"{limits[-1]} g" if limits else "no rates"
            return no(f"has no rate for {billable} g billable in zone {zone.zone} ({top})")
        band, base, total, applied = self._price(service, zone.zone, i, lane, parcel, billable, cross_border)
        currency = carrier.currency
        day_key = (ready_at, service.cutoff_time)
        ships = self._ship_dates.get(day_key)
        if ships is None:
            ships = self._ship_dates[day_key] = ship_date(ready_at, service.cutoff_time)
        return Quote(
            service_id=service.pk,
            carrier_code=carrier.code,
            service_code=service.code,
            level=service.level,
            amount=total,
            currency=currency,
            zone=zone.zone,
            billable_weight_grams=billable,
            transit_days=band.transit_days,
            ship_date=ships,
            delivery_date=add_working_days(ships, band.transit_days),
            breakdown={
                "base": str(base),
                "surcharges": list(applied),
                "weight_band_grams": band.max_weight_grams,
                "actual_weight_grams": parcel.weight_grams,
                "dim_weight_grams": dim_weight,
                "billable_weight_grams": billable,
                "distance_km": round(distance, 1),
            },
        )


def _applies(s: Surcharge, *, lane: Lane, parcel: Parcel, billable: int, cross_border: bool) -> bool:
    kind = s.applies_to
    if kind == "all":
        return True
    if kind == "cross_border":
        return cross_border
    if kind == "oversize":
        return parcel.longest_mm > s.threshold
    if kind == "heavy":
        return billable > s.threshold
    if kind == "remote":
        return lane.destination_country.upper() in s.countries.upper().split()
    return False


def luhn_digit(digits: str) -> int:
    """The Luhn (mod 10) check digit for a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:  # doubled: the rightmost digit of the payload and every second one after it
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return (10 - total % 10) % 10


def tracking_number_for(carrier: Carrier, fulfillment_order_id: int) -> str:
    """Prefix + zero-padded shipment id + Luhn digit: one number per shipment,
    the same on every retry, never shared by two shipments of a carrier."""
    payload = f"{fulfillment_order_id:0{TRACKING_DIGITS}d}"
    return f"{carrier.tracking_prefix}{payload}{luhn_digit(payload)}"


@register_adapter("table")
class TableCarrier(CarrierAdapter):
    def __init__(self, carrier: Carrier, tables: TableRates | None = None) -> None:
        super().__init__(carrier)
        self.tables = tables

    def quote(
        self, *, services: Sequence[CarrierService], lane: Lane, parcel: Parcel, ready_at: datetime
    ) -> list[Quote]:
        return [
            q
            for q in self.rate_all(services=services, lane=lane, parcel=parcel, ready_at=ready_at)
            if isinstance(q, Quote)
        ]

    def rate_all(
        self, *, services: Sequence[CarrierService], lane: Lane, parcel: Parcel, ready_at: datetime
    ) -> list[Quote | NoQuote]:
        """A quote, or the reason there is none, per service."""
        tables = self.tables or TableRates.load(self.carrier, services)
        return [tables.rate(s, lane=lane, parcel=parcel, ready_at=ready_at) for s in services]

    def create_shipment(self, *, fulfillment_order: FulfillmentOrder, parcel: Parcel) -> str:
        # Nobody needs telling: the number is all there is to issue, and
        # deriving it from the shipment id makes a retry return the same one.
        return tracking_number_for(self.carrier, fulfillment_order.pk)
