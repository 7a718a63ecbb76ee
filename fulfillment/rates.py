"""The rate engine: parcels, lanes, quotes across carriers, rate shopping,
and the two writes that set a shipment's carrier service.

Sourcing rates thousands of (location, parcel) pairs per order batch, so a
RateBook loads every active carrier's tables once (six queries) and quotes in
memory with the same function TableCarrier.quote() uses. Carriers rated by
their own API go through their adapter.

Amounts are compared as quoted, each in its carrier's currency: rate
shopping across carriers billing in different currencies would need the
exchange rates of the day, which the OMS does not hold yet.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition
from oms.geo import Destination, distance_km, resolve_destination

from .carriers.base import Lane, Parcel, Quote, adapter_for
from .carriers.table import NoQuote, TableRates
from .models import Box, Carrier, CarrierService, CarrierZone, FulfillmentOrder, ServiceRate, Surcharge
from .models.shipments import FO_SHIPPED
from .services.lifecycle import access_fulfillment_order, fo_event

if TYPE_CHECKING:
    from inventory.models import SKU, Warehouse

logger = logging.getLogger(__name__)

LEVEL_RANK = {"ground": 0, "express": 1, "overnight": 2}
# A box estimate leaves room around the items: 20% more volume than they fill.
VOLUME_SLACK_NUM, VOLUME_SLACK_DEN = 6, 5


# --- Parcels and lanes -------------------------------------------------------------------


def parcel_for(items: Iterable[tuple[SKU, int]], *, boxes: Sequence[Box] | None = None) -> Parcel:
    """An estimate of the parcel some units make, before anyone packs them.

    With `boxes`: the smallest active standard box (by volume) that holds the
    largest item, 1.2x the items' volume and their weight; the parcel is that
    box and its weight added. Otherwise (or when none fits): a box shaped to
    the largest item's sides, grown evenly to 1.2x the items' volume."""
    weight = volume = 0
    biggest = [0, 0, 0]  # the largest longest / middle / shortest side of any item
    for sku, quantity in items:
        if quantity <= 0:
            continue
        sides = sorted((sku.length_mm, sku.width_mm, sku.height_mm), reverse=True)
        weight += sku.weight_grams * quantity
        volume += sides[0] * sides[1] * sides[2] * quantity
        biggest = [max(b, s) for b, s in zip(biggest, sides, strict=True)]
    need = -(-volume * VOLUME_SLACK_NUM // VOLUME_SLACK_DEN)
    for box in sorted(boxes or (), key=_box_volume):
        inner = sorted((box.inner_length_mm, box.inner_width_mm, box.inner_height_mm), reverse=True)
        if (
            box.is_active
            and all(i >= b for i, b in zip(inner, biggest, strict=True))
            and _box_volume(box) >= need
            and box.max_weight_grams >= weight
        ):
            return Parcel(weight + box.empty_weight_grams, *inner)
    if not need:
        return Parcel(weight, *biggest)
    length = max(biggest[0], math.ceil(need ** (1 / 3)))
    width = max(biggest[1], math.ceil(math.sqrt(need / length)))
    height = max(biggest[2], -(-need // (length * width)))
    return Parcel(weight, length, width, height)


def _box_volume(box: Box) -> int:
    return box.inner_length_mm * box.inner_width_mm * box.inner_height_mm


def lane_for(warehouse: Warehouse, destination: Destination) -> Lane:
    origin = (float(warehouse.latitude), float(warehouse.longitude))
    return Lane(
        origin=origin,
        origin_country=warehouse.country,
        destination=destination.point,
        destination_country=destination.country,
        destination_postal_code=destination.postal_code,
        distance_km=distance_km(origin, destination.point),
    )


# --- Quotes ------------------------------------------------------------------------------


class RateBook:
    """Every active carrier service and its rate tables, loaded once."""

    def __init__(
        self,
        *,
        carriers: Sequence[Carrier],
        services: Sequence[CarrierService],
        tables: dict[int, TableRates],
        boxes: Sequence[Box] = (),
    ) -> None:
        self.carriers = {c.pk: c for c in carriers}
        self.services = {s.pk: s for s in services}
        self.by_carrier: dict[int, list[CarrierService]] = defaultdict(list)
        for s in services:
            self.by_carrier[s.carrier_id].append(s)
        self.tables = tables
        self.boxes = list(boxes)

    @classmethod
    def load(cls) -> RateBook:
        """Six queries, however many carriers, services and rates there are."""
        carriers = list(Carrier.objects.filter(is_active=True))
        ids = [c.pk for c in carriers]
        services = list(CarrierService.objects.filter(carrier_id__in=ids, is_active=True))
        by_carrier = {c.pk: c for c in carriers}
        for s in services:
            s.carrier = by_carrier[s.carrier_id]  # str(service) and rating read it: no query each
        zones: dict[int, list[CarrierZone]] = defaultdict(list)
        for z in CarrierZone.objects.filter(carrier_id__in=ids):
            zones[z.carrier_id].append(z)
        surcharges: dict[int, list[Surcharge]] = defaultdict(list)
        for sc in Surcharge.objects.filter(carrier_id__in=ids):
            surcharges[sc.carrier_id].append(sc)
        service_carrier = {s.pk: s.carrier_id for s in services}
        rates: dict[int, list[ServiceRate]] = defaultdict(list)
        for r in ServiceRate.objects.filter(service_id__in=list(service_carrier)):
            rates[service_carrier[r.service_id]].append(r)
        tables = {
            c.pk: TableRates.build(c, zones=zones[c.pk], rates=rates[c.pk], surcharges=surcharges[c.pk])
            for c in carriers
            if c.adapter == "table"
        }
        return cls(
            carriers=carriers, services=services, tables=tables, boxes=Box.objects.filter(is_active=True)
        )

    def parcel_for(self, items: Iterable[tuple[SKU, int]]) -> Parcel:
        return parcel_for(items, boxes=self.boxes)

    def rate_all(self, lane: Lane, parcel: Parcel, ready_at: datetime) -> list[Quote | NoQuote]:
        """A quote, or why there is none, for every active service."""
        out: list[Quote | NoQuote] = []
        for carrier_id, services in self.by_carrier.items():
            tables = self.tables.get(carrier_id)
            if tables is not None:
                out.extend(tables.rate(s, lane=lane, parcel=parcel, ready_at=ready_at) for s in services)
            else:
                out.extend(_adapter_rate(self.carriers[carrier_id], services, lane, parcel, ready_at))
        return out

    def floor_price(self, lane: Lane) -> Decimal:
        """A lower bound of any quote on the lane (0 when a carrier is not table-rated)."""
        if len(self.tables) < len(self.carriers):
            return Decimal(0)
        return min((t.floor_price(lane.distance_km) for t in self.tables.values()), default=Decimal(0))

    def quotes(self, lane: Lane, parcel: Parcel, ready_at: datetime) -> list[Quote]:
        return [q for q in self.rate_all(lane, parcel, ready_at) if isinstance(q, Quote)]


def _adapter_rate(
    carrier: Carrier, services: Sequence[CarrierService], lane: Lane, parcel: Parcel, ready_at: datetime
) -> list[Quote | NoQuote]:
    # A carrier API that is down or misconfigured leaves its services out of
    # this rating rather than failing the shipment: the others still quote.
    try:
        quotes = adapter_for(carrier).quote(services=services, lane=lane, parcel=parcel, ready_at=ready_at)
    except Exception as exc:
        logger.warning("carrier %s could not quote: %s", carrier.code, exc)
        return [
            NoQuote(s.pk, f"{carrier.code}/{s.code}: the carrier could not quote ({exc})") for s in services
        ]
    found = {q.service_id: q for q in quotes}
    return [
        found.get(s.pk)
        or NoQuote(s.pk, f"{carrier.code}/{s.code}: the carrier gave no quote for this parcel")
        for s in services
    ]


def quote_service(
    service: CarrierService, *, lane: Lane, parcel: Parcel, ready_at: datetime
) -> Quote | NoQuote:
    """One service's quote, read fresh from its carrier (three queries for a table carrier)."""
    carrier = service.carrier
    if carrier.adapter == "table":
        return TableRates.load(carrier, [service]).rate(service, lane=lane, parcel=parcel, ready_at=ready_at)
    return _adapter_rate(carrier, [service], lane, parcel, ready_at)[0]


