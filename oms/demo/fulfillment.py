"""The demo shop's shipping side: carriers with rate tables, standard boxes
and packaging, location cut-offs and capacity, the sourcing policy and a few
order rules. Configuration rows, written directly (what staff would type
into the admin); the benchmark reuses the carriers.

Every carrier here rates in USD, the demo merchant's base currency: the
sourcing engine compares costs across carriers, so rate tables must share
one currency until exchange rates arrive with the accounting issue.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from accounting.models import ExchangeRate
from fulfillment.carriers import TrackingUpdate
from fulfillment.models import (
    Box,
    Carrier,
    CarrierService,
    CarrierZone,
    FulfillmentOrder,
    LocationPolicy,
    PackagingMaterial,
    PickList,
    RoutingRule,
    ServiceRate,
    SourcingPolicy,
    Surcharge,
)
from fulfillment.packing import pack_complete, pack_scan
from fulfillment.picking import pick_confirm_line, pick_lists_create
from fulfillment.rates import RateBook
from fulfillment.shipping import pickup_collect, shipment_ship
from fulfillment.sourcing.services import order_source
from fulfillment.tracking import tracking_apply
from inventory.models import Warehouse
from oms.actors import Actor
from oms.demo.clock import clock_at
from oms.errors import DomainError
from oms.geo import geonames_lines, postal_codes_load
from oms.models import Channel, OutboxEvent
from orders.models import Order

ZONES_KM = [150, 600, 1800, 4500, 20000]
WEIGHT_BANDS_G = [500, 1000, 2000, 5000, 10000, 20000, 30000]

# carrier code -> (name, tracking prefix, services)
# service: (code, level, cut-off, base, per kg, zone step, transit days by zone, international)
CARRIERS = {
    "parcelco": (
        "ParcelCo",
        "PC",
        [
            ("ground", "ground", time(17, 0), "5.40", "0.85", "0.22", [1, 2, 3, 5, 8], False),
            ("express", "express", time(16, 0), "12.90", "1.60", "0.18", [1, 1, 2, 2, 4], True),
            ("overnight", "overnight", time(15, 0), "27.50", "2.40", "0.12", [1, 1, 1, 1, 3], True),
        ],
    ),
    "swiftpost": (
        "SwiftPost",
        "SP",
        [
            ("economy", "ground", time(18, 0), "4.60", "0.70", "0.30", [2, 3, 5, 7, 12], True),
            ("priority", "express", time(15, 30), "11.50", "1.90", "0.25", [1, 2, 2, 3, 5], True),
        ],
    ),
}  # fmt: skip

# (code, name, inner L x W x H mm, empty weight g, cost, protection)
BOXES = [
    ("mailer", "Poly mailer", (300, 230, 40), 30, "0.25", 0),
    ("small", "Small box", (250, 180, 120), 160, "0.55", 1),
    ("medium", "Medium box", (400, 300, 200), 320, "0.95", 1),
    ("large", "Large box", (600, 400, 400), 650, "1.60", 1),
    ("protect", "Double-wall box", (450, 350, 250), 520, "1.90", 2),
]
MATERIALS = [
    ("none", "No fill", 0, "0", 0, 0),
    ("paper", "Paper fill", 10, "0.10", 0, 40),
    ("bubble", "Bubble wrap", 15, "0.35", 1, 60),
]


def seed_carriers() -> list[Carrier]:
    carriers = []
    for code, (name, prefix, services) in CARRIERS.items():
        carrier = Carrier.objects.create(
            code=code,
            name=name,
            currency="USD",
            tracking_prefix=prefix,
            tracking_url=f"https://track.{code}.example/{{tracking}}",
            webhook_secret=f"{code}-demo-webhook-secret",
        )
        carriers.append(carrier)
        CarrierZone.objects.bulk_create(
            [CarrierZone(carrier=carrier, zone=i + 1, max_km=km) for i, km in enumerate(ZONES_KM)]
        )
        for s_code, level, cutoff, base, per_kg, step, transit, intl in services:
            service = CarrierService.objects.create(
                carrier=carrier,
                code=s_code,
                name=f"{name} {s_code.title()}",
                level=level,
                cutoff_time=cutoff,
                international=intl,
            )
            ServiceRate.objects.bulk_create(
                [
                    ServiceRate(
                        service=service,
                        zone=zone,
                        max_weight_grams=band,
                        amount=(
                            (Decimal(base) + Decimal(per_kg) * band / 1000) * (1 + Decimal(step) * (zone - 1))
                        ).quantize(Decimal("0.01")),
                        transit_days=transit[zone - 1],
                    )
                    for zone in range(1, len(ZONES_KM) + 1)
                    for band in WEIGHT_BANDS_G
                ]
            )
        Surcharge.objects.create(
            carrier=carrier, name="Fuel", applies_to=Surcharge.AppliesTo.ALL, percent=Decimal("8.50")
        )
        Surcharge.objects.create(
            carrier=carrier,
            name="Customs handling",
            applies_to=Surcharge.AppliesTo.CROSS_BORDER,
            amount=Decimal("6.00"),
        )
        Surcharge.objects.create(
            carrier=carrier,
            name="Oversize",
            applies_to=Surcharge.AppliesTo.OVERSIZE,
            amount=Decimal("12.00"),
            threshold=1000,
        )
    return carriers


def seed_packaging() -> None:
    Box.objects.bulk_create(
        [
            Box(
                code=code,
                name=name,
                inner_length_mm=dims[0],
                inner_width_mm=dims[1],
                inner_height_mm=dims[2],
                empty_weight_grams=weight,
                max_weight_grams=25000,
                cost=Decimal(cost),
                protection=protection,
            )
            for code, name, dims, weight, cost, protection in BOXES
        ]
    )
    PackagingMaterial.objects.bulk_create(
        [
            PackagingMaterial(
                code=code, name=name, padding_mm=pad, cost=Decimal(cost), protection=prot, weight_grams=weight
            )
            for code, name, pad, cost, prot, weight in MATERIALS
        ]
    )


def seed_policies(*, big_order_value: Decimal = Decimal("1500")) -> None:
    """Cut-offs and capacity per location, the default sourcing policy, and
    two order rules staff would start with."""
    for warehouse in Warehouse.objects.all():
        store = warehouse.kind == Warehouse.Kind.STORE
        LocationPolicy.objects.create(
            warehouse=warehouse,
            cutoff_time=time(14, 0) if store else time(16, 0),
            daily_capacity=40 if store else 2000,
            priority=0 if store else 1,
        )
    SourcingPolicy.objects.create(channel=None, max_shipments=2, split_penalty=Decimal("4.00"))
    review = RoutingRule.objects.create(
        name="Review large orders",
        sequence=10,
        action=RoutingRule.Action.HOLD,
        min_order_value=big_order_value,
        hold_reason=f"Orders over {big_order_value} are checked by customer service before they ship.",
    )
    # Wholesale orders are big by nature: their credit limits hold them instead.
    review.channels.set(Channel.objects.exclude(kind=Channel.Kind.B2B))
    RoutingRule.objects.create(
        name="Replacements first",
        sequence=20,
        action=RoutingRule.Action.SET_PRIORITY,
        flag="replacement",
        priority=20,
    )


SAMPLE_POSTAL_CODES = Path(__file__).resolve().parent.parent / "data" / "geonames_postal_sample.txt"


def bring_up_to_date(*, log: Callable[[str], None]) -> dict[str, int]:
    """The shipping side of the demo shop, then every open demo order routed
    as the worker did it when it was placed (a decision record each), and the
    warehouse's work since: parcels of orders older than a day picked and
    packed, older than two days handed to the carrier and followed to the
    door; today's shipments are left released for the pickers."""
    seed_carriers()
    seed_packaging()
    seed_policies()
    loaded = postal_codes_load(lines=geonames_lines(str(SAMPLE_POSTAL_CODES))).created
    book = RateBook.load()
    outcomes: Counter[str] = Counter()
    waiting = Order.objects.filter(status__in=[Order.Status.ALLOCATED, Order.Status.BACKORDERED])
    for order_id, placed_at in waiting.order_by("placed_at", "id").values_list("id", "placed_at"):
        with clock_at(placed_at + timedelta(minutes=2)):
            decision = order_source(order_id=order_id, actor=Actor.system(), trigger="placement", book=book)
        if decision is not None:
            outcomes[str(decision.outcome)] += 1
    floor = work_the_floor()
    log(
        f"  fulfillment: {Carrier.objects.count()} carriers, {Box.objects.count()} boxes, "
        f"{loaded} postal codes; orders routed: {dict(sorted(outcomes.items()))}; "
        f"shipments since: {dict(sorted(floor.items()))}"
    )
    return dict(outcomes)


