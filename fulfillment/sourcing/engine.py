"""The sourcing engine: which location(s) ship an order, and why the others lost.

Pure: it reads no database. The caller (fulfillment.sourcing.services) loads
the order, the candidate locations with the stock each can promise this
order, the policies and a rater (a RateBook-backed function), and applies
the result under locks.

A plan is a set of shipments, each one location shipping whole lines (a
line is never split at sourcing). Its score, in the merchant's currency, is

    sum over shipments of  carrier cost (rate shopping for the promise)
                         + cost_per_100km x distance / 100
                         + store_penalty (from a store)
                         + LATE_PENALTY x days late against the promise
                         - location priority
    + split_penalty x (shipments - 1)

and the lowest score wins. Candidates are every single location that has
all lines, every pair of the K locations that cover most of the order
(nearest first) when max_shipments >= 2, and a greedy cover with up to
max_shipments locations when no single or pair can ship it all.
Past a location's cut-off or over its daily capacity, a parcel is only
ready the next working day: such a location is slower, not excluded.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from oms.geo import haversine_km

from ..carriers import Quote

LATE_PENALTY = Decimal("50")  # per day a shipment would arrive after the promised date
PAIR_CANDIDATES = 6  # locations considered for two-shipment plans
CENT = Decimal("0.01")


@dataclass(frozen=True)
class LineNeed:
    line_id: int
    sku_id: int
    sku_code: str
    quantity: int


@dataclass
class Location:
    id: int
    code: str
    is_store: bool
    point: tuple[float, float]
    country: str
    stock: dict[int, int]  # sku_id -> units this order may take here
    ready_at: datetime  # when a parcel could be handed over (cut-off / capacity pushed)
    priority: int = 0
    ineligible: str = ""  # why it may not ship this order at all
    delay_reason: str = ""  # "past cut-off 14:00" / "capacity reached (200/day)"
    distance_km: float | None = None

    def has(self, line: LineNeed) -> bool:
        return self.stock.get(line.sku_id, 0) >= line.quantity


@dataclass(frozen=True)
class Settings:
    max_shipments: int = 2
    split_penalty: Decimal = Decimal("5")
    cost_per_100km: Decimal = Decimal("0.50")
    store_penalty: Decimal = Decimal("2")
    deliver_by: date | None = None
    level: str | None = None  # minimum service level asked for (express, overnight)


# rate(location, lines) -> the quote rate shopping picks for that parcel, or None
Rater = Callable[[Location, Sequence[LineNeed]], Quote | None]


@dataclass
class Shipment:
    location: Location
    lines: list[LineNeed]
    quote: Quote | None
    score: Decimal
    late_days: int = 0

    def as_dict(self) -> dict:
        return {
            "location": self.location.code,
            "location_id": self.location.id,
            "lines": [
                {"line_id": ln.line_id, "sku": ln.sku_code, "quantity": ln.quantity} for ln in self.lines
            ],
            "quote": self.quote.as_dict() if self.quote else None,
            "distance_km": round(self.location.distance_km, 1)
            if self.location.distance_km is not None
            else None,
            "score": str(self.score),
            "late_days": self.late_days,
        }


@dataclass
class Plan:
    shipments: list[Shipment]
    score: Decimal
    reason: str = ""  # why it lost (empty for the winner)

    @property
    def label(self) -> str:
        return " + ".join(s.location.code for s in self.shipments)

    def as_dict(self) -> dict:
        return {
            "plan": self.label,
            "score": str(self.score),
            "shipments": [s.as_dict() for s in self.shipments],
            "outcome": "chosen" if not self.reason else "lost",
            "reason": self.reason,
        }


@dataclass
class Result:
    chosen: Plan | None
    plans: list[Plan]
    locations: list[dict]  # one row per location: its single-location score and why it lost
    short: list[LineNeed] = field(default_factory=list)  # lines no location can fill
    max_shipments: int = 1
    skipped: list[dict] = field(default_factory=list)  # plans not rated: their bound already lost

    def candidates(self) -> list[dict]:
        """Every candidate for the decision record: locations, rated plans, skipped plans."""
        return [*self.locations, *({"plan": p.label, **p.as_dict()} for p in self.plans), *self.skipped]

    @property
    def summary(self) -> str:
        if self.chosen is None:
            if not self.short:
                return (
                    "Backordered: every line is in stock somewhere, but no allowed set of at most "
                    f"{self.max_shipments} location(s) ships them all."
                )
            what = ", ".join(f"{ln.quantity} x {ln.sku_code}" for ln in self.short)
            return f"Backordered: no location can ship {what}."
        if len(self.chosen.shipments) == 1:
            return f"Ships from {self.chosen.label} (score {self.chosen.score})."
        return f"Split: {self.chosen.label} (score {self.chosen.score})."


def source(
    lines: Sequence[LineNeed], locations: Sequence[Location], settings: Settings, rate: Rater
) -> Result:
    eligible = [loc for loc in locations if not loc.ineligible]
    scorer = _Scorer(settings, rate)
    plans: list[Plan] = []

    # Single-location plans, most promising first; a location whose bound
    # (distance, penalties and the cheapest rate there) is already above the
    # best plan so far cannot win and is not rated.
    singles: dict[int, Plan] = {}
    bounds: dict[int, Decimal] = {}
    best: Plan | None = None
    complete = {loc.id: scorer.bound(loc) for loc in eligible if all(loc.has(ln) for ln in lines)}
    by_id = {loc.id: loc for loc in eligible}
    for loc_id, bound in sorted(complete.items(), key=lambda item: (item[1], item[0])):
        loc = by_id[loc_id]
        if best is not None and bound > best.score:
            bounds[loc_id] = bound
            continue
        plan = scorer.plan([(loc, list(lines))])
        if plan is not None:
            singles[loc.id] = plan
            plans.append(plan)
            if best is None or plan.score < best.score:
                best = plan

    skipped: list[dict] = []
    if settings.max_shipments >= 2 and len(lines) >= 2:
        best_single = min(plans, key=lambda p: p.score, default=None)
        plans.extend(_pairs(lines, eligible, scorer, best_single, skipped))
    if not plans and settings.max_shipments >= 3:
        cover = _greedy_cover(lines, eligible, settings.max_shipments)
        if cover is not None and (plan := scorer.plan(cover)) is not None:
            plans.append(plan)

    short = [ln for ln in lines if not any(loc.has(ln) for loc in eligible)]
    plans.sort(key=lambda p: (p.score, len(p.shipments), p.label))
    chosen = plans[0] if plans and not short else None
    for plan in plans:
        if plan is not chosen:
            plan.reason = _why_lost(plan, chosen, short)
    return Result(
        chosen=chosen,
        plans=plans,
        locations=[
            _location_row(loc, lines, singles.get(loc.id), chosen, bounds.get(loc.id)) for loc in locations
        ],
        short=short,
        max_shipments=settings.max_shipments,
        skipped=skipped,
    )


class _Scorer:
    """Scores shipments, rating each (location, lines) once per order."""

    def __init__(self, settings: Settings, rate: Rater) -> None:
        self.settings = settings
        self.rate = rate
        self.cache: dict[tuple[int, tuple[int, ...]], Shipment | None] = {}

    def shipment(self, loc: Location, lines: list[LineNeed]) -> Shipment | None:
        key = (loc.id, tuple(ln.line_id for ln in lines))
        if key not in self.cache:
            self.cache[key] = self._score(loc, lines)
        return self.cache[key]

    def floor(self, loc: Location) -> Decimal:
        """What any shipment from `loc` scores before the carrier's price."""
        s = self.settings
        score = Decimal(-loc.priority)
        if loc.distance_km is not None:
            score += s.cost_per_100km * Decimal(str(round(loc.distance_km, 1))) / 100
        if loc.is_store:
            score += s.store_penalty
        return score

    def bound(self, loc: Location) -> Decimal:
        """The least any shipment from `loc` can score: its floor plus the
        rater's cheapest possible price there, when the rater knows it."""
        price = getattr(self.rate, "floor", None)
        return self.floor(loc) + (price(loc) if price is not None else 0)

    def _score(self, loc: Location, lines: list[LineNeed]) -> Shipment | None:
        quote = self.rate(loc, lines)
        if quote is None:
            return None
        s = self.settings
        late = max((quote.delivery_date - s.deliver_by).days, 0) if s.deliver_by else 0
        score = quote.amount + LATE_PENALTY * late + self.floor(loc)
        return Shipment(loc, lines, quote, score.quantize(CENT), late)

    def plan(self, parts: list[tuple[Location, list[LineNeed]]]) -> Plan | None:
        shipments = []
        for loc, lines in parts:
            shipment = self.shipment(loc, lines)
            if shipment is None:
                return None
            shipments.append(shipment)
        score = sum((s.score for s in shipments), Decimal(0))
        score += self.settings.split_penalty * (len(shipments) - 1)
        return Plan(shipments, score.quantize(CENT))


