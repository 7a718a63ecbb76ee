"""Return requests (RMA): request inside the policy (or for review outside
it), authorize or reject, receive and inspect (restock, quarantine,
refurbish or scrap, with the stock movements and the books), then refund to
the original payment or send a replacement at no charge.

Every write locks the request row first; every move is a ReturnEvent with
who and when, and an outbox event ("return.status_changed",
"return.refunded") for the customer e-mails.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from accounting.posting import post_restock
from fulfillment.models import FulfillmentOrder
from inventory.models import SKU, Warehouse
from inventory.operations import stock_return
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition, NotFound
from oms.models import Channel
from oms.money import round_money
from oms.outbox import emit
from orders.models import Order, OrderLine
from orders.services.payments import RefundSplit, amount_share, payment_refund
from orders.services.placement import CustomerInput, LineInput, OrderInput, order_place

from .models import RETURN_TRANSITIONS, CustomerCase, ReturnEvent, ReturnLine, ReturnPolicy, ReturnRequest

Status = ReturnRequest.Status
ZERO = Decimal(0)
OPEN_STATUSES = [Status.REQUESTED, Status.AUTHORIZED, Status.RECEIVED, Status.COMPLETED]
STATUS_TOPIC = "return.status_changed"
REFUNDED_TOPIC = "return.refunded"


@dataclass(frozen=True)
class ReturnLineInput:
    order_line_id: int
    quantity: int
    reason: str
    note: str = ""


@dataclass(frozen=True)
class Inspection:
    line_id: int
    quantity: int  # units that arrived
    condition: str
    disposition: str


# --- Policy -------------------------------------------------------------------------


def return_policy_for(channel_id: int | None) -> ReturnPolicy:
    """The channel's policy, else the default one, else the built-in defaults
    (30 days, everything returnable, no fee)."""
    policies = {
        p.channel_id: p for p in ReturnPolicy.objects.filter(Q(channel_id=channel_id) | Q(channel=None))
    }
    return policies.get(channel_id) or policies.get(None) or ReturnPolicy()


def delivered_on(order: Order) -> date | None:
    """When the goods reached the customer: the order's delivery, else its
    last parcel delivered, else (in transit) its last one handed over."""
    moment: datetime | None = order.delivered_at
    if moment is None:
        last = FulfillmentOrder.objects.filter(order=order).aggregate(
            d=Max("delivered_at"), s=Max("shipped_at")
        )
        moment = last["d"] or last["s"]
    return timezone.localdate(moment) if moment else None


def return_window_end(order: Order, policy: ReturnPolicy) -> date | None:
    """The last day a return can start (None: not delivered yet, the window has not begun)."""
    delivered = delivered_on(order)
    return delivered + timedelta(days=policy.window_days) if delivered else None


def return_locations(policy: ReturnPolicy, channel: Channel) -> tuple[list[Warehouse], bool]:
    """Where returns are taken, and whether that is every location: those the
    policy names, else every active location serving the channel."""
    if policy.pk:
        named = list(policy.locations.filter(is_active=True).order_by("name", "code"))
        if named:
            return named, False
    serving = (
        Warehouse.objects.filter(is_active=True)
        .filter(Q(channels=channel) | Q(channels=None))
        .distinct()
        .order_by("name", "code")
    )
    return list(serving), True


def policy_problems(
    order: Order, lines: Iterable[tuple[OrderLine, int]], policy: ReturnPolicy, today: date
) -> list[str]:
    """Why a return of these lines falls outside the policy (empty: inside)."""
    problems = []
    ends = return_window_end(order, policy)
    if ends is not None and today > ends:
        problems.append(f"the {policy.window_days}-day return window ended on {ends.isoformat()}")
    for line, _ in lines:
        sku = line.sku
        if final_sale(sku, policy):
            category = f" ({sku.product.category})" if sku.code not in policy.non_returnable_skus else ""
            problems.append(f"{sku.code}{category} cannot be returned")
    return problems


def final_sale(sku, policy: ReturnPolicy) -> bool:
    """The policy excludes this SKU, by code or by its product's category."""
    category = sku.product.category
    excluded = bool(category and category in policy.non_returnable_categories)
    return excluded or sku.code in policy.non_returnable_skus