# --- Rate shopping -----------------------------------------------------------------------


def _cheapest(q: Quote) -> tuple:
    return (q.amount, q.delivery_date, q.transit_days, q.carrier_code, q.service_code)


def _fastest(q: Quote) -> tuple:
    return (q.delivery_date, q.amount, q.transit_days, q.carrier_code, q.service_code)


def explain(
    quotes: Iterable[Quote],
    *,
    deliver_by: date | None = None,
    cost_ceiling: Decimal | None = None,
    level: str | None = None,
) -> tuple[Quote | None, list[tuple[Quote, str]]]:
    """The quote rate shopping picks, and every quote with why it won or lost.

    level: only services of that level or faster; deliver_by: the cheapest
    arriving by then (tie: the faster); cost_ceiling: the fastest costing at
    most that (tie: the cheaper); both: the cheapest arriving in time within
    the ceiling; neither: the cheapest."""
    if level is not None and level not in LEVEL_RANK:
        raise InvalidInput.field("level", f"must be one of {', '.join(LEVEL_RANK)}")
    quotes_list = list(quotes)
    reasons: dict[int, str] = {}
    eligible = []
    for i, q in enumerate(quotes_list):
        if level is not None and LEVEL_RANK.get(q.level, -1) < LEVEL_RANK[level]:
            reasons[i] = f"{q.level} is slower than the {level} level asked for"
        elif deliver_by is not None and q.delivery_date > deliver_by:
            reasons[i] = f"arrives {q.delivery_date}, after {deliver_by}"
        elif cost_ceiling is not None and q.amount > cost_ceiling:
            reasons[i] = f"costs {q.amount} {q.currency}, over the ceiling of {cost_ceiling}"
        else:
            eligible.append(i)
    fastest_first = cost_ceiling is not None and deliver_by is None
    key = _fastest if fastest_first else _cheapest
    best = min(eligible, key=lambda i: key(quotes_list[i])) if eligible else None
    for i in eligible:
        q = quotes_list[i]
        if i == best:
            reasons[i] = "chosen: " + ("the fastest within the ceiling" if fastest_first else "the cheapest")
            if deliver_by is not None:
                reasons[i] += f" arriving by {deliver_by}"
        elif fastest_first:
            reasons[i] = f"arrives {q.delivery_date}, later or dearer than the chosen one"
        else:
            reasons[i] = f"costs {q.amount} {q.currency}, more than or as much as the chosen one"
    chosen = quotes_list[best] if best is not None else None
    return chosen, [(q, reasons[i]) for i, q in enumerate(quotes_list)]


