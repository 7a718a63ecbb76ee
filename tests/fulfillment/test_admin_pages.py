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

from fulfillment.sourcing.services import order_source
from oms.actors import Actor
from oms.demo.fulfillment import seed_carriers, seed_packaging, seed_policies
from tests.factories import sku_in_stock

from .conftest import place_order

pytestmark = pytest.mark.django_db

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
    seed_carriers()
    seed_packaging()
    seed_policies()
    _grow(channel, warehouse, 1)
    return channel, warehouse


@pytest.mark.parametrize("model", FULFILLMENT_MODELS, ids=_label)
def test_pages_render(admin_client, shop, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    for term in ("1", "parcel", "NJ"):
        assert admin_client.get(_url(model, "changelist"), {"q": term}).status_code == 200
    obj = model.objects.order_by("pk").first()
    if obj is None:
        pytest.skip(f"no {_label(model)} rows in this shop")
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
