"""The order detail page of the dashboard and its actions.

It joins every app's part of an order: the lines, totals and event timeline
(orders), the routing decision and the shipments with their tracking
(fulfillment), the payments, the returns (returns) and the invoices
(accounting), plus links to the printable documents each app serves. Each
section is one query whatever the order holds.

Actions (orders.change) go through the services: cancel
(orders.services.order_cancel), hold and release (fulfillment.holds) and
re-route (fulfillment.sourcing.services.order_source, trigger "staff"). Only
the actions the order's state allows are offered; a refusal from a service
(the order moved meanwhile) comes back as a message naming the problem.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounting.models import Invoice
from fulfillment.holds import order_hold, order_release
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, SourcingDecision, TrackingEvent
from fulfillment.shipping.selectors import carrier_tracking_url
from fulfillment.sourcing.services import SOURCEABLE, order_source
from oms.actors import Actor
from oms.dashboard import staff_page
from oms.dashboard_views import audit_of
from oms.errors import DomainError
from oms.roles import can
from orders.dashboard_forms import SHIPMENT_LABELS, STATUS_BADGES, STATUS_LABELS, ReasonForm
from orders.models import (
    CANCELLABLE,
    ORDER_TRANSITIONS,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    PaymentTransaction,
)
from orders.services import order_cancel

from ..models import ReturnRequest

# How many routing runs the page lists (the newest in full).
DECISIONS_SHOWN = 10

DECISION_LABELS = {
    SourcingDecision.Outcome.SOURCED: gettext_lazy("Sourced"),
    SourcingDecision.Outcome.SPLIT: gettext_lazy("Split"),
    SourcingDecision.Outcome.PICKUP: gettext_lazy("Pick-up in store"),
    SourcingDecision.Outcome.TRANSFER: gettext_lazy("Transfer to pick-up store"),
    SourcingDecision.Outcome.BACKORDERED: gettext_lazy("Backordered"),
    SourcingDecision.Outcome.HELD: gettext_lazy("Held by a rule"),
}
PAYMENT_LABELS = {
    Payment.Status.AUTHORIZED: gettext_lazy("Authorized"),
    Payment.Status.CAPTURED: gettext_lazy("Captured"),
    Payment.Status.PARTIALLY_REFUNDED: gettext_lazy("Partially refunded"),
    Payment.Status.REFUNDED: gettext_lazy("Refunded"),
    Payment.Status.VOIDED: gettext_lazy("Voided"),
    Payment.Status.NOT_REQUIRED: gettext_lazy("Not required"),
}
TRANSACTION_LABELS = {
    PaymentTransaction.Kind.AUTHORIZE: gettext_lazy("Authorization"),
    PaymentTransaction.Kind.CAPTURE: gettext_lazy("Capture"),
    PaymentTransaction.Kind.VOID: gettext_lazy("Void"),
    PaymentTransaction.Kind.REFUND: gettext_lazy("Refund"),
}
RETURN_LABELS = {
    ReturnRequest.Status.REQUESTED: gettext_lazy("Requested (needs review)"),
    ReturnRequest.Status.AUTHORIZED: gettext_lazy("Authorized"),
    ReturnRequest.Status.REJECTED: gettext_lazy("Rejected"),
    ReturnRequest.Status.RECEIVED: gettext_lazy("Received"),
    ReturnRequest.Status.COMPLETED: gettext_lazy("Completed"),
    ReturnRequest.Status.CANCELLED: gettext_lazy("Cancelled"),
}
# Returns whose label the customer may still need.
RETURN_LABEL_STATUSES = {ReturnRequest.Status.AUTHORIZED}
SHIPMENT_BADGES = {
    FulfillmentOrder.Status.DELIVERED: "ok",
    FulfillmentOrder.Status.SHIPPED: "ok",
    FulfillmentOrder.Status.IN_TRANSIT: "ok",
    FulfillmentOrder.Status.OUT_FOR_DELIVERY: "ok",
    FulfillmentOrder.Status.EXCEPTION: "bad",
    FulfillmentOrder.Status.CANCELLED: "bad",
}
HOLDABLE = {status for status, moves in ORDER_TRANSITIONS.items() if Order.Status.ON_HOLD in moves}


def _order_or_404(number: int) -> Order:
    order = (
        Order.objects.select_related(
            "channel", "customer", "warehouse", "pickup_location", "created_by", "quote"
        )
        .filter(pk=number)
        .first()
    )
    if order is None:
        raise Http404(_("No order %(number)s.") % {"number": Order(pk=number).number})
    return order


def order_sections(order: Order) -> dict:
    """Everything the page shows beyond the order row: one query per section."""
    lines = list(
        OrderLine.objects.filter(order=order).select_related("sku", "warehouse").order_by("line_number")
    )
    events = list(
        OrderEvent.objects.filter(order=order).select_related("actor_user", "actor_channel").order_by("id")
    )
    payments = list(
        Payment.objects.filter(order=order)
        .prefetch_related(Prefetch("transactions", queryset=PaymentTransaction.objects.order_by("id")))
        .order_by("id")
    )
    shipments = list(
        FulfillmentOrder.objects.filter(order=order)
        .select_related("warehouse", "service__carrier", "box")
        .prefetch_related(
            Prefetch("lines", queryset=FulfillmentOrderLine.objects.select_related("sku").order_by("id")),
            Prefetch("tracking", queryset=TrackingEvent.objects.order_by("-occurred_at", "-id")),
        )
        .order_by("id")
    )
    for fo in shipments:
        fo.status_label = SHIPMENT_LABELS.get(fo.status, fo.status)
        fo.badge = SHIPMENT_BADGES.get(fo.status, "")
        fo.carrier_url = carrier_tracking_url(fo)
    decisions = list(
        SourcingDecision.objects.filter(order=order)
        .select_related("actor_user")
        .order_by("-id")[:DECISIONS_SHOWN]
    )
    for decision in decisions:
        decision.outcome_label = DECISION_LABELS.get(decision.outcome, decision.outcome)
    for payment in payments:
        payment.status_label = PAYMENT_LABELS.get(payment.status, payment.status)
        for tx in payment.transactions.all():
            tx.kind_label = TRANSACTION_LABELS.get(tx.kind, tx.kind)
    returns = list(
        ReturnRequest.objects.filter(order=order)
        .select_related("location", "replacement_order")
        .order_by("id")
    )
    for rma in returns:
        rma.status_label = RETURN_LABELS.get(rma.status, rma.status)
        rma.label_printable = rma.status in RETURN_LABEL_STATUSES
    # Only orders billed on account are invoiced (one invoice per shipment).
    invoices = (
        list(Invoice.objects.filter(order_ref=order.number).order_by("id"))
        if order.payment_terms_days is not None
        else []
    )
    return {
        "lines": lines,
        "events": events,
        "payments": payments,
        "shipments": shipments,
        "decision": decisions[0] if decisions else None,
        "earlier_decisions": decisions[1:],
        "returns": returns,
        "invoices": invoices,
    }


def order_actions(request, order: Order) -> dict:
    """Which actions the page offers: those the order's state allows, to a
    role that may change orders."""
    if not can(request, "orders.change"):
        return {}
    offered = {
        "cancel": order.status in CANCELLABLE,
        "hold": order.status in HOLDABLE,
        "release": order.status == Order.Status.ON_HOLD,
        "reroute": order.status in SOURCEABLE,
    }
    return {name: True for name, ok in offered.items() if ok}


@staff_page("orders.view")
def order_detail(request, number: int):
    order = _order_or_404(number)
    order.status_label = STATUS_LABELS.get(order.status, order.status)
    order.badge = STATUS_BADGES.get(order.status, "")
    quote = getattr(order, "quote", None)
    context = {
        "order": order,
        "quote": quote,
        **order_sections(order),
        "actions": order_actions(request, order),
        "audit": audit_of(request, "orders.order", order.pk),
        "base_currency": settings.BASE_CURRENCY,
        # Documents are served by the staff API, which checks the role by area.
        "may": {
            "warehouse": can(request, "warehouse.view"),
            "accounting": can(request, "accounting.view"),
            "returns": can(request, "returns.view"),
            "customers": can(request, "customers.view"),
        },
    }
    return render(request, "dashboard/orders/detail.html", context)


def _act(request, number: int, action) -> None:
    """Run `action(order_id, actor)` and report its outcome as a message."""
    if not Order.objects.filter(pk=number).exists():
        raise Http404(_("No order %(number)s.") % {"number": Order(pk=number).number})
    try:
        done = action(number, Actor.for_user(request.user))
    except DomainError as exc:
        messages.error(
            request,
            _("Order %(number)s: %(problem)s") % {"number": Order(pk=number).number, "problem": exc.message},
        )
    else:
        messages.success(request, done)


def _reason(request) -> str | None:
    form = ReasonForm(request.POST)
    if form.is_valid():
        return form.cleaned_data["reason"].strip() or None
    return None


@require_POST
@staff_page("orders.change")
def order_cancel_view(request, number: int):
    reason = _reason(request)
    if reason is None:
        messages.error(request, _("Give a reason to cancel the order."))
        return redirect("dashboard:order", Order(pk=number).number)

    def cancel(order_id, actor):
        order = order_cancel(order_id=order_id, actor=actor, reason=reason)
        return _("Order %(number)s cancelled; its stock is released and its card authorization voided.") % {
            "number": order.number
        }

    _act(request, number, cancel)
    return redirect("dashboard:order", Order(pk=number).number)


@require_POST
@staff_page("orders.change")
def order_hold_view(request, number: int):
    reason = _reason(request)
    if reason is None:
        messages.error(request, _("Give a reason to hold the order."))
        return redirect("dashboard:order", Order(pk=number).number)

    def hold(order_id, actor):
        order = order_hold(order_id=order_id, actor=actor, reason=reason)
        return _("Order %(number)s is on hold; the warehouse will not start on it.") % {
            "number": order.number
        }

    _act(request, number, hold)
    return redirect("dashboard:order", Order(pk=number).number)


@require_POST
@staff_page("orders.change")
def order_release_view(request, number: int):
    def release(order_id, actor):
        decision = order_release(order_id=order_id, actor=actor)
        return _("Order %(number)s released: %(summary)s") % {
            "number": Order(pk=order_id).number,
            "summary": decision.summary if decision else "",
        }

    _act(request, number, release)
    return redirect("dashboard:order", Order(pk=number).number)


@require_POST
@staff_page("orders.change")
def order_reroute_view(request, number: int):
    def reroute(order_id, actor):
        decision = order_source(order_id=order_id, actor=actor, trigger="staff")
        return _("Order %(number)s routed again: %(summary)s") % {
            "number": Order(pk=order_id).number,
            "summary": decision.summary if decision else _("nothing to change"),
        }

    _act(request, number, reroute)
    return redirect("dashboard:order", Order(pk=number).number)


urlpatterns = [
    path("orders/<int:number>/", order_detail, name="order"),
    path("orders/<int:number>/cancel/", order_cancel_view, name="order-cancel"),
    path("orders/<int:number>/hold/", order_hold_view, name="order-hold"),
    path("orders/<int:number>/release/", order_release_view, name="order-release"),
    path("orders/<int:number>/reroute/", order_reroute_view, name="order-reroute"),
]
