"""Object-level access on every API operation.

Every operation under /api/ (found through the URL resolver, so a new one
cannot slip by) is classified here as one of:

- channel-scoped: a channel key may use it, but only on its own channel's
  objects. Channel B asking for any of channel A's carts, cart lines, orders
  (and their cancel/edit actions), customers, returns, return labels or the
  SKUs only A sells gets 404, never 403 and never the object; B's lists never
  include A's objects, whatever the filters; B's unsafe requests change
  nothing of A's; the very same request from A works, which proves the 404
  came from the scoping and not from a bad URL or body;
- staff-only: a channel key gets 403 (and nothing changes), no key 401/403;
- public, with the reason it may be: and a forged or missing signature or
  token is refused.

An operation missing from the tables fails `test_every_api_operation` by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from customers.models import Address, Customer
from inventory.models import StockLevel
from oms.models import Channel, OutboxEvent
from orders.models import Cart, CartLine, Order, OrderEvent, OrderLine, Payment
from returns.models import ReturnEvent, ReturnLine, ReturnPolicy, ReturnRequest
from tests.factories import channel_with_key, create_cart, order_payload, sku_in_stock

from .routes import Operation, concrete, operations

pytestmark = [pytest.mark.security, pytest.mark.django_db]

API = operations("api/")

# --- public operations, and why -------------------------------------------------------------

PUBLIC = {
    "GET api/schema/": "the OpenAPI document: describes the API, holds no data",
    "GET api/docs/": "Swagger UI page for the schema: no data",
    "GET api/redoc/": "ReDoc page for the schema: no data",
    "GET api/v1/quotes/shared/<str:token>/pdf/": "a signed share link (django.core.signing) names the quote",
    "POST api/v1/fulfillment/carriers/<slug:code>/tracking/": "carrier webhook, HMAC-signed with the "
    "carrier's secret",
    "POST api/v1/integrations/shopify/<str:code>/orders/": "Shopify webhook, HMAC-signed with the "
    "channel integration's secret",
    "POST api/v1/integrations/woocommerce/<str:code>/orders/": "WooCommerce webhook, HMAC-signed with the "
    "channel integration's secret",
}

# --- channel-scoped operations ---------------------------------------------------------------


class World:
    """Channel A's objects (one of each kind), channel B's key, and A's key.
    The shipped order and its return are built only for the operations that
    need them (they take a pack station run)."""

    def __init__(self, request, channel, api: APIClient, sku, warehouse) -> None:
        self._request = request
        self.channel, self.a, self.sku, self.warehouse = channel, api, sku, warehouse
        _, key = channel_with_key(code="B")
        self.b = APIClient()
        self.b.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        placed = api.post("/api/v1/orders/", order_payload(sku.code, external_id="A-1"), format="json")
        assert placed.status_code == 201, placed.json()
        self.order = Order.objects.get(pk=placed.json()["id"])
        self.customer = self.order.customer
        self.cart = create_cart(api, (sku.code, 2))
        self._rma: int | None = None

    @property
    def shipped(self) -> Order:
        return self._request.getfixturevalue("shipped_order")[0]

    @property
    def rma(self) -> int:
        if self._rma is None:
            line = self.shipped.lines.order_by("pk").first()
            body = {"order_id": self.shipped.pk, "lines": [_return_line(line)]}
            created = self.a.post("/api/v1/returns/", body, format="json")
            assert created.status_code == 201, created.json()
            self._rma = created.json()["id"]
        return self._rma


def _return_line(line: OrderLine) -> dict:
    return {"order_line_id": line.pk, "quantity": 1, "reason": "size_fit"}


@dataclass(frozen=True)
class OnObject:
    """B's request on one of A's objects: 404 and no change; A's own works."""

    values: Callable[[World], dict]
    body: Callable[[World], dict | None] = lambda w: None
    owner_status: frozenset[int] = frozenset({200})


@dataclass(frozen=True)
class Listing:
    """B's list (plain and with each filter) holds none of A's objects."""

    ids_of_a: Callable[[World], set]
    filters: Callable[[World], list[dict]] = lambda w: [{}]
    key: str = "id"


@dataclass(frozen=True)
class Create:
    """B creates something naming A's object: refused with `status`, no change."""

    body: Callable[[World], dict]
    status: int
    field_name: str | None = None
    params: dict = field(default_factory=dict)


