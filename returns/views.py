"""Customer self-service pages (no login): the public return policy of a
channel, finding an order by its number and e-mail, its status, and
starting a return.

Finding an order puts only that order's id in the session, signed and
short-lived; every order page reads the order from there and nowhere else,
so a customer cannot reach another order by changing a URL. A failed lookup
says the same thing whether the order does not exist or the e-mail is wrong
(and takes the same time), and lookups are rate limited per client address,
so the pages cannot be used to find out which orders exist or to guess
e-mails. The rules live in returns.services: these views parse the form,
call it and render what it says.
"""

from __future__ import annotations

import hashlib
import hmac
from contextlib import nullcontext
from functools import wraps

from django.conf import settings
from django.core import signing
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods

from fulfillment.models import FulfillmentOrder
from fulfillment.shipping.selectors import carrier_tracking_url, public_tracking_url
from inventory.models import SKU
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, NotFound
from oms.models import Channel
from oms.ratelimit import window_hit
from orders.models import Order

from .forms import REASON_LABELS, RESOLUTION_LABELS, LookupForm, ReturnableLine, ReturnStartForm
from .models import ReturnLine, ReturnPolicy, ReturnRequest
from .services import (
    delivered_on,
    final_sale,
    return_locations,
    return_policy_for,
    return_request,
    return_window_end,
    returnable_units,
)

SESSION_KEY = "returns.order"
SIGNING_SALT = "returns.self-service"
# How long a successful lookup opens the order pages in that browser.
ACCESS_SECONDS = getattr(settings, "RETURNS_ACCESS_SECONDS", 2 * 3600)
LOOKUP_MAX_TRIES = getattr(settings, "RETURNS_LOOKUP_MAX_TRIES", 10)
LOOKUP_WINDOW_SECONDS = getattr(settings, "RETURNS_LOOKUP_WINDOW_SECONDS", 600)

NO_MATCH = _(
    "We could not find an order with that number and e-mail address. Please check both and try again."
)

ORDER_STATUS = {
    Order.Status.ON_HOLD: _("Being reviewed"),
    Order.Status.BACKORDERED: _("Waiting for stock"),
    Order.Status.ALLOCATED: _("Confirmed"),
    Order.Status.FULFILLING: _("Being prepared"),
    Order.Status.PARTIALLY_SHIPPED: _("Partially shipped"),
    Order.Status.SHIPPED: _("Shipped"),
    Order.Status.DELIVERED: _("Delivered"),
    Order.Status.CLOSED: _("Completed"),
    Order.Status.CANCELLED: _("Cancelled"),
}
SHIPMENT_STATUS = {
    FulfillmentOrder.Status.PACKED: _("Label created, waiting for the carrier"),
    FulfillmentOrder.Status.SHIPPED: _("Handed to the carrier"),
    FulfillmentOrder.Status.IN_TRANSIT: _("In transit"),
    FulfillmentOrder.Status.OUT_FOR_DELIVERY: _("Out for delivery"),
    FulfillmentOrder.Status.DELIVERED: _("Delivered"),
    FulfillmentOrder.Status.EXCEPTION: _("Delivery problem: the carrier is handling it"),
    FulfillmentOrder.Status.CANCELLED: _("Cancelled"),
}
RETURN_STATUS = {
    ReturnRequest.Status.REQUESTED: _("Waiting for review"),
    ReturnRequest.Status.AUTHORIZED: _("Authorized: please send it back"),
    ReturnRequest.Status.REJECTED: _("Not accepted"),
    ReturnRequest.Status.RECEIVED: _("Received, being processed"),
    ReturnRequest.Status.COMPLETED: _("Completed"),
    ReturnRequest.Status.CANCELLED: _("Cancelled"),
}


# --- The public policy page -------------------------------------------------------


@require_GET
def policy_page(request: HttpRequest, channel_code: str) -> HttpResponse:
    channel = Channel.objects.filter(code=channel_code.upper()[:32], is_active=True).first()
    if channel is None:
        raise Http404("No such channel.")
    policy = return_policy_for(channel.pk)
    locations, every_location = return_locations(policy, channel)
    names = dict(
        SKU.objects.filter(code__in=policy.non_returnable_skus).values_list("code", "name")
        if policy.non_returnable_skus
        else []
    )
    context = {
        "channel": channel,
        "policy": policy,
        "locations": locations,
        "every_location": every_location,
        "final_sale_skus": [(code, names.get(code, "")) for code in policy.non_returnable_skus],
        "final_sale_categories": policy.non_returnable_categories,
        "merchant_pays": policy.return_shipping_paid_by == ReturnPolicy.ShippingPaidBy.MERCHANT,
    }
    return render(request, "returns/policy.html", context)