# --- Request ------------------------------------------------------------------------


def returnable_units(order: Order) -> dict[int, int]:
    """Units per order line that have shipped and are not already in a return."""
    taken = dict(
        ReturnLine.objects.filter(request__order=order, request__status__in=OPEN_STATUSES)
        .values("order_line_id")
        .annotate(q=Sum("quantity"))
        .values_list("order_line_id", "q")
    )
    return {ln.pk: ln.quantity_shipped - taken.get(ln.pk, 0) for ln in order.lines.all()}


def _location(order: Order, policy: ReturnPolicy, code: str) -> Warehouse:
    allowed, every = return_locations(policy, order.channel)
    if code:
        location = next((w for w in allowed if w.code == code), None)
        if location is not None:
            return location
        if not Warehouse.objects.filter(code=code, is_active=True).exists():
            raise InvalidInput.field("location", f"unknown location '{code[:32]}'")
        names = ", ".join(w.code for w in allowed)
        raise InvalidInput.field("location", f"{code} does not take returns; use one of: {names}")
    if not every:
        return allowed[0]
    shipped_from = (
        FulfillmentOrder.objects.filter(order=order).exclude(shipped_at=None).order_by("id").first()
    )
    location = shipped_from.warehouse if shipped_from else order.warehouse
    if location is None:
        raise InvalidInput.field("location", "is required: the order did not ship from a location")
    return location


def return_request(
    *,
    order_id: int,
    lines: list[ReturnLineInput],
    actor: Actor,
    source: str,
    resolution: str = ReturnRequest.Resolution.REFUND,
    location_code: str = "",
    note: str = "",
    allow_review: bool = False,
    today: date | None = None,
) -> ReturnRequest:
    """Start a return. Inside the policy it is authorized at once; outside it
    is refused naming the reason, unless `allow_review` (staff), when it
    waits for review (and opens a case in the customer-service queue).
    Returning more than shipped (less what other returns hold), an unknown
    line or reason: a clear error, nothing written."""
    today = today or timezone.localdate()
    if resolution not in ReturnRequest.Resolution.values:
        raise InvalidInput.field(
            "resolution", f"must be one of: {', '.join(ReturnRequest.Resolution.values)}"
        )
    if not lines:
        raise InvalidInput.field("lines", "a return needs at least one line")
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",), no_key=True)
            .select_related("channel", "customer")
            .filter(pk=order_id)
            .first()
        )
        if order is None:
            raise NotFound(f"Order {order_id} does not exist.")
        order_lines = {ln.pk: ln for ln in order.lines.select_related("sku__product")}
        left = returnable_units(order)
        problems: dict[str, list[str]] = {}
        wanted: dict[int, int] = defaultdict(int)
        for i, ln in enumerate(lines):
            field = f"lines[{i}]"
            if ln.order_line_id not in order_lines:
                problems[f"{field}.order_line_id"] = [f"order {order.number} has no line {ln.order_line_id}"]
                continue
            if ln.reason not in ReturnLine.Reason.values:
                problems[f"{field}.reason"] = [f"must be one of: {', '.join(ReturnLine.Reason.values)}"]
            if not isinstance(ln.quantity, int) or ln.quantity <= 0:
                problems[f"{field}.quantity"] = ["must be a positive whole number"]
                continue
            wanted[ln.order_line_id] += ln.quantity
            if wanted[ln.order_line_id] > left[ln.order_line_id]:
                line = order_lines[ln.order_line_id]
                problems[f"{field}.quantity"] = [
                    f"{wanted[ln.order_line_id]} x {line.sku.code} is more than can be returned: "
                    f"{line.quantity_shipped} shipped, {left[ln.order_line_id]} not yet in a return"
                ]
        if problems:
            raise InvalidInput(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)
        policy = return_policy_for(order.channel_id)
        outside = policy_problems(order, [(order_lines[k], q) for k, q in wanted.items()], policy, today)
        if outside and not allow_review:
            raise Conflict(
                "This return is outside the return policy: " + "; ".join(outside) + ".",
                code="outside_policy",
                fields={"lines": outside},
            )
        location = _location(order, policy, location_code)
        fault = any(ln.reason in SELLER_FAULT for ln in lines)
        request = ReturnRequest.objects.create(
            order=order,
            channel=order.channel,
            customer=order.customer,
            status=Status.REQUESTED if outside else Status.AUTHORIZED,
            resolution=resolution,
            source=source,
            location=location,
            review_reason="; ".join(outside)[:500],
            customer_note=note,
            return_shipping_paid_by=ReturnPolicy.ShippingPaidBy.MERCHANT
            if fault
            else policy.return_shipping_paid_by,
            created_by=actor.user if actor.type == "staff" else None,
        )
        ReturnLine.objects.bulk_create(
            ReturnLine(
                request=request,
                order_line=order_lines[ln.order_line_id],
                sku=order_lines[ln.order_line_id].sku,
                quantity=ln.quantity,
                reason=ln.reason,
                note=ln.note[:300],
                unit_cost=order_lines[ln.order_line_id].unit_cost,
            )
            for ln in lines
        )
        _event(request, "requested", actor, to_status=request.status, message=request.review_reason)
        if outside:
            CustomerCase.objects.create(
                customer=order.customer,
                order=order,
                kind=CustomerCase.Kind.RETURN_REVIEW,
                subject=f"Review return {request.number} of order {order.number}",
                description="Outside the return policy: " + "; ".join(outside),
            )
    return request


