"""The baseline: first come first served. Orders in the order they were
placed, each taking its cheapest feasible plan on the stock left (the MIP
for that one order, its x fixed to 1), or skipped when none is left."""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from .mip import Model
from .model import Key, Plan, Problem, Solved, WaveOrder


def solve_greedy(problem: Problem, *, time_limit: float = 10.0) -> Solved:
    """First come first served: each order its cheapest feasible plan on the stock left."""
    started = time.perf_counter()
    free = dict(problem.stock)
    plan: Plan = {}
    for order in problem.orders:
        lines = _cheapest(order, free, time_limit)
        if lines is None:
            continue
        plan[order.id] = lines
        for key, qty in order.own.items():
            free[key] = free.get(key, 0) + qty
        for ln in order.lines:
            key = (ln.sku_id, lines[ln.id])
            free[key] = free.get(key, 0) - ln.quantity
    return Solved(plan, "greedy", "first come, first served", time.perf_counter() - started)


def _cheapest(order: WaveOrder, free: dict[Key, int], time_limit: float) -> dict[int, int] | None:
    options = [[w for w in order.costs if order.can_take(ln, w, free)] for ln in order.lines]
    if not all(options):
        return None
    if len(order.lines) == 1:
        [line], [where] = order.lines, options
        return {line.id: min(where, key=lambda w: (order.costs[w], w))}
    # Any plan of two or more locations costs at least the two cheapest that
    # could take a line, plus the split penalty: a single location at or
    # under that is the cheapest plan, no solver needed (unless a parcel's
    # cost can be negative, when more locations may cost less).
    singles = [w for w in order.costs if _fits(order, w, free)]
    if singles and min(order.costs.values()) + order.split_penalty >= 0:
        single = min(singles, key=lambda w: (order.costs[w], w))
        cheapest_two = sorted(order.costs[w] for w in {w for ws in options for w in ws})[:2]
        if len(cheapest_two) < 2 or order.costs[single] <= sum(cheapest_two) + order.split_penalty:
            return {ln.id: single for ln in order.lines}
    model = Model([order], free)
    lower, upper = np.zeros(model.n), np.ones(model.n)
    lower[0] = 1  # the order is filled: find its cheapest plan, if any
    result = model.solve(model.cost, bounds=(lower, upper), time_limit=time_limit, gap=0.0)
    if result.x is None:
        return None
    return model.plan(result.x)[order.id]


def _fits(order: WaveOrder, location: int, free: dict[Key, int]) -> bool:
    """Can `location` ship the whole order (lines of one SKU added up)?"""
    need: dict[int, int] = defaultdict(int)
    for ln in order.lines:
        need[ln.sku_id] += ln.quantity
    return location in order.costs and all(
        qty <= free.get((sku, location), 0) + order.own.get((sku, location), 0) for sku, qty in need.items()
    )
