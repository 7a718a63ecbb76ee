"""Wave allocation of backorders: the MIP against first-come greedy on hand-built
cases (exact numbers), its constraints (whole orders, shipments per order,
stock) on random small instances checked against brute force, and the whole
path on the database: loading, applying through order_source, the command
and the API."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F, Sum
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, RoutingRule, SourcingDecision
from fulfillment.optimize import (
    Problem,
    Score,
    WaveLine,
    WaveOrder,
    backorders_optimize,
    score,
    solve_greedy,
    solve_mip,
    violations,
    wave_apply,
)
from fulfillment.optimize.loading import wave_load
from inventory.models import StockLevel
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive
from oms.actors import Actor
from oms.errors import InvalidInput
from oms.models import PostalCode
from orders.models import Order, OrderLine
from tests.factories import WarehouseFactory, channel_with_key, sku_in_stock

from .conftest import make_carrier, place_order

SYSTEM = Actor.system()
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("UTC"))  # a Wednesday morning, before cut-offs
D = Decimal


def order(id, lines, costs, **kwargs) -> WaveOrder:
    """lines: [(line id, sku, qty)]; costs: {location: cost}."""
    return WaveOrder(id, [WaveLine(*ln) for ln in lines], {w: D(c) for w, c in costs.items()}, **kwargs)


def both(problem: Problem, **kwargs):
    greedy = solve_greedy(problem)
    mip = solve_mip(problem, baseline=greedy.plan, **kwargs)
    assert violations(problem, greedy.plan) == [] and violations(problem, mip.plan) == []
    return mip, greedy


# --- The model alone ----------------------------------------------------------------


def test_an_early_order_that_blocks_two_later_ones_loses_to_them():
    # Location 1 costs 10, location 2 costs 7, a split 5. Order 1 takes A and B
    # (one at each location); orders 2 and 3 each need one of those units.
    problem = Problem(
        [
            order(1, [(11, "A", 1), (12, "B", 1)], {1: 10, 2: 7}, split_penalty=D(5)),
            order(2, [(21, "A", 1), (22, "C", 1)], {1: 10, 2: 7}, split_penalty=D(5)),
            order(3, [(31, "B", 1), (32, "D", 1)], {1: 10, 2: 7}, split_penalty=D(5)),
        ],
        {("A", 1): 1, ("C", 1): 1, ("B", 2): 1, ("D", 2): 1},
    )
    mip, greedy = both(problem)
    assert greedy.plan == {1: {11: 1, 12: 2}}
    assert score(problem, greedy.plan) == Score(filled=1, weighted_fill=2, units=2, cost=D(22), shipments=2)
    assert mip.plan == {2: {21: 1, 22: 1}, 3: {31: 2, 32: 2}}
    s = score(problem, mip.plan)
    assert (s.filled, s.weighted_fill, s.units, s.cost, s.shipments) == (2, 4, 4, D(17), 2)
    assert mip.status == "optimal" and mip.stages == ["optimal", "optimal", "optimal"]


def test_priority_weighs_fill_and_cost_breaks_ties():
    problem = Problem(
        [
            order(1, [(11, "A", 2)], {1: 3}),  # first, weight 2
            order(2, [(21, "A", 1)], {1: 9}, priority=10),  # VIP: weight 11
            order(3, [(31, "A", 1)], {1: 8}),  # weight 1, cheaper than order 4
            order(4, [(41, "A", 1)], {1: 12}),  # weight 1
        ],
        {("A", 1): 2},
    )
    mip, greedy = both(problem)
    assert greedy.plan == {1: {11: 1}}
    assert mip.plan == {2: {21: 1}, 3: {31: 1}}
    assert (score(problem, mip.plan).weighted_fill, score(problem, mip.plan).cost) == (12, D(17))


def test_an_order_is_filled_whole_or_not_at_all():
    problem = Problem(
        [order(1, [(11, "A", 1), (12, "B", 1)], {1: 5}), order(2, [(21, "A", 1)], {1: 5})],
        {("A", 1): 1},  # no B anywhere
    )
    mip, greedy = both(problem)
    assert mip.plan == greedy.plan == {2: {21: 1}}


def test_shipments_per_order_are_capped():
    lines = [(11, "A", 1), (12, "B", 1), (13, "C", 1)]
    stock = {("A", 1): 1, ("B", 2): 1, ("C", 3): 1}  # one SKU per location
    capped = Problem([order(1, lines, {1: 4, 2: 5, 3: 6}, max_shipments=2)], stock)
    assert both(capped)[0].plan == {} and solve_greedy(capped).plan == {}
    three = Problem([order(1, lines, {1: 4, 2: 5, 3: 6}, max_shipments=3, split_penalty=D(2))], stock)
    mip, _ = both(three)
    assert mip.plan == {1: {11: 1, 12: 2, 13: 3}} and score(three, mip.plan).cost == D(19)


def test_units_an_order_holds_are_its_own_and_freed_when_it_moves():
    # Order 1 holds A at location 1 (nothing else free there); moving it to
    # location 2 frees that unit for order 2, which only location 1 can ship.
    problem = Problem(
        [
            order(1, [(11, "A", 1)], {1: 9, 2: 1}, own={("A", 1): 1}),
            order(2, [(21, "A", 1)], {1: 3}),
        ],
        {("A", 2): 1},
    )
    mip, greedy = both(problem)
    assert greedy.plan == {1: {11: 2}, 2: {21: 1}}  # greedy also moves it: location 2 is cheaper
    assert mip.plan == greedy.plan
    pinned = Problem([problem.orders[0], problem.orders[1]], {})
    assert both(pinned)[0].plan == {1: {11: 1}}  # stays where it holds stock; order 2 cannot have it


def test_the_time_limit_keeps_a_valid_plan_and_says_so():
    rng = random.Random(3)
    orders = [
        order(
            o,
            [(o * 10 + i, rng.randrange(30), rng.randint(1, 3)) for i in range(3)],
            {w: rng.randint(5, 30) for w in range(8)},
            priority=rng.choice([0, 0, 5]),
            split_penalty=D(5),
        )
        for o in range(300)
    ]
    stock = {(s, w): rng.randint(0, 5) for s in range(30) for w in range(8)}
    problem = Problem(orders, stock)
    greedy = solve_greedy(problem)
    mip = solve_mip(problem, time_limit=0.001, baseline=greedy.plan)
    assert mip.status == "time_limit" and "time limit" in mip.message
    assert violations(problem, mip.plan) == []
    assert score(problem, mip.plan).weighted_fill >= score(problem, greedy.plan).weighted_fill


def brute_force(problem: Problem) -> tuple[int, Decimal]:
    """The best (weighted fill, then least cost) over every combination of plans."""
    choices = []
    for o in problem.orders:
        plans = [None] + [
            dict(zip([ln.id for ln in o.lines], where, strict=True))
            for where in itertools.product(sorted(o.costs), repeat=len(o.lines))
        ]
        choices.append([(o.id, p) for p in plans])
    best = (0, D(0))
    for combo in itertools.product(*choices):
        plan = {oid: p for oid, p in combo if p is not None}
        if not violations(problem, plan):
            s = score(problem, plan)
            if (s.weighted_fill, -s.cost) > (best[0], -best[1]):
                best = (s.weighted_fill, s.cost)
    return best


@st.composite
def instances(draw):
    locations, skus = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stock = {(s, w): draw(st.integers(0, 3)) for s in range(skus) for w in range(locations)}
    orders = []
    for o in range(draw(st.integers(1, 3))):
        lines = [
            (o * 10 + i, draw(st.integers(0, skus - 1)), draw(st.integers(1, 3)))
            for i in range(draw(st.integers(1, 2)))
        ]
        where = draw(st.lists(st.integers(0, locations - 1), min_size=1, max_size=locations, unique=True))
        own = {}
        if draw(st.booleans()):
            own = {(lines[0][1], where[0]): draw(st.integers(1, 2))}
        orders.append(
            order(
                o,
                lines,
                {w: draw(st.integers(-2, 20)) for w in where},
                priority=draw(st.integers(-1, 3)),
                max_shipments=draw(st.integers(1, 2)),
                split_penalty=D(draw(st.integers(0, 6))),
                own=own,
            )
        )
    return Problem(orders, stock)


@settings(max_examples=120, deadline=None)
@given(instances())
def test_random_waves_the_mip_is_optimal_never_below_greedy_and_never_oversells(problem):
    greedy = solve_greedy(problem)
    mip = solve_mip(problem, baseline=greedy.plan, cost_gap=0.0)
    assert violations(problem, greedy.plan) == []
    assert violations(problem, mip.plan) == []
    got = score(problem, mip.plan)
    assert got.weighted_fill >= score(problem, greedy.plan).weighted_fill
    assert (got.weighted_fill, got.cost) == brute_force(problem)


# --- On the database ----------------------------------------------------------------


@pytest.fixture
def world(db, monkeypatch):
    """Edison NJ and Philadelphia PA; four SKUs, none in stock when three
    orders are placed (so they wait), then one unit each arrives: A and C in
    NJ, B and D in PA. Order 1 wants A + B, order 2 A + C, order 3 B + D."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    make_carrier()
    PostalCode.objects.create(
        country="US", postal_code="10118", place_name="New York", latitude=D("40.749"), longitude=D("-73.986")
    )
    channel, _ = channel_with_key(allow_backorders=True)
    nj = WarehouseFactory(code="NJ")
    pa = WarehouseFactory(
        code="PA", city="Philadelphia", region="PA", latitude=D("39.9526"), longitude=D("-75.1652")
    )
    a, b, c, d = (sku_in_stock(channel=channel, warehouse=nj, quantity=0, code=code) for code in "ABCD")
    orders = [place_order(channel, [(x.code, 1), (y.code, 1)]) for x, y in [(a, b), (a, c), (b, d)]]
    assert {o.status for o in orders} == {Order.Status.BACKORDERED}
    for sku, wh in [(a, nj), (c, nj), (b, pa), (d, pa)]:
        stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=1, reference="po:1")
    return {
        "channel": channel,
        "NJ": nj,
        "PA": pa,
        "skus": {s.code: s for s in (a, b, c, d)},
        "orders": orders,
    }