# --- Finding an order -------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@csrf_protect
@never_cache
def lookup(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _private(render(request, "returns/lookup.html", {"form": LookupForm()}))
    if not _take_a_try(request):
        return _private(render(request, "returns/rate_limited.html", status=429))
    form = LookupForm(request.POST)
    if form.is_valid():
        order = _match(form.cleaned_data["order_number"], form.cleaned_data["email"])
        if order is not None:
            # A new session key: a session id planted before the lookup opens nothing.
            request.session.cycle_key()
            request.session[SESSION_KEY] = signing.dumps(order.pk, salt=SIGNING_SALT)
            return redirect("returns:order")
        form.add_error(None, NO_MATCH)
    return _private(render(request, "returns/lookup.html", {"form": form}, status=400))


def _take_a_try(request: HttpRequest) -> bool:
    """Count a lookup from this client address; False once it has used up
    its tries for the window (oms.ratelimit: counted in the shared cache so
    every web process sees the same count)."""
    address = request.META.get("REMOTE_ADDR") or "unknown"
    return window_hit("returns-lookup", address, window_seconds=LOOKUP_WINDOW_SECONDS) <= LOOKUP_MAX_TRIES


def _match(order_id: int, email: str) -> Order | None:
    """The order if the e-mail is the one it was placed with (case-insensitive).
    The comparison runs in constant time on fixed-length digests, and also
    when there is no such order, so neither the answer nor its timing tells
    which part was wrong."""
    order = Order.objects.filter(pk=order_id).only("pk", "email").first()
    expected = hashlib.sha256((order.email if order else "").strip().casefold().encode()).digest()
    given = hashlib.sha256(email.strip().casefold().encode()).digest()
    same = hmac.compare_digest(expected, given)
    return order if order is not None and same else None


def _session_order_id(request: HttpRequest) -> int | None:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    try:
        pk = signing.loads(token, salt=SIGNING_SALT, max_age=ACCESS_SECONDS)
    except signing.BadSignature:  # also an expired one
        return None
    return pk if isinstance(pk, int) else None


def _order_page(view):
    """The order pages: the looked-up order (else back to the lookup form),
    in the customer's language, never cached, not indexed, no referrer."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        order_id = _session_order_id(request)
        order = (
            Order.objects.select_related("channel", "customer").filter(pk=order_id).first()
            if order_id is not None
            else None
        )
        if order is None:
            return redirect("returns:lookup")
        language = order.customer.language
        use = (
            translation.override(language)
            if language and translation.check_for_language(language)
            else nullcontext()
        )
        with use:
            response = view(request, order, *args, **kwargs)
        return _private(response)

    return never_cache(wrapper)


def _private(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- The order's status -----------------------------------------------------------


@require_GET
@_order_page
def order_status(request: HttpRequest, order: Order) -> HttpResponse:
    policy = return_policy_for(order.channel_id)
    lines = list(order.lines.select_related("sku").order_by("line_number"))
    shipments = [
        {
            "number": fo.number,
            "status": SHIPMENT_STATUS.get(fo.status, _("Being prepared")),
            "pickup": fo.method == FulfillmentOrder.Method.PICKUP,
            "carrier": fo.service.carrier.name if fo.service_id else "",
            "service": fo.service.name if fo.service_id else "",
            "tracking_number": fo.tracking_number or "",
            "carrier_url": carrier_tracking_url(fo),
            "tracking_page": public_tracking_url(fo),
            "shipped_at": fo.shipped_at,
            "delivered_at": fo.delivered_at,
            "eta": fo.promised_delivery if fo.delivered_at is None else None,
        }
        for fo in FulfillmentOrder.objects.filter(order=order)
        .exclude(status=FulfillmentOrder.Status.CANCELLED)
        .select_related("service__carrier")
        .order_by("id")
    ]
    context = {
        "order": order,
        "status": ORDER_STATUS.get(order.status, order.get_status_display()),
        "lines": lines,
        "shipments": shipments,
        "returns": _returns_of(order),
        "can_return": any(item.left for item in _returnable_lines(order, policy)),
        **_window(order, policy),
    }
    return render(request, "returns/order.html", context)


# --- Starting a return ------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@csrf_protect
@_order_page
def return_new(request: HttpRequest, order: Order) -> HttpResponse:
    policy = return_policy_for(order.channel_id)
    lines = [item for item in _returnable_lines(order, policy) if item.left]
    locations, every_location = return_locations(policy, order.channel)
    context = {"order": order, "policy": policy, **_window(order, policy)}
    form_kwargs = {"lines": lines, "locations": locations, "location_optional": every_location}
    if not lines:
        return render(request, "returns/return_form.html", {**context, "form": None})
    if request.method == "GET":
        return render(
            request, "returns/return_form.html", {**context, "form": ReturnStartForm(**form_kwargs)}
        )
    form = ReturnStartForm(request.POST, **form_kwargs)
    status = 400
    if form.is_valid():
        line_inputs, quantity_fields = form.line_inputs()
        try:
            created = return_request(
                order_id=order.pk,
                lines=line_inputs,
                actor=Actor.system(),
                source=ReturnRequest.Source.CUSTOMER,
                resolution=form.cleaned_data["resolution"],
                location_code=form.cleaned_data["location"],
                note=form.cleaned_data["note"],
                allow_review=False,
            )
        except InvalidInput as exc:
            _attach(form, exc, quantity_fields)
            status = exc.status
        except (Conflict, NotFound) as exc:
            # Outside the policy: the service's message names every reason.
            context["refusal"] = exc.message
            status = exc.status
        else:
            return redirect("returns:return", return_id=created.pk)
    return render(request, "returns/return_form.html", {**context, "form": form}, status=status)


def _attach(form: ReturnStartForm, exc: InvalidInput, quantity_fields: list[str]) -> None:
    """Put the service's field errors on the form fields they are about
    ("lines[1].quantity" is the second line sent)."""
    for name, problems in (exc.fields or {"__all__": [exc.message]}).items():
        target = None
        if name.startswith("lines["):
            index = name[len("lines[") :].split("]", 1)[0]
            if index.isdigit() and int(index) < len(quantity_fields):
                target = quantity_fields[int(index)]
                if name.endswith(".reason"):
                    target = target.replace("quantity_", "reason_", 1)
        elif name in form.fields:
            target = name
        for problem in problems:
            form.add_error(target, problem)


@require_GET
@_order_page
def return_detail(request: HttpRequest, order: Order, return_id: int) -> HttpResponse:
    found = (
        ReturnRequest.objects.select_related("location")
        .prefetch_related(Prefetch("lines", queryset=ReturnLine.objects.select_related("sku")))
        .filter(pk=return_id, order=order)  # only a return of the looked-up order
        .first()
    )
    if found is None:
        raise Http404("No such return of this order.")
    context = {
        "order": order,
        "rma": found,
        "status": RETURN_STATUS.get(found.status, found.get_status_display()),
        "resolution": RESOLUTION_LABELS.get(found.resolution, found.get_resolution_display()),
        "lines": [
            (line, REASON_LABELS.get(line.reason, line.get_reason_display())) for line in found.lines.all()
        ],
        "merchant_pays": found.return_shipping_paid_by == ReturnPolicy.ShippingPaidBy.MERCHANT,
        "policy": return_policy_for(order.channel_id),
        "open": found.status == ReturnRequest.Status.AUTHORIZED,
    }
    return render(request, "returns/return_detail.html", context)


# --- Reads shared by the pages ----------------------------------------------------


def _returnable_lines(order: Order, policy: ReturnPolicy) -> list[ReturnableLine]:
    """Every order line with the units shipped and not already in a return
    (as returns.services counts them; the service checks again when asked)."""
    left = returnable_units(order)
    return [
        ReturnableLine(line=line, left=max(left.get(line.pk, 0), 0), final_sale=final_sale(line.sku, policy))
        for line in order.lines.select_related("sku__product").order_by("line_number")
    ]


def _window(order: Order, policy: ReturnPolicy) -> dict:
    ends = return_window_end(order, policy)
    return {
        "delivered_on": delivered_on(order),
        "window_ends": ends,
        "window_over": ends is not None and timezone.localdate() > ends,
        "window_days": policy.window_days,
        "policy_url": reverse("returns:policy", args=[order.channel.code]),
    }


def _returns_of(order: Order) -> list[dict]:
    return [
        {
            "rma": rma,
            "status": RETURN_STATUS.get(rma.status, rma.get_status_display()),
            "units": sum(line.quantity for line in rma.lines.all()),
        }
        for rma in order.returns.prefetch_related("lines").order_by("-id")
    ]
