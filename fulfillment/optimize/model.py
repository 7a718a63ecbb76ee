"""The wave allocation problem, pure (no database): orders, lines, the
candidate locations with each one's shipment cost, and the stock free for
the wave; how a plan scores, and every rule a plan may break.

A wave is a set of backordered orders competing for scarce stock. Each order
is filled whole or not at all; each of its lines ships from one location; an
order uses at most `max_shipments` locations; the units taken at a (SKU,
location) never exceed what is free there, plus what the chosen orders
already hold there (re-sourcing gives those back).

The weight of an order is (1 + priority) x units (a negative priority counts
as 0); its cost is the sum of its shipments' costs plus the split penalty
per location past the first. fulfillment.optimize.mip and .greedy solve it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

Key = tuple[int, int]  # (sku_id, location_id)
Plan = dict[int, dict[int, int]]  # order id -> line id -> location id


@dataclass(frozen=True)
class WaveLine:
    id: int
    sku_id: int
    quantity: int  # units the line needs, all from one location


@dataclass
class WaveOrder:
    id: int
    lines: list[WaveLine]
    costs: dict[int, Decimal]  # location id -> cost of this order's shipment from there
    priority: int = 0
    max_shipments: int = 2
    split_penalty: Decimal = Decimal(0)
    own: dict[Key, int] = field(default_factory=dict)  # units it holds already, given back if re-sourced

    @property
    def units(self) -> int:
        return sum(ln.quantity for ln in self.lines)

    @property
    def weight(self) -> int:
        return (1 + max(self.priority, 0)) * self.units

    def cost(self, lines: dict[int, int]) -> Decimal:
        used = set(lines.values())
        return sum((self.costs[w] for w in used), Decimal(0)) + self.split_penalty * (len(used) - 1)

    def can_take(self, line: WaveLine, location: int, free: dict[Key, int]) -> bool:
        key = (line.sku_id, location)
        return location in self.costs and line.quantity <= free.get(key, 0) + self.own.get(key, 0)


@dataclass
class Problem:
    orders: list[WaveOrder]  # first come first
    stock: dict[Key, int]  # units free for the wave at each (sku, location)


@dataclass
class Score:
    filled: int = 0
    weighted_fill: int = 0
    units: int = 0
    cost: Decimal = Decimal(0)
    shipments: int = 0


@dataclass
class Solved:
    plan: Plan
    status: str  # optimal / time_limit / greedy / ...
    message: str
    seconds: float
    variables: int = 0
    constraints: int = 0
    stages: list[str] = field(default_factory=list)  # HiGHS status of each stage


def score(problem: Problem, plan: Plan) -> Score:
    out = Score()
    for order in problem.orders:
        lines = plan.get(order.id)
        if lines is None:
            continue
        out.filled += 1
        out.weighted_fill += order.weight
        out.units += order.units
        out.cost += order.cost(lines)
        out.shipments += len(set(lines.values()))
    return out


def violations(problem: Problem, plan: Plan) -> list[str]:
    """Every way `plan` breaks the rules (none for a valid plan)."""
    out = []
    by_id = {o.id: o for o in problem.orders}
    used: dict[Key, int] = defaultdict(int)
    for order_id, lines in plan.items():
        order = by_id.get(order_id)
        if order is None:
            out.append(f"order {order_id} is not in the wave")
            continue
        if set(lines) != {ln.id for ln in order.lines}:
            out.append(f"order {order_id} is not filled whole")
        if len(set(lines.values())) > order.max_shipments:
            out.append(f"order {order_id} ships from more than {order.max_shipments} location(s)")
        for (sku, w), qty in order.own.items():
            used[(sku, w)] -= qty
        for ln in order.lines:
            w = lines.get(ln.id)
            if w is None:
                continue
            if w not in order.costs:
                out.append(f"order {order_id} line {ln.id}: location {w} cannot ship it")
            used[(ln.sku_id, w)] += ln.quantity
    for key, qty in sorted(used.items()):
        if qty > problem.stock.get(key, 0):
            out.append(f"sku {key[0]} at location {key[1]}: {qty} taken, {problem.stock.get(key, 0)} free")
    return out