def line_ids(order) -> dict[str, int]:
    return {ln.sku.code: ln.pk for ln in OrderLine.objects.filter(order=order).select_related("sku")}


def assert_stock_consistent():
    """Every level's allocation is what order lines hold there; nothing below zero; ledger intact."""
    held = {
        (row["sku_id"], row["warehouse_id"]): row["n"]
        for row in OrderLine.objects.filter(warehouse__isnull=False)
        .values("sku_id", "warehouse_id")
        .annotate(n=Sum("quantity_allocated"))
    }
    for level in StockLevel.objects.all():
        assert level.allocated == held.get((level.sku_id, level.warehouse_id), 0), level
    assert not StockLevel.objects.filter(on_hand__lt=F("allocated") + F("soft_reserved")).exists()
    assert ledger_mismatches() == []


def test_the_wave_beats_greedy_on_the_database_and_applies_through_sourcing(world):
    o1, o2, o3 = world["orders"]
    nj, pa = world["NJ"].pk, world["PA"].pk

    report = backorders_optimize(actor=SYSTEM, apply=True)

    ids2, ids3 = line_ids(o2), line_ids(o3)
    assert report.plan == {o2.pk: {ids2["A"]: nj, ids2["C"]: nj}, o3.pk: {ids3["B"]: pa, ids3["D"]: pa}}
    assert (report.greedy.filled, report.greedy.weighted_fill, report.greedy.shipments) == (1, 2, 2)
    assert (report.mip.filled, report.mip.weighted_fill, report.mip.units, report.mip.shipments) == (
        2,
        4,
        4,
        2,
    )
    assert report.gain["orders"] == 1 and report.gain["weighted_fill_pct"] == 100.0
    assert report.mip.cost < report.greedy.cost  # two single parcels, not one split order
    assert report.applied == sorted([o2.pk, o3.pk]) and report.skipped == {}
    for o in world["orders"]:
        o.refresh_from_db()
    assert [o.status for o in (o1, o2, o3)] == [
        Order.Status.BACKORDERED,
        Order.Status.ALLOCATED,
        Order.Status.ALLOCATED,
    ]
    decisions = SourcingDecision.objects.filter(trigger="wave")
    assert decisions.count() == 2
    # The cost the wave minimised is what sourcing records for the plan.
    assert sum(d.total_cost for d in decisions) == report.mip.cost
    fos = {
        fo.order_id: (fo.warehouse.code, sorted(ln.order_line.sku.code for ln in fo.lines.all()))
        for fo in FulfillmentOrder.objects.select_related("warehouse")
    }
    assert fos == {o2.pk: ("NJ", ["A", "C"]), o3.pk: ("PA", ["B", "D"])}
    assert_stock_consistent()
    again = backorders_optimize(actor=SYSTEM, apply=True)  # nothing left for order 1: A is taken
    assert again.orders == 1 and again.plan == {} and again.applied == []


