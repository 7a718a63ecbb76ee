"""Forecast reorder rules: reorder point = demand over the lead time + safety
stock (z x sigma x sqrt(lead time)), computed from the ledger's demand history;
static rules untouched; the reorder check then orders by the new numbers."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from statistics import NormalDist

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from inventory import reorder_rules as module
from inventory.forecasting import croston_sba
from inventory.models import SKU, PurchaseOrder, ReorderRule, Supplier, SupplierSKU
from inventory.reorder_rules import compute_rule, reorder_rules_recompute
from inventory.replenishment import reorder_check
from inventory.services import stock_receive
from inventory.tasks import recompute_reorder_rules
from oms.actors import Actor
from tests.factories import SKUFactory, WarehouseFactory
from tests.inventory.test_forecasting import ALLOC, at, insert_movements

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()  # the commands and the beat task work on today
HISTORY = 112
START = TODAY - timedelta(days=HISTORY)  # the first day of the history window
# 6 units every third day: intermittent, so the forecast is Croston/SBA, whose
# figures are known in closed form: (1 - 0.1/2) x 6/3 = 1.9 a day.
PATTERN = np.array([6.0 if i % 3 == 2 else 0.0 for i in range(HISTORY)])


def expected(series, *, lead, service_level, review):
    fc = croston_sba(series, horizon=lead + review)
    z = NormalDist().inv_cdf(service_level)
    safety = math.ceil(z * fc.sigma[0] * math.sqrt(lead))
    point = math.ceil(round(1.9 * lead, 6)) + safety
    return point, safety, point + math.ceil(round(1.9 * review, 6))


def insert_demand(sku, warehouse, series, first_day=START):
    """ALLOCATE movements on chosen days, written as the forecasting tests do."""
    insert_movements(
        [
            (sku, warehouse, ALLOC, int(qty), at(first_day + timedelta(days=i)))
            for i, qty in enumerate(series)
            if qty
        ]
    )


def established(code):
    """A SKU that existed long before the history window."""
    sku = SKUFactory(code=code)
    SKU.objects.filter(pk=sku.pk).update(created_at=timezone.now() - timedelta(days=1000))
    return sku


@pytest.fixture
def plan(settings):
    settings.REORDER_DEFAULT_LEAD_TIME_DAYS = 14
    wh = WarehouseFactory(code="DC")
    acme = Supplier.objects.create(code="ACME", name="Acme", currency="USD", default_lead_time_days=10)
    skus = {code: established(code) for code in ["SUPPLIED", "UNSUPPLIED", "STATIC", "OFF", "QUIET"]}
    skus["FRESH"] = SKUFactory(code="FRESH")  # created today
    SupplierSKU.objects.create(
        supplier=acme, sku=skus["SUPPLIED"], unit_cost=Decimal("2"), lead_time_days=7, is_preferred=True
    )
    for code in ["SUPPLIED", "UNSUPPLIED", "STATIC", "OFF"]:
        insert_demand(skus[code], wh, PATTERN)
    # FRESH was created today; its five days of demand are all the history it has.
    insert_demand(skus["FRESH"], wh, [3, 3, 3, 3, 3], first_day=TODAY - timedelta(days=5))
    forecast = ReorderRule.Method.FORECAST
    rules = {
        "SUPPLIED": ReorderRule(method=forecast, service_level=Decimal("0.95"), review_period_days=14),
        "UNSUPPLIED": ReorderRule(method=forecast, service_level=Decimal("0.90"), review_period_days=7),
        "STATIC": ReorderRule(method=ReorderRule.Method.STATIC),
        "OFF": ReorderRule(method=forecast, is_active=False),
        "QUIET": ReorderRule(method=forecast),
        "FRESH": ReorderRule(method=forecast),
    }
    for code, rule in rules.items():
        rule.sku, rule.warehouse = skus[code], wh
        rule.reorder_point, rule.order_up_to, rule.safety_stock = 5, 20, 1
        rule.save()
    return wh, acme, skus, rules


def numbers(rule):
    rule.refresh_from_db()
    return rule.reorder_point, rule.safety_stock, rule.order_up_to


def test_forecast_rules_are_computed_from_the_ledger(plan):
    _, _, _, rules = plan

    result = reorder_rules_recompute(today=TODAY)

    assert (result.rules, result.updated, result.kept, result.default_lead_time) == (4, 2, 2, 3)
    # Supplier lead time 7 days: ceil(1.9 x 7 = 13.3) = 14 + safety; up to + ceil(1.9 x 14 = 26.6) = 27.
    assert numbers(rules["SUPPLIED"]) == expected(PATTERN, lead=7, service_level=0.95, review=14)
    point, safety, up_to = numbers(rules["SUPPLIED"])
    assert safety > 0 and point == 14 + safety and up_to == point + 27
    rule = rules["SUPPLIED"]
    assert rule.computed_at is not None
    assert rule.computed_from["method"] == "croston_sba"
    assert rule.computed_from["daily_demand"] == pytest.approx(1.9)
    assert rule.computed_from["sigma"] == pytest.approx(croston_sba(PATTERN, horizon=1).sigma[0], abs=1e-3)
    assert rule.computed_from["z"] == pytest.approx(1.645, abs=1e-3)
    assert (rule.computed_from["lead_time_days"], rule.computed_from["lead_time_source"]) == (7, "ACME")
    assert (rule.computed_from["history_days"], rule.computed_from["demand_days"]) == (HISTORY, 37)

    # No preferred supplier: the default lead time, and it says so.
    assert numbers(rules["UNSUPPLIED"]) == expected(PATTERN, lead=14, service_level=0.90, review=7)
    assert rules["UNSUPPLIED"].computed_from["lead_time_source"] == "default"


def test_static_inactive_and_unforecastable_rules_keep_their_numbers(plan):
    _, _, _, rules = plan
    reorder_rules_recompute(today=TODAY)

    for code in ["STATIC", "OFF", "QUIET", "FRESH"]:
        assert numbers(rules[code]) == (5, 1, 20), code
    assert rules["STATIC"].computed_at is None and rules["STATIC"].computed_from == {}
    assert rules["OFF"].computed_at is None
    assert rules["QUIET"].computed_from["kept"] == f"no demand in the last {HISTORY} days"
    # FRESH's history starts the day it was created, not 112 days of "no demand" earlier.
    assert rules["FRESH"].computed_from["kept"] == "only 5 day(s) of history; computing needs 14"
    assert rules["FRESH"].computed_at is not None


def test_a_rule_switched_to_static_during_the_run_keeps_what_staff_set(plan, monkeypatch):
    _, _, _, rules = plan
    real = module.demand_history

    def staff_edits_meanwhile(**kwargs):
        ReorderRule.objects.filter(pk=rules["SUPPLIED"].pk).update(method="static", reorder_point=8)
        return real(**kwargs)

    monkeypatch.setattr(module, "demand_history", staff_edits_meanwhile)
    reorder_rules_recompute(today=TODAY)
    assert numbers(rules["SUPPLIED"]) == (8, 1, 20)
    assert numbers(rules["UNSUPPLIED"]) != (5, 1, 20)


def test_named_rules_only_and_progress_in_chunks(plan):
    _, _, _, rules = plan
    seen = []
    result = reorder_rules_recompute(today=TODAY, chunk_size=3, progress=seen.append)
    assert seen == [3, 1] and result.rules == 4

    ReorderRule.objects.filter(pk=rules["UNSUPPLIED"].pk).update(reorder_point=5, order_up_to=20)
    result = reorder_rules_recompute(rule_ids=[rules["SUPPLIED"].pk, rules["STATIC"].pk], today=TODAY)
    assert (result.rules, result.updated) == (1, 1)
    assert numbers(rules["UNSUPPLIED"])[0] == 5


def test_the_reorder_check_orders_by_the_computed_numbers(plan):
    wh, acme, skus, rules = plan
    stock_receive(warehouse_id=wh.pk, sku_id=skus["SUPPLIED"].pk, quantity=10, reference="t")
    assert reorder_check(actor=Actor.system(), notify=False).purchase_orders == []  # 10 > the static 5

    reorder_rules_recompute(today=TODAY)
    result = reorder_check(actor=Actor.system(), notify=False)

    po = PurchaseOrder.objects.get(pk__in=result.purchase_orders, supplier=acme)
    (line,) = po.lines.all()
    assert line.sku_id == skus["SUPPLIED"].pk
    assert line.quantity_ordered == numbers(rules["SUPPLIED"])[2] - 10


def test_pure_computation_edges():
    steady = np.full(60, 4.0)
    rule = compute_rule(steady, lead_time_days=10, service_level=0.5, review_period_days=0)
    # A flat series at service level 0.5: z = 0, no safety stock, reorder at 10 days of demand.
    assert (rule.reorder_point, rule.safety_stock) == (40, 0)
    assert rule.order_up_to == 41  # no review period: still above the reorder point (a DB constraint)
    assert rule.inputs["z"] == 0
    # A lead time of 0 days is read as 1: stock is received in whole days.
    assert (
        compute_rule(steady, lead_time_days=0, service_level=0.5, review_period_days=7).inputs[
            "lead_time_days"
        ]
        == 1
    )


def test_beat_task_shares_the_rules_out_in_chunks(plan):
    assert recompute_reorder_rules(chunk_size=3) == 2  # 4 active forecast rules; eager in tests
    assert not ReorderRule.objects.filter(
        method="forecast", is_active=True, computed_at__isnull=True
    ).exists()


def test_beat_schedules_the_recompute(settings):
    from oms.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["recompute-reorder-rules"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks and entry["schedule"] > 0


def test_recompute_command(plan):
    _, _, _, rules = plan
    out, err = StringIO(), StringIO()
    call_command("recompute_reorder_rules", stdout=out, stderr=err)
    assert out.getvalue().startswith("4 forecast rule(s): 2 recomputed, 2 kept")
    assert "kept (too little history or no demand)" in out.getvalue()
    out = StringIO()
    call_command("recompute_reorder_rules", "--rule", str(rules["QUIET"].pk), stdout=out, stderr=err)
    assert out.getvalue().startswith("1 forecast rule(s): 0 recomputed, 1 kept")


def test_reorder_check_command_prints_what_it_drafted(plan):
    wh, _, skus, _ = plan
    stock_receive(warehouse_id=wh.pk, sku_id=skus["SUPPLIED"].pk, quantity=2, reference="t")
    out = StringIO()
    call_command("reorder_check", "--no-email", stdout=out)
    text = out.getvalue()
    po = PurchaseOrder.objects.get(status="draft")
    assert f"PO{po.pk:06d}  ACME -> DC" in text
    assert "      18 x SUPPLIED" in text  # static numbers so far: up to 20, 2 on hand
    assert "No active preferred supplier" in text and "UNSUPPLIED @ DC: available 0" in text

    out = StringIO()
    call_command("reorder_check", "--no-email", stdout=out)
    assert "0 purchase order(s) drafted" in out.getvalue()