# Base-currency (USD) value of one unit, around which the demo's daily rates move.
DEMO_RATES = {"EUR": Decimal("1.0850"), "GBP": Decimal("1.2650")}


def seed_exchange_rates(*, since: date) -> None:
    """A rate a day for the demo's other currencies, from `since` to today
    (the books convert shipments and captures at them)."""
    days = (timezone.localdate() - since).days + 1
    ExchangeRate.objects.bulk_create(
        [
            ExchangeRate(
                currency=currency,
                day=since + timedelta(days=n),
                rate=(base * (1 + Decimal(str(round(math.sin(n / 6) * 0.012, 4))))).quantize(
                    Decimal("0.0001")
                ),
                source="demo",
            )
            for currency, base in DEMO_RATES.items()
            for n in range(days)
        ],
        ignore_conflicts=True,
    )


def work_the_floor() -> Counter[str]:
    """Each released shipment goes as far as its order's age allows, at the
    moments it happened (clock_at): picked and packed the next morning,
    handed over that afternoon, scanned in transit and delivered on the day
    its carrier promised (pick-ups collected). The payment captures wait for
    the worker (they run when it starts); the history's shipped e-mails are
    marked as sent, like the confirmations."""
    now = timezone.now()
    system = Actor.system()
    done: Counter[str] = Counter()
    released = (
        FulfillmentOrder.objects.filter(status=FulfillmentOrder.Status.RELEASED)
        .select_related("order", "warehouse")
        .order_by("order__placed_at", "id")
    )
    for fo in released:
        morning = _next_morning(fo.order.placed_at)
        if morning + timedelta(days=1) > now:
            continue  # today's work
        try:
            with clock_at(morning):
                _pick_and_pack(fo, system)
            done["packed"] += 1
            handover = morning + timedelta(hours=6)
            if handover + timedelta(days=1) > now:
                continue
            with clock_at(handover):
                if fo.method == FulfillmentOrder.Method.PICKUP:
                    pickup_collect(fulfillment_order_id=fo.pk, actor=system)
                    done["collected"] += 1
                    continue
                shipment_ship(fulfillment_order_id=fo.pk, actor=system)
            done[_follow_to_the_door(fo.pk, handover, now)] += 1
        except DomainError as exc:  # e.g. no box fits: left where it stopped, for staff
            done[f"stopped: {exc.code}"] += 1
    OutboxEvent.objects.filter(topic="shipment.shipped", dispatched_at__isnull=True).update(
        done_handlers=["email.order_shipped"]
    )
    OutboxEvent.objects.filter(topic="order.delivered", dispatched_at__isnull=True).update(dispatched_at=now)
    return done