def _pairs(
    lines: Sequence[LineNeed],
    eligible: Sequence[Location],
    scorer: _Scorer,
    best_single: Plan | None,
    skipped: list[dict],
) -> list[Plan]:
    """Two-location plans over the locations covering most lines (nearest first).
    Each line goes to the location where it adds least; every assignment of
    lines both locations could ship is tried when there are few of them. A
    pair whose fixed costs alone (split penalty, distance, store penalty, less
    priority) already exceed the best single-location plan is not rated: it
    cannot win, whatever the carrier charges."""
    covering = [loc for loc in eligible if any(loc.has(ln) for ln in lines)]
    covering.sort(
        key=lambda loc: (
            -sum(1 for ln in lines if loc.has(ln)),
            loc.distance_km if loc.distance_km is not None else 1e9,
            loc.id,
        )
    )
    plans = []
    for a, b in itertools.combinations(covering[:PAIR_CANDIDATES], 2):
        bound = scorer.bound(a) + scorer.bound(b) + scorer.settings.split_penalty
        if best_single is not None and bound > best_single.score:
            label = f"{a.code} + {b.code}"
            skipped.append(
                {
                    "plan": label,
                    "score": None,
                    "outcome": "lost",
                    "reason": f"{label}: at least {bound.quantize(CENT)} (split penalty, distance and the "
                    f"cheapest rate alone), more than {best_single.label} at {best_single.score}",
                }
            )
            continue
        only_a = [ln for ln in lines if a.has(ln) and not b.has(ln)]
        only_b = [ln for ln in lines if b.has(ln) and not a.has(ln)]
        both = [ln for ln in lines if a.has(ln) and b.has(ln)]
        if len(only_a) + len(only_b) + len(both) < len(lines):
            continue  # some line neither has
        best = None
        choices = itertools.product((0, 1), repeat=len(both)) if len(both) <= 4 else [(0,) * len(both)]
        for choice in choices:
            to_a = only_a + [ln for ln, c in zip(both, choice, strict=True) if c == 0]
            to_b = only_b + [ln for ln, c in zip(both, choice, strict=True) if c == 1]
            if not to_a or not to_b:
                continue  # that is a single-location plan, scored already
            plan = scorer.plan([(a, _in_order(to_a, lines)), (b, _in_order(to_b, lines))])
            if plan is not None and (best is None or plan.score < best.score):
                best = plan
        if best is not None:
            plans.append(best)
    return plans


