"""The Django admin: every model is registered and its pages render, records
owned by services are read-only, actions go through the services, and the
changelists' query counts do not grow with the number of rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import constants as message_levels
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounting.models import Account, ExchangeRate, Period
from accounting.services import Posting, journal_post
from customers.models import Address, Customer
from customers.services import consent_record, contact_add, customer_create
from inventory.barcodes import make_ean13
from inventory.models import SKU, Product, StockLevel, StockMovement, Warehouse
from inventory.services import stock_receive
from oms.actors import Actor
from oms.models import AuditEntry, Channel, ChannelToken, OutboxEvent, PostalCode, StaffToken, hash_token
from orders.models import Order, OrderEvent, PriceListEntry, TaxRate
from orders.payments import CardDetails
from orders.services import (
    CustomerInput,
    LineInput,
    OrderInput,
    PaymentInput,
    cart_create,
    order_cancel,
    order_place,
)

pytestmark = pytest.mark.django_db

ADMIN_APPS = ["oms", "customers", "inventory", "orders", "accounting", "returns"]

# Every model of the four apps, as "app_label.ModelName".
ADMIN_MODELS = [
    "oms.Channel",
    "oms.ChannelToken",
    "oms.StaffToken",
    "oms.OutboxEvent",
    "oms.PostalCode",
    "oms.WebhookSubscription",
    "oms.AuditEntry",
    "oms.WebhookDelivery",
    "customers.Customer",
    "customers.Address",
    "customers.Contact",
    "customers.Consent",
    "customers.CustomerMetrics",
    "inventory.Product",
    "inventory.SKU",
    "inventory.Warehouse",
    "inventory.StockLevel",
    "inventory.StockMovement",
    "inventory.Reservation",
    "inventory.Zone",
    "inventory.Bin",
    "inventory.SKUBin",
    "inventory.Transfer",
    "inventory.TransferLine",
    "inventory.CountSheet",
    "inventory.CountLine",
    "inventory.Supplier",
    "inventory.SupplierSKU",
    "inventory.PurchaseOrder",
    "inventory.PurchaseOrderLine",
    "inventory.PurchaseOrderEvent",
    "inventory.ReorderRule",
    "orders.PriceListEntry",
    "orders.TaxRate",
    "orders.Cart",
    "orders.CartLine",
    "orders.Order",
    "orders.OrderLine",
    "orders.OrderEvent",
    "orders.Payment",
    "orders.PaymentTransaction",
    "orders.IdempotencyKey",
    "orders.InboundOrder",
    "orders.ChannelIntegration",
    "accounting.Account",
    "accounting.ExchangeRate",
    "accounting.Period",
    "accounting.JournalEntry",
    "accounting.JournalLine",
    "accounting.Invoice",
    "accounting.InvoiceLine",
    "accounting.InvoicePayment",
    "accounting.InvoiceReminder",
    "accounting.SupplierInvoice",
    "accounting.SupplierPayment",
    "orders.Quote",
    "orders.QuoteLine",
    "orders.QuoteEvent",
    "returns.ReturnPolicy",
    "returns.ReturnRequest",
    "returns.ReturnLine",
    "returns.ReturnEvent",
    "returns.CustomerCase",
    "returns.PostSaleAnswer",
    "returns.FollowUp",
    "returns.DashboardDay",
    "returns.DashboardSales",
]

# Written only by services: the admin shows them and nothing more.
READ_ONLY_MODELS = [
    "oms.OutboxEvent",
    "oms.AuditEntry",
    "customers.CustomerMetrics",
    "inventory.StockLevel",
    "inventory.StockMovement",
    "inventory.Reservation",
    "inventory.PurchaseOrderLine",
    "inventory.PurchaseOrderEvent",
    "orders.Cart",
    "orders.CartLine",
    "orders.Order",
    "orders.OrderLine",
    "orders.OrderEvent",
    "orders.Payment",
    "orders.PaymentTransaction",
    "orders.IdempotencyKey",
    "accounting.JournalEntry",
    "accounting.JournalLine",
    "accounting.Invoice",
    "accounting.InvoiceLine",
    "accounting.InvoicePayment",
    "accounting.InvoiceReminder",
    "accounting.SupplierInvoice",
    "accounting.SupplierPayment",
    "orders.Quote",
    "orders.QuoteLine",
    "orders.QuoteEvent",
    "returns.ReturnRequest",
    "returns.ReturnLine",
    "returns.ReturnEvent",
    "returns.PostSaleAnswer",
    "returns.FollowUp",
    "returns.DashboardDay",
    "returns.DashboardSales",
]

EDITABLE_MODELS = [
    "oms.Channel",
    "oms.StaffToken",
    "oms.PostalCode",
    "customers.Customer",
    "customers.Address",
    "customers.Contact",
    "inventory.Product",
    "inventory.SKU",
    "inventory.Warehouse",
    "inventory.Zone",
    "inventory.Bin",
    "inventory.SKUBin",
    "inventory.Transfer",
    "inventory.Supplier",
    "inventory.SupplierSKU",
    "inventory.PurchaseOrder",
    "inventory.ReorderRule",
    "orders.PriceListEntry",
    "orders.TaxRate",
    "accounting.Account",
    "accounting.ExchangeRate",
    "accounting.Period",
    "returns.ReturnPolicy",
    "returns.CustomerCase",
]

_serial = count(1)


# --- Fixtures (built through the services) ---------------------------------------


@dataclass
class _AdminCatalog:
    channel: Channel
    sku: SKU
    warehouse: Warehouse


def _admin_make_sku(product: Product, code: str) -> SKU:
    return SKU.objects.create(
        product=product,
        code=code,
        barcode=make_ean13("299", next(_serial)),
        name=f"Trail shoe {code}",
        weight_grams=900,
        length_mm=330,
        width_mm=210,
        height_mm=120,
        unit_cost=Decimal("20.00"),
        cost_currency="USD",
    )


def _admin_make_catalog() -> _AdminCatalog:
    channel = Channel.objects.create(
        code="ADMWEB",
        name="Admin test web store",
        kind=Channel.Kind.WEB,
        currency="USD",
        shipping_flat_rate=Decimal("5.00"),
    )
    product = Product.objects.create(name="Trail shoe", category="shoes", brand="Acme")
    sku = _admin_make_sku(product, "ADM-SHOE-42")
    warehouse = Warehouse.objects.create(
        code="ADM-DC1",
        name="Reno DC",
        kind=Warehouse.Kind.DC,
        city="Reno",
        region="NV",
        country="US",
        latitude=Decimal("39.529600"),
        longitude=Decimal("-119.813800"),
    )
    PriceListEntry.objects.create(channel=channel, sku=sku, unit_price=Decimal("50.00"))
    stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=500, reference="po:admin-1")
    return _AdminCatalog(channel=channel, sku=sku, warehouse=warehouse)


def _admin_place(
    catalog: _AdminCatalog,
    *,
    email: str,
    quantity: int = 1,
    sku: SKU | None = None,
    idempotency_key: str | None = None,
    is_vip: bool = False,
) -> Order:
    data = OrderInput(
        channel=catalog.channel,
        actor=Actor.system(),
        currency="USD",
        customer=CustomerInput(email=email, first_name="Ada", last_name="Lovelace"),
        shipping_address={
            "name": "Ada Lovelace",
            "line1": "1 Main Street",
            "city": "Reno",
            "region": "NV",
            "postal_code": "89501",
            "country": "US",
        },
        lines=[LineInput(sku=(sku or catalog.sku).code, quantity=quantity)],
        payment=PaymentInput(
            gateway="test",
            card=CardDetails(number="4242424242424242", exp_month=12, exp_year=2035, cvc="123"),
        ),
        is_vip=is_vip,
    )
    return order_place(data=data, idempotency_key=idempotency_key).order


def _admin_structure_and_operations(warehouse: Warehouse, sku) -> None:
    """A zone, bin, SKU bin assignment, transfer and count sheet in a new warehouse."""
    from inventory.models import Bin, SKUBin, Zone
    from inventory.operations import count_start, transfer_create

    zone = Zone.objects.create(warehouse=warehouse, code="A", name="Ambient", walk_sequence=1)
    bin_ = Bin.objects.create(
        warehouse=warehouse,
        zone=zone,
        code="A-01-02-03",
        aisle="A",
        rack="01",
        shelf="02",
        position="03",
        walk_sequence=10,
    )
    SKUBin.objects.create(sku=sku, warehouse=warehouse, bin=bin_, kind=SKUBin.Kind.PRIMARY)
    other = Warehouse.objects.exclude(pk=warehouse.pk).order_by("pk").first()
    transfer_create(
        from_warehouse_id=warehouse.pk, to_warehouse_id=other.pk, lines=[(sku.pk, 1)], actor=Actor.system()
    )
    count_start(warehouse_id=warehouse.pk, actor=Actor.system())
    _admin_purchase_order(warehouse, sku)


def _admin_purchase_order(warehouse: Warehouse, sku) -> None:
    """A supplier with a price for the SKU, and an order for it partly received."""
    from inventory.models import ReorderRule, Supplier, SupplierSKU
    from inventory.purchasing import purchase_order_create, purchase_order_receive, purchase_order_send

    supplier = Supplier.objects.create(
        code=f"SUP-{warehouse.code}", name=f"Supplier {warehouse.code}", currency="USD"
    )
    SupplierSKU.objects.create(supplier=supplier, sku=sku, unit_cost=Decimal("3.00"))
    ReorderRule.objects.create(sku=sku, warehouse=warehouse, reorder_point=2, order_up_to=20)
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=warehouse.pk, lines=[(sku.pk, 10)], actor=Actor.system()
    )
    purchase_order_send(po_id=po.pk, actor=Actor.system())
    purchase_order_receive(po_id=po.pk, receipts={sku.pk: 4}, actor=Actor.system())


def _admin_receivables(n: int, day: date) -> None:
    """An invoice partly paid and reminded, and a supplier invoice paid."""
    from accounting.invoicing import (
        InvoiceInput,
        InvoiceLineInput,
        invoice_issue,
        invoice_payment_record,
        supplier_invoice_record,
        supplier_payment_record,
    )
    from accounting.models import InvoiceReminder

    system = Actor.system()
    line = InvoiceLineInput(
        sku="SHOE", description="Shoe", quantity=2, unit_price=Decimal("20"), net_amount=Decimal("40")
    )
    invoice = invoice_issue(
        data=InvoiceInput(
            source_ref=f"admin:{n}",
            customer_id=n,
            customer_name=f"Buyer {n}",
            customer_email=f"b{n}@example.com",
            currency="USD",
            terms_days=30,
            lines=[line],
            order_ref=f"{n:08d}",
        ),
        day=day,
        actor=system,
    )
    invoice_payment_record(
        invoice_id=invoice.pk, amount=Decimal("10"), day=day, reference=f"B{n}", actor=system
    )
    InvoiceReminder.objects.create(invoice=invoice, level=1, days_overdue=3, sent_to=invoice.customer_email)
    bill = supplier_invoice_record(
        supplier_id=n, supplier_name=f"Supplier {n}", number=f"S-{n}", currency="USD", issue_date=day,
        due_date=day, net_total=Decimal("30"), tax_total=Decimal("0"), actor=system,
    )  # fmt: skip
    supplier_payment_record(
        supplier_invoice_id=bill.pk, amount=Decimal("30"), day=day, reference=f"O{n}", actor=system
    )


def _admin_quote(catalog: _AdminCatalog, n: int, sku) -> None:
    """A sent quote for a trade customer on account."""
    from orders.services.quotes import QuoteInput, QuoteLineInput, quote_create, quote_send

    buyer = customer_create(
        channel=catalog.channel,
        email=f"trade{n}@example.com",
        company=f"Trade {n}",
        payment_terms_days=30,
        addresses=[{"name": f"Trade {n}", "line1": "3 Dock Rd", "city": "Reno", "country": "US"}],
    )
    quote = quote_create(
        data=QuoteInput(
            channel=catalog.channel,
            customer_id=buyer.pk,
            valid_until=timezone.localdate() + timedelta(days=30),
            lines=[QuoteLineInput(sku=sku.code, quantity=2)],
        ),
        actor=Actor.system(),
    )
    quote_send(quote_id=quote.pk, actor=Actor.system())


def _admin_returns(catalog: _AdminCatalog, n: int, other_channel: Channel, store: Warehouse) -> None:
    """An order collected in store, one return of it authorized and one
    waiting for review (with its case), the customer's post-sale answer (a
    missing item: another case) and follow-up, and a policy for a channel."""
    from fulfillment.models import Box, FulfillmentOrder
    from fulfillment.packing import pack_complete, pack_scan
    from fulfillment.services.lifecycle import fulfillment_order_create
    from fulfillment.shipping import pickup_collect
    from returns.answers import post_sale_answer_record
    from returns.models import FollowUp, ReturnPolicy
    from returns.services import ReturnLineInput, return_request

    system = Actor.system()
    Box.objects.get_or_create(
        code="ADM-BOX",
        defaults={
            "name": "Admin test box",
            "inner_length_mm": 600,
            "inner_width_mm": 400,
            "inner_height_mm": 400,
            "empty_weight_grams": 300,
            "max_weight_grams": 30000,
            "cost": Decimal("1.00"),
        },
    )
    order = _admin_place(catalog, email=f"returner{n}@example.com", quantity=2)
    [line] = order.lines.all()
    fo = fulfillment_order_create(
        order=order,
        warehouse_id=order.warehouse_id,
        lines=[(line, 2)],
        actor=system,
        method=FulfillmentOrder.Method.PICKUP,
    )
    pack_scan(fulfillment_order_id=fo.pk, barcode=catalog.sku.barcode, actor=system, quantity=2)
    pack_complete(fulfillment_order_id=fo.pk, actor=system)
    pickup_collect(fulfillment_order_id=fo.pk, actor=system)
    return_request(
        order_id=order.pk,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=1, reason="size_fit", note="Too small")],
        actor=system,
        source="staff",
    )
    return_request(
        order_id=order.pk,
        lines=[ReturnLineInput(order_line_id=line.pk, quantity=1, reason="defective")],
        actor=system,
        source="staff",
        allow_review=True,
        today=timezone.localdate() + timedelta(days=365),  # long past the return window
    )
    post_sale_answer_record(order_id=order.pk, kind="rating", value="4")
    post_sale_answer_record(order_id=order.pk, kind="arrived", value="missing", comment="No laces")
    FollowUp.objects.create(order=order, sent_at=timezone.now())
    policy = ReturnPolicy.objects.create(
        channel=other_channel, window_days=14, non_returnable_categories=["gift cards"]
    )
    policy.locations.add(store)


def _admin_integrations(catalog: _AdminCatalog, n: int, other_channel: Channel) -> None:
    """A platform integration with a held delivery, and a webhook subscriber with a delivery."""
    from oms.models_webhooks import WebhookDelivery, WebhookSubscription
    from orders.models_intake import ChannelIntegration, InboundOrder

    ChannelIntegration.objects.create(channel=other_channel, platform="shopify", webhook_secret=f"s{n}")
    InboundOrder.objects.create(
        channel=other_channel,
        platform="shopify",
        external_id=f"{n}",
        payload={"id": n},
        status="held",
        reason="unknown SKU 'shoe'",
    )
    hook = WebhookSubscription.objects.create(
        name=f"ERP {n}", url=f"https://erp{n}.example.com/hooks", secret="x", event_types=["order.placed"]
    )
    WebhookDelivery.objects.create(
        subscription=hook,
        event_id=n,
        event_type="order.placed",
        payload={"id": f"evt_{n}"},
        next_attempt_at=timezone.now(),
    )


def _admin_grow(catalog: _AdminCatalog) -> None:
    """Add a row to every table the admin lists."""
    n = next(_serial)
    other_channel = Channel.objects.create(
        code=f"ADMPOS{n}", name=f"Store till {n}", kind=Channel.Kind.STORE, currency="EUR"
    )
    ChannelToken.issue(channel=other_channel, name=f"till {n}")
    _admin_integrations(catalog, n, other_channel)
    ChannelToken.issue(channel=catalog.channel, name=f"key {n}")
    staff = get_user_model().objects.create_user(f"keyholder{n}", is_staff=True)
    StaffToken.issue(user=staff, name=f"script {n}")
    product = Product.objects.create(name=f"Product {n}", category="shoes", brand=f"Brand {n}")
    sku = _admin_make_sku(product, f"ADM-GROW-{n}")
    PriceListEntry.objects.create(channel=catalog.channel, sku=sku, unit_price=Decimal("12.50"))
    warehouse = Warehouse.objects.create(
        code=f"ADM-ST{n}",
        name=f"Store {n}",
        kind=Warehouse.Kind.STORE,
        city="Sparks",
        country="US",
        latitude=Decimal("39.534900"),
        longitude=Decimal("-119.752700"),
        allows_pickup=True,
    )
    stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=5, reference=f"po:grow-{n}")
    _admin_structure_and_operations(warehouse, sku)
    day = date(2026, 1, 1) + timedelta(days=n)
    ExchangeRate.objects.create(currency="EUR", day=day, rate=Decimal("1.08"))
    Period.objects.create(year=2000 + n, month=1)
    Account.objects.create(code=f"6{n:03d}", name=f"Expense {n}", type=Account.Type.EXPENSE)
    journal_post(
        day=day,
        memo=f"Sale {n}",
        source_type="admin-test",
        source_ref=f"order:{n}",
        postings=[Posting("1100", debit=Decimal("10.80")), Posting("4000", credit=Decimal("10.80"))],
        actor=Actor.system(),
    )
    _admin_receivables(n, day)
    PostalCode.objects.create(
        country="US", postal_code=f"{89500 + n}", place_name=f"Reno {n}", latitude=39.5, longitude=-119.8
    )
    TaxRate.objects.create(country="US", region=f"R{n}", rate=Decimal("0.05"), name=f"State tax {n}")
    grown = customer_create(
        channel=catalog.channel,
        email=f"grow{n}@example.com",
        tags=[f"tag{n}"],
        addresses=[{"name": f"Grow {n}", "line1": "2 Side St", "city": "Reno", "country": "US"}],
    )
    contact_add(customer=grown, name=f"Buyer {n}", email=f"buyer.{n}@example.com", is_primary=True)
    consent_record(customer=grown, purpose="email_marketing", granted=True, source="checkout")
    _admin_quote(catalog, n, sku)
    cart_create(
        channel=catalog.channel, email=f"cart{n}@example.com", ship_country="US", lines=[(sku.code, 1)]
    )
    placed = _admin_place(
        catalog, email=f"buyer{n}@example.com", sku=sku, idempotency_key=f"grow-{n}", is_vip=n % 2 == 0
    )
    # A day of its own in the dashboard's sales summary.
    from returns.dashboard.kpis import dashboard_days_refresh

    Order.objects.filter(pk=placed.pk).update(placed_at=timezone.now() - timedelta(days=n))
    summary_day = timezone.localdate() - timedelta(days=n)
    dashboard_days_refresh(first=summary_day, last=summary_day)
    from returns.metrics import customer_metrics_refresh

    customer_metrics_refresh()
    _admin_returns(catalog, n, other_channel, warehouse)
    AuditEntry.objects.create(action="request", username=f"grower{n}", method="POST", path=f"/admin/x/{n}/")


@pytest.fixture
def _admin_catalog() -> _AdminCatalog:
    return _admin_make_catalog()


@pytest.fixture
def _admin_world(_admin_catalog: _AdminCatalog) -> _AdminCatalog:
    """At least one row in every admin-listed table."""
    _admin_grow(_admin_catalog)
    OutboxEvent.objects.create(
        topic="test.failed",
        payload={"n": 1},
        available_at=timezone.now(),
        attempts=12,
        failed_at=timezone.now(),
        last_error="boom",
    )
    return _admin_catalog


def _model(label: str):
    return apps.get_model(label)


def _changelist_url(label: str) -> str:
    opts = _model(label)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def _url(label: str, view: str, *args: object) -> str:
    opts = _model(label)._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _messages(response) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in response.context["messages"]]


def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


# --- Registration and pages ---------------------------------------------------------


def test_every_model_is_registered():
    models = [m for label in ADMIN_APPS for m in apps.get_app_config(label).get_models()]
    missing = [m._meta.label for m in models if m not in admin.site._registry]
    assert missing == [], "every model of these apps needs an admin (and a row in ADMIN_MODELS)"
    assert set(ADMIN_MODELS) <= {m._meta.label for m in models}


@pytest.mark.parametrize("label", ADMIN_MODELS)
def test_changelist_and_change_page_render(admin_client, _admin_world, label):
    model = _model(label)
    assert admin_client.get(_changelist_url(label)).status_code == 200
    for term in ("1", "00000001", "shoe", str(timezone.now().year)):
        assert admin_client.get(_changelist_url(label), {"q": term}).status_code == 200

    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"the fixture made no {label}"
    response = admin_client.get(_url(label, "change", obj.pk))
    assert response.status_code == 200
    if label in EDITABLE_MODELS:
        assert admin_client.get(_url(label, "add")).status_code == 200


@pytest.mark.parametrize("label", READ_ONLY_MODELS)
def test_service_owned_records_are_read_only(admin_client, _admin_world, admin_user, rf, label):
    model_admin = admin.site._registry[_model(label)]
    request = rf.get("/")
    request.user = admin_user
    obj = _model(label).objects.order_by("pk").first()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert "delete_selected" not in model_admin.get_actions(request)
    response = admin_client.get(_url(label, "change", obj.pk))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content


def test_stock_movement_admin_refuses_add_change_and_delete(admin_client, _admin_catalog):
    movement = StockMovement.objects.get()
    before = (movement.kind, movement.on_hand_delta, movement.reference)

    assert admin_client.get(_url("inventory.StockMovement", "add")).status_code == 403
    response = admin_client.post(
        _url("inventory.StockMovement", "change", movement.pk),
        {"kind": "adjustment", "on_hand_delta": 1000, "reference": "tampered"},
    )
    assert response.status_code == 403
    assert admin_client.get(_url("inventory.StockMovement", "delete", movement.pk)).status_code == 403
    assert (
        admin_client.post(_url("inventory.StockMovement", "delete", movement.pk), {"post": "yes"}).status_code
        == 403
    )

    movement.refresh_from_db()
    assert (movement.kind, movement.on_hand_delta, movement.reference) == before
    # The view page still shows the whole row, timestamps included.
    response = admin_client.get(_url("inventory.StockMovement", "change", movement.pk))
    assert response.status_code == 200
    assert b"po:admin-1" in response.content
    assert b"Created at" in response.content


# --- Orders ---------------------------------------------------------------------------


def test_cancel_action_cancels_and_reports_the_ones_it_cannot(admin_client, admin_user, _admin_catalog):
    allocated = _admin_place(_admin_catalog, email="ada@example.com", quantity=3)
    already = _admin_place(_admin_catalog, email="grace@example.com", quantity=2)
    order_cancel(order_id=already.pk, actor=Actor.system(), reason="customer changed their mind")
    level = StockLevel.objects.get(sku=_admin_catalog.sku, warehouse=_admin_catalog.warehouse)
    assert level.allocated == 3

    response = admin_client.post(
        _changelist_url("orders.Order"),
        {"action": "cancel_orders", ACTION_CHECKBOX_NAME: [allocated.pk, already.pk]},
        follow=True,
    )

    assert response.status_code == 200
    allocated.refresh_from_db()
    level.refresh_from_db()
    assert allocated.status == Order.Status.CANCELLED
    assert level.allocated == 0
    assert level.on_hand == 500
    event = allocated.events.get(kind="cancelled")
    assert (event.actor_type, event.actor_user, event.message) == (
        OrderEvent.Actor.STAFF,
        admin_user,
        "Cancelled by staff in admin",
    )
    assert allocated.payments.get().status == "voided"
    sent = _messages(response)
    errors = [text for level_, text in sent if level_ == message_levels.ERROR]
    assert len(errors) == 1
    assert already.number in errors[0]
    assert "cancelled" in errors[0]
    assert (message_levels.SUCCESS, "Cancelled 1 order(s).") in sent


def test_cancel_action_needs_the_change_order_permission(client, django_user_model, _admin_catalog):
    order = _admin_place(_admin_catalog, email="ada@example.com")
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    response = client.get(_changelist_url("orders.Order"))
    assert response.status_code == 200
    assert b"cancel_orders" not in response.content

    client.post(
        _changelist_url("orders.Order"), {"action": "cancel_orders", ACTION_CHECKBOX_NAME: [order.pk]}
    )
    order.refresh_from_db()
    assert order.status == Order.Status.ALLOCATED


def test_order_search_by_number_email_and_special_code(admin_client, _admin_catalog):
    order = _admin_place(_admin_catalog, email="ada@example.com", is_vip=True)
    _admin_place(_admin_catalog, email="grace@example.com")
    for term in (order.number, str(order.pk), "ada@example", order.special_code.lower()):
        response = admin_client.get(_changelist_url("orders.Order"), {"q": term})
        assert [o.pk for o in response.context["cl"].result_list] == [order.pk], term


def test_order_page_shows_lines_payment_and_history(admin_client, _admin_catalog):
    order = _admin_place(_admin_catalog, email="ada@example.com", quantity=2)
    response = admin_client.get(_url("orders.Order", "change", order.pk))
    assert response.status_code == 200
    content = response.content.decode()
    assert "ADM-SHOE-42" in content
    assert "1 Main Street" in content
    assert "placed" in content
    assert "4242" in content
    assert "4242424242424242" not in content


def test_order_changelist_query_count_does_not_grow_with_orders(admin_client, _admin_catalog):
    for i in range(3):
        _admin_place(_admin_catalog, email=f"buyer{i}@example.com", is_vip=i == 0)
    url = _changelist_url("orders.Order")
    admin_client.get(url)  # warm up (session, caches)
    with_3 = _count_queries(admin_client, url)

    for i in range(3, 30):
        _admin_place(_admin_catalog, email=f"buyer{i}@example.com", is_vip=i % 5 == 0)
    assert Order.objects.count() == 30
    with_30 = _count_queries(admin_client, url)
    assert with_30 == with_3


@pytest.mark.parametrize("label", ADMIN_MODELS)
def test_changelist_query_count_does_not_grow_with_rows(admin_client, _admin_world, label):
    url = _changelist_url(label)
    admin_client.get(url)
    before = _count_queries(admin_client, url)
    rows = _model(label).objects.count()
    for _ in range(3):
        _admin_grow(_admin_world)
    assert _model(label).objects.count() > rows
    assert _count_queries(admin_client, url) == before


# --- Channels and API keys -----------------------------------------------------------


def test_issue_key_action_shows_the_raw_key_once_and_stores_only_its_hash(admin_client, _admin_catalog):
    channel = _admin_catalog.channel
    response = admin_client.post(
        _changelist_url("oms.Channel"),
        {"action": "issue_api_key", ACTION_CHECKBOX_NAME: [channel.pk]},
        follow=True,
    )
    assert response.status_code == 200
    [(level, text)] = _messages(response)
    assert level == message_levels.SUCCESS
    raw_key = re.search(r"oms_[A-Za-z0-9_-]{20,}", text).group(0)

    token = ChannelToken.objects.get(channel=channel)
    assert token.key_hash == hash_token(raw_key)
    assert token.prefix == raw_key[:12]
    assert raw_key not in (token.name, token.key_hash, token.prefix)

    # Never again: not on the next page, the channel's page or the key's page.
    for url in (
        _changelist_url("oms.Channel"),
        _url("oms.Channel", "change", channel.pk),
        _url("oms.ChannelToken", "change", token.pk),
        _changelist_url("oms.ChannelToken"),
    ):
        response = admin_client.get(url)
        assert response.status_code == 200
        assert raw_key.encode() not in response.content


def test_api_keys_cannot_be_added_through_a_form(admin_client, _admin_catalog):
    assert admin_client.get(_url("oms.ChannelToken", "add")).status_code == 403


def test_revoke_action_revokes_active_keys(admin_client, _admin_catalog):
    token, _raw = ChannelToken.issue(channel=_admin_catalog.channel, name="pos")
    admin_client.post(
        _changelist_url("oms.ChannelToken"), {"action": "revoke_keys", ACTION_CHECKBOX_NAME: [token.pk]}
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_channel_code_and_currency_are_fixed_once_created(admin_client, _admin_catalog):
    response = admin_client.get(_url("oms.Channel", "change", _admin_catalog.channel.pk))
    form = response.context["adminform"].form
    assert "code" not in form.fields
    assert "currency" not in form.fields
    assert "name" in form.fields


# --- Outbox ----------------------------------------------------------------------------


def test_dispatch_action_delivers_due_events(admin_client, _admin_catalog, mailoutbox):
    order = _admin_place(_admin_catalog, email="ada@example.com")
    event = OutboxEvent.objects.get(topic="order.placed")
    response = admin_client.post(
        _changelist_url("oms.OutboxEvent"),
        {"action": "dispatch_due_events", ACTION_CHECKBOX_NAME: [event.pk]},
        follow=True,
    )
    assert response.status_code == 200
    event.refresh_from_db()
    assert event.dispatched_at is not None
    assert [m.to for m in mailoutbox] == [[order.email]]
    assert any("Delivered 1 event(s)" in text for _level, text in _messages(response))


def test_retry_action_requeues_failed_events(admin_client, _admin_catalog):
    long_ago = timezone.now() - timedelta(days=1)
    failed = OutboxEvent.objects.create(
        topic="test.nothing", available_at=long_ago, attempts=12, failed_at=long_ago, last_error="boom"
    )
    done = OutboxEvent.objects.create(topic="test.nothing", available_at=long_ago, dispatched_at=long_ago)
    admin_client.post(
        _changelist_url("oms.OutboxEvent"),
        {"action": "retry_failed_events", ACTION_CHECKBOX_NAME: [failed.pk, done.pk]},
    )
    failed.refresh_from_db()
    done.refresh_from_db()
    assert failed.failed_at is None
    assert failed.available_at > long_ago
    assert done.dispatched_at == long_ago


# --- Customers and catalogue ---------------------------------------------------------------


def _customer_post(channel: Channel, email: str, **extra: object) -> dict:
    return {
        "channel": channel.pk,
        "external_id": "",
        "email": email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "",
        "company": "",
        "tags": "vip-candidate, newsletter",
        "notes": "",
        "addresses-TOTAL_FORMS": "1",
        "addresses-INITIAL_FORMS": "0",
        "addresses-MIN_NUM_FORMS": "0",
        "addresses-MAX_NUM_FORMS": "1000",
        "addresses-0-name": "Ada Lovelace",
        "addresses-0-line1": "1 Main Street",
        "addresses-0-city": "Reno",
        "addresses-0-country": "US",
        **{
            f"{prefix}-{name}": value
            for prefix in ("contacts", "consents", "metrics")
            for name, value in (("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0"))
        },
        **extra,
    }


def test_customer_added_in_admin_goes_through_the_service(admin_client, _admin_catalog):
    response = admin_client.post(
        _url("customers.Customer", "add"), _customer_post(_admin_catalog.channel, " Ada@Example.COM ")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    customer = Customer.objects.get()
    assert customer.email == "ada@example.com"
    assert customer.tags == ["vip-candidate", "newsletter"]
    assert Address.objects.get().customer == customer

    # Order intake finds the same customer by its normalized e-mail.
    order = _admin_place(_admin_catalog, email="ADA@example.com")
    assert order.customer == customer

    duplicate = admin_client.post(
        _url("customers.Customer", "add"), _customer_post(_admin_catalog.channel, "ada@EXAMPLE.com")
    )
    assert duplicate.status_code == 200
    assert "email" in duplicate.context["adminform"].form.errors
    assert Customer.objects.count() == 1


def test_customer_edit_and_filters(admin_client, _admin_catalog):
    customer = customer_create(channel=_admin_catalog.channel, email="ada@example.com", tags=["wholesale"])
    response = admin_client.post(
        _url("customers.Customer", "change", customer.pk),
        _customer_post(
            _admin_catalog.channel, "Ada.L@Example.com", is_vip="on", **{"addresses-TOTAL_FORMS": "0"}
        ),
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.email, customer.is_vip) == ("ada.l@example.com", True)

    url = _changelist_url("customers.Customer")
    assert admin_client.get(url, {"tag": "newsletter"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"tag": "wholesale"}).context["cl"].result_count == 0
    assert admin_client.get(url, {"is_vip__exact": "1"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"q": "Lovelace"}).context["cl"].result_count == 1


def test_sku_list_shows_stock_totals(admin_client, _admin_catalog):
    _admin_place(_admin_catalog, email="ada@example.com", quantity=4)
    response = admin_client.get(_changelist_url("inventory.SKU"), {"q": "ADM-SHOE"})
    [sku] = response.context["cl"].result_list
    assert (sku.total_on_hand, sku.total_available) == (500, 496)


def test_stock_level_list_is_the_consolidated_view(admin_client, _admin_catalog):
    _admin_place(_admin_catalog, email="ada@example.com", quantity=7)
    url = _changelist_url("inventory.StockLevel")
    response = admin_client.get(url, {"warehouse__id__exact": _admin_catalog.warehouse.pk})
    [level] = response.context["cl"].result_list
    assert (level.available_qty, level.demand, level.incoming) == (493, 7, 0)
    assert b"Days of cover" in response.content
    assert admin_client.get(url, {"status": "out"}).context["cl"].result_count == 0
    # 7 sold in 28 days is 0.25 a day: 493 available last ~1972 days, far past OVERSTOCK_DAYS.
    assert admin_client.get(url, {"status": "over", "q": "ADM-SHOE-42"}).context["cl"].result_count == 1
    assert admin_client.get(url, {"status": "low", "q": "ADM-SHOE-42"}).context["cl"].result_count == 0

    assert admin_client.get(url, {"q": "ADM-SHOE-42"}).context["cl"].result_count == 1


def test_related_list_links_are_allowed_lookups(admin_client, _admin_catalog):
    order = _admin_place(_admin_catalog, email="ada@example.com")
    for label, params in (
        ("orders.Order", {"customer__id__exact": order.customer_id}),
        ("inventory.StockMovement", {"sku__id__exact": _admin_catalog.sku.pk}),
        ("inventory.StockLevel", {"warehouse__id__exact": _admin_catalog.warehouse.pk}),
    ):
        response = admin_client.get(_changelist_url(label), params)
        assert response.status_code == 200
        assert response.context["cl"].result_count >= 1


# --- Returns and post-sale -------------------------------------------------------------------


def test_return_actions_go_through_the_services(admin_client, admin_user, _admin_world):
    from returns.models import ReturnRequest

    waiting = ReturnRequest.objects.get(status="requested")
    authorized = ReturnRequest.objects.get(status="authorized")
    url = _changelist_url("returns.ReturnRequest")
    response = admin_client.post(
        url, {"action": "authorize_returns", ACTION_CHECKBOX_NAME: [waiting.pk, authorized.pk]}, follow=True
    )
    waiting.refresh_from_db()
    assert waiting.status == "authorized"
    event = waiting.events.get(kind="authorized")
    assert (event.actor_type, event.actor_user, event.from_status) == ("staff", admin_user, "requested")
    sent = _messages(response)
    assert (message_levels.SUCCESS, "Authorized 1 return(s).") in sent
    [error] = [text for level, text in sent if level == message_levels.ERROR]
    assert authorized.number in error and "authorized" in error

    admin_client.post(url, {"action": "cancel_returns", ACTION_CHECKBOX_NAME: [authorized.pk]})
    authorized.refresh_from_db()
    assert authorized.status == "cancelled"
    assert authorized.events.get(kind="cancelled").message == "Cancelled by staff in admin"


def test_return_page_shows_lines_and_history_and_search_finds_the_rma(admin_client, _admin_world):
    from returns.models import ReturnRequest

    request = ReturnRequest.objects.get(status="authorized")
    content = admin_client.get(_url("returns.ReturnRequest", "change", request.pk)).content.decode()
    assert request.number in content and "Too small" in content and "requested" in content
    assert 'name="_save"' not in content
    for term in (request.number, request.number.lower()):
        response = admin_client.get(_changelist_url("returns.ReturnRequest"), {"q": term})
        assert [r.pk for r in response.context["cl"].result_list] == [request.pk]


def test_case_queue_lists_open_cases_first_and_staff_work_them(admin_client, admin_user, _admin_world):
    from returns.models import CustomerCase

    cases = list(CustomerCase.objects.order_by("pk"))
    assert {c.kind for c in cases} == {"return_review", "missing_item"}
    first, second = cases[0], cases[1]
    CustomerCase.objects.filter(pk=first.pk).update(status="resolved", resolved_at=timezone.now())
    url = _changelist_url("returns.CustomerCase")
    listed = [c.pk for c in admin_client.get(url).context["cl"].result_list]
    assert listed[-1] == first.pk and listed[0] == second.pk
    assert first.pk not in [c.pk for c in admin_client.get(url, {"queue": "todo"}).context["cl"].result_list]
    assert admin_client.get(url, {"queue": "mine"}).context["cl"].result_count == 0

    form = admin_client.get(_url("returns.CustomerCase", "change", second.pk)).context["adminform"].form
    assert set(form.fields) == {"status", "assigned_to"}
    response = admin_client.post(
        _url("returns.CustomerCase", "change", second.pk),
        {"status": "resolved", "assigned_to": admin_user.pk, "subject": "tampered"},
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert (second.status, second.assigned_to, second.subject) == ("resolved", admin_user, cases[1].subject)
    assert second.resolved_at is not None
    assert admin_client.get(url, {"queue": "mine"}).context["cl"].result_count == 1