def _cart(w: World) -> dict:
    return {"cart_id": w.cart["id"]}


def _cart_line(w: World) -> dict:
    return {"cart_id": w.cart["id"], "sku": w.sku.code}


def _checkout(w: World) -> dict:
    payload = order_payload(w.sku.code)
    return {k: payload[k] for k in ("customer", "shipping_address", "payment")}


CHANNEL = {
    "GET api/v1/customers/": Listing(
        lambda w: {w.customer.pk},
        lambda w: [{}, {"email": w.customer.email}, {"q": w.customer.email[:3]}],
    ),
    "POST api/v1/customers/": Create(
        lambda w: {"email": "eve@example.com", "channel": w.channel.code}, 400, "channel"
    ),
    "GET api/v1/customers/<int:pk>/": OnObject(lambda w: {"pk": w.customer.pk}),
    "PATCH api/v1/customers/<int:pk>/": OnObject(lambda w: {"pk": w.customer.pk}, lambda w: {"phone": "555"}),
    "GET api/v1/skus/": Listing(lambda w: {w.sku.code}, lambda w: [{}, {"q": w.sku.code}], key="code"),
    "GET api/v1/skus/<str:code>/": OnObject(lambda w: {"code": w.sku.code}),
    # Availability names SKUs in the query: one B does not sell is unknown to it (400, not the numbers).
    "GET api/v1/availability/": Create(lambda w: {}, 400, "sku", params={"sku": "__a_sku__"}),
    "GET api/v1/orders/": Listing(
        lambda w: {w.order.pk},
        lambda w: [
            {},
            {"channel": w.channel.code},
            {"customer": w.customer.pk},
            {"email": w.order.email},
            {"external_id": w.order.external_id},
        ],
    ),
    "POST api/v1/orders/": Create(lambda w: {**order_payload(w.sku.code), "channel": w.channel.code}, 400),
    "GET api/v1/orders/<int:pk>/": OnObject(lambda w: {"pk": w.order.pk}),
    "POST api/v1/orders/<int:pk>/cancel/": OnObject(
        lambda w: {"pk": w.order.pk}, lambda w: {"reason": "customer asked"}
    ),
    "POST api/v1/orders/<int:pk>/edit/": OnObject(
        lambda w: {"pk": w.order.pk}, lambda w: {"reason": "faster", "shipping_speed": "express"}
    ),
    # A cart of B's own cannot take a SKU only A sells.
    "POST api/v1/carts/": Create(
        lambda w: {
            "email": "eve@example.com",
            "ship_country": "US",
            "lines": [{"sku": w.sku.code, "quantity": 1}],
        },
        400,
    ),
    "GET api/v1/carts/<uuid:cart_id>/": OnObject(_cart),
    "POST api/v1/carts/<uuid:cart_id>/lines/": OnObject(_cart, lambda w: {"sku": w.sku.code, "quantity": 1}),
    "PUT api/v1/carts/<uuid:cart_id>/lines/<str:sku>/": OnObject(_cart_line, lambda w: {"quantity": 1}),
    "PATCH api/v1/carts/<uuid:cart_id>/lines/<str:sku>/": OnObject(_cart_line, lambda w: {"quantity": 3}),
    "DELETE api/v1/carts/<uuid:cart_id>/lines/<str:sku>/": OnObject(_cart_line),
    "POST api/v1/carts/<uuid:cart_id>/checkout/": OnObject(_cart, _checkout, frozenset({201})),
    "GET api/v1/returns/": Listing(
        lambda w: {w.rma},
        lambda w: [{}, {"channel": w.channel.code}, {"order": w.shipped.pk}],
    ),
    "POST api/v1/returns/": Create(
        lambda w: {"order_id": w.shipped.pk, "lines": [_return_line(w.shipped.lines.first())]}, 404
    ),
    "GET api/v1/returns/<int:pk>/": OnObject(lambda w: {"pk": w.rma}),
    "GET api/v1/returns/<int:pk>/label/": OnObject(lambda w: {"pk": w.rma}),
    "GET api/v1/return-policies/<str:key>/": OnObject(lambda w: {"key": w.channel.code}),
}

# Methods of a channel-scoped view that only staff may use.
STAFF_METHODS_OF_CHANNEL_VIEWS = {"PUT api/v1/return-policies/<str:key>/"}