def _greedy_cover(
    lines: Sequence[LineNeed], eligible: Sequence[Location], max_shipments: int
) -> list[tuple[Location, list[LineNeed]]] | None:
    left = list(lines)
    parts = []
    while left and len(parts) < max_shipments:
        best = max(
            eligible,
            key=lambda loc: (sum(1 for ln in left if loc.has(ln)), -(loc.distance_km or 0), -loc.id),
            default=None,
        )
        if best is None:
            return None
        taken = [ln for ln in left if best.has(ln)]
        if not taken:
            return None
        parts.append((best, taken))
        left = [ln for ln in left if ln not in taken]
    return None if left else parts


def _in_order(subset: list[LineNeed], lines: Sequence[LineNeed]) -> list[LineNeed]:
    ids = {ln.line_id for ln in subset}
    return [ln for ln in lines if ln.line_id in ids]


def _why_lost(plan: Plan, chosen: Plan | None, short: list[LineNeed]) -> str:
    if chosen is None:
        return "the order cannot be filled in full" + (
            ": " + ", ".join(f"{ln.sku_code} short" for ln in short) if short else ""
        )
    reasons = []
    late = [s for s in plan.shipments if s.late_days]
    for s in late:
        why = f"{s.location.code} arrives {s.late_days} day(s) after the promised date"
        if s.location.delay_reason:
            why += f" ({s.location.delay_reason})"
        reasons.append(why)
    if len(plan.shipments) > len(chosen.shipments):
        reasons.append(f"{len(plan.shipments)} shipments instead of {len(chosen.shipments)}")
    reasons.append(f"costs {plan.score - chosen.score} more than {chosen.label}")
    return "; ".join(reasons)


def _location_row(
    loc: Location,
    lines: Sequence[LineNeed],
    single: Plan | None,
    chosen: Plan | None,
    bound: Decimal | None = None,
) -> dict:
    row = {
        "location": loc.code,
        "location_id": loc.id,
        "kind": "store" if loc.is_store else "warehouse",
        "distance_km": round(loc.distance_km, 1) if loc.distance_km is not None else None,
        "score": str(single.score) if single else None,
    }
    in_chosen = chosen is not None and any(s.location.id == loc.id for s in chosen.shipments)
    if in_chosen:
        return row | {"outcome": "chosen", "reason": ""}
    if loc.ineligible:
        return row | {"outcome": "excluded", "reason": f"{loc.code}: {loc.ineligible}"}
    missing = [ln for ln in lines if not loc.has(ln)]
    if missing:
        parts = [f"short {ln.quantity - loc.stock.get(ln.sku_id, 0)} x {ln.sku_code}" for ln in missing]
        return row | {"outcome": "lost", "reason": f"{loc.code}: {', '.join(parts)}"}
    if bound is not None and chosen is not None:
        more = (bound - chosen.score).quantize(CENT)
        why = f"costs at least {more} more than {chosen.label} (distance and its cheapest rate alone)"
        return row | {"outcome": "lost", "reason": f"{loc.code}: {why}"}
    if single is None:
        return row | {"outcome": "lost", "reason": f"{loc.code}: no carrier service can take the parcel"}
    reason = _why_lost(single, chosen, []) if chosen else "the order is not sourced"
    if loc.delay_reason and not single.shipments[0].late_days:
        reason = f"{loc.delay_reason}; {reason}"
    return row | {"outcome": "lost", "reason": f"{loc.code}: {reason}"}


def distance(loc_point: tuple[float, float], destination: tuple[float, float] | None) -> float | None:
    if destination is None:
        return None
    return haversine_km(loc_point[0], loc_point[1], destination[0], destination[1])