def test_an_order_whose_stock_went_meanwhile_is_skipped_never_oversold(world):
    _, o2, o3 = world["orders"]
    wave = wave_load()
    plan = solve_mip(wave.problem).plan
    assert set(plan) == {o2.pk, o3.pk}
    taker = place_order(world["channel"], [("D", 1)])  # takes the last D in PA
    assert taker.status == Order.Status.ALLOCATED

    applied, skipped = wave_apply(wave=wave, plan=plan, actor=SYSTEM)

    assert applied == [o2.pk] and list(skipped) == [o3.pk]
    assert "could not be sourced" in skipped[o3.pk]
    o3.refresh_from_db()
    assert o3.status == Order.Status.BACKORDERED and not o3.fulfillment_orders.exists()
    b = world["skus"]["B"]
    assert StockLevel.objects.get(sku=b, warehouse=world["PA"]).allocated == 0  # all or nothing
    assert_stock_consistent()
    OrderLine.objects.filter(order=o2).update(quantity_cancelled=1)  # a changed order is not applied either
    Order.objects.filter(pk=o2.pk).update(status=Order.Status.BACKORDERED)
    assert wave_apply(wave=wave, plan={o2.pk: plan[o2.pk]}, actor=SYSTEM)[1] == {
        o2.pk: "its lines changed since the wave was read"
    }