def _staff_only(op: Operation) -> bool:
    from oms.api.permissions import IsStaff

    view = op.view
    return op.key in STAFF_METHODS_OF_CHANNEL_VIEWS or (
        view is not None and any(issubclass(p, IsStaff) for p in view.permission_classes)
    )


# --- what "nothing changed" means --------------------------------------------------------------


def snapshot(channel) -> dict:
    """Every row of channel A's objects, and the stock and outbox they move."""

    def rows(qs):
        return list(qs.order_by("pk").values())

    return {
        "orders": rows(Order.objects.filter(channel=channel)),
        "order lines": rows(OrderLine.objects.filter(order__channel=channel)),
        "order events": rows(OrderEvent.objects.filter(order__channel=channel)),
        "payments": rows(Payment.objects.filter(order__channel=channel)),
        "carts": rows(Cart.objects.filter(channel=channel)),
        "cart lines": rows(CartLine.objects.filter(cart__channel=channel)),
        "customers": rows(Customer.objects.filter(channel=channel)),
        "addresses": rows(Address.objects.filter(customer__channel=channel)),
        "returns": rows(ReturnRequest.objects.filter(channel=channel)),
        "return lines": rows(ReturnLine.objects.filter(request__channel=channel)),
        "return events": rows(ReturnEvent.objects.filter(request__channel=channel)),
        "policies": rows(ReturnPolicy.objects.all()),
        "stock": rows(StockLevel.objects.all()),
        "outbox": OutboxEvent.objects.count(),
    }


def _call(client: APIClient, method: str, url: str, body=None, params=None):
    if method == "get":
        return client.get(url, params or {})
    return getattr(client, method)(url, body if body is not None else {}, format="json")


# --- the tests ---------------------------------------------------------------------------------


def test_the_walk_finds_the_api_and_the_tables_name_only_real_operations():
    keys = {op.key for op in API}
    assert len(keys) > 140, "the URL walk lost the API"
    stale = (set(PUBLIC) | set(CHANNEL) | STAFF_METHODS_OF_CHANNEL_VIEWS) - keys
    assert not stale, f"classified operations that no longer exist: {sorted(stale)}"
    overlap = set(CHANNEL) & {op.key for op in API if _staff_only(op)}
    assert not overlap, f"staff-only views classified as channel-scoped: {sorted(overlap)}"


@pytest.fixture
def world(request, channel, api, sku, warehouse) -> World:
    return World(request, channel, api, sku, warehouse)


@pytest.mark.parametrize("op", [op for op in API if not _staff_only(op)], ids=lambda op: op.key)
def test_every_api_operation(op: Operation, request):
    """Each operation a channel key gets past the permission check on is
    either public (with a reason) or channel-scoped (and holds)."""
    if op.key in PUBLIC:
        _check_public(op, request)
        return
    spec = CHANNEL.get(op.key)
    assert spec is not None, (
        f"{op.key} is not classified: add it to CHANNEL (with the checks for its objects), PUBLIC "
        "(with the reason) or make it staff-only"
    )
    w = request.getfixturevalue("world")
    if isinstance(spec, OnObject):
        _check_on_object(op, spec, w)
    elif isinstance(spec, Listing):
        _check_listing(op, spec, w)
    else:
        _check_create(op, spec, w)


def _check_on_object(op: Operation, spec: OnObject, w: World) -> None:
    url = concrete(op.route, spec.values(w))
    body = spec.body(w)
    before = snapshot(w.channel)
    refused = _call(w.b, op.method, url, body)
    assert refused.status_code == 404, (op.key, refused.status_code, refused.content[:300])
    assert refused["Content-Type"].startswith("application/json")
    assert refused.json()["error"]["code"] == "not_found"
    assert snapshot(w.channel) == before, f"{op.key}: channel B changed channel A's data"
    owner = _call(w.a, op.method, url, body)
    assert owner.status_code in spec.owner_status, (op.key, owner.status_code, owner.content[:300])


def _check_listing(op: Operation, spec: Listing, w: World) -> None:
    url = concrete(op.route, {})
    theirs = spec.ids_of_a(w)
    for params in spec.filters(w):
        own = _call(w.a, "get", url, params=params)
        assert own.status_code == 200 and theirs & {r[spec.key] for r in own.json()["results"]}, (
            op.key,
            params,
            "A's own list should show A's objects (else this proves nothing)",
        )
        listed = _call(w.b, "get", url, params=params)
        assert listed.status_code == 200, (op.key, params, listed.status_code)
        assert not theirs & {r[spec.key] for r in listed.json()["results"]}, (op.key, params)