SELLER_FAULT = {
    ReturnLine.Reason.DAMAGED,
    ReturnLine.Reason.DEFECTIVE,
    ReturnLine.Reason.WRONG_ITEM,
    ReturnLine.Reason.NOT_AS_DESCRIBED,
}


# --- Moves --------------------------------------------------------------------------


def _locked(return_id: int) -> ReturnRequest:
    request = (
        ReturnRequest.objects.select_for_update(of=("self",))
        .select_related("order", "channel")
        .filter(pk=return_id)
        .first()
    )
    if request is None:
        raise NotFound(f"Return {return_id} does not exist.")
    return request


def _event(
    request: ReturnRequest, kind: str, actor: Actor, *, to_status: str = "", message: str = "", **data
):
    ReturnEvent.objects.create(
        request=request,
        kind=kind,
        from_status=data.pop("from_status", ""),
        to_status=to_status,
        actor_type=actor.type,
        actor_user=actor.user if actor.type == "staff" else None,
        message=message[:500],
        data={k: str(v) for k, v in data.items()},
    )
    if to_status:
        emit(STATUS_TOPIC, {"return_id": request.pk, "status": to_status}, aggregate=f"return:{request.pk}")


def _move(request: ReturnRequest, to: str, actor: Actor, *, kind: str, message: str = "") -> None:
    if to not in RETURN_TRANSITIONS[request.status]:
        raise InvalidTransition(
            f"Return {request.number} is {request.get_status_display().lower()}; it cannot become {to}.",
            current_status=request.status,
        )
    old, request.status = request.status, to
    now = timezone.now()
    if to == Status.RECEIVED:
        request.received_at = now
    if to == Status.COMPLETED:
        request.completed_at = now
    request.save()
    _event(request, kind, actor, to_status=to, message=message, from_status=old)


@transaction.atomic
def return_authorize(*, return_id: int, actor: Actor, message: str = "") -> ReturnRequest:
    request = _locked(return_id)
    _move(request, Status.AUTHORIZED, actor, kind="authorized", message=message)
    return request


@transaction.atomic
def return_reject(*, return_id: int, actor: Actor, reason: str) -> ReturnRequest:
    if not reason.strip():
        raise InvalidInput.field("reason", "say why the return is rejected (the customer is told)")
    request = _locked(return_id)
    request.review_reason = reason[:500]
    _move(request, Status.REJECTED, actor, kind="rejected", message=reason)
    return request


@transaction.atomic
def return_cancel(*, return_id: int, actor: Actor, reason: str = "") -> ReturnRequest:
    request = _locked(return_id)
    _move(request, Status.CANCELLED, actor, kind="cancelled", message=reason)
    return request