def rate_shop(
    quotes: Iterable[Quote],
    *,
    deliver_by: date | None = None,
    cost_ceiling: Decimal | None = None,
    level: str | None = None,
) -> Quote | None:
    """The quote to ship with (see `explain`), None when none qualifies."""
    return explain(quotes, deliver_by=deliver_by, cost_ceiling=cost_ceiling, level=level)[0]


# --- Setting a shipment's service -------------------------------------------------------------


@dataclass(frozen=True)
class Rating:
    fulfillment_order: FulfillmentOrder
    lane: Lane
    parcel: Parcel
    chosen: Quote | None
    results: list[Quote | NoQuote]
    reasons: list[tuple[Quote, str]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen.as_dict() if self.chosen else None,
            "quotes": [{**q.as_dict(), "reason": why} for q, why in self.reasons],
            "unavailable": [
                {"service_id": r.service_id, "reason": r.reason}
                for r in self.results
                if isinstance(r, NoQuote)
            ],
        }


def _check_open(fo: FulfillmentOrder) -> None:
    if fo.status in FO_SHIPPED or fo.status == FulfillmentOrder.Status.CANCELLED:
        raise InvalidTransition(
            f"Shipment {fo.number} is {fo.get_status_display().lower()}: "
            "its carrier service can no longer change.",
            current_status=fo.status,
        )
    if fo.method != FulfillmentOrder.Method.SHIP:
        raise InvalidInput.field(
            "fulfillment_order", f"shipment {fo.number} is collected in store: no carrier"
        )


