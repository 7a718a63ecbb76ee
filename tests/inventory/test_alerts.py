"""Stock alerts: the set-based refresh (open, refresh, resolve, reopen) for each
kind, count variances, acknowledgement, the e-mail digest through the outbox,
the staff API, the admin action, the beat task and the command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.alerts import DIGEST_TOPIC, stock_alert_acknowledge, stock_alerts_digest, stock_alerts_refresh
from inventory.models import ReorderRule, StockAlert, StockLevel, StockMovement
from inventory.operations import count_approve, count_cancel, count_record, count_start, count_submit
from inventory.services import reservations_allocate, stock_receive, stock_reserve
from inventory.tasks import refresh_stock_alerts
from oms.actors import Actor
from oms.errors import Conflict, NotFound
from oms.models import OutboxEvent
from oms.outbox import dispatch_pending
from tests.factories import SKUFactory, WarehouseFactory, sku_in_stock

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
URL = "/api/v1/inventory/alerts/"


@pytest.fixture(autouse=True)
def thresholds(settings):
    # The documented defaults, pinned so the figures below hold whatever the environment says.
    settings.LOW_STOCK_DAYS = 7
    settings.OVERSTOCK_DAYS = 120
    settings.OVERSTOCK_ALERT_MIN_UNITS = 10
    settings.COUNT_VARIANCE_ALERT_UNITS = 1
    settings.COUNT_VARIANCE_ALERT_PERCENT = 5
    settings.STOCK_ALERT_REOPEN_HOURS = 24
    settings.STOCK_ALERT_DIGEST_MAX_LINES = 100
    settings.WAREHOUSE_MANAGER_EMAILS = ["wm@example.com"]


def sell(sku, warehouse, quantity, reference="order"):
    """Allocate through the real services: demand in the ledger, less available."""
    held = stock_reserve(
        warehouse_id=warehouse.pk,
        quantities={sku.pk: quantity},
        expires_at=timezone.now() + timedelta(minutes=10),
        reference=reference,
    )
    reservations_allocate(reservation_ids=[h.pk for h in held], reference=reference)


def old_stock(warehouse, quantity, *, days_ago=60, **sku_kwargs):
    """A SKU whose stock arrived long ago. The receipt is backdated with a plain
    INSERT (the ledger is append-only and created_at is auto_now_add), and the
    level is written to match, so the ledger still balances."""
    sku = SKUFactory(**sku_kwargs)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {StockMovement._meta.db_table} "  # noqa: S608 - table name from the model
            "(sku_id, warehouse_id, kind, on_hand_delta, allocated_delta, reserved_delta,"
            " reference, reason, note, actor, created_at) "
            "VALUES (%s, %s, 'receipt', %s, 0, 0, 'old', '', '', '', %s)",
            [sku.pk, warehouse.pk, quantity, timezone.now() - timedelta(days=days_ago)],
        )
    StockLevel.objects.create(sku=sku, warehouse=warehouse, on_hand=quantity)
    return sku


def live(**filters):
    return StockAlert.objects.exclude(status="resolved").filter(**filters)


def kinds():
    return {(a.sku.code, a.kind) for a in live().select_related("sku")}


@pytest.fixture
def shop():
    """One position per state, in DC:

    OUT    sold all 10                               -> out
    THIN   33 in, 28 sold: 5 left at 1/day           -> low (5 days of cover)
    RULED  20 on hand, reorder point 25, no demand   -> low (at or below the reorder point)
    HEAPED 300 in, 28 sold: 272 days of cover        -> over
    IDLE   40 units for 60 days, never sold          -> over
    FINE   100 in, 28 sold: 72 days of cover         -> nothing
    FEW    5 idle units (under the minimum)          -> nothing
    NEW    40 units received today, not sold yet     -> nothing
    DEAD   no stock, no demand, no rule              -> nothing
    """
    wh = WarehouseFactory(code="DC")
    skus = {}
    for code, received, sold in [
        ("OUT", 10, 10),
        ("THIN", 33, 28),
        ("HEAPED", 300, 28),
        ("FINE", 100, 28),
        ("NEW", 40, 0),
    ]:
        skus[code] = sku_in_stock(warehouse=wh, quantity=received, code=code)
        if sold:
            sell(skus[code], wh, sold)
    skus["RULED"] = sku_in_stock(warehouse=wh, quantity=20, code="RULED")
    ReorderRule.objects.create(sku=skus["RULED"], warehouse=wh, reorder_point=25, order_up_to=60)
    skus["IDLE"] = old_stock(wh, 40, code="IDLE")
    skus["FEW"] = old_stock(wh, 5, code="FEW")
    skus["DEAD"] = SKUFactory(code="DEAD")
    StockLevel.objects.create(sku=skus["DEAD"], warehouse=wh)
    return wh, skus


# --- refresh lifecycle --------------------------------------------------------------


def test_each_position_gets_the_alert_its_state_calls_for(shop):
    result = stock_alerts_refresh()

    assert kinds() == {
        ("OUT", "out"),
        ("THIN", "low"),
        ("RULED", "low"),
        ("HEAPED", "over"),
        ("IDLE", "over"),
    }
    assert dict(result.opened) == {"out": 1, "low": 2, "over": 2}
    assert not result.still_open and not result.resolved
    messages = {a.sku.code: a.message for a in live().select_related("sku")}
    assert messages["OUT"] == "Out of stock: nothing available, 10 sold in 28 days"
    assert messages["THIN"] == "Low stock: 5 available, 5.0 days of cover (under 7)"
    assert messages["RULED"] == "Low stock: 20 available, at or below the reorder point of 25"
    assert messages["HEAPED"] == "Overstock: 272 available, 272 days of cover (over 120)"
    assert messages["IDLE"] == "Overstock: 40 available, nothing sold or received in 28 days"
    thin = live(sku__code="THIN").get()
    assert thin.data == {
        "on_hand": 33,
        "allocated": 28,
        "soft_reserved": 0,
        "available": 5,
        "incoming": 0,
        "reorder_point": None,
        "demand": 28,
        "demand_days": 28,
        "days_of_cover": 5.0,
    }
    assert thin.status == "open" and thin.notified_at is None and thin.last_seen_at is not None


def test_refresh_is_idempotent_and_keeps_alerts_fresh(shop):
    stock_alerts_refresh()
    before = {a.pk: a.last_seen_at for a in live()}

    again = stock_alerts_refresh()

    assert not again.opened and not again.resolved
    assert dict(again.still_open) == {"out": 1, "low": 2, "over": 2}
    assert StockAlert.objects.count() == 5
    after = {a.pk: a.last_seen_at for a in live()}
    assert after.keys() == before.keys()
    assert all(after[pk] > before[pk] for pk in before)


def test_alerts_resolve_when_the_condition_clears(shop):
    wh, skus = shop
    stock_alerts_refresh()
    out = live(sku=skus["OUT"]).get()
    stock_receive(warehouse_id=wh.pk, sku_id=skus["OUT"].pk, quantity=10, reference="po")  # 28 days of cover
    stock_receive(warehouse_id=wh.pk, sku_id=skus["RULED"].pk, quantity=50, reference="po")  # 70 > 25

    result = stock_alerts_refresh()

    assert dict(result.resolved) == {"out": 1, "low": 1}
    out.refresh_from_db()
    assert out.status == "resolved" and out.resolved_at is not None
    assert kinds() == {("THIN", "low"), ("HEAPED", "over"), ("IDLE", "over")}


def test_a_position_moves_between_kinds(shop):
    wh, skus = shop
    stock_alerts_refresh()
    sell(skus["THIN"], wh, 5)  # low -> out

    result = stock_alerts_refresh()

    assert result.opened["out"] == 1 and result.resolved["low"] == 1
    assert ("THIN", "out") in kinds() and ("THIN", "low") not in kinds()


def test_a_condition_back_soon_continues_its_alert_without_a_second_email(shop):
    wh, skus = shop
    stock_alerts_refresh()
    stock_alerts_digest()
    first = live(sku=skus["RULED"]).get()
    stock_alert_acknowledge(alert_ids=[first.pk], actor=SYSTEM)
    stock_receive(warehouse_id=wh.pk, sku_id=skus["RULED"].pk, quantity=6, reference="return")  # 26 > 25
    assert stock_alerts_refresh().resolved["low"] == 1
    sell(skus["RULED"], wh, 1)  # back to 25

    result = stock_alerts_refresh()

    assert result.reopened["low"] == 1 and not result.opened
    again = live(sku=skus["RULED"]).get()
    assert again.pk == first.pk
    assert (again.status, again.resolved_at) == ("acknowledged", None)
    assert again.notified_at == first.notified_at
    assert stock_alerts_digest() == 0


def test_after_the_reopen_window_a_new_alert_opens(shop, settings):
    wh, skus = shop
    stock_alerts_refresh()
    first = live(sku=skus["RULED"]).get()
    stock_receive(warehouse_id=wh.pk, sku_id=skus["RULED"].pk, quantity=6, reference="return")
    stock_alerts_refresh()
    StockAlert.objects.filter(pk=first.pk).update(resolved_at=timezone.now() - timedelta(hours=25))
    sell(skus["RULED"], wh, 1)

    result = stock_alerts_refresh()

    assert result.opened["low"] == 1 and not result.reopened
    assert live(sku=skus["RULED"]).get().pk != first.pk
    assert StockAlert.objects.filter(sku=skus["RULED"], kind="low").count() == 2


def test_inactive_locations_and_skus_raise_nothing_and_resolve(shop):
    wh, skus = shop
    stock_alerts_refresh()
    skus["OUT"].is_active = False
    skus["OUT"].save(update_fields=["is_active"])
    assert stock_alerts_refresh().resolved["out"] == 1
    wh.is_active = False
    wh.save(update_fields=["is_active"])
    stock_alerts_refresh()
    assert not live().exists()


def test_a_rule_without_any_stock_row_is_out(db):
    wh = WarehouseFactory(code="DC")
    sku = SKUFactory(code="NEVER")
    ReorderRule.objects.create(sku=sku, warehouse=wh, reorder_point=5, order_up_to=20)
    stock_alerts_refresh()
    assert kinds() == {("NEVER", "out")}
    assert live().get().message == "Out of stock: nothing available, reorder point 5"


def test_incoming_stock_is_named_but_keeps_the_alert_open(shop):
    from inventory.operations import transfer_create, transfer_ship

    wh, skus = shop
    store = WarehouseFactory(code="STORE")
    stock_receive(warehouse_id=store.pk, sku_id=skus["OUT"].pk, quantity=8, reference="t")
    t = transfer_create(
        from_warehouse_id=store.pk, to_warehouse_id=wh.pk, lines=[(skus["OUT"].pk, 8)], actor=SYSTEM
    )
    transfer_ship(transfer_id=t.pk, actor=SYSTEM)
    stock_alerts_refresh()
    alert = live(sku=skus["OUT"], warehouse=wh).get()
    assert alert.message.endswith("; 8 incoming") and alert.data["incoming"] == 8


def test_thresholds_come_from_settings(shop, settings):
    settings.OVERSTOCK_ALERT_MIN_UNITS = 1
    settings.LOW_STOCK_DAYS = 4
    stock_alerts_refresh()
    assert ("FEW", "over") in kinds()  # 5 idle units now count
    assert ("THIN", "low") not in kinds()  # 5 days of cover is not under 4


def test_refresh_costs_the_same_queries_for_3_or_30_positions(db):
    wh = WarehouseFactory(code="DC")

    def refresh_queries(n):
        for _ in range(n):
            sku = sku_in_stock(warehouse=wh, quantity=2)
            sell(sku, wh, 2)
        with CaptureQueriesContext(connection) as ctx:
            stock_alerts_refresh()
        return len(ctx.captured_queries)

    assert refresh_queries(3) == refresh_queries(30)
    assert live(kind="out").count() == 33


# --- count variances ----------------------------------------------------------------


@pytest.fixture
def counted():
    wh = WarehouseFactory(code="DC")
    skus = {code: sku_in_stock(warehouse=wh, quantity=q, code=code) for code, q in [("A", 100), ("B", 10)]}
    skus["C"] = SKUFactory(code="C")  # expected 0
    sheet = count_start(warehouse_id=wh.pk, actor=SYSTEM, sku_ids=[s.pk for s in skus.values()])
    # A: -3 is 3 % of 100 (under 5 %); B: -3 is 30 %; C: 2 found where none were expected.
    count_record(sheet_id=sheet.pk, counts={skus["A"].pk: 97, skus["B"].pk: 7, skus["C"].pk: 2})
    return wh, skus, sheet


def variances():
    return {
        (a.sku.code, a.status): a.message
        for a in StockAlert.objects.filter(kind="count_variance").select_related("sku")
    }


def test_count_variance_alerts_follow_the_sheet(counted):
    wh, skus, sheet = counted
    stock_alerts_refresh()
    assert variances() == {}  # still being counted

    count_submit(sheet_id=sheet.pk, actor=SYSTEM)
    result = stock_alerts_refresh()
    assert result.opened["count_variance"] == 2
    assert variances() == {
        ("B", "open"): f"Count C{sheet.pk:06d}: counted 7, expected 10 (-3, -30%)",
        ("C", "open"): f"Count C{sheet.pk:06d}: counted 2, expected 0 (+2)",
    }
    b = StockAlert.objects.get(kind="count_variance", sku=skus["B"])
    assert (b.count_sheet_id, b.warehouse_id) == (sheet.pk, wh.pk)
    assert b.data == {"expected": 10, "counted": 7, "variance": -3}

    again = stock_alerts_refresh()
    assert again.still_open["count_variance"] == 2 and not again.opened
    assert StockAlert.objects.filter(kind="count_variance").count() == 2

    count_approve(sheet_id=sheet.pk, actor=SYSTEM)
    assert stock_alerts_refresh().resolved["count_variance"] == 2
    assert set(variances()) == {("B", "resolved"), ("C", "resolved")}
    stock_alerts_refresh()
    assert StockAlert.objects.filter(kind="count_variance").count() == 2  # never reopened


def test_a_cancelled_sheet_resolves_its_variances(counted):
    _, _, sheet = counted
    count_submit(sheet_id=sheet.pk, actor=SYSTEM)
    stock_alerts_refresh()
    count_cancel(sheet_id=sheet.pk, actor=SYSTEM)
    assert stock_alerts_refresh().resolved["count_variance"] == 2


def test_variance_thresholds_are_settings(counted, settings):
    _, _, sheet = counted
    count_submit(sheet_id=sheet.pk, actor=SYSTEM)
    settings.COUNT_VARIANCE_ALERT_PERCENT = 2
    stock_alerts_refresh()
    assert {code for code, _ in variances()} == {"A", "B", "C"}
    settings.COUNT_VARIANCE_ALERT_UNITS = 2  # |2| at C is no longer more than 2 units
    stock_alerts_refresh()
    assert {code for code, status in variances() if status == "open"} == {"A", "B"}


# --- acknowledge --------------------------------------------------------------------


def test_acknowledge_records_who_and_once(shop, django_user_model):
    stock_alerts_refresh()
    user = django_user_model.objects.create_user("wm", is_staff=True)
    alert = live(kind="out").get()

    assert stock_alert_acknowledge(alert_ids=[alert.pk], actor=Actor.for_user(user)) == [alert.pk]
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", user)
    first = alert.acknowledged_at

    assert stock_alert_acknowledge(alert_ids=[alert.pk], actor=SYSTEM) == []
    alert.refresh_from_db()
    assert (alert.acknowledged_at, alert.acknowledged_by) == (first, user)

    stock_alerts_refresh()  # still out: stays acknowledged
    alert.refresh_from_db()
    assert alert.status == "acknowledged"


def test_a_resolved_alert_cannot_be_acknowledged_and_nothing_changes(shop):
    wh, skus = shop
    stock_alerts_refresh()
    resolved = live(sku=skus["OUT"]).get()
    stock_receive(warehouse_id=wh.pk, sku_id=skus["OUT"].pk, quantity=10, reference="po")
    stock_alerts_refresh()
    other = live(sku=skus["THIN"]).get()

    with pytest.raises(Conflict) as exc:
        stock_alert_acknowledge(alert_ids=[other.pk, resolved.pk], actor=SYSTEM)
    assert exc.value.code == "alert_resolved" and str(resolved.pk) in exc.value.message
    other.refresh_from_db()
    assert other.status == "open"

    with pytest.raises(NotFound):
        stock_alert_acknowledge(alert_ids=[other.pk, 10**9], actor=SYSTEM)


# --- digest -------------------------------------------------------------------------


def test_digest_emails_new_alerts_once(shop):
    wh, skus = shop
    stock_alerts_refresh()

    assert stock_alerts_digest() == 5
    assert OutboxEvent.objects.filter(topic=DIGEST_TOPIC).count() == 1
    assert not live(notified_at__isnull=True).exists()
    assert mail.outbox == []  # sent by the outbox, after commit

    assert dispatch_pending() == 1
    (message,) = mail.outbox
    assert message.to == ["wm@example.com"]
    assert message.subject == "Stock alerts: 1 stock-out, 2 low stock, 2 overstock"
    assert (
        "Stock-out (1):\n  OUT @ DC (Item OUT): Out of stock: nothing available, 10 sold in 28 days"
        in message.body
    )
    assert (
        "RULED @ DC (Item RULED): Low stock: 20 available, at or below the reorder point of 25"
        in message.body
    )
    assert (
        message.body.index("Stock-out")
        < message.body.index("Low stock (2)")
        < message.body.index("Overstock (2)")
    )
    html, mime = message.alternatives[0]
    assert mime == "text/html" and "<td>HEAPED</td>" in html

    # Nothing new: nothing queued, nothing sent.
    stock_alerts_refresh()
    assert stock_alerts_digest() == 0
    assert OutboxEvent.objects.filter(topic=DIGEST_TOPIC).count() == 1

    # Only what is new goes in the next one.
    sell(skus["FINE"], wh, 70)
    stock_alerts_refresh()
    assert stock_alerts_digest() == 1
    dispatch_pending()
    assert len(mail.outbox) == 2
    assert mail.outbox[1].subject == "Stock alerts: 1 low stock"
    assert "FINE @ DC" in mail.outbox[1].body and "OUT @ DC" not in mail.outbox[1].body


def test_alerts_that_cleared_before_the_digest_are_only_counted(shop):
    wh, skus = shop
    stock_alerts_refresh()
    stock_alerts_digest()

    def blip(code, quantity):
        sell(skus[code], wh, quantity)  # low for a moment
        stock_alerts_refresh()
        stock_receive(warehouse_id=wh.pk, sku_id=skus[code].pk, quantity=quantity, reference="cancelled")
        stock_alerts_refresh()

    blip("FINE", 70)
    assert stock_alerts_digest() == 0  # nobody is woken up for a blip
    assert OutboxEvent.objects.filter(topic=DIGEST_TOPIC).count() == 1
    assert not StockAlert.objects.filter(notified_at__isnull=True).exists()

    blip("FINE", 70)  # the same blip again continues its alert: already told
    blip("HEAPED", 270)  # over -> low -> over: a new low blip, and the overstock alert continues
    sell(skus["THIN"], wh, 5)  # low -> out: news
    stock_alerts_refresh()
    assert stock_alerts_digest() == 1
    dispatch_pending()
    body = mail.outbox[-1].body
    assert "THIN @ DC (Item THIN): Out of stock" in body and "FINE" not in body and "HEAPED" not in body
    assert "1 other alert(s) opened and cleared again before this digest." in body


def test_a_long_digest_lists_the_first_lines_and_counts_the_rest(shop, settings):
    settings.STOCK_ALERT_DIGEST_MAX_LINES = 1
    stock_alerts_refresh()
    assert stock_alerts_digest() == 5
    dispatch_pending()
    body = mail.outbox[0].body
    assert "Low stock (2):\n  RULED @ DC" in body and "  ... and 1 more" in body
    assert "THIN @ DC" not in body


def test_beat_task_refreshes_then_digests(shop):
    summary = refresh_stock_alerts()
    assert summary["opened"] == {"out": 1, "low": 2, "over": 2} and summary["notified"] == 5
    dispatch_pending()
    assert len(mail.outbox) == 1
    assert refresh_stock_alerts()["notified"] == 0


def test_beat_schedules_the_alert_task(settings):
    from oms.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["stock-alerts"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks and entry["schedule"] > 0


def test_command_refreshes_and_digests(shop):
    out = StringIO()
    call_command("stock_alerts", stdout=out)
    text = out.getvalue()
    assert "opened: 1 out, 2 low, 2 over" in text and "Digest: 5 alert(s) queued" in text
    out = StringIO()
    call_command("stock_alerts", "--no-digest", stdout=out)
    assert "still open: 1 out, 2 low, 2 over" in out.getvalue() and "Digest" not in out.getvalue()


# --- staff API ----------------------------------------------------------------------


def codes(response):
    assert response.status_code == 200, response.json()
    return sorted((row["sku"], row["kind"]) for row in response.json()["results"])


def test_api_lists_and_filters_alerts(staff_api, shop):
    wh, skus = shop
    other = WarehouseFactory(code="STORE")
    sell(sku_in_stock(warehouse=other, quantity=1, code="ELSEWHERE"), other, 1)
    stock_alerts_refresh()
    stock_receive(warehouse_id=wh.pk, sku_id=skus["OUT"].pk, quantity=10, reference="po")
    stock_alerts_refresh()

    everything = staff_api.get(URL).json()
    assert everything["count"] == 6
    row = next(r for r in everything["results"] if r["sku"] == "THIN")
    assert row["warehouse"] == "DC" and row["sku_name"] == "Item THIN" and row["data"]["available"] == 5
    assert row["status"] == "open" and row["acknowledged_by"] is None and row["count_sheet"] is None
    assert codes(staff_api.get(URL, {"kind": "over"})) == [("HEAPED", "over"), ("IDLE", "over")]
    assert codes(staff_api.get(URL, {"status": "resolved"})) == [("OUT", "out")]
    assert ("OUT", "out") not in codes(staff_api.get(URL, {"status": "live"}))
    assert codes(staff_api.get(URL, {"warehouse": "STORE"})) == [("ELSEWHERE", "out")]
    assert codes(staff_api.get(URL, {"sku": "THIN", "kind": "low"})) == [("THIN", "low")]
    assert codes(staff_api.get(URL, {"warehouse": "NOWHERE"})) == []


@pytest.mark.parametrize(("param", "value"), [("kind", "meh"), ("status", "closed")])
def test_api_refuses_unknown_filter_values(staff_api, param, value):
    response = staff_api.get(URL, {param: value})
    assert response.status_code == 400
    assert param in response.json()["error"]["fields"]


def test_api_is_staff_only(api):
    assert api.get(URL).status_code == 403
    assert api.post(URL + "acknowledge/", {"ids": [1]}, format="json").status_code == 403


def test_api_acknowledges(staff_api, shop):
    wh, skus = shop
    stock_alerts_refresh()
    ids = sorted(live(kind="over").values_list("pk", flat=True))

    response = staff_api.post(URL + "acknowledge/", {"ids": ids}, format="json")

    assert response.status_code == 200, response.json()
    assert [(r["id"], r["status"], r["acknowledged_by"]) for r in response.json()] == [
        (pk, "acknowledged", "staff") for pk in ids
    ]
    assert codes(staff_api.get(URL, {"status": "open"})) == [
        ("OUT", "out"),
        ("RULED", "low"),
        ("THIN", "low"),
    ]

    stock_receive(warehouse_id=wh.pk, sku_id=skus["OUT"].pk, quantity=10, reference="po")
    stock_alerts_refresh()
    gone = StockAlert.objects.get(sku=skus["OUT"]).pk
    conflict = staff_api.post(URL + "acknowledge/", {"ids": [gone]}, format="json")
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "alert_resolved"
    missing = staff_api.post(URL + "acknowledge/", {"ids": [10**9]}, format="json")
    assert missing.status_code == 404 and "ids" in missing.json()["error"]["fields"]


@pytest.mark.parametrize("body", [{"ids": []}, {"ids": ["x"]}, {}, {"ids": [1], "note": "typo"}])
def test_api_acknowledge_refuses_bad_input(staff_api, db, body):
    response = staff_api.post(URL + "acknowledge/", body, format="json")
    assert response.status_code == 400
    assert all(field.startswith(("ids", "note")) for field in response.json()["error"]["fields"])


@pytest.mark.parametrize("n", [3, 30])
def test_api_list_query_count_is_constant(staff_api, django_user_model, n):
    wh = WarehouseFactory(code="DC")
    for _ in range(n):
        sku = sku_in_stock(warehouse=wh, quantity=1)
        sell(sku, wh, 1)
    stock_alerts_refresh()
    user = django_user_model.objects.create_user("wm", is_staff=True)
    stock_alert_acknowledge(alert_ids=live().values_list("pk", flat=True)[:2], actor=Actor.for_user(user))

    with CaptureQueriesContext(connection) as ctx:
        response = staff_api.get(URL, {"page_size": 200})
    assert response.status_code == 200 and response.json()["count"] == n
    assert len(ctx.captured_queries) == 3  # the staff user's roles, count + page


# --- admin --------------------------------------------------------------------------


def test_admin_lists_filters_and_acknowledges(admin_client, shop):
    wh, skus = shop
    stock_alerts_refresh()
    changelist = reverse("admin:inventory_stockalert_changelist")
    for query in ({}, {"live": "yes"}, {"notified": "no"}, {"kind__exact": "low"}):
        assert admin_client.get(changelist, query).status_code == 200

    low = list(live(kind="low").values_list("pk", flat=True))
    response = admin_client.post(
        changelist, {"action": "acknowledge", ACTION_CHECKBOX_NAME: low}, follow=True
    )
    assert any("2 alert(s) acknowledged" in str(m) for m in response.context["messages"])
    assert set(live(pk__in=low).values_list("status", flat=True)) == {"acknowledged"}

    stock_receive(warehouse_id=wh.pk, sku_id=skus["OUT"].pk, quantity=10, reference="po")
    stock_alerts_refresh()
    gone = StockAlert.objects.get(sku=skus["OUT"]).pk
    response = admin_client.post(
        changelist, {"action": "acknowledge", ACTION_CHECKBOX_NAME: [gone]}, follow=True
    )
    assert any("already resolved" in str(m) for m in response.context["messages"])