@transaction.atomic
def return_receive(*, return_id: int, inspections: list[Inspection], actor: Actor) -> ReturnRequest:
    """The parcel arrived at the return location and was inspected: per line
    the units that came, their condition and what becomes of them. Restocked
    units go back on hand there and their cost back to inventory; quarantined,
    refurbished and scrapped units stay out of sellable stock."""
    request = _locked(return_id)
    if request.status != Status.AUTHORIZED:
        raise InvalidTransition(
            f"Return {request.number} is {request.get_status_display().lower()}: only an authorized "
            "return can be received.",
            current_status=request.status,
        )
    lines = {ln.pk: ln for ln in request.lines.select_related("sku")}
    problems: dict[str, list[str]] = {}
    seen = set()
    for i, item in enumerate(inspections):
        field = f"inspections[{i}]"
        line = lines.get(item.line_id)
        if line is None or item.line_id in seen:
            problems[f"{field}.line_id"] = [
                f"return {request.number} has no line {item.line_id} (or it is twice)"
            ]
            continue
        seen.add(item.line_id)
        if not isinstance(item.quantity, int) or not 0 <= item.quantity <= line.quantity:
            problems[f"{field}.quantity"] = [f"must be between 0 and the {line.quantity} units requested"]
        if item.quantity and item.condition not in ReturnLine.Condition.values:
            problems[f"{field}.condition"] = [f"must be one of: {', '.join(ReturnLine.Condition.values)}"]
        if item.quantity and item.disposition not in ReturnLine.Disposition.values:
            problems[f"{field}.disposition"] = [f"must be one of: {', '.join(ReturnLine.Disposition.values)}"]
        if item.disposition == ReturnLine.Disposition.RESTOCK and item.condition in (
            ReturnLine.Condition.DAMAGED,
            ReturnLine.Condition.UNSELLABLE,
        ):
            problems[f"{field}.disposition"] = [f"{item.condition} units cannot be restocked to available"]
    missing = set(lines) - seen
    if missing:
        problems["inspections"] = [f"every line needs an inspection; missing: {sorted(missing)}"]
    if problems:
        raise InvalidInput(next(f"{k}: {v[0]}" for k, v in problems.items()), fields=problems)
    if not any(item.quantity for item in inspections):
        raise InvalidInput.field("inspections", "nothing arrived: cancel the return instead")
    costs = []
    for item in inspections:
        line = lines[item.line_id]
        line.quantity_received = item.quantity
        line.condition = item.condition if item.quantity else ""
        line.disposition = item.disposition if item.quantity else ""
        if item.quantity and item.disposition == ReturnLine.Disposition.RESTOCK:
            stock_return(
                warehouse_id=request.location_id,
                sku_id=line.sku_id,
                quantity=item.quantity,
                reference=f"return:{request.pk}",
                actor=actor,
            )
            costs.append(
                (round_money(line.unit_cost * item.quantity, line.sku.cost_currency), line.sku.cost_currency)
            )
    ReturnLine.objects.bulk_update(lines.values(), ["quantity_received", "condition", "disposition"])
    post_restock(
        ref=f"return:{request.pk}",
        day=timezone.localdate(),
        costs=costs,
        channel_id=request.channel_id,
        actor=actor,
    )
    summary = ", ".join(
        f"{lines[i.line_id].sku.code}: {i.quantity} {i.condition} -> {i.disposition}"
        for i in inspections
        if i.quantity
    )
    _move(request, Status.RECEIVED, actor, kind="received", message=f"Inspected: {summary}.")
    if request.resolution == ReturnRequest.Resolution.EXCHANGE and request.replacement_order_id:
        _move(request, Status.COMPLETED, actor, kind="exchanged", message="The replacement went out already.")
    return request


# --- Money --------------------------------------------------------------------------


