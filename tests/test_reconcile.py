from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from oms.reconcile import registered_checks
from tests.factories import order_payload

pytestmark = pytest.mark.django_db


def reconcile() -> str:
    out = StringIO()
    call_command("reconcile", stdout=out)
    return out.getvalue()


def test_passes_after_real_activity(api, sku):
    api.post("/api/v1/orders/", order_payload(sku.code, 3), format="json")
    order_id = api.post("/api/v1/orders/", order_payload(sku.code, 2), format="json").json()["id"]
    api.post(f"/api/v1/orders/{order_id}/cancel/", {}, format="json")
    api.post("/api/v1/carts/", {"lines": [{"sku": sku.code, "quantity": 4}]}, format="json")
    output = reconcile()
    assert "FAIL" not in output
    assert output.count("ok ") == len(registered_checks())  # every check ran, none failed


def test_names_the_sku_whose_level_drifted_from_the_ledger(api, sku, warehouse):
    api.post("/api/v1/orders/", order_payload(sku.code, 3), format="json")
    with connection.cursor() as cursor:  # someone edits stock behind the services' back
        cursor.execute("UPDATE inventory_stocklevel SET on_hand = on_hand + 5, allocated = allocated + 1")
    with pytest.raises(CommandError) as exc:
        call_command("reconcile", stdout=StringIO())
    assert exc.value.returncode == 1
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile", stdout=out)
    text = out.getvalue()
    assert f"{sku.code} @ {warehouse.code}: on_hand 105 != ledger 100, allocated 4 != ledger 3" in text
    assert f"{sku.code} @ {warehouse.code}: allocated 4 != orders and open shipments 3" in text
