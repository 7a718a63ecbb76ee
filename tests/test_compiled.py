"""oms.compiled: ORM reads compiled once per shape, and the one-statement insert."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from customers.models import Customer
from customers.services import customer_for_order
from inventory.atp import Fulfilment, atp_levels
from inventory.models import SafetyStock, StockLevel
from inventory.selectors import _SHIPPING_LEVELS, warehouses_that_can_ship
from oms.compiled import (
    CompiledQuery,
    insert_rows,
    insert_statement,
    insert_unless_taken,
    instance,
    model_columns,
    raw_instances,
)
from oms.models import Channel
from orders.models import Order
from tests.factories import WarehouseFactory, channel_with_key, sku_in_stock
from tests.orders.test_concurrency import run_concurrently

pytestmark = pytest.mark.django_db


def channels_named(shape, *, codes):
    return (
        Channel.objects.filter(code__any=codes, is_active=shape).order_by("code").values("code", "currency")
    )


def test_rows_match_the_orm_and_the_builder_runs_once_per_shape():
    for code in ("A1", "B2", "C3"):
        Channel.objects.create(code=code, name=code, currency="EUR", is_active=code != "C3")
    calls = Counter()

    def build(shape, **values):
        calls[shape] += 1
        return channels_named(shape, **values)

    query = CompiledQuery(build)
    for codes in (["A1", "C3"], ["B2"], [], ["A1", "B2", "C3", "ZZ"]):
        for active in (True, False):
            expected = list(channels_named(active, codes=codes))
            assert query.rows(active, codes=codes) == expected
    assert calls == {True: 1, False: 1}


def test_a_value_that_does_not_reach_the_sql_is_refused():
    query = CompiledQuery(lambda shape, *, code, name: Channel.objects.filter(code=code).values("code"))
    with pytest.raises(ValueError, match="name"):
        query.rows(code="A1", name="unused")


def test_model_rows_are_refused():
    query = CompiledQuery(lambda shape, *, code: Channel.objects.filter(code=code))
    with pytest.raises(ValueError, match="values"):
        query.rows(code="A1")


def test_instances_come_back_as_the_orm_loads_them():
    channel = Channel.objects.create(code="WEB", name="Web", currency="EUR")
    query = CompiledQuery(lambda shape, *, pk: Channel.objects.filter(pk=pk).values(*model_columns(Channel)))
    (row,) = query.rows(pk=channel.pk)
    loaded = instance(Channel, row)
    fresh = Channel.objects.get(pk=channel.pk)
    assert {f.attname: getattr(loaded, f.attname) for f in Channel._meta.concrete_fields} == {
        f.attname: getattr(fresh, f.attname) for f in Channel._meta.concrete_fields
    }
    assert not loaded._state.adding
    assert loaded.get_deferred_fields() == set()


@settings(max_examples=25, deadline=None)
@given(
    stock=st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 5), st.integers(0, 5)), min_size=4, max_size=4
    ),
    overrides=st.lists(st.one_of(st.none(), st.integers(0, 8)), min_size=4, max_size=4),
    served=st.sampled_from(["all", "this", "other"]),
    pick=st.lists(st.integers(0, 1), min_size=1, max_size=2, unique=True),
)
def test_compiled_shipping_levels_equal_the_orm_atp_levels(stock, overrides, served, pick):
    """The compiled read of placement gives what atp_levels gives, row for row."""
    StockLevel.objects.all().delete()
    SafetyStock.objects.all().delete()
    channel, _ = channel_with_key()
    other, _ = channel_with_key()
    warehouses = [WarehouseFactory(safety_stock=2), WarehouseFactory(safety_stock=0)]
    if served != "all":
        warehouses[0].channels.set([channel if served == "this" else other])
    skus = [sku_in_stock(channel=channel, warehouse=warehouses[0], quantity=0) for _ in range(2)]
    cells = [(s, w) for s in skus for w in warehouses]
    for (sku, warehouse), (on_hand, allocated, reserved), override in zip(
        cells, stock, overrides, strict=True
    ):
        StockLevel.objects.update_or_create(
            sku=sku,
            warehouse=warehouse,
            defaults={
                "on_hand": on_hand + allocated + reserved,
                "allocated": allocated,
                "soft_reserved": reserved,
            },
        )
        if override is not None:
            SafetyStock.objects.create(sku=sku, warehouse=warehouse, quantity=override)
    ids = [skus[i].pk for i in pick]
    for channel_id in (channel.pk, None):
        scope = {} if channel_id is None else {"channel": channel_id}
        compiled = {
            (r["sku_id"], r["warehouse_id"]): (r["available_qty"], r["held_back"], r["warehouse__code"])
            for r in _SHIPPING_LEVELS.rows(channel_id is None, skus=ids, **scope)
        }
        orm = {
            (lv.sku_id, lv.warehouse_id): (lv.available_qty, lv.held_back, lv.warehouse.code)
            for lv in atp_levels(ids, channel_id=channel_id, fulfilment=Fulfilment.SHIP).select_related(
                "warehouse"
            )
        }
        assert compiled == orm
        quantities = dict.fromkeys(ids, 1)
        for candidate in warehouses_that_can_ship(quantities, channel_id=channel_id, destination=None):
            assert all(compiled[(sku_id, candidate.warehouse.pk)][0] for sku_id in ids)


def test_insert_unless_taken_is_one_statement_and_skips_a_taken_key():
    channel = Channel.objects.create(code="WEB", name="Web", currency="EUR")
    first = Customer(channel=channel, email="ada@example.com", first_name="Ada")
    with CaptureQueriesContext(connection) as queries:
        assert insert_unless_taken(first) is True
    assert len(queries) == 1 and "ON CONFLICT DO NOTHING" in queries[0]["sql"]
    assert first.pk and Customer.objects.get(pk=first.pk).first_name == "Ada"
    assert not first._state.adding and first.created_at is not None
    # The unique key is on lower(email): another case of the same address is taken.
    again = Customer(channel=channel, email="ADA@example.com", first_name="Other")
    assert insert_unless_taken(again) is False
    assert again.pk is None
    assert Customer.objects.filter(channel=channel).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_concurrent_first_orders_of_one_new_customer_make_one_customer():
    channel, _ = channel_with_key()

    def first_order(i: int) -> int:
        return customer_for_order(channel=channel, email="New.Customer@example.com", first_name="New").pk

    ids = run_concurrently(12, first_order)
    assert len(set(ids)) == 1
    assert Customer.objects.filter(channel=channel).count() == 1


def test_raw_instances_load_as_the_orm_does_and_refuse_converted_fields():
    channel = Channel.objects.create(code="WEB", name="Web", currency="EUR")
    warehouse = WarehouseFactory()
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=7)
    # Column order of the table, not of the model: matched by name.
    sql = (
        "SELECT soft_reserved, id, warehouse_id, on_hand, sku_id, allocated, updated_at "
        "FROM inventory_stocklevel WHERE sku_id = %s"
    )
    (loaded,) = raw_instances(StockLevel, sql, [sku.pk])
    fresh = StockLevel.objects.get(sku=sku)
    fields = [f.attname for f in StockLevel._meta.concrete_fields]
    assert [getattr(loaded, f) for f in fields] == [getattr(fresh, f) for f in fields]
    assert loaded.on_hand == 7 and not loaded._state.adding
    with pytest.raises(ValueError, match="converted"):
        raw_instances(Order, "SELECT * FROM orders_order", [])  # JSON addresses


def test_insert_statement_writes_many_rows_in_one_statement():
    channels = [Channel(code=f"C{i}", name=f"Channel {i}", currency="EUR") for i in range(5)]
    sql, params = insert_statement(channels, returning=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    assert len(ids) == 5
    assert list(Channel.objects.filter(pk__in=ids).order_by("code").values_list("code", flat=True)) == [
        "C0", "C1", "C2", "C3", "C4"
    ]  # fmt: skip


def test_insert_rows_writes_parents_and_children_in_one_statement():
    from inventory.models import SKU as SKUModel
    from inventory.models import Product

    product = Product(name="Kettle", category="kitchen")
    size = {"weight_grams": 900, "length_mm": 250, "width_mm": 180, "height_mm": 240, "cost_currency": "EUR"}
    first = SKUModel(
        product=product, code="K-1", barcode="INT-K-1", name="Kettle 1", unit_cost="3.00", **size
    )
    second = SKUModel(
        product=product, code="K-2", barcode="INT-K-2", name="Kettle 2", unit_cost="4.00", **size
    )
    other = Channel(code="B2B", name="Trade", currency="EUR")
    with CaptureQueriesContext(connection) as queries:
        insert_rows([product, first, other, second])
    assert len(queries) == 1
    assert all(o.pk and not o._state.adding for o in (product, first, other, second))
    assert first.product is product and first.product_id == product.pk == second.product_id
    assert set(SKUModel.objects.filter(product=product).values_list("code", flat=True)) == {"K-1", "K-2"}
    assert Channel.objects.get(pk=other.pk).code == "B2B"