def _check_create(op: Operation, spec: Create, w: World) -> None:
    url = concrete(op.route, {})
    params = {k: (w.sku.code if v == "__a_sku__" else v) for k, v in spec.params.items()}
    body = spec.body(w) if op.method != "get" else None  # before the snapshot: it may build objects
    before = snapshot(w.channel)
    refused = _call(w.b, op.method, url, body, params)
    assert refused.status_code == spec.status, (op.key, refused.status_code, refused.content[:300])
    if spec.field_name:
        assert spec.field_name in refused.json()["error"]["fields"], refused.json()
    assert snapshot(w.channel) == before, f"{op.key}: channel B changed channel A's data"
    text = refused.content.decode()
    assert str(w.order.number) not in text and w.customer.email not in text


def _check_public(op: Operation, request) -> None:
    """A public operation holds nothing without its signature or token."""
    client = APIClient()
    url = concrete(op.route, {"code": "WEB", "token": "forged.token:value"})
    if op.method == "get":
        response = client.get(url)
        if "token" in op.route:
            assert response.status_code == 404, (op.key, response.status_code)
        else:
            assert response.status_code == 200, (op.key, response.status_code)
        return
    request.getfixturevalue("db")
    before = (Order.objects.count(), OutboxEvent.objects.count())
    for headers in ({}, {"HTTP_X_SHOPIFY_HMAC_SHA256": "AAAA", "HTTP_X_WC_WEBHOOK_SIGNATURE": "AAAA"}):
        response = client.post(url, b'{"events": []}', content_type="application/json", **headers)
        assert response.status_code in {401, 403, 404}, (op.key, response.status_code, response.content[:200])
    assert (Order.objects.count(), OutboxEvent.objects.count()) == before


def test_staff_only_operations_refuse_a_channel_key_and_change_nothing(world):
    before = snapshot(world.channel)
    values = {
        "pk": world.order.pk,
        "code": world.channel.code,
        "key": world.channel.code,
        "cart_id": world.cart["id"],
        "sku": world.sku.code,
    }
    wrong = []
    for op in API:
        if not _staff_only(op):
            continue
        response = _call(world.b, op.method, concrete(op.route, values), {})
        if response.status_code != 403:
            wrong.append((op.key, response.status_code))
    assert not wrong, wrong
    assert snapshot(world.channel) == before


@pytest.mark.django_db
def test_without_credentials_only_the_public_operations_answer():
    client = APIClient()
    wrong = []
    for op in API:
        if op.key in PUBLIC:
            continue
        response = _call(client, op.method, concrete(op.route, {}), {})
        if response.status_code not in {401, 403}:
            wrong.append((op.key, response.status_code))
    assert not wrong, wrong


def test_b_cannot_smuggle_a_s_order_lines_into_its_own_edits_and_returns(world, shipped_order):
    """Ids inside a body are scoped too: B editing or returning its own order
    cannot name A's order lines."""
    b_channel = Channel.objects.get(code="B")
    b_sku = sku_in_stock(channel=b_channel, warehouse=world.warehouse, quantity=5, price="12.00")
    placed = world.b.post("/api/v1/orders/", order_payload(b_sku.code), format="json")
    assert placed.status_code == 201, placed.json()
    b_order = placed.json()["id"]
    a_line = world.order.lines.first()
    a_shipped_line = shipped_order[0].lines.first()
    before = snapshot(world.channel)
    edits = [
        {"reason": "x", "lines": {str(a_line.pk): 5}},
        {"reason": "x", "remove": [a_line.pk]},
    ]
    for body in edits:
        response = world.b.post(f"/api/v1/orders/{b_order}/edit/", body, format="json")
        assert response.status_code == 400, (body, response.status_code, response.content[:300])
    response = world.b.post(
        "/api/v1/returns/", {"order_id": b_order, "lines": [_return_line(a_shipped_line)]}, format="json"
    )
    assert response.status_code in {400, 409}, response.content[:300]
    assert str(shipped_order[0].number) not in response.content.decode()
    assert snapshot(world.channel) == before