def fulfillment_order_parcel(fo: FulfillmentOrder, *, boxes: Sequence[Box] | None = None) -> Parcel:
    """The packed parcel once packing has weighed and boxed it, else an estimate from its lines."""
    if fo.box_id and fo.weight_grams:
        box = fo.box
        sides = sorted((box.inner_length_mm, box.inner_width_mm, box.inner_height_mm), reverse=True)
        return Parcel(fo.weight_grams, *sides)
    lines = fo.lines.select_related("sku")
    return parcel_for([(ln.sku, ln.quantity_open) for ln in lines if ln.quantity_open > 0], boxes=boxes)


def _promise(fo: FulfillmentOrder) -> tuple[date | None, str | None]:
    order = fo.order
    level = order.shipping_speed if order.shipping_speed in LEVEL_RANK else None
    return fo.promised_delivery or order.deliver_by, level


def fulfillment_order_rate(
    *, fulfillment_order_id: int, actor: Actor, book: RateBook | None = None, ready_at: datetime | None = None
) -> Rating:
    """Re-rate a shipment (e.g. once packing knows its real weight) and set its
    service and cost: the cheapest service at the order's speed that arrives
    by the promised date, else the earliest to arrive. A service staff chose
    by hand stays; only its cost is refreshed. Quotes are taken before any
    lock: a carrier API may be slow."""
    fo = access_fulfillment_order(fulfillment_order_id)
    _check_open(fo)
    book = book or RateBook.load()
    ready_at = ready_at or timezone.now()
    lane = lane_for(fo.warehouse, resolve_destination(fo.ship_to))
    parcel = fulfillment_order_parcel(fo, boxes=book.boxes)
    deliver_by, level = _promise(fo)
    if fo.service_overridden and fo.service_id:
        result = quote_service(
            book.services.get(fo.service_id) or fo.service, lane=lane, parcel=parcel, ready_at=ready_at
        )
        if isinstance(result, NoQuote):
            raise InvalidInput.field(
                "service", f"the service chosen by hand can no longer carry it: {result.reason}"
            )
        results: list[Quote | NoQuote] = [result]
        chosen, reasons = result, [(result, "chosen by staff")]
    else:
        results = book.rate_all(lane, parcel, ready_at)
        quotes = [q for q in results if isinstance(q, Quote)]
        chosen, reasons = explain(quotes, deliver_by=deliver_by, level=level)
        if chosen is None and quotes:  # nothing keeps the promise: the earliest at the speed asked
            at_speed = [
                q for q in quotes if level is None or LEVEL_RANK.get(q.level, -1) >= LEVEL_RANK[level]
            ]
            chosen = min(at_speed or quotes, key=_fastest)
            reasons = [
                (q, "chosen: the earliest to arrive, though late" if q is chosen else why)
                for q, why in reasons
            ]
        if chosen is None:
            why = (
                "; ".join(r.reason for r in results if isinstance(r, NoQuote)) or "no active carrier service"
            )
            raise Conflict(
                f"No carrier service can carry shipment {fo.number}: {why}", code="no_carrier_service"
            )
    with transaction.atomic():
        locked = access_fulfillment_order(fulfillment_order_id, for_update=True)
        _check_open(locked)
        if locked.service_overridden and (
            not fo.service_overridden or locked.service_id != fo.service_id
        ):  # staff chose a service while this was quoting: theirs stands
            raise Conflict(f"Shipment {fo.number}'s service was changed meanwhile; rate it again.")
        _set_service(locked, chosen, overridden=locked.service_overridden)
        fo_event(
            locked,
            "rated",
            actor,
            message=f"{chosen.carrier_code}/{chosen.service_code} {chosen.amount} {chosen.currency}, "
            f"arrives {chosen.delivery_date}",
            data=_quote_data(chosen, deliver_by),
        )
    return Rating(locked, lane, parcel, chosen, results, reasons)