def refund_due(request: ReturnRequest, policy: ReturnPolicy | None = None) -> tuple[RefundSplit, Decimal]:
    """What the units received are worth back (net goods, shipping and tax,
    in the order's currency) and the restocking fee kept from it. The fee
    applies to lines returned unwanted, not to the merchant's faults; the
    order's shipping comes back when the policy says so and the whole order
    is returned, or when something was the merchant's fault (once per order)."""
    order = request.order
    policy = policy or return_policy_for(order.channel_id)
    currency = order.currency
    included = order.prices_include_tax
    goods = tax = fee = ZERO
    fault = False
    for line in request.lines.select_related("order_line"):
        if not line.quantity_received:
            continue
        ol = line.order_line
        share = Fraction(line.quantity_received, ol.quantity)
        line_tax = amount_share(ol.tax_amount, share, currency)
        line_net = amount_share(ol.line_total, share, currency) - (line_tax if included else ZERO)
        goods += line_net
        tax += line_tax
        if line.reason in SELLER_FAULT:
            fault = True
        else:
            fee += round_money(line_net * policy.restocking_fee_pct / 100, currency)
    shipping_net = shipping_tax = ZERO
    already = ReturnRequest.objects.filter(order=order, shipping_refund__gt=0).exclude(pk=request.pk).exists()
    if (
        not already
        and order.shipping_total > 0
        and (fault or (policy.refund_original_shipping and _all_back(order)))
    ):
        line_taxes = sum((ln.tax_amount for ln in order.lines.all()), ZERO)
        shipping_tax = max(order.tax_total - line_taxes, ZERO)
        shipping_net = order.shipping_total - (shipping_tax if included else ZERO)
    split = RefundSplit(goods_net=goods - fee, shipping_net=shipping_net, tax=tax + shipping_tax)
    return split, fee


def _all_back(order: Order) -> bool:
    back = dict(
        ReturnLine.objects.filter(request__order=order, request__status__in=OPEN_STATUSES)
        .values("order_line_id")
        .annotate(q=Sum("quantity_received"))
        .values_list("order_line_id", "q")
    )
    return all(back.get(ln.pk, 0) >= ln.quantity_shipped for ln in order.lines.all())


def return_refund(*, return_id: int, actor: Actor, amount: Decimal | None = None) -> ReturnRequest:
    """Refund a received return to the original payment: what the units are
    worth back (refund_due), or a smaller `amount` (a partial refund, e.g. a
    goodwill deduction), never more; then the return is completed. The
    gateway is called outside any transaction, once per return (its key)."""
    with transaction.atomic():
        request = _locked(return_id)
        if request.status != Status.RECEIVED:
            raise InvalidTransition(
                f"Return {request.number} is {request.get_status_display().lower()}: only a received "
                "return can be refunded.",
                current_status=request.status,
            )
        if request.resolution != ReturnRequest.Resolution.REFUND:
            raise Conflict(f"Return {request.number} is an exchange: send the replacement instead.")
        order = request.order
        if order.payment_terms_days is not None:
            raise Conflict(
                f"Order {order.number} was invoiced on account: credit it in accounting (a credit note); "
                "card refunds only go to card payments.",
                code="refund_on_account",
            )
        split, fee = refund_due(request)
    due = split.total
    if amount is not None:
        amount = Decimal(amount)
        if amount <= 0 or round_money(amount, order.currency) != amount:
            raise InvalidInput.field("amount", f"must be above zero, in {order.currency} minor units")
        if amount > due:
            raise InvalidInput.field(
                "amount",
                f"{amount} is more than the {due} {order.currency} the returned goods are worth back",
            )
        if amount < due:
            share = Fraction(amount) / Fraction(due)
            goods = amount_share(split.goods_net, share, order.currency)
            shipping = amount_share(split.shipping_net, share, order.currency)
            split = RefundSplit(goods_net=goods, shipping_net=shipping, tax=amount - goods - shipping)
    if split.total <= 0:
        raise Conflict(f"Return {request.number} has nothing to refund (no units arrived or all fees).")
    result = payment_refund(order_id=order.pk, key=f"return {request.number}", split=split, actor=actor)
    if result.declined:
        raise Conflict(f"The payment provider refused the refund: {result.declined}", code="refund_declined")
    with transaction.atomic():
        request = _locked(return_id)
        if request.status == Status.COMPLETED:
            return request
        request.refund_total = split.total
        request.restocking_fee = fee
        request.shipping_refund = split.shipping_net
        request.save()
        _move(
            request,
            Status.COMPLETED,
            actor,
            kind="refunded",
            message=f"Refunded {split.total} {order.currency}"
            + (f" (restocking fee {fee} kept)." if fee else "."),
        )
        emit(
            REFUNDED_TOPIC,
            {"return_id": request.pk, "amount": str(split.total), "currency": order.currency},
            aggregate=f"return:{request.pk}",
        )
    return request


