"""Wave (batch) allocation of backorders: read the wave, solve it as a MIP
and first-come greedy on the same orders, report the gain, and optionally
apply the MIP's plan.

Applying goes through the sourcing service one order at a time
(order_source with trigger="wave" and the plan forced): each order in its
own short transaction under its own lock (order row, then stock levels),
where the allocation is re-checked against the stock and safety stock of
that moment. An order that changed since the wave was read, or whose stock
went meanwhile, is skipped and reported: the plan is never forced past the
stock, so nothing is oversold. Nothing is held locked while HiGHS solves.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from inventory.models import SKU
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput
from oms.models import Channel
from orders.models import Order, OrderLine

from ..models import SourcingDecision
from ..sourcing.services import order_source
from .greedy import solve_greedy
from .loading import Wave, wave_load
from .mip import solve_mip
from .model import Plan, Score, Solved, score

MAX_TIME_LIMIT = 600.0
MAX_SHIPMENTS = 10
DEFAULT_TIME_LIMIT = 30.0


@dataclass
class WaveReport:
    orders: int
    locations: int
    skus: int
    mip: Score
    greedy: Score
    solver: Solved
    greedy_seconds: float
    load_seconds: float
    excluded: dict[int, str] = field(default_factory=dict)
    applied: list[int] | None = None  # None: not asked to apply
    skipped: dict[int, str] = field(default_factory=dict)

    @property
    def plan(self) -> Plan:
        return self.solver.plan

    @property
    def gain(self) -> dict[str, Any]:
        mip, greedy = self.mip, self.greedy
        pct = (
            round((mip.weighted_fill - greedy.weighted_fill) * 100 / greedy.weighted_fill, 2)
            if greedy.weighted_fill
            else None
        )
        return {
            "orders": mip.filled - greedy.filled,
            "weighted_fill": mip.weighted_fill - greedy.weighted_fill,
            "weighted_fill_pct": pct,
            "units": mip.units - greedy.units,
            "cost": str((mip.cost - greedy.cost).quantize(Decimal("0.01"))),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "locations": self.locations,
            "skus": self.skus,
            "excluded": [{"order_id": k, "reason": v} for k, v in sorted(self.excluded.items())],
            "mip": _score_dict(self.mip, self.solver.seconds),
            "greedy": _score_dict(self.greedy, self.greedy_seconds),
            "gain": self.gain,
            "solver": {
                "status": self.solver.status,
                "message": self.solver.message,
                "stages": self.solver.stages,
                "variables": self.solver.variables,
                "constraints": self.solver.constraints,
                "seconds": round(self.solver.seconds, 3),
            },
            "load_seconds": round(self.load_seconds, 3),
            "plan": {
                str(order_id): {str(line): wh for line, wh in lines.items()}
                for order_id, lines in sorted(self.plan.items())
            },
            "applied": self.applied,
            "skipped": [{"order_id": k, "reason": v} for k, v in sorted(self.skipped.items())],
        }


def _score_dict(s: Score, seconds: float) -> dict[str, Any]:
    return {
        "filled": s.filled,
        "weighted_fill": s.weighted_fill,
        "units": s.units,
        "shipments": s.shipments,
        "cost": str(s.cost.quantize(Decimal("0.01"))),
        "seconds": round(seconds, 3),
    }


def backorders_optimize(
    *,
    actor: Actor,
    limit: int | None = None,
    skus: Sequence[str] = (),
    channel: str | None = None,
    apply: bool = False,
    time_limit: float = DEFAULT_TIME_LIMIT,
    max_shipments: int | None = None,
) -> WaveReport:
    """Allocate the backordered orders as one wave (see the module note)."""
    sku_ids, channel_id = _validate(
        limit=limit, skus=skus, channel=channel, time_limit=time_limit, max_shipments=max_shipments
    )
    started = time.perf_counter()
    wave = wave_load(sku_ids=sku_ids, channel_id=channel_id, limit=limit, max_shipments=max_shipments)
    loaded = time.perf_counter() - started
    greedy = solve_greedy(wave.problem, time_limit=time_limit)
    solved = solve_mip(wave.problem, time_limit=time_limit, baseline=greedy.plan)
    report = WaveReport(
        orders=len(wave.problem.orders),
        locations=len(wave.locations),
        skus=len({ln.sku_id for o in wave.problem.orders for ln in o.lines}),
        mip=score(wave.problem, solved.plan),
        greedy=score(wave.problem, greedy.plan),
        solver=solved,
        greedy_seconds=greedy.seconds,
        load_seconds=loaded,
        excluded=wave.excluded,
    )
    if apply:
        report.applied, report.skipped = wave_apply(wave=wave, plan=solved.plan, actor=actor)
    return report


def wave_apply(*, wave: Wave, plan: Plan, actor: Actor) -> tuple[list[int], dict[int, str]]:
    """Source each planned order with its plan forced; returns (applied ids, skipped id -> why)."""
    applied: list[int] = []
    skipped: dict[int, str] = {}
    # Orders giving back an allocation go first: the units they free may be
    # what a later order of the plan counts on.
    order_ids = sorted(plan, key=lambda o: (not wave.order(o).own, o))
    for order_id in order_ids:
        why = _changed(wave, order_id)
        if why:
            skipped[order_id] = why
            continue
        try:
            decision = order_source(
                order_id=order_id, actor=actor, trigger="wave", forced_plan=plan[order_id], book=wave.book
            )
        except (Conflict, InvalidInput) as exc:  # stock gone, or a location stopped serving it
            skipped[order_id] = exc.message
            continue
        if decision is None or decision.outcome not in (
            SourcingDecision.Outcome.SOURCED,
            SourcingDecision.Outcome.SPLIT,
        ):
            skipped[order_id] = "no longer waiting to be sourced"
            continue
        applied.append(order_id)
    return applied, skipped


def _changed(wave: Wave, order_id: int) -> str:
    """Why the order is no longer the one the wave planned for ('' if it is)."""
    status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
    if status != Order.Status.BACKORDERED:
        return f"no longer backordered ({status or 'deleted'})"
    planned = {ln.id: ln.quantity for ln in wave.order(order_id).lines}
    now = {
        pk: quantity - cancelled - shipped
        for pk, quantity, cancelled, shipped in OrderLine.objects.filter(order_id=order_id).values_list(
            "pk", "quantity", "quantity_cancelled", "quantity_shipped"
        )
        if quantity - cancelled - shipped > 0
    }
    return "" if now == planned else "its lines changed since the wave was read"


def _validate(
    *, limit, skus: Sequence[str], channel, time_limit, max_shipments
) -> tuple[list[int], int | None]:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise InvalidInput.field("limit", "must be a whole number of at least 1")
    if (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, int | float)
        or not 0 < time_limit <= MAX_TIME_LIMIT
    ):
        raise InvalidInput.field(
            "time_limit", f"must be a number of seconds above 0, at most {MAX_TIME_LIMIT:g}"
        )
    if max_shipments is not None and (
        isinstance(max_shipments, bool)
        or not isinstance(max_shipments, int)
        or not 1 <= max_shipments <= MAX_SHIPMENTS
    ):
        raise InvalidInput.field("max_shipments", f"must be a whole number from 1 to {MAX_SHIPMENTS}")
    codes = list(dict.fromkeys(str(code).strip() for code in skus))
    sku_ids = dict(SKU.objects.filter(code__in=codes).values_list("code", "pk"))
    unknown = [code for code in codes if code not in sku_ids]
    if unknown:
        raise InvalidInput.field("skus", f"unknown SKU code(s): {', '.join(unknown[:10])}")
    channel_id = None
    if channel:
        channel_id = Channel.objects.filter(code=channel).values_list("pk", flat=True).first()
        if channel_id is None:
            raise InvalidInput.field("channel", f"unknown channel {channel}")
    return list(sku_ids.values()), channel_id
