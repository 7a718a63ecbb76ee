"""Sourcing orders against the database: each routing choice leaves a
decision record naming every candidate and why it lost, rules staff edit
change the choice, and a re-run or a redelivered event never doubles stock."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from fulfillment.models import FulfillmentOrder, LocationPolicy, RoutingRule, SourcingDecision, SourcingPolicy
from fulfillment.sourcing.services import order_source
from inventory.models import StockLevel, Warehouse
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive
from oms.actors import Actor
from oms.errors import Conflict
from oms.models import PostalCode
from oms.outbox import dispatch_pending
from orders.models import Order
from tests.factories import WarehouseFactory, order_payload, sku_in_stock

from .conftest import place_order

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
# Wednesday 2 December 2026, 10:00 UTC: a working day, before the carriers' cut-offs.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("UTC"))


@pytest.fixture(autouse=True)
def _wednesday_morning(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)


@pytest.fixture
def sites(db, carrier):
    """Edison NJ and Philadelphia near the New York customer, Los Angeles far."""
    PostalCode.objects.create(
        country="US",
        postal_code="10118",
        place_name="New York",
        latitude=Decimal("40.749"),
        longitude=Decimal("-73.986"),
    )
    return {
        "NJ": WarehouseFactory(code="NJ"),
        "PA": WarehouseFactory(
            code="PA",
            city="Philadelphia",
            region="PA",
            latitude=Decimal("39.9526"),
            longitude=Decimal("-75.1652"),
        ),
        "LA": WarehouseFactory(
            code="LA",
            city="Los Angeles",
            region="CA",
            latitude=Decimal("34.0522"),
            longitude=Decimal("-118.2437"),
        ),
    }


def stocked(channel, quantities: dict[Warehouse, int], **kwargs):
    sku = sku_in_stock(channel=channel, warehouse=next(iter(quantities)), quantity=0, **kwargs)
    for wh, qty in quantities.items():
        if qty:
            stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=qty, reference="test")
    return sku


def source(order: Order, **kwargs) -> SourcingDecision:
    decision = order_source(order_id=order.pk, actor=SYSTEM, **kwargs)
    order.refresh_from_db()
    return decision


def shipments(order: Order) -> list[tuple[str, list[tuple[str, int]]]]:
    return [
        (fo.warehouse.code, sorted((ln.sku.code, ln.quantity) for ln in fo.lines.all()))
        for fo in order.fulfillment_orders.exclude(status=FulfillmentOrder.Status.CANCELLED)
        .select_related("warehouse")
        .order_by("warehouse__code")
    ]


def reason(decision: SourcingDecision, location: str) -> str:
    [row] = [c for c in decision.candidates if c.get("location") == location and "plan" not in c]
    return row["reason"]


def allocated(sku, wh) -> int:
    return StockLevel.objects.get(sku=sku, warehouse=wh).allocated


def test_the_nearest_location_with_everything_ships_it_and_the_others_say_why_not(channel, sites):
    sku = stocked(channel, {sites["LA"]: 5, sites["NJ"]: 5, sites["PA"]: 1})
    order = place_order(channel, [(sku.code, 2)])

    decision = source(order)

    assert decision.outcome == SourcingDecision.Outcome.SOURCED
    assert shipments(order) == [("NJ", [(sku.code, 2)])]
    assert order.status == Order.Status.ALLOCATED
    assert reason(decision, "PA") == f"PA: short 1 x {sku.code}"
    assert reason(decision, "LA").startswith("LA: costs ") and "more than NJ" in reason(decision, "LA")
    fo = order.fulfillment_orders.get()
    assert fo.status == FulfillmentOrder.Status.RELEASED
    assert fo.decision_id == decision.pk and fo.service is not None and fo.shipping_cost > 0
    assert (allocated(sku, sites["NJ"]), allocated(sku, sites["LA"])) == (2, 0)
    assert ledger_mismatches() == []


def test_a_cheap_split_beats_one_far_parcel(channel, sites):
    shirt = stocked(channel, {sites["NJ"]: 3, sites["LA"]: 3})
    mug = stocked(channel, {sites["PA"]: 3, sites["LA"]: 3})
    order = place_order(channel, [(shirt.code, 1), (mug.code, 1)])
    assert order.warehouse == sites["LA"]  # placement held it where everything was

    decision = source(order)

    assert decision.outcome == SourcingDecision.Outcome.SPLIT
    assert shipments(order) == [("NJ", [(shirt.code, 1)]), ("PA", [(mug.code, 1)])]
    assert (allocated(shirt, sites["LA"]), allocated(mug, sites["LA"])) == (0, 0)
    assert (allocated(shirt, sites["NJ"]), allocated(mug, sites["PA"])) == (1, 1)
    assert "more than NJ + PA" in reason(decision, "LA")
    assert ledger_mismatches() == []


def test_a_high_split_penalty_keeps_the_order_in_one_parcel(channel, sites):
    SourcingPolicy.objects.create(channel=None, split_penalty=Decimal("60"))
    shirt = stocked(channel, {sites["NJ"]: 3, sites["LA"]: 3})
    mug = stocked(channel, {sites["PA"]: 3, sites["LA"]: 3})
    order = place_order(channel, [(shirt.code, 1), (mug.code, 1)])

    decision = source(order)

    assert decision.outcome == SourcingDecision.Outcome.SOURCED
    assert shipments(order) == [("LA", [(shirt.code, 1), (mug.code, 1)])]
    [split] = [c for c in decision.candidates if c.get("plan") == "NJ + PA"]
    assert split["outcome"] == "lost" and "more than LA" in split["reason"]
    assert split["reason"].startswith("NJ + PA: at least ")  # not even rated: the penalty alone loses


def test_a_store_near_the_customer_ships_unless_the_policy_forbids_it(channel, sites):
    store = WarehouseFactory(
        code="ST-NYC",
        kind=Warehouse.Kind.STORE,
        city="New York",
        region="NY",
        latitude=Decimal("40.7580"),
        longitude=Decimal("-73.9855"),
    )
    sku = stocked(channel, {sites["LA"]: 5, store: 5})
    order = place_order(channel, [(sku.code, 1)])
    assert source(order).outcome == SourcingDecision.Outcome.SOURCED
    assert shipments(order) == [("ST-NYC", [(sku.code, 1)])]

    SourcingPolicy.objects.create(channel=channel, ship_from_store=False)
    other = place_order(channel, [(sku.code, 1)])
    decision = source(other)
    assert shipments(other) == [("LA", [(sku.code, 1)])]
    assert "ST-NYC" not in {c.get("location") for c in decision.candidates} or "ST-NYC:" in reason(
        decision, "ST-NYC"
    )


def test_store_safety_stock_keeps_units_for_walk_in_customers(channel, sites):
    store = WarehouseFactory(
        code="ST-NYC", kind=Warehouse.Kind.STORE, latitude=Decimal("40.7580"), longitude=Decimal("-73.9855")
    )
    SourcingPolicy.objects.create(channel=None, store_safety_stock=2)
    sku = stocked(channel, {sites["LA"]: 5, store: 3})
    order = place_order(channel, [(sku.code, 2)])

    decision = source(order)

    assert shipments(order) == [("LA", [(sku.code, 2)])]
    assert reason(decision, "ST-NYC") == f"ST-NYC: short 1 x {sku.code}"


def pickup_store(channel, **kwargs):
    store = WarehouseFactory(
        code="ST-PU",
        kind=Warehouse.Kind.STORE,
        allows_pickup=True,
        latitude=Decimal("40.7580"),
        longitude=Decimal("-73.9855"),
        **kwargs,
    )
    return store


def test_pick_up_in_store_is_collected_from_the_store_shelves(api, channel, sites):
    store = pickup_store(channel)
    sku = stocked(channel, {sites["NJ"]: 5, store: 2})
    response = api.post("/api/v1/orders/", order_payload(sku.code, 2, pickup_store=store.code), format="json")
    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["id"])

    decision = source(order)

    assert decision.outcome == SourcingDecision.Outcome.PICKUP
    fo = order.fulfillment_orders.get()
    assert (fo.warehouse, fo.method) == (store, FulfillmentOrder.Method.PICKUP)
    assert allocated(sku, store) == 2


def test_a_pick_up_store_that_is_short_gets_the_order_shipped_to_it(api, channel, sites):
    store = pickup_store(channel)
    sku = stocked(channel, {sites["NJ"]: 5, store: 1})
    response = api.post("/api/v1/orders/", order_payload(sku.code, 2, pickup_store=store.code), format="json")
    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["id"])

    decision = source(order)

    assert decision.outcome == SourcingDecision.Outcome.TRANSFER
    fo = order.fulfillment_orders.get()
    assert fo.warehouse == sites["NJ"] and fo.method == FulfillmentOrder.Method.SHIP
    assert fo.ship_to["city"] == store.city and fo.ship_to["name"] == store.name
    assert "ST-PU" in decision.summary


def test_pick_up_at_an_unknown_store_is_refused_naming_the_field(api, channel, sites):
    sku = stocked(channel, {sites["NJ"]: 5})
    response = api.post("/api/v1/orders/", order_payload(sku.code, 1, pickup_store="NOPE"), format="json")
    assert response.status_code == 400
    assert "pickup_store" in response.json()["error"]["fields"]
    assert not Order.objects.exists()


def test_an_exclusion_rule_moves_the_order_and_is_recorded(channel, sites):
    rule = RoutingRule.objects.create(name="NJ is being audited", action=RoutingRule.Action.EXCLUDE_LOCATIONS)
    rule.locations.add(sites["NJ"])
    sku = stocked(channel, {sites["NJ"]: 5, sites["PA"]: 5})
    order = place_order(channel, [(sku.code, 1)])

    decision = source(order)

    assert shipments(order) == [("PA", [(sku.code, 1)])]
    assert reason(decision, "NJ") == "NJ: excluded by rule 'NJ is being audited'"
    assert decision.rules_fired == [{"id": rule.pk, "name": rule.name, "action": "exclude_locations"}]
    assert order.events.filter(kind="rule_fired").count() == 1


def test_a_hold_rule_stops_a_large_order_until_staff_release_it(channel, sites, staff_api):
    RoutingRule.objects.create(
        name="Review large orders",
        action=RoutingRule.Action.HOLD,
        min_order_value=Decimal("100"),
        hold_reason="Large order: check for fraud",
    )
    sku = stocked(channel, {sites["NJ"]: 20}, price="30.00")
    small = place_order(channel, [(sku.code, 1)])
    large = place_order(channel, [(sku.code, 5)])

    assert source(small).outcome == SourcingDecision.Outcome.SOURCED
    decision = source(large)
    assert decision.outcome == SourcingDecision.Outcome.HELD
    assert (large.status, large.hold_reason) == (Order.Status.ON_HOLD, "Large order: check for fraud")
    assert not large.fulfillment_orders.exists()
    assert allocated(sku, sites["NJ"]) == 6  # still held for the order while it waits

    refused = staff_api.post(f"/api/v1/fulfillment/orders/{large.pk}/source/", {"ignore_holds": "perhaps"})
    assert refused.status_code == 400 and "ignore_holds" in refused.json()["error"]["fields"]

    response = staff_api.post(
        f"/api/v1/fulfillment/orders/{large.pk}/source/", {"ignore_holds": True}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "allocated" and body["hold_reason"] == ""
    assert body["decision"]["outcome"] == "sourced" and body["decision"]["actor"] == "staff"
    assert [d["outcome"] for d in body["history"]] == ["sourced", "held"]
    assert [s["warehouse"] for s in body["shipments"]] == ["NJ"]
    assert allocated(sku, sites["NJ"]) == 6


def test_past_the_cut_off_a_farther_location_meets_the_promised_date(channel, sites):
    LocationPolicy.objects.create(warehouse=sites["NJ"], cutoff_time=time(9, 0))
    sku = stocked(channel, {sites["NJ"]: 5, sites["PA"]: 5})
    on_time = place_order(channel, [(sku.code, 1)])
    Order.objects.filter(pk=on_time.pk).update(deliver_by=date(2026, 12, 3))

    decision = source(on_time)

    assert shipments(on_time) == [("PA", [(sku.code, 1)])]
    assert "past cut-off" in reason(decision, "NJ")
    fo = on_time.fulfillment_orders.get()
    assert fo.ship_by == date(2026, 12, 2) and fo.promised_delivery <= date(2026, 12, 3)


def test_a_location_at_its_daily_capacity_ships_tomorrow_so_another_takes_an_urgent_order(channel, sites):
    LocationPolicy.objects.create(warehouse=sites["NJ"], daily_capacity=1)
    sku = stocked(channel, {sites["NJ"]: 5, sites["PA"]: 5})
    first = place_order(channel, [(sku.code, 1)])
    source(first)
    assert shipments(first) == [("NJ", [(sku.code, 1)])]

    urgent = place_order(channel, [(sku.code, 1)])
    Order.objects.filter(pk=urgent.pk).update(deliver_by=date(2026, 12, 3))
    decision = source(urgent)

    assert shipments(urgent) == [("PA", [(sku.code, 1)])]
    assert "capacity reached (1/day)" in reason(decision, "NJ")


def test_a_backorder_is_filled_by_a_split_when_stock_arrives_elsewhere(api, channel, sites):
    channel.allow_backorders = True
    channel.save(update_fields=["allow_backorders"])
    shirt = stocked(channel, {sites["NJ"]: 2})
    mug = stocked(channel, {sites["NJ"]: 0})
    payload = order_payload(
        shirt.code, 2, lines=[{"sku": shirt.code, "quantity": 2}, {"sku": mug.code, "quantity": 3}]
    )
    response = api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 201, response.json()
    order = Order.objects.get(pk=response.json()["id"])
    assert order.status == Order.Status.BACKORDERED

    decision = source(order, trigger="backorder")
    assert decision.outcome == SourcingDecision.Outcome.BACKORDERED
    assert reason(decision, "NJ") == f"NJ: short 3 x {mug.code}"
    assert not order.fulfillment_orders.exists()

    stock_receive(warehouse_id=sites["PA"].pk, sku_id=mug.pk, quantity=3, reference="po:1")
    decision = source(order, trigger="backorder")

    assert decision.outcome == SourcingDecision.Outcome.SPLIT
    assert order.status == Order.Status.ALLOCATED
    assert shipments(order) == [("NJ", [(shirt.code, 2)]), ("PA", [(mug.code, 3)])]
    assert (allocated(shirt, sites["NJ"]), allocated(mug, sites["PA"])) == (2, 3)
    assert ledger_mismatches() == []


def test_placement_sources_through_the_outbox_once(api, channel, sites, django_capture_on_commit_callbacks):
    sku = stocked(channel, {sites["NJ"]: 5})
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/orders/", order_payload(sku.code, 1), format="json")
    assert response.status_code == 201
    dispatch_pending()
    order = Order.objects.get(pk=response.json()["id"])
    assert shipments(order) == [("NJ", [(sku.code, 1)])]

    assert order_source(order_id=order.pk, actor=SYSTEM, trigger="placement") is None  # redelivery
    assert order.fulfillment_orders.count() == 1 and order.sourcing_decisions.count() == 1
    assert allocated(sku, sites["NJ"]) == 1


def test_a_staff_re_run_replaces_unstarted_shipments_without_doubling_stock(channel, sites, staff_api):
    sku = stocked(channel, {sites["NJ"]: 5, sites["PA"]: 5})
    order = place_order(channel, [(sku.code, 2)])
    source(order)
    first = order.fulfillment_orders.get()
    rule = RoutingRule.objects.create(name="Only PA", action=RoutingRule.Action.RESTRICT_LOCATIONS)
    rule.locations.add(sites["PA"])

    response = staff_api.post(f"/api/v1/fulfillment/orders/{order.pk}/source/", {}, format="json")

    assert response.status_code == 200, response.json()
    first.refresh_from_db()
    assert first.status == FulfillmentOrder.Status.CANCELLED
    assert shipments(order) == [("PA", [(sku.code, 2)])]
    assert (allocated(sku, sites["NJ"]), allocated(sku, sites["PA"])) == (0, 2)
    decision = order.sourcing_decisions.order_by("-id").first()
    assert reason(decision, "NJ") == "NJ: not allowed by rule 'Only PA'"
    assert ledger_mismatches() == []


def test_an_order_that_cannot_be_sourced_gets_a_clear_conflict(channel, sites, staff_api):
    sku = stocked(channel, {sites["NJ"]: 5})
    order = place_order(channel, [(sku.code, 1)])
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED)

    with pytest.raises(Conflict):
        order_source(order_id=order.pk, actor=SYSTEM, trigger="staff")
    response = staff_api.post(f"/api/v1/fulfillment/orders/{order.pk}/source/", {}, format="json")
    assert response.status_code == 409
    assert staff_api.post("/api/v1/fulfillment/orders/999999/source/", {}, format="json").status_code == 404
    assert staff_api.get("/api/v1/fulfillment/orders/999999/sourcing/").status_code == 404


def test_the_decision_api_is_for_staff_only(api, channel, sites, staff_api):
    sku = stocked(channel, {sites["NJ"]: 5, sites["LA"]: 5})
    order = place_order(channel, [(sku.code, 1)])
    source(order)

    assert api.get(f"/api/v1/fulfillment/orders/{order.pk}/sourcing/").status_code in (401, 403)
    body = staff_api.get(f"/api/v1/fulfillment/orders/{order.pk}/sourcing/").json()
    assert body["decision"]["outcome"] == "sourced"
    by_location = {c["location"]: c for c in body["decision"]["candidates"] if "plan" not in c}
    assert by_location["NJ"]["outcome"] == "chosen"
    assert by_location["LA"]["outcome"] == "lost" and by_location["LA"]["reason"].startswith("LA: costs")
    assert body["decision"]["chosen"][0]["location"] == "NJ"


def test_the_order_admin_shows_the_decision_and_re_runs_it(admin_client, channel, sites):
    sku = stocked(channel, {sites["NJ"]: 5, sites["LA"]: 5})
    order = place_order(channel, [(sku.code, 1)])
    source(order)

    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    assert b"routing decisions" in page.content.lower() and b"LA: costs" in page.content

    response = admin_client.post(
        "/admin/orders/order/",
        {"action": "rerun_sourcing", "_selected_action": [order.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert order.sourcing_decisions.count() == 2
    assert shipments(order) == [("NJ", [(sku.code, 1)])]