def return_exchange(*, return_id: int, actor: Actor, lines: Mapping[str, int] | None = None) -> ReturnRequest:
    """Send a replacement at no charge: an order flagged replacement (with its
    unique code and allocation priority) for the SKUs returned (or `lines`:
    SKU code -> quantity), to the original address. Allowed once the return
    is authorized (an advance exchange) or received; completes it once received."""
    with transaction.atomic():
        request = _locked(return_id)
        if request.replacement_order_id:
            return request
        if request.status not in (Status.AUTHORIZED, Status.RECEIVED):
            raise InvalidTransition(
                f"Return {request.number} is {request.get_status_display().lower()}: a replacement needs "
                "an authorized or received return.",
                current_status=request.status,
            )
        order = request.order
        wanted = dict(lines) if lines else {}
        if not wanted:
            for line in request.lines.select_related("sku"):
                wanted[line.sku.code] = wanted.get(line.sku.code, 0) + line.quantity
        customer = order.customer
    result = order_place(
        data=OrderInput(
            channel=order.channel,
            actor=actor,
            currency=order.currency,
            customer=CustomerInput(
                email=order.email, first_name=customer.first_name, last_name=customer.last_name
            ),
            shipping_address=order.shipping_address,
            lines=[LineInput(sku=code, quantity=qty, unit_price=ZERO) for code, qty in wanted.items()],
            shipping_amount=ZERO,
            expected_total=ZERO,
            agreed_prices=True,
            is_replacement=True,
            notes=f"Replacement for return {request.number} of order {order.number}.",
            source=Order.Source.STAFF,
            fingerprint_extra={"return": request.pk},
        ),
        idempotency_key=f"return-exchange:{request.pk}",
    )
    with transaction.atomic():
        request = _locked(return_id)
        request.replacement_order = result.order
        request.save()
        _event(request, "replacement", actor, message=f"Replacement order {result.order.number}.")
        if request.status == Status.RECEIVED:
            _move(request, Status.COMPLETED, actor, kind="exchanged")
    return request


# --- Policies and the customer-service queue ------------------------------------------


@transaction.atomic
def return_policy_set(*, channel: Channel | None, values: dict) -> ReturnPolicy:
    """Replace a channel's (or the default) policy. Unknown SKU and location codes are refused."""
    codes = list(dict.fromkeys(values["locations"]))
    locations = list(Warehouse.objects.filter(code__in=codes, is_active=True))
    unknown = sorted(set(codes) - {w.code for w in locations})
    if unknown:
        raise InvalidInput.field("locations", f"no active location: {', '.join(unknown)}")
    skus = list(dict.fromkeys(values["non_returnable_skus"]))
    unknown = sorted(set(skus) - set(SKU.objects.filter(code__in=skus).values_list("code", flat=True)))
    if unknown:
        raise InvalidInput.field("non_returnable_skus", f"no SKU: {', '.join(unknown[:20])}")
    policy, _ = ReturnPolicy.objects.select_for_update().get_or_create(channel=channel)
    policy.window_days = values["window_days"]
    policy.non_returnable_skus = skus
    policy.non_returnable_categories = list(dict.fromkeys(values["non_returnable_categories"]))
    policy.restocking_fee_pct = values["restocking_fee_pct"]
    policy.return_shipping_paid_by = values["return_shipping_paid_by"]
    policy.refund_original_shipping = values["refund_original_shipping"]
    policy.instructions = values["instructions"]
    policy.save()
    policy.locations.set(locations)
    return policy


@transaction.atomic
def case_update(*, case_id: int, values: dict) -> CustomerCase:
    case = CustomerCase.objects.select_for_update().filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"Case {case_id} does not exist.")
    if "assigned_to" in values:
        user_id = values["assigned_to"]
        if (
            user_id is not None
            and not get_user_model().objects.filter(pk=user_id, is_staff=True, is_active=True).exists()
        ):
            raise InvalidInput.field("assigned_to", f"no active staff user {user_id}")
        case.assigned_to_id = user_id
    if "status" in values and values["status"] != case.status:
        case.status = values["status"]
        case.resolved_at = timezone.now() if case.status == CustomerCase.Status.RESOLVED else None
    case.save(update_fields=["status", "assigned_to", "resolved_at"])
    return case
