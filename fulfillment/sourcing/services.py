"""Sourcing an order: rules, the engine, then the allocation moved under locks.

    1. read (no locks): the order, its rules, candidate locations, rates;
    2. decide (pure): fulfillment.sourcing.engine;
    3. one short transaction: lock the order, check nothing moved, cancel
       unstarted shipments of an earlier run, move the stock allocation
       (inventory.services.stock_reallocate re-checks availability and
       safety stock under the level locks), write the lines, the shipments,
       the decision record and the order event.
If another order took the stock between 1 and 3, the run starts again
(three tries). Runs from the outbox after placement (a Celery worker), again
when a backorder is filled, and on demand by staff.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from inventory.atp import Fulfilment
from inventory.models import SKU, Warehouse
from inventory.services import stock_reallocate
from oms.actors import Actor
from oms.errors import Conflict, InsufficientStock, InvalidInput, NotFound
from oms.geo import resolve_destination
from orders.models import Order, OrderLine
from orders.services.lifecycle import event_for, order_transition

from ..models import FulfillmentOrder, SourcingDecision
from ..rates import RateBook
from ..services.lifecycle import fo_transition, fulfillment_order_create
from . import engine
from .candidates import locations_for, make_rater, pickup_quote, policy_for, settings_for
from .rules import RuleOutcome, active_rules, evaluate

Outcome = SourcingDecision.Outcome
SOURCEABLE = {Order.Status.ALLOCATED, Order.Status.BACKORDERED}
RESOURCEABLE_FO = {FulfillmentOrder.Status.PENDING, FulfillmentOrder.Status.RELEASED}
ATTEMPTS = 3


class _Moved(Exception):
    """The order changed between reading and locking."""


@dataclass
class _Decision:
    outcome: str
    result: engine.Result | None
    rules: RuleOutcome
    ship_to: dict | None = None
    method: str = FulfillmentOrder.Method.SHIP
    summary: str = ""


def order_source(
    *,
    order_id: int,
    actor: Actor,
    trigger: str = "placement",
    forced_plan: dict[int, int] | None = None,
    ignore_holds: bool = False,
    book: RateBook | None = None,
) -> SourcingDecision | None:
    """Source an order (see the module note). Returns the decision, or None
    when there is nothing to do (already sourced, shipped or cancelled).

    `forced_plan` (order line id -> location id) skips the engine: the wave
    optimiser has chosen already; the run still re-checks stock under lock.
    Staff re-runs (`trigger="staff"`) replace shipments not yet being picked;
    `ignore_holds` releases an order a hold rule stopped.
    """
    for attempt in range(ATTEMPTS):
        try:
            return _source_once(order_id, actor, trigger, forced_plan, ignore_holds, book)
        except (_Moved, InsufficientStock):
            if attempt == ATTEMPTS - 1:
                raise Conflict(
                    f"Order {order_id} could not be sourced: its stock kept changing; try again."
                ) from None
    return None  # pragma: no cover - the loop returns or raises


def order_source_placed(*, order_id: int, actor: Actor) -> SourcingDecision | None:
    """Route a newly placed order. A backordered one waits its turn in the
    backorder queue (VIP first, then oldest: orders.services.backorders):
    routing it here, when placement is handled late and stock has arrived
    meanwhile, would let it jump that queue. Filled, it is sourced again
    (trigger "backorder")."""
    if Order.objects.filter(pk=order_id, status=Order.Status.BACKORDERED).exists():
        return None
    return order_source(order_id=order_id, actor=actor, trigger="placement")


def _source_once(order_id, actor, trigger, forced_plan, ignore_holds, book) -> SourcingDecision | None:
    try:
        order = Order.objects.select_related("channel", "customer", "pickup_location").get(pk=order_id)
    except Order.DoesNotExist:
        raise NotFound(f"Order {order_id} does not exist.") from None
    allowed = SOURCEABLE | ({Order.Status.ON_HOLD} if ignore_holds or trigger == "staff" else set())
    if order.status not in allowed:
        if trigger == "staff":
            raise Conflict(
                f"Order {order.number} is {order.get_status_display().lower()}; only allocated, "
                "backordered or held orders can be sourced.",
                current_status=order.status,
            )
        return None
    existing = list(
        FulfillmentOrder.objects.filter(order=order).exclude(status=FulfillmentOrder.Status.CANCELLED)
    )
    if existing and trigger not in ("staff", "wave"):
        return None  # sourced already (a redelivered event)
    started = [fo for fo in existing if fo.status not in RESOURCEABLE_FO]
    if started:
        raise Conflict(
            f"Shipment {started[0].number} is {started[0].get_status_display().lower()}; "
            "the order can no longer be re-sourced."
        )
    lines = [ln for ln in OrderLine.objects.filter(order=order).order_by("line_number") if _open(ln) > 0]
    skus = SKU.objects.in_bulk({ln.sku_id for ln in lines})
    needs = [engine.LineNeed(ln.pk, ln.sku_id, skus[ln.sku_id].code, _open(ln)) for ln in lines]
    rules = (
        evaluate(order, [s.code for s in skus.values()], active_rules()) if not forced_plan else RuleOutcome()
    )
    if rules.hold_reason and not ignore_holds:
        return _apply(
            order, lines, _Decision(Outcome.HELD, None, rules, summary=rules.hold_reason), actor, trigger
        )
    decision = _decide(order, lines, needs, skus, rules, forced_plan, book)
    return _apply(order, lines, decision, actor, trigger)


def _open(line: OrderLine) -> int:
    return line.quantity - line.quantity_cancelled - line.quantity_shipped


def _decide(order, lines, needs, skus, rules, forced_plan, book) -> _Decision:
    now = timezone.now()
    policy = policy_for(order.channel_id)
    own: dict[tuple[int, int], int] = defaultdict(int)
    for ln in lines:
        if ln.warehouse_id and ln.quantity_allocated:
            own[(ln.sku_id, ln.warehouse_id)] += ln.quantity_allocated
    settings = settings_for(order, policy, max_shipments=rules.max_shipments)
    book = book or RateBook.load()
    store = order.pickup_location
    if store is not None:
        # Click and collect: from the store's own shelves when it has everything.
        here, warehouses, held = locations_for(
            channel_id=order.channel_id,
            sku_ids=skus,
            destination=None,
            own=own,
            policy=policy,
            now=now,
            fulfilment=Fulfilment.PICKUP,
            only=[store.pk],
        )
        if here and all(here[0].has(n) for n in needs):
            loc = here[0]
            shipment = engine.Shipment(loc, list(needs), pickup_quote(loc), engine.Decimal(0))
            plan = engine.Plan([shipment], engine.Decimal(0))
            result = engine.Result(plan, [plan], [engine._location_row(loc, needs, plan, plan)])
            return _Decision(
                Outcome.PICKUP,
                result,
                rules,
                method=FulfillmentOrder.Method.PICKUP,
                summary=f"Collect in store at {store.code}: it has every item.",
                ship_to=_store_address(store),
            )
    address = _store_address(store) if store is not None else order.shipping_address
    point = resolve_destination(address).point
    locations, warehouses, held = locations_for(
        channel_id=order.channel_id,
        sku_ids=skus,
        destination=point,
        own=own,
        policy=policy,
        now=now,
    )
    for loc in locations:
        if rules.allowed is not None and loc.id not in rules.allowed:
            loc.ineligible = f"not allowed by rule '{rules.restricted_by}'"
        elif loc.id in rules.excluded:
            loc.ineligible = f"excluded by rule '{rules.excluded[loc.id]}'"
        if store is not None and loc.id == store.pk:
            loc.ineligible = loc.ineligible or "is the pick-up store, which is short"
    rate = make_rater(
        book=book, warehouses=warehouses, skus=skus, destination_address=address, settings=settings
    )
    if forced_plan:
        result = _forced(needs, locations, forced_plan, settings, rate)
    else:
        result = engine.source(needs, locations, settings, rate)
    result.held_back = held  # type: ignore[attr-defined]
    if result.chosen is None:
        return _Decision(Outcome.BACKORDERED, result, rules, summary=result.summary)
    if store is not None:
        summary = f"Ships from {result.chosen.label} to {store.code} for collection (the store is short)."
        return _Decision(Outcome.TRANSFER, result, rules, ship_to=_store_address(store), summary=summary)
    outcome = Outcome.SPLIT if len(result.chosen.shipments) > 1 else Outcome.SOURCED
    return _Decision(outcome, result, rules, summary=result.summary)


def _forced(needs, locations, forced_plan, settings, rate) -> engine.Result:
    by_id = {loc.id: loc for loc in locations}
    parts: dict[int, list[engine.LineNeed]] = defaultdict(list)
    for need in needs:
        wh = forced_plan.get(need.line_id)
        if wh not in by_id:
            raise InvalidInput.field("forced_plan", f"line {need.line_id} has no usable location")
        parts[wh].append(need)
    scorer = engine._Scorer(settings, rate)
    plan = scorer.plan([(by_id[wh], lines) for wh, lines in parts.items()])
    if plan is None:
        raise InvalidInput.field("forced_plan", "no carrier service can take one of the shipments")
    rows = [engine._location_row(loc, needs, None, plan) for loc in locations if loc.id in parts]
    return engine.Result(plan, [plan], rows)


def _store_address(store: Warehouse) -> dict:
    return {
        "name": store.name,
        "line1": store.line1,
        "city": store.city,
        "region": store.region,
        "postal_code": store.postal_code,
        "country": store.country,
        "latitude": str(store.latitude),
        "longitude": str(store.longitude),
    }


@transaction.atomic
def _apply(order: Order, lines: list[OrderLine], decision: _Decision, actor: Actor, trigger: str):
    locked = Order.objects.select_for_update(no_key=True).get(pk=order.pk)
    fresh = {ln.pk: ln for ln in OrderLine.objects.filter(order=order)}
    if locked.status != order.status or any(
        (fresh[ln.pk].warehouse_id, fresh[ln.pk].quantity_allocated)
        != (ln.warehouse_id, ln.quantity_allocated)
        for ln in lines
    ):
        raise _Moved
    order = locked
    for fo in (
        FulfillmentOrder.objects.filter(order=order, status__in=RESOURCEABLE_FO)
        .order_by("id")
        .select_for_update()
    ):
        fo_transition(
            fo,
            FulfillmentOrder.Status.CANCELLED,
            actor=actor,
            kind="resourced",
            message="Replaced by a new sourcing run.",
        )
    result, rules = decision.result, decision.rules
    record = SourcingDecision.objects.create(
        order=order,
        outcome=decision.outcome,
        summary=decision.summary[:500],
        chosen=[s.as_dict() for s in result.chosen.shipments] if result and result.chosen else [],
        candidates=result.candidates() if result else [],
        rules_fired=rules.fired,
        total_cost=result.chosen.score if result and result.chosen else None,
        trigger=trigger,
        actor_user=actor.user if actor.type == "staff" else None,
    )
    fields = ["updated_at"]
    if rules.priority is not None and rules.priority != order.priority:
        order.priority = rules.priority
        fields.append("priority")
    events = [
        event_for(order, "rule_fired", actor, message=f"Rule '{r['name']}' fired: {r['action']}.", data=r)
        for r in rules.fired
    ]

    if decision.outcome == Outcome.HELD:
        order.hold_reason = decision.summary[:255]
        fields.append("hold_reason")
        order.save(update_fields=fields)
        _bulk_events(events)
        if order.status != Order.Status.ON_HOLD:
            order_transition(
                order,
                Order.Status.ON_HOLD,
                actor=actor,
                kind="held",
                message=decision.summary,
                data={"decision_id": record.pk},
            )
        return record

    release = [(ln.sku_id, ln.warehouse_id, ln.quantity_allocated) for ln in lines if ln.warehouse_id]
    if decision.outcome == Outcome.BACKORDERED:
        stock_reallocate(release=release, allocate=[], reference=f"order:{order.pk}:source")
        for ln in lines:
            ln.warehouse_id, ln.quantity_allocated = None, 0
        OrderLine.objects.bulk_update(lines, ["warehouse", "quantity_allocated"])
        order.warehouse = None
        order.save(update_fields=[*fields, "warehouse"])
        _bulk_events(
            [
                *events,
                event_for(order, "sourced", actor, message=decision.summary, data={"decision_id": record.pk}),
            ]
        )
        if order.status != Order.Status.BACKORDERED:
            order_transition(
                order, Order.Status.BACKORDERED, actor=actor, kind="backordered", message=decision.summary
            )
        return record

    chosen = result.chosen
    by_line = {ln.pk: ln for ln in lines}
    allocate = [
        (need.sku_id, shipment.location.id, need.quantity)
        for shipment in chosen.shipments
        for need in shipment.lines
    ]
    held = getattr(result, "held_back", {})
    stock_reallocate(
        release=release,
        allocate=allocate,
        reference=f"order:{order.pk}:source",
        held_back={key: held[key] for key in {(s, w) for s, w, _ in allocate} if key in held},
    )
    for shipment in chosen.shipments:
        for need in shipment.lines:
            line = by_line[need.line_id]
            line.warehouse_id, line.quantity_allocated = shipment.location.id, need.quantity
    OrderLine.objects.bulk_update(lines, ["warehouse", "quantity_allocated"])
    order.warehouse_id = chosen.shipments[0].location.id if len(chosen.shipments) == 1 else None
    if order.hold_reason:
        order.hold_reason = ""
        fields.append("hold_reason")
    order.save(update_fields=[*fields, "warehouse"])
    _bulk_events(
        [
            *events,
            event_for(
                order,
                "sourced",
                actor,
                message=decision.summary,
                data={"decision_id": record.pk, "outcome": decision.outcome},
            ),
        ]
    )
    if order.status != Order.Status.ALLOCATED:
        order_transition(
            order, Order.Status.ALLOCATED, actor=actor, kind="allocated", message=decision.summary
        )
    for shipment in chosen.shipments:
        quote = shipment.quote
        carried = quote is not None and quote.service_id
        fulfillment_order_create(
            order=order,
            warehouse_id=shipment.location.id,
            lines=[(by_line[need.line_id], need.quantity) for need in shipment.lines],
            actor=actor,
            method=decision.method,
            decision_id=record.pk,
            service_id=quote.service_id if carried else None,
            shipping_cost=quote.amount if carried else None,
            shipping_cost_currency=quote.currency if carried else "",
            ship_by=quote.ship_date if quote else None,
            promised_delivery=quote.delivery_date if quote and quote.carrier_code != "none" else None,
            ship_to=decision.ship_to,
        )
    return record


def _bulk_events(events) -> None:
    if events:
        type(events[0]).objects.bulk_create(events)
