"""The transfer and count admins act only through inventory.operations."""

from __future__ import annotations

import pytest
from django.contrib.admin import helpers
from django.urls import reverse

from inventory.models import CountSheet, Transfer
from inventory.operations import count_start, transfer_create
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive
from oms.actors import Actor
from tests.factories import SKUFactory, WarehouseFactory, stock_level

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    wh, store = WarehouseFactory(code="DC"), WarehouseFactory(code="STORE")
    sku = SKUFactory()
    stock_receive(warehouse_id=wh.pk, sku_id=sku.pk, quantity=10, reference="t")
    return wh, store, sku


def act(client, model: str, action: str, ids):
    return client.post(
        reverse(f"admin:inventory_{model}_changelist"),
        {"action": action, helpers.ACTION_CHECKBOX_NAME: ids},
        follow=True,
    )


def test_ship_and_receive_actions(admin_client, setup):
    wh, store, sku = setup
    t = transfer_create(
        from_warehouse_id=wh.pk, to_warehouse_id=store.pk, lines=[(sku.pk, 4)], actor=Actor.system()
    )
    act(admin_client, "transfer", "ship", [t.pk])
    act(admin_client, "transfer", "receive", [t.pk])
    t.refresh_from_db()
    assert t.status == Transfer.Status.RECEIVED
    assert (stock_level(sku, wh).on_hand, stock_level(sku, store).on_hand) == (6, 4)
    again = act(admin_client, "transfer", "ship", [t.pk])
    assert again.status_code == 200
    assert any("cannot become" in str(m) for m in again.context["messages"])
    assert ledger_mismatches() == []


def test_start_count_record_in_the_inline_submit_and_approve(admin_client, setup):
    wh, _, sku = setup
    act(admin_client, "warehouse", "start_cycle_count", [wh.pk])
    sheet = CountSheet.objects.get()
    line = sheet.lines.get()
    url = reverse("admin:inventory_countsheet_change", args=[sheet.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    prefix = page.context["inline_admin_formsets"][0].formset.prefix
    response = admin_client.post(
        url,
        {
            "note": "",
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "1",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1000",
            f"{prefix}-0-id": str(line.pk),
            f"{prefix}-0-sheet": str(sheet.pk),
            f"{prefix}-0-counted": "7",
        },
        follow=True,
    )
    assert response.status_code == 200
    line.refresh_from_db()
    assert line.counted == 7
    act(admin_client, "countsheet", "submit", [sheet.pk])
    act(admin_client, "countsheet", "approve", [sheet.pk])
    sheet.refresh_from_db()
    assert sheet.status == CountSheet.Status.APPROVED
    assert stock_level(sku, wh).on_hand == 7
    assert ledger_mismatches() == []


def test_count_sheets_cannot_be_added_by_hand(admin_client, setup):
    count_start(warehouse_id=setup[0].pk, actor=Actor.system())
    assert admin_client.get(reverse("admin:inventory_countsheet_add")).status_code == 403
