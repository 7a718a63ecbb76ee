"""manage.py demo_data: a consistent shop, loaded through the services, once."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from accounting.models import JournalEntry
from customers.models import Customer
from fulfillment.models import Box, Carrier, FulfillmentOrder, PickList
from inventory.barcodes import barcode_problem
from inventory.models import (
    SKU,
    Bin,
    BinStock,
    CountSheet,
    PurchaseOrder,
    ReorderRule,
    Reservation,
    SKUBin,
    StockAlert,
    StockLevel,
    StockMovement,
    SupplierSKU,
    Transfer,
    Warehouse,
)
from oms.management.commands.demo_data import README_SKU, demo_keys
from oms.models import Channel, ChannelToken, OutboxEvent, PostalCode, hash_token
from oms.reconcile import registered_checks
from orders.models import Order, OrderEvent, PriceListEntry, TaxRate

pytestmark = pytest.mark.django_db


def load_demo(orders: int = 30, skus: int = 40) -> str:
    out = StringIO()
    call_command("demo_data", "--orders", str(orders), "--skus", str(skus), stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, int]:
    models = [Channel, ChannelToken, Warehouse, SKU, PriceListEntry, TaxRate, Customer, Order, StockMovement]
    return {model.__name__: model.objects.count() for model in models}


def test_demo_data_builds_a_consistent_shop():
    # One load (it takes a few seconds), checked from every side.
    out = load_demo()
    assert "Demo data loaded" in out
    check_channels_locations_and_catalogue()
    check_demo_keys()
    check_orders_are_history()
    check_warehouse_side()
    check_shipping_side()
    check_stock_levels_equal_the_ledger()
    check_books()
    check_returns()


def check_channels_locations_and_catalogue():
    channels = list(Channel.objects.all())
    assert len(channels) >= 3
    assert len({c.currency for c in channels}) >= 2
    assert {c.code for c in channels} >= {"WEB", "EU-WEB", "MARKET"}

    warehouses = list(Warehouse.objects.all())
    assert len(warehouses) >= 4
    assert len({w.country for w in warehouses}) >= 2
    assert all(w.latitude and w.longitude for w in warehouses)
    assert any(w.kind == Warehouse.Kind.STORE and w.allows_pickup for w in warehouses)

    skus = list(SKU.objects.all())
    assert len(skus) == 40
    assert all(barcode_problem(s.barcode) is None for s in skus), [s.barcode for s in skus]
    assert len({s.product.category for s in SKU.objects.select_related("product")}) >= 4
    assert SKU.objects.filter(code=README_SKU).exists()

    # Every SKU has a price on every channel that does not set its own, in its currency.
    for channel in channels:
        prices = PriceListEntry.objects.filter(channel=channel)
        assert prices.count() == (0 if channel.price_authority else len(skus)), channel.code

    assert TaxRate.objects.filter(country="US", region="NY").exists()
    assert TaxRate.objects.filter(country="GB", region="").exists()


def check_demo_keys():
    web = Channel.objects.get(code="WEB")
    assert ChannelToken.objects.filter(channel=web, key_hash=hash_token("demo-web-token")).exists()
    keys = {channel.code: raw for channel, raw in demo_keys()}
    assert keys["WEB"] == "demo-web-token"
    assert set(keys) == set(Channel.objects.values_list("code", flat=True))


def check_orders_are_history():
    orders = Order.objects.all()
    assert orders.count() >= 25  # a basket no warehouse can ship is redrawn, rarely dropped
    assert orders.values("channel").distinct().count() >= 3
    assert orders.filter(status=Order.Status.CANCELLED).exists()
    assert Customer.objects.count() >= 50
    assert OrderEvent.objects.filter(kind="placed").count() == orders.count()

    now = timezone.now()
    assert all(o.placed_at <= now for o in orders)
    assert orders.filter(placed_at__lt=now - timedelta(days=7)).exists()

    # History is not e-mailed again (only today's warehouse work is), and no
    # stock is left on hold.
    pending = OutboxEvent.objects.filter(dispatched_at__isnull=True)
    assert not pending.filter(aggregate__startswith="order:").exists()
    assert not Reservation.objects.filter(status=Reservation.Status.ACTIVE).exists()

    # The ledger carries the history: demand happened on the days the orders were placed.
    allocations = StockMovement.objects.filter(kind=StockMovement.Kind.ALLOCATE)
    assert allocations.filter(created_at__lt=now - timedelta(days=7)).exists()
    first = orders.order_by("placed_at").first()
    assert not StockMovement.objects.filter(
        kind=StockMovement.Kind.RECEIPT, reference="demo:opening", created_at__gte=first.placed_at
    ).exists()


def check_shipping_side():
    assert Carrier.objects.count() >= 2 and Box.objects.count() >= 3
    assert PostalCode.objects.filter(country="US").exists()
    # Every open order was routed: a decision record, and its shipments released
    # (or it waits, held or backordered, with the reason on the decision).
    open_orders = Order.objects.filter(status__in=[Order.Status.ALLOCATED, Order.Status.BACKORDERED])
    assert open_orders.exists()
    for order in open_orders.prefetch_related("sourcing_decisions", "fulfillment_orders"):
        decision = order.sourcing_decisions.all()[0]
        assert decision.candidates and decision.summary, order.number
        if order.status == Order.Status.ALLOCATED:
            assert {fo.status for fo in order.fulfillment_orders.all()} == {FulfillmentOrder.Status.RELEASED}
    # The warehouse worked the older orders: picked, packed, shipped and
    # followed to the door at the moments it happened; today's are released.
    delivered = FulfillmentOrder.objects.filter(status=FulfillmentOrder.Status.DELIVERED)
    assert delivered.exists()
    for fo in delivered.select_related("order")[:10]:
        assert fo.packed_at < fo.shipped_at <= fo.delivered_at <= timezone.now()
        assert fo.order.placed_at < fo.packed_at
        if fo.method == FulfillmentOrder.Method.SHIP:
            assert fo.tracking_number and fo.tracking.filter(status="delivered").exists()
    assert Order.objects.filter(status=Order.Status.DELIVERED, delivered_at__isnull=False).exists()
    assert PickList.objects.filter(status=PickList.Status.DONE).exists()
    # The books took every shipment (the demo's EUR and GBP rates are there) and balance.
    assert JournalEntry.objects.filter(source_type="goods_out").count() == (
        FulfillmentOrder.objects.filter(shipped_at__isnull=False).count()
    )
    checks = registered_checks()
    assert checks["every journal entry balances"]() == checks["the trial balance sums to zero"]() == []
    # Their payments are captured by the worker when it starts (those of the orders
    # that came back already, to refund them); their e-mails were sent at the time.
    from returns.models import ReturnRequest

    returned = set(ReturnRequest.objects.values_list("order_id", flat=True))
    for event in OutboxEvent.objects.filter(topic="shipment.shipped"):
        if event.payload["order_id"] in returned:
            continue
        assert event.dispatched_at is None and event.done_handlers == ["email.order_shipped"]


def check_warehouse_side():
    dc = Warehouse.objects.get(code="DC-NJ")
    assert Bin.objects.filter(warehouse=dc).count() > 50
    # Every SKU a location stocks has its primary bin, and opening stock sits in bins.
    for level in StockLevel.objects.filter(warehouse__kind=Warehouse.Kind.DC).select_related("sku")[:20]:
        assert SKUBin.objects.filter(
            sku=level.sku, warehouse=level.warehouse, kind=SKUBin.Kind.PRIMARY
        ).exists(), level
    assert BinStock.objects.filter(quantity__gt=0).exists()
    assert SupplierSKU.objects.filter(is_preferred=True).count() == SKU.objects.count()
    assert ReorderRule.objects.filter(method=ReorderRule.Method.STATIC).exists()
    assert ReorderRule.objects.filter(method=ReorderRule.Method.FORECAST, computed_at__isnull=False).exists()
    assert Warehouse.objects.filter(kind=Warehouse.Kind.STORE, safety_stock__gt=0).exists()
    # Today's work: purchase orders drafted and sent, one partly received;
    # a transfer on the road; a count waiting for approval; alerts raised.
    assert PurchaseOrder.objects.filter(status=PurchaseOrder.Status.DRAFT).exists()
    assert PurchaseOrder.objects.filter(status=PurchaseOrder.Status.PARTIALLY_RECEIVED).exists()
    assert Transfer.objects.filter(status=Transfer.Status.IN_TRANSIT).exists()
    assert CountSheet.objects.filter(status=CountSheet.Status.SUBMITTED).exists()
    assert StockAlert.objects.filter(kind=StockAlert.Kind.COUNT_VARIANCE).exists()
    assert StockAlert.objects.exclude(kind=StockAlert.Kind.COUNT_VARIANCE).exists()
    # Every reconcile check passes on the demo shop.
    failures = {name: problems for name, check in registered_checks().items() if (problems := check())}
    assert not failures


def check_stock_levels_equal_the_ledger():
    sums = {
        (row["sku_id"], row["warehouse_id"]): (row["on_hand"], row["allocated"], row["reserved"])
        for row in StockMovement.objects.values("sku_id", "warehouse_id").annotate(
            on_hand=Sum("on_hand_delta"), allocated=Sum("allocated_delta"), reserved=Sum("reserved_delta")
        )
    }
    levels = list(StockLevel.objects.all())
    assert levels
    assert len(sums) == len(levels)
    for level in levels:
        expected = sums[(level.sku_id, level.warehouse_id)]
        assert (level.on_hand, level.allocated, level.soft_reserved) == expected, level
        assert level.available >= 0
    assert StockLevel.objects.aggregate(total=Sum("allocated"))["total"] > 0
    nj = StockLevel.objects.get(sku__code=README_SKU, warehouse__code="DC-NJ")
    assert nj.available >= 100


def test_running_it_twice_changes_nothing():
    load_demo(orders=10, skus=20)
    before = snapshot()
    out = load_demo(orders=10, skus=20)
    assert "demo data already loaded" in out
    assert snapshot() == before


def check_books():
    """Wholesale buys on account and is invoiced per shipment; the books agree."""
    from accounting.models import Invoice
    from oms.reconcile import registered_checks

    b2b = Order.objects.filter(channel__code="B2B")
    assert b2b.exists() and not b2b.filter(payment_terms_days__isnull=True).exists()
    assert Invoice.objects.exists()
    assert not Invoice.objects.exclude(order_ref__in=[o.number for o in b2b]).exists()
    checks = registered_checks()
    for name in (
        "every journal entry balances",
        "the trial balance sums to zero",
        "invoices and their payments agree with the ledger",
        "every shipment that left is in the books",
    ):
        assert checks[name]() == [], name


def check_returns():
    """Each channel has a return policy; a few orders came back, one is refunded."""
    from returns.models import ReturnPolicy, ReturnRequest

    assert ReturnPolicy.objects.filter(channel__isnull=False).count() == Channel.objects.count()
    statuses = set(ReturnRequest.objects.values_list("status", flat=True))
    assert ReturnRequest.Status.COMPLETED in statuses, statuses
    assert ReturnRequest.objects.filter(refund_total__gt=0).exists()
    from customers.models import CustomerMetrics

    assert CustomerMetrics.objects.count() == Customer.objects.count()
    assert CustomerMetrics.objects.filter(margin__gt=0).exists()
