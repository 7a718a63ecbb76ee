"""The wave as a MIP (scipy.optimize.milp, which wraps HiGHS).

Binary variables:

    x_o      order o is filled
    y_{l,w}  line l ships from location w   (only where w could ever take it)
    z_{o,w}  order o has a shipment from w  (orders of two lines or more; a
             one-line order's y is its shipment and carries its cost)

    sum_w y_{l,w} = x_o                 every line of a filled order, once
    y_{l,w} <= z_{o,w}                  a line ships in its order's parcel from w
    z_{o,w} <= sum_{l in o} y_{l,w}     no empty parcel (only where a cost is negative)
    sum_w z_{o,w} <= max_shipments_o x_o       (orders with more lines than that)
    sum qty_l y_{l,w} - sum own_{o,s,w} x_o <= free_{s,w}   per (SKU s, location w)

Stage 1 maximises sum weight_o x_o. Stage 2 keeps that optimum (weights are
integers, so ">= optimum - 0.5" is exact) and minimises the cost. The
matrices are built in bulk with numpy into scipy.sparse arrays: one Python
pass over the candidate (line, location) pairs, none per nonzero.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array, csr_array

from .model import Key, Plan, Problem, Solved, WaveOrder, score, violations

STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


class Model:
    """The MIP's matrices for some orders and some free stock. Variables: x
    (orders), y (line, location), z (order, location) for orders of two or
    more lines; a one-line order's y is its shipment and carries its cost."""

    def __init__(self, orders: list[WaveOrder], free: dict[Key, int]) -> None:
        # A location can take a line if the units free there, plus those any
        # order of the wave would give back there, cover it; the stock rows
        # below decide how many it may really take. Orders with a line no
        # location could ever ship cannot be filled: left out.
        reach = dict(free)
        for o in orders:
            for key, qty in o.own.items():
                reach[key] = reach.get(key, 0) + qty
        self.orders = [
            o
            for o in orders
            if all(any(ln.quantity <= reach.get((ln.sku_id, w), 0) for w in o.costs) for ln in o.lines)
        ]
        y_order, y_line, y_loc, y_qty, y_key, y_cost = [], [], [], [], [], []
        y_z: list[int] = []  # -1: a one-line order's line, no z
        self.line_ids: list[int] = []
        line_order: list[int] = []
        z_index: dict[Key, int] = {}
        z_order: list[int] = []
        z_cost: list[float] = []
        keys: dict[Key, int] = {}
        for oi, order in enumerate(self.orders):
            single = len(order.lines) == 1
            for ln in order.lines:
                self.line_ids.append(ln.id)
                line_order.append(oi)
                for w in order.costs:
                    if ln.quantity > reach.get((ln.sku_id, w), 0):
                        continue
                    if single:
                        y_z.append(-1)
                        y_cost.append(float(order.costs[w]))
                    else:
                        zi = z_index.setdefault((oi, w), len(z_order))
                        if zi == len(z_order):
                            z_order.append(oi)
                            z_cost.append(float(order.costs[w] + order.split_penalty))
                        y_z.append(zi)
                        y_cost.append(0.0)
                    y_order.append(oi)
                    y_line.append(len(self.line_ids) - 1)
                    y_loc.append(w)
                    y_qty.append(ln.quantity)
                    y_key.append(keys.setdefault((ln.sku_id, w), len(keys)))
        own_row, own_order, own_qty = [], [], []
        for oi, order in enumerate(self.orders):
            for key, qty in order.own.items():
                if key in keys:
                    own_row.append(keys[key])
                    own_order.append(oi)
                    own_qty.append(qty)
        n_x, n_y, n_z, n_l = len(self.orders), len(y_order), len(z_order), len(self.line_ids)
        self.n_x, self.n_y, self.n_z = n_x, n_y, n_z
        self.n = n = n_x + n_y + n_z
        self.y_order, self.y_line, self.y_loc = (
            np.array(y_order, int),
            np.array(y_line, int),
            np.array(y_loc, int),
        )
        yz = np.array(y_z, int)
        linked = np.flatnonzero(yz >= 0)  # y with a z
        y_cols = n_x + np.arange(n_y)
        z_cols = n_x + n_y + np.arange(n_z)
        multi = np.array([len(o.lines) > 1 for o in self.orders], bool)

        # Every line of a filled order ships exactly once.
        self.eq = _sparse(
            [np.array(y_line, int), np.arange(n_l)],
            [y_cols, np.array(line_order, int)],
            [np.ones(n_y), -np.ones(n_l)],
            (n_l, n),
        )
        blocks = _Blocks()
        # y <= z: a line ships in its order's parcel from that location.
        m = len(linked)
        blocks.add(
            [np.arange(m), np.arange(m)],
            [y_cols[linked], z_cols[yz[linked]]],
            [np.ones(m), -np.ones(m)],
            m,
            0,
        )
        # z <= sum of its y, only where a parcel's cost is negative (a location's
        # priority can make it so): otherwise minimising cost leaves empty z at 0.
        negative = np.flatnonzero(np.array(z_cost, float) < 0)
        if len(negative):
            row_of = np.full(n_z, -1)
            row_of[negative] = np.arange(len(negative))
            rows_y = row_of[yz[linked]]
            keep = rows_y >= 0
            blocks.add(
                [np.arange(len(negative)), rows_y[keep]],
                [z_cols[negative], y_cols[linked][keep]],
                [np.ones(len(negative)), -np.ones(int(keep.sum()))],
                len(negative),
                0,
            )
        # sum z <= max_shipments x, for orders with more lines than that.
        limits = np.array([o.max_shipments for o in self.orders], float)
        bound = np.flatnonzero(multi & (np.array([len(o.lines) for o in self.orders]) > limits))
        row_of_order = np.full(n_x, -1)
        row_of_order[bound] = np.arange(len(bound))
        z_rows = row_of_order[np.array(z_order, int)] if n_z else np.zeros(0, int)
        keep = z_rows >= 0
        blocks.add(
            [z_rows[keep], np.arange(len(bound))],
            [z_cols[keep], bound],
            [np.ones(int(keep.sum())), -limits[bound]],
            len(bound),
            0,
        )
        # Stock: units taken <= free + what the filled orders give back there.
        stock = np.zeros(len(keys))
        for key, k in keys.items():
            stock[k] = free.get(key, 0)
        blocks.add(
            [np.array(y_key, int), np.array(own_row, int)],
            [y_cols, np.array(own_order, int)],
            [np.array(y_qty, float), -np.array(own_qty, float)],
            len(keys),
            stock,
        )
        self.ub, self.ub_rhs = blocks.matrix(n)
        self.weight = np.array([o.weight for o in self.orders], float)
        split = np.array([float(o.split_penalty) for o in self.orders])
        self.cost = np.concatenate(
            [np.where(multi, -split, 0.0), np.array(y_cost, float), np.array(z_cost, float)]
        )

    @property
    def constraints(self) -> int:
        return self.eq.shape[0] + self.ub.shape[0]

    def fill_objective(self) -> np.ndarray:
        return np.concatenate([-self.weight, np.zeros(self.n_y + self.n_z)])

    def solve(self, objective, *, bounds=None, extra=(), time_limit: float, gap: float, disp: bool = False):
        constraints = [
            LinearConstraint(self.eq, 0, 0),
            LinearConstraint(self.ub, -np.inf, self.ub_rhs),
            *extra,
        ]
        lower, upper = bounds if bounds is not None else (np.zeros(self.n), np.ones(self.n))
        return milp(
            objective,
            integrality=np.ones(self.n),
            bounds=Bounds(lower, upper),
            constraints=constraints,
            options={"time_limit": time_limit, "mip_rel_gap": gap, "disp": disp},
        )

    def fixing(self, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
        """Bounds that fill exactly the orders `plan` fills (their lines still free to move)."""
        lower, upper = np.zeros(self.n), np.ones(self.n)
        filled = np.array([o.id in plan for o in self.orders], float)
        lower[: self.n_x] = upper[: self.n_x] = filled
        return lower, upper

    def plan(self, x: np.ndarray) -> Plan:
        out: Plan = {}
        for oi in np.flatnonzero(x[: self.n_x] > 0.5):
            out[self.orders[oi].id] = {}
        for j in np.flatnonzero(x[self.n_x : self.n_x + self.n_y] > 0.5):
            out[self.orders[self.y_order[j]].id][self.line_ids[self.y_line[j]]] = int(self.y_loc[j])
        return out


class _Blocks:
    """Rows of `A x <= b`, appended a block at a time (COO pieces, built with numpy)."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.rhs: list[np.ndarray] = []
        self.count = 0

    def add(self, rows, cols, vals, count: int, rhs) -> None:
        self.rows.extend(np.asarray(r, int) + self.count for r in rows)
        self.cols.extend(np.asarray(c, int) for c in cols)
        self.vals.extend(np.asarray(v, float) for v in vals)
        self.rhs.append(np.broadcast_to(np.asarray(rhs, float), (count,)))
        self.count += count

    def matrix(self, n: int) -> tuple[csr_array, np.ndarray]:
        rhs = np.concatenate(self.rhs) if self.rhs else np.zeros(0)
        return _sparse(self.rows, self.cols, self.vals, (self.count, n)), rhs


def _sparse(rows, cols, vals, shape) -> csr_array:
    if not rows:
        return csr_array(shape)
    return coo_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    ).tocsr()


def solve_mip(
    problem: Problem,
    *,
    time_limit: float = 30.0,
    gap: float = 0.0,
    cost_gap: float = 1e-4,
    baseline: Plan | None = None,
    disp: bool = False,
) -> Solved:
    """Stage 1 (fill), then stage 2 (cost at that fill). Each HiGHS run stops
    at `time_limit` seconds with the best feasible plan it has.

    Stage 2 runs twice: first with stage 1's orders fixed (only their
    locations move: quick, and always feasible), then as stated, any orders
    of the same weighted fill; the cheaper valid plan wins. `baseline`
    (greedy's plan) is kept when a time-limited stage 1 falls short of it.
    """
    started = time.perf_counter()
    model = Model(problem.orders, problem.stock)
    if model.n_x == 0:
        return Solved({}, "optimal", "no order in the wave can be filled", 0.0, 0, 0, [])
    notes = []
    first = model.solve(model.fill_objective(), time_limit=time_limit, gap=gap, disp=disp)
    stages = [STATUS.get(first.status, "error")]
    best = model.plan(first.x) if first.x is not None else {}
    if violations(problem, best):  # solver tolerances: never hand out an invalid plan
        best = {}
        notes.append("stage 1's plan failed the check and was dropped")
    if first.status == 1:
        notes.append("stage 1 stopped at the time limit with the best fill found")
    elif first.status != 0:
        notes.append(f"stage 1: {first.message}")
    if baseline is not None and score(problem, best).weighted_fill < score(problem, baseline).weighted_fill:
        best = dict(baseline)  # HiGHS stopped before matching greedy: greedy's plan is the best known
        notes.append("stage 1 had not reached greedy's fill: greedy's orders are kept")
    target = score(problem, best).weighted_fill

    fixed = model.solve(model.cost, bounds=model.fixing(best), time_limit=time_limit, gap=cost_gap, disp=disp)
    stages.append(STATUS.get(fixed.status, "error"))
    best = _cheaper(problem, best, fixed, model, target)
    keep = LinearConstraint(csr_array(-model.fill_objective()[None, :]), target - 0.5, np.inf)
    free = model.solve(model.cost, extra=[keep], time_limit=time_limit, gap=cost_gap, disp=disp)
    stages.append(STATUS.get(free.status, "error"))
    best = _cheaper(problem, best, free, model, target)
    if free.x is None:
        notes.append("stage 2 over all orders found no plan in time: stage 1's orders are kept")
    elif free.status == 1:
        notes.append("stage 2 stopped at the time limit with the cheapest plan found")
    if stages[0] == "optimal" and stages[2] == "optimal":
        status = "optimal"
    else:
        status = "time_limit" if "time_limit" in stages else "error"
    message = "; ".join(notes) or "both stages solved to optimality"
    return Solved(best, status, message, time.perf_counter() - started, model.n, model.constraints, stages)


def _cheaper(problem: Problem, best: Plan, result, model: Model, target: int) -> Plan:
    """The solver's plan if it is valid, keeps the fill and costs less (a guard
    against solver tolerances: an invalid plan is never handed out)."""
    if result.x is None:
        return best
    plan = model.plan(result.x)
    now, then = score(problem, plan), score(problem, best)
    if violations(problem, plan) or now.weighted_fill < target or now.cost >= then.cost:
        return best
    return plan