def _next_morning(moment: datetime) -> datetime:
    day = timezone.localtime(moment).date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(9, 30)))


def _pick_and_pack(fo: FulfillmentOrder, actor: Actor) -> None:
    if fo.method == FulfillmentOrder.Method.SHIP and fo.warehouse.kind != Warehouse.Kind.STORE:
        for pick_list in pick_lists_create(
            warehouse_id=fo.warehouse_id,
            mode=PickList.Mode.SINGLE,
            actor=actor,
            fulfillment_order_ids=[fo.pk],
        ):
            for line in pick_list.lines.order_by("sequence", "id"):
                pick_confirm_line(pick_line_id=line.pk, quantity=line.quantity, actor=actor)
    for line in fo.lines.select_related("sku").order_by("id"):
        pack_scan(
            fulfillment_order_id=fo.pk, barcode=line.sku.barcode, actor=actor, quantity=line.quantity_open
        )
    pack_complete(fulfillment_order_id=fo.pk, actor=actor)


def _follow_to_the_door(fo_id: int, handover: datetime, now: datetime) -> str:
    """The carrier's scans, as its webhook would report them, up to now."""
    fo = FulfillmentOrder.objects.select_related("service__carrier").get(pk=fo_id)
    city = str(fo.ship_to.get("city") or "")
    due = fo.promised_delivery or (handover + timedelta(days=3)).date()
    scans = [
        ("in_transit", handover + timedelta(hours=8), "Departed the sorting hub"),
        ("out_for_delivery", timezone.make_aware(datetime.combine(due, time(8, 15))), "Out for delivery"),
        ("delivered", timezone.make_aware(datetime.combine(due, time(14, 40))), "Delivered"),
    ]
    updates = [
        TrackingUpdate(
            event_id=f"demo-{fo.pk}-{status}",
            tracking_number=fo.tracking_number,
            status=status,
            description=text,
            location=city,
            occurred_at=at,
            raw={"demo": True},
        )
        for status, at, text in scans
        if at <= now
    ]
    if updates:
        with clock_at(updates[-1].occurred_at):
            tracking_apply(carrier=fo.service.carrier, updates=updates)
    return updates[-1].status if updates else "shipped"
