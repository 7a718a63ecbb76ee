"""Every fulfillment admin page renders on a shop with data: the change list
(searched too), a row's page and, where staff may add, the add form; and the
lists do not run more queries as rows grow."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from fulfillment.carriers import TrackingUpdate
from fulfillment.models import FulfillmentOrder, PickList, Wave
from fulfillment.packing import pack_complete, pack_scan
from fulfillment.picking import pick_confirm_line, pick_lists_create
from fulfillment.shipping import shipment_ship
from fulfillment.sourcing.services import order_source
from fulfillment.tracking import tracking_apply
from oms.actors import Actor
from oms.demo.fulfillment import seed_carriers, seed_packaging, seed_policies
from tests.factories import sku_in_stock

from .conftest import place_order

pytestmark = pytest.mark.django_db
STAFF = Actor.system()

FULFILLMENT_MODELS = [m for m in apps.get_app_config("fulfillment").get_models() if m in admin.site._registry]


def _label(model) -> str:
    return model._meta.label


def _url(model, view: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def _grow(channel, warehouse, n: int) -> None:
    sku = sku_in_stock(channel=channel, warehouse=warehouse, quantity=10)
    for _ in range(n):
        order = place_order(channel, [(sku.code, 1)])
        order_source(order_id=order.pk, actor=Actor.system())


@pytest.fixture
def shop(channel, warehouse):
    """Configuration, a routed order, and one shipment worked all the way:
    picked, packed, shipped and scanned by the carrier."""
    seed_carriers()
    seed_packaging()
    seed_policies()
    _grow(channel, warehouse, 1)
    fo = FulfillmentOrder.objects.get()
    [pick_list] = pick_lists_create(
        warehouse_id=warehouse.pk, mode=PickList.Mode.SINGLE, actor=STAFF, fulfillment_order_ids=[fo.pk]
    )
    for line in pick_list.lines.all():
        pick_confirm_line(pick_line_id=line.pk, quantity=line.quantity, actor=STAFF)
    for line in fo.lines.select_related("sku"):
        pack_scan(fulfillment_order_id=fo.pk, barcode=line.sku.barcode, actor=STAFF, quantity=line.quantity)
    fo = pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)
    shipment_ship(fulfillment_order_id=fo.pk, actor=STAFF)
    update = TrackingUpdate(
        "e1", fo.tracking_number, "in_transit", "Departed", "Edison, NJ", timezone.now(), {}
    )
    tracking_apply(carrier=fo.service.carrier, updates=[update])
    Wave.objects.create(warehouse=warehouse)
    return channel, warehouse


def test_every_fulfillment_model_has_an_admin():
    assert {_label(m) for m in apps.get_app_config("fulfillment").get_models()} == {
        _label(m) for m in FULFILLMENT_MODELS
    }


@pytest.mark.parametrize("model", FULFILLMENT_MODELS, ids=_label)
def test_pages_render(admin_client, shop, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    for term in ("1", "parcel", "NJ"):
        assert admin_client.get(_url(model, "changelist"), {"q": term}).status_code == 200
    obj = model.objects.order_by("pk").first()
    assert obj is not None, f"the shop has no {_label(model)}"
    assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200
    model_admin = admin.site._registry[model]
    request = admin_client.get(_url(model, "changelist")).wsgi_request
    if model_admin.has_add_permission(request):
        assert admin_client.get(_url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", FULFILLMENT_MODELS, ids=_label)
def test_changelist_queries_do_not_grow_with_rows(admin_client, shop, model):
    channel, warehouse = shop
    url = _url(model, "changelist")
    admin_client.get(url)
    with CaptureQueriesContext(connection) as before:
        admin_client.get(url)
    _grow(channel, warehouse, 3)
    with CaptureQueriesContext(connection) as after:
        admin_client.get(url)
    assert len(after.captured_queries) == len(before.captured_queries)