def fulfillment_order_set_service(
    *, fulfillment_order_id: int, service_id: int, actor: Actor, reason: str, ready_at: datetime | None = None
) -> Rating:
    """Staff choose a shipment's carrier service by hand. Refused once it has
    shipped or been cancelled, or once its label is issued; the service must
    be active and able to carry the parcel on the lane. The shipment then
    keeps that service when it is rated again."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput.field("reason", "is required: say why the service is chosen by hand")
    fo = access_fulfillment_order(fulfillment_order_id)
    _check_open(fo)
    if fo.tracking_number:
        raise InvalidTransition(
            f"Shipment {fo.number} already has a label ({fo.tracking_number}): "
            "its service can no longer change.",
            current_status=fo.status,
        )
    service = CarrierService.objects.select_related("carrier").filter(pk=service_id).first()
    if service is None:
        raise InvalidInput.field("service", f"unknown service {service_id}")
    if not service.is_active or not service.carrier.is_active:
        raise InvalidInput.field("service", f"{service} is not active")
    lane = lane_for(fo.warehouse, resolve_destination(fo.ship_to))
    parcel = fulfillment_order_parcel(fo, boxes=list(Box.objects.filter(is_active=True)))
    quote = quote_service(service, lane=lane, parcel=parcel, ready_at=ready_at or timezone.now())
    if isinstance(quote, NoQuote):
        raise InvalidInput.field("service", f"cannot carry this shipment: {quote.reason}")
    deliver_by, _ = _promise(fo)
    with transaction.atomic():
        locked = access_fulfillment_order(fulfillment_order_id, for_update=True)
        _check_open(locked)
        if locked.tracking_number:
            raise InvalidTransition(
                f"Shipment {fo.number} got a label meanwhile.", current_status=locked.status
            )
        previous = locked.service_id
        _set_service(locked, quote, overridden=True)
        fo_event(
            locked,
            "service_overridden",
            actor,
            message=reason,
            data={**_quote_data(quote, deliver_by), "from_service_id": previous, "reason": reason},
        )
    return Rating(locked, lane, parcel, quote, [quote], [(quote, "chosen by staff")])


def _set_service(fo: FulfillmentOrder, quote: Quote, *, overridden: bool) -> None:
    fo.service_id = quote.service_id
    fo.service_overridden = overridden
    fo.shipping_cost = quote.amount
    fo.shipping_cost_currency = quote.currency
    fo.save(
        update_fields=[
            "service",
            "service_overridden",
            "shipping_cost",
            "shipping_cost_currency",
            "updated_at",
        ]
    )


def _quote_data(quote: Quote, deliver_by: date | None) -> dict[str, Any]:
    return {
        "service_id": quote.service_id,
        "service": f"{quote.carrier_code}/{quote.service_code}",
        "amount": str(quote.amount),
        "currency": quote.currency,
        "delivery_date": quote.delivery_date.isoformat(),
        "billable_weight_grams": quote.billable_weight_grams,
        "late": bool(deliver_by and quote.delivery_date > deliver_by),
    }