def test_held_and_click_and_collect_orders_stay_out_and_filters_apply(world):
    o1, o2, o3 = world["orders"]
    RoutingRule.objects.create(
        name="Check C", action=RoutingRule.Action.HOLD, sku_codes=["C"], hold_reason="C needs a check"
    )
    Order.objects.filter(pk=o3.pk).update(pickup_location=world["PA"])
    report = backorders_optimize(actor=SYSTEM)
    assert report.excluded == {
        o2.pk: "held: C needs a check",
        o3.pk: "click and collect: the store is tried first, so normal sourcing runs it",
    }
    ids1 = line_ids(o1)
    assert report.plan == {o1.pk: {ids1["A"]: world["NJ"].pk, ids1["B"]: world["PA"].pk}}  # a split
    assert backorders_optimize(actor=SYSTEM, max_shipments=1).plan == {}
    assert backorders_optimize(actor=SYSTEM, skus=["D"]).orders == 0  # only order 3 has D, and it is out
    assert backorders_optimize(actor=SYSTEM, limit=1).orders == 1
    assert backorders_optimize(actor=SYSTEM, channel=world["channel"].code).orders == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"skus": ["NOPE"]}, "skus"),
        ({"time_limit": 0}, "time_limit"),
        ({"max_shipments": 11}, "max_shipments"),
        ({"channel": "NOPE"}, "channel"),
    ],
)
def test_bad_input_names_the_field(db, kwargs, field):
    with pytest.raises(InvalidInput) as exc:
        backorders_optimize(actor=SYSTEM, **kwargs)
    assert list(exc.value.fields) == [field]


def test_the_command_prints_the_comparison_and_applies(world):
    out = StringIO()
    call_command("optimize_backorders", "--time-limit", "5", stdout=out)
    text = out.getvalue()
    assert "Wave: 3 backordered order(s), 4 SKU(s), 2 location(s); 0 left out." in text
    assert "orders filled             2           1                +1" in text
    assert "weighted fill             4           2     +2 (+100.00%)" in text
    assert "units                     4           2                +2" in text
    assert "Solver: optimal" in text and "Dry run: nothing allocated" in text
    assert not FulfillmentOrder.objects.exists()
    out = StringIO()
    call_command("optimize_backorders", "--apply", stdout=out)
    assert "Applied: 2 order(s) sourced; 0 skipped." in out.getvalue()
    assert FulfillmentOrder.objects.count() == 2
    with pytest.raises(CommandError, match="skus: unknown SKU code"):
        call_command("optimize_backorders", "--sku", "NOPE", stdout=StringIO())


def test_the_api_is_for_staff_and_names_bad_fields(world, api, staff_api):
    url = "/api/v1/fulfillment/optimize/backorders/"
    assert api.post(url, {}, format="json").status_code in (401, 403)
    for body, field in [
        ({"limit": 0}, "limit"),
        ({"skus": ["NOPE"]}, "skus"),
        ({"skus": "A"}, "skus"),
        ({"time_limit": -1}, "time_limit"),
        ({"apply": "maybe"}, "apply"),
        ({"limt": 5}, "limt"),
    ]:
        response = staff_api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert field in response.json()["error"]["fields"], response.json()
    assert not FulfillmentOrder.objects.exists()

    response = staff_api.post(url, {"apply": True, "skus": ["A", "B"], "time_limit": 5}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    o2, o3 = world["orders"][1:]
    assert body["mip"]["filled"] == 2 and body["greedy"]["filled"] == 1
    assert body["gain"]["weighted_fill"] == 2 and body["solver"]["status"] == "optimal"
    assert body["plan"][str(o2.pk)] == {str(pk): world["NJ"].pk for pk in line_ids(o2).values()}
    assert body["applied"] == [o2.pk, o3.pk] and body["skipped"] == []
    assert FulfillmentOrderLine.objects.count() == 4


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_waves_applied_at_once_never_oversell(world):
    errors = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait(timeout=30)
            backorders_optimize(actor=SYSTEM, apply=True, time_limit=5)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    o1, o2, o3 = (Order.objects.get(pk=o.pk) for o in world["orders"])
    assert (o1.status, o2.status, o3.status) == (
        Order.Status.BACKORDERED,
        Order.Status.ALLOCATED,
        Order.Status.ALLOCATED,
    )
    live = FulfillmentOrderLine.objects.exclude(fulfillment_order__status=FulfillmentOrder.Status.CANCELLED)
    assert live.aggregate(n=Sum("quantity"))["n"] == 4
    assert_stock_consistent()
