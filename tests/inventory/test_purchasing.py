"""Suppliers and purchase orders: lines respect MOQ and pack size, the status
moves only along PO_TRANSITIONS, receipts add stock through the ledger (all or
nothing, within the over-receipt tolerance, even under concurrency), and every
receipt leaves an outbox event for accounting."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from inventory.models import (
    PurchaseOrder,
    PurchaseOrderEvent,
    PurchaseOrderLine,
    StockLevel,
    StockMovement,
    Supplier,
    SupplierSKU,
)
from inventory.purchasing import (
    PO_RECEIVED_TOPIC,
    incoming_by_sku_warehouse,
    incoming_quantity_subquery,
    max_receivable,
    preferred_supplier_sku,
    purchase_order_cancel,
    purchase_order_close,
    purchase_order_create,
    purchase_order_receive,
    purchase_order_send,
)
from inventory.selectors import ledger_mismatches
from oms.actors import Actor
from oms.errors import InvalidInput, InvalidTransition, NotFound
from oms.models import OutboxEvent
from tests.factories import SKUFactory, WarehouseFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
Status = PurchaseOrder.Status


def make_supplier(code: str = "ACME", currency: str = "USD", lead: int = 10) -> Supplier:
    return Supplier.objects.create(
        code=code, name=f"{code} Ltd", email=f"{code.lower()}@example.com", currency=currency,
        default_lead_time_days=lead,
    )  # fmt: skip


def offer(supplier, sku, cost="2.50", moq=1, pack=1, lead=None, preferred=False) -> SupplierSKU:
    return SupplierSKU.objects.create(
        supplier=supplier, sku=sku, unit_cost=Decimal(cost), min_order_qty=moq, pack_size=pack,
        lead_time_days=lead, is_preferred=preferred,
    )  # fmt: skip


@pytest.fixture
def world():
    supplier = make_supplier()
    wh = WarehouseFactory()
    a, b = SKUFactory(), SKUFactory()
    offer(supplier, a, cost="2.50", moq=24, pack=12, preferred=True)
    offer(supplier, b, cost="1.10", lead=20)
    return supplier, wh, a, b


def sent_po(world, qa=48, qb=10, tolerance=None) -> PurchaseOrder:
    supplier, wh, a, b = world
    po = purchase_order_create(
        supplier_id=supplier.pk,
        warehouse_id=wh.pk,
        lines=[(a.pk, qa), (b.code, qb)],
        actor=SYSTEM,
        over_receipt_tolerance_pct=tolerance,
    )
    return purchase_order_send(po_id=po.pk, actor=SYSTEM)


def on_hand(sku, wh) -> int:
    level = StockLevel.objects.filter(sku=sku, warehouse=wh).first()
    return level.on_hand if level else 0


def snapshot():
    return (
        list(StockLevel.objects.order_by("id").values_list("sku_id", "on_hand")),
        StockMovement.objects.count(),
        list(PurchaseOrderLine.objects.order_by("id").values_list("quantity_received", flat=True)),
        list(PurchaseOrder.objects.order_by("id").values_list("status", flat=True)),
        PurchaseOrderEvent.objects.count(),
        OutboxEvent.objects.count(),
    )


# --- Suppliers ---------------------------------------------------------------------


def test_one_preferred_supplier_per_sku_and_sane_pack_sizes(world):
    supplier, _, a, _ = world
    other = make_supplier("OTHER")
    with pytest.raises(IntegrityError), transaction.atomic():
        offer(other, a, preferred=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        offer(other, SKUFactory(), pack=0)
    offer(other, a)  # a second, non-preferred source is fine
    found = preferred_supplier_sku([a.pk])
    assert found[a.pk].supplier == supplier
    supplier.is_active = False
    supplier.save(update_fields=["is_active"])
    assert preferred_supplier_sku([a.pk]) == {}


# --- Creating --------------------------------------------------------------------------


def test_create_prices_lines_from_the_supplier_and_sets_the_eta(world):
    supplier, wh, a, b = world
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(a.code, 48), (b.pk, 5)], actor=SYSTEM
    )
    assert (po.status, po.currency, po.over_receipt_tolerance_pct) == (Status.DRAFT, "USD", Decimal("5.00"))
    lines = {ln.sku_id: (ln.quantity_ordered, ln.unit_cost) for ln in po.lines.all()}
    assert lines == {a.pk: (48, Decimal("2.50")), b.pk: (5, Decimal("1.10"))}
    # The longest lead time of its lines: b's own 20 days beat the supplier's 10.
    assert po.expected_at == timezone.localdate() + timedelta(days=20)
    assert list(po.events.values_list("kind", "to_status")) == [("created", "draft")]


def test_create_refuses_moq_pack_size_and_unknown_skus_naming_the_lines(world):
    supplier, wh, a, b = world
    stranger = SKUFactory()
    with pytest.raises(InvalidInput) as exc:
        purchase_order_create(
            supplier_id=supplier.pk,
            warehouse_id=wh.pk,
            lines=[(a.pk, 30), (a.code, 12), (stranger.pk, 1), ("NO-SUCH-SKU", 1), (b.pk, 0)],
            actor=SYSTEM,
        )
    fields = exc.value.fields
    assert fields["lines[0].quantity"] == ["must be a multiple of the pack size 12"]
    assert fields["lines[1].sku"] == [f"{a.code} is already on the purchase order"]
    assert fields["lines[1].quantity"] == ["at least the minimum order quantity 24"]
    assert fields["lines[2].sku"] == [f"{stranger.code} is not supplied by ACME"]
    assert fields["lines[3].sku"] == ["unknown SKU NO-SUCH-SKU"]
    assert fields["lines[4].quantity"] == ["must be a positive whole number"]
    assert not PurchaseOrder.objects.exists()
    assert not PurchaseOrderLine.objects.exists()

    with pytest.raises(InvalidInput) as exc:
        purchase_order_create(supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[], actor=SYSTEM)
    assert "lines" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        purchase_order_create(supplier_id=999999, warehouse_id=wh.pk, lines=[(a.pk, 24)], actor=SYSTEM)
    assert "supplier" in exc.value.fields


# --- Lifecycle -----------------------------------------------------------------------


def test_full_lifecycle_with_stock_ledger_and_events(world, admin_user):
    supplier, wh, a, b = world
    staff = Actor.for_user(admin_user)
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(a.pk, 24), (b.pk, 10)], actor=staff
    )
    assert po.created_by == admin_user
    purchase_order_send(po_id=po.pk, actor=staff)

    first = purchase_order_receive(po_id=po.pk, receipts={a.pk: 20}, actor=staff, reference="ASN-1")
    assert first.quantities == {a.pk: 20}
    assert first.po.status == Status.PARTIALLY_RECEIVED
    assert on_hand(a, wh) == 20

    second = purchase_order_receive(po_id=po.pk, receipts={a.code: 2, b.pk: 3}, actor=staff)
    assert second.po.status == Status.PARTIALLY_RECEIVED  # a further partial receipt

    done = purchase_order_receive(po_id=po.pk, receipts={a.pk: 2, b.pk: 7}, actor=staff)
    assert done.po.status == Status.RECEIVED
    assert done.po.received_at is not None
    assert (on_hand(a, wh), on_hand(b, wh)) == (24, 10)

    purchase_order_close(po_id=po.pk, actor=staff)
    po.refresh_from_db()
    assert po.status == Status.CLOSED and po.closed_at is not None

    receipts = StockMovement.objects.filter(reference=f"po:{po.pk}")
    assert set(receipts.values_list("kind", flat=True)) == {StockMovement.Kind.RECEIPT}
    assert sum(receipts.values_list("on_hand_delta", flat=True)) == 34
    assert receipts.first().actor == "staff admin"
    assert ledger_mismatches() == []
    events = list(po.events.values_list("kind", "from_status", "to_status", "actor_user"))
    assert events == [
        ("created", "", "draft", admin_user.pk),
        ("sent", "draft", "sent", admin_user.pk),
        ("received", "sent", "partially_received", admin_user.pk),
        ("received", "partially_received", "partially_received", admin_user.pk),
        ("received", "partially_received", "received", admin_user.pk),
        ("closed", "received", "closed", admin_user.pk),
    ]
    with pytest.raises(InvalidTransition):
        purchase_order_receive(po_id=po.pk, receipts={a.pk: 1}, actor=staff)


def test_close_short_and_what_cannot_happen_after_a_receipt(world):
    _, wh, a, b = world
    po = sent_po(world, qa=48, qb=10)
    purchase_order_receive(po_id=po.pk, receipts={a.pk: 30}, actor=SYSTEM)
    with pytest.raises(InvalidTransition) as exc:
        purchase_order_cancel(po_id=po.pk, actor=SYSTEM, reason="changed our mind")
    assert "close it short" in exc.value.message

    purchase_order_close(po_id=po.pk, actor=SYSTEM, reason="supplier out of stock")
    po.refresh_from_db()
    assert po.status == Status.CLOSED
    closed = po.events.get(kind="closed")
    assert closed.data == {"short": {a.code: 18, b.code: 10}}
    assert closed.message == "supplier out of stock"
    assert incoming_by_sku_warehouse() == {}
    assert on_hand(a, wh) == 30


def test_invalid_transitions(world):
    supplier, wh, a, _ = world
    draft = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(a.pk, 24)], actor=SYSTEM
    )
    with pytest.raises(InvalidTransition):
        purchase_order_receive(po_id=draft.pk, receipts={a.pk: 1}, actor=SYSTEM)
    with pytest.raises(InvalidTransition):
        purchase_order_close(po_id=draft.pk, actor=SYSTEM)  # nothing received: cancel it
    with pytest.raises(InvalidInput) as refused:
        purchase_order_cancel(po_id=draft.pk, actor=SYSTEM, reason="  ")
    assert refused.value.fields == {"reason": ["say why the order is cancelled"]}
    purchase_order_cancel(po_id=draft.pk, actor=SYSTEM, reason="duplicate")
    draft.refresh_from_db()
    assert (draft.status, draft.events.last().message) == (Status.CANCELLED, "duplicate")
    for attempt in (
        lambda: purchase_order_receive(po_id=draft.pk, receipts={a.pk: 1}, actor=SYSTEM),
        lambda: purchase_order_send(po_id=draft.pk, actor=SYSTEM),
        lambda: purchase_order_cancel(po_id=draft.pk, actor=SYSTEM, reason="again"),
    ):
        with pytest.raises(InvalidTransition):
            attempt()
    assert on_hand(a, wh) == 0
    with pytest.raises(NotFound):
        purchase_order_send(po_id=999999, actor=SYSTEM)

    sent = sent_po(world, qa=24)
    purchase_order_cancel(po_id=sent.pk, actor=SYSTEM, reason="supplier cannot deliver")
    sent.refresh_from_db()
    assert sent.status == Status.CANCELLED and sent.cancelled_at is not None


# --- Receiving: tolerance and bad input ------------------------------------------------


def test_max_receivable_rounds_down():
    assert max_receivable(100, Decimal("5.00")) == 105
    assert max_receivable(10, Decimal("5.00")) == 10
    assert max_receivable(30, Decimal("2.50")) == 30
    assert max_receivable(40, Decimal("2.50")) == 41
    assert max_receivable(7, Decimal("0")) == 7


def test_over_receipt_within_tolerance_is_allowed_beyond_is_refused_whole(world):
    _, wh, a, b = world
    po = sent_po(world, qa=96, qb=100)  # 5%: a up to 100, b up to 105
    purchase_order_receive(po_id=po.pk, receipts={b.pk: 104}, actor=SYSTEM)
    before = snapshot()
    with pytest.raises(InvalidInput) as exc:
        purchase_order_receive(po_id=po.pk, receipts={a.pk: 96, b.pk: 26}, actor=SYSTEM)
    assert exc.value.fields == {
        f"receipts.{b.code}": [
            "receiving 130 would exceed the ordered 100 by more than the 5% tolerance (max 105)"
        ]
    }
    assert snapshot() == before  # a's 96 were fine, and not applied either

    result = purchase_order_receive(po_id=po.pk, receipts={a.pk: 100, b.pk: 1}, actor=SYSTEM)
    assert result.po.status == Status.RECEIVED
    assert (on_hand(a, wh), on_hand(b, wh)) == (100, 105)
    assert incoming_by_sku_warehouse() == {}  # over-received lines owe nothing
    assert ledger_mismatches() == []


def test_receiving_a_sku_not_on_the_po_or_a_bad_quantity_is_refused(world):
    _, _, a, _ = world
    po = sent_po(world, qa=24)
    stranger = SKUFactory()
    before = snapshot()
    with pytest.raises(InvalidInput) as exc:
        purchase_order_receive(po_id=po.pk, receipts={a.pk: 5, stranger.pk: 1, "NOPE": 1}, actor=SYSTEM)
    assert exc.value.fields == {
        f"receipts.{stranger.code}": [f"{stranger.code} is not on {po}"],
        "receipts.NOPE": ["unknown SKU NOPE"],
    }
    for bad in (0, -3, 1.5, True):
        with pytest.raises(InvalidInput) as exc:
            purchase_order_receive(po_id=po.pk, receipts={a.pk: bad}, actor=SYSTEM)
        assert exc.value.fields == {f"receipts.{a.code}": ["must be a positive whole number"]}
    with pytest.raises(InvalidInput):
        purchase_order_receive(po_id=po.pk, receipts={}, actor=SYSTEM)
    assert snapshot() == before


def test_zero_tolerance(world):
    _, _, a, _ = world
    po = sent_po(world, qa=24, tolerance=Decimal("0"))
    with pytest.raises(InvalidInput):
        purchase_order_receive(po_id=po.pk, receipts={a.pk: 25}, actor=SYSTEM)
    purchase_order_receive(po_id=po.pk, receipts={a.pk: 24}, actor=SYSTEM)


# --- The accounting hook -------------------------------------------------------------


def test_receipt_writes_an_outbox_event_with_its_value(world):
    _, _, a, b = world
    po = sent_po(world, qa=48, qb=10)
    result = purchase_order_receive(
        po_id=po.pk, receipts={a.pk: 13, b.pk: 3}, actor=SYSTEM, reference="ASN-7"
    )
    assert result.value == Decimal("35.80")  # 13 x 2.50 + 3 x 1.10
    event = OutboxEvent.objects.get(topic=PO_RECEIVED_TOPIC)
    assert event.aggregate == f"po:{po.pk}"
    assert event.payload["po_id"] == po.pk
    assert event.payload["value"] == "35.80"
    assert event.payload["currency"] == "USD"
    assert event.payload["reference"] == "ASN-7"
    receipt = {
        key: (line["sku"], line["quantity"], Decimal(line["unit_cost"]))
        for key, line in event.payload["receipt"].items()
    }
    assert receipt == {str(a.pk): (a.code, 13, Decimal("2.50")), str(b.pk): (b.code, 3, Decimal("1.10"))}
    assert result.event.data["value"] == "35.80"


def test_receipt_value_is_rounded_in_the_order_currency(world):
    _, wh, _, _ = world
    from accounting.models import ExchangeRate

    # The SKU's cost is in USD: the receipt converts for the moving average.
    ExchangeRate.objects.create(currency="JPY", day=timezone.localdate(), rate=Decimal("0.0067"))
    yen = make_supplier("NIPPON", currency="JPY")
    sku = SKUFactory()
    offer(yen, sku, cost="333")
    po = purchase_order_create(supplier_id=yen.pk, warehouse_id=wh.pk, lines=[(sku.pk, 3)], actor=SYSTEM)
    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    result = purchase_order_receive(po_id=po.pk, receipts={sku.pk: 3}, actor=SYSTEM)
    assert (result.value, result.currency) == (Decimal("999"), "JPY")


# --- Incoming stock ------------------------------------------------------------------


def test_incoming_selector_sums_open_orders_with_the_next_eta(world):
    supplier, wh, a, b = world
    other_wh = WarehouseFactory()
    soon, later = date(2030, 1, 10), date(2030, 2, 1)
    first = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(a.pk, 48), (b.pk, 5)], actor=SYSTEM,
        expected_at=later,
    )  # fmt: skip
    second = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(a.pk, 24)], actor=SYSTEM, expected_at=soon
    )
    third = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=other_wh.pk, lines=[(a.pk, 36)], actor=SYSTEM
    )
    purchase_order_create(supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(b.pk, 7)], actor=SYSTEM)
    assert incoming_by_sku_warehouse() == {}  # drafts are not incoming
    for po in (first, second, third):
        purchase_order_send(po_id=po.pk, actor=SYSTEM)
    purchase_order_receive(po_id=first.pk, receipts={a.pk: 10}, actor=SYSTEM)

    with CaptureQueriesContext(connection) as ctx:
        incoming = incoming_by_sku_warehouse()
    assert len(ctx.captured_queries) == 1
    assert incoming == {
        (a.pk, wh.pk): {"quantity": 38 + 24, "next_eta": soon},
        (b.pk, wh.pk): {"quantity": 5, "next_eta": later},
        (a.pk, other_wh.pk): {"quantity": 36, "next_eta": third.expected_at},
    }
    assert incoming_by_sku_warehouse(sku_ids=[b.pk]) == {(b.pk, wh.pk): {"quantity": 5, "next_eta": later}}
    assert set(incoming_by_sku_warehouse(warehouse_ids=[other_wh.pk])) == {(a.pk, other_wh.pk)}

    levels = StockLevel.objects.filter(sku=a).annotate(incoming_po=incoming_quantity_subquery())
    assert {lvl.warehouse_id: lvl.incoming_po for lvl in levels} == {wh.pk: 62}


# --- Concurrency ---------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_concurrent_receipts_never_exceed_the_tolerance():
    supplier = make_supplier("RACE")
    wh = WarehouseFactory()
    sku = SKUFactory()
    offer(supplier, sku, cost="1.00")
    po = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(sku.pk, 100)], actor=SYSTEM
    )
    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    n = 8
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = purchase_order_receive(po_id=po.pk, receipts={sku.pk: 14}, actor=SYSTEM)
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a receipt hung"

    accepted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    # 7 x 14 = 98; whichever receipt comes 8th would make 112, past the 105 allowed.
    assert len(accepted) == 7
    assert len(refused) == 1 and isinstance(refused[0], InvalidInput), refused
    assert "(max 105)" in refused[0].message
    line = PurchaseOrderLine.objects.get(po=po)
    assert line.quantity_received == 98
    assert StockLevel.objects.get(sku=sku, warehouse=wh).on_hand == 98
    assert PurchaseOrder.objects.get(pk=po.pk).status == Status.PARTIALLY_RECEIVED
    assert OutboxEvent.objects.filter(topic=PO_RECEIVED_TOPIC).count() == 7
    assert ledger_mismatches() == []


# --- Admin ---------------------------------------------------------------------------


def act(client, action: str, ids):
    return client.post(
        reverse("admin:inventory_purchaseorder_changelist"),
        {"action": action, helpers.ACTION_CHECKBOX_NAME: ids},
        follow=True,
    )


def test_admin_pages_render(admin_client, world):
    supplier, _, a, _ = world
    po = sent_po(world, qa=24)
    purchase_order_receive(po_id=po.pk, receipts={a.pk: 10}, actor=SYSTEM)
    item = SupplierSKU.objects.filter(supplier=supplier).first()
    event = po.events.first()
    pages = [
        ("supplier", None),
        ("supplier", supplier.pk),
        ("suppliersku", None),
        ("suppliersku", item.pk),
        ("purchaseorder", None),
        ("purchaseorder", po.pk),
        ("purchaseorderline", None),
        ("purchaseorderline", po.lines.first().pk),
        ("purchaseorderevent", None),
        ("purchaseorderevent", event.pk),
    ]
    for model, pk in pages:
        url = (
            reverse(f"admin:inventory_{model}_change", args=[pk])
            if pk
            else reverse(f"admin:inventory_{model}_changelist")
        )
        response = admin_client.get(url)
        assert response.status_code == 200, url
        for term in ("1", "ACME", a.code):
            if pk is None:
                assert admin_client.get(url, {"q": term}).status_code == 200
    page = admin_client.get(reverse("admin:inventory_purchaseorder_change", args=[po.pk])).content.decode()
    assert "Outstanding" in page and ">14<" in page  # 24 ordered, 10 received
    for filter_ in ({"status__exact": "partially_received"}, {"supplier__id__exact": supplier.pk}):
        assert (
            admin_client.get(reverse("admin:inventory_purchaseorder_changelist"), filter_).status_code == 200
        )
    assert admin_client.get(reverse("admin:inventory_supplier_add")).status_code == 200
    assert admin_client.get(reverse("admin:inventory_purchaseorder_add")).status_code == 200


def test_admin_actions_call_the_services_and_report_errors(admin_client, admin_user, world):
    supplier, wh, a, _ = world
    draft = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(a.pk, 24)], actor=SYSTEM
    )
    other = purchase_order_create(
        supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(a.pk, 24)], actor=SYSTEM
    )
    response = act(admin_client, "send", [draft.pk])
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == Status.SENT
    assert draft.events.get(kind="sent").actor_user == admin_user

    purchase_order_receive(po_id=draft.pk, receipts={a.pk: 5}, actor=SYSTEM)
    response = act(admin_client, "cancel", [draft.pk, other.pk])
    messages = [str(m) for m in response.context["messages"]]
    assert any("close it short" in m for m in messages), messages
    other.refresh_from_db()
    assert other.status == Status.CANCELLED

    response = act(admin_client, "close_short", [draft.pk, other.pk])
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == Status.CLOSED
    assert any("cannot become" in str(m) for m in response.context["messages"])


def test_admin_add_form_goes_through_the_service(admin_client, admin_user, world):
    supplier, wh, a, b = world
    url = reverse("admin:inventory_purchaseorder_add")
    data = {
        "supplier": supplier.pk,
        "warehouse": wh.pk,
        "over_receipt_tolerance_pct": "5.00",
        "note": "from admin",
        "order_lines": f"{a.code} 30\nNOPE 1",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form comes back with the errors
    body = response.content.decode()
    assert "must be a multiple of the pack size 12" in body
    assert "unknown SKU NOPE" in body
    assert not PurchaseOrder.objects.exists()

    data["order_lines"] = f"{a.code} 36\n{b.code} x 4"
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "line 2" in response.content.decode()

    data["order_lines"] = f"{a.code} 36\n{b.code} 4"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    po = PurchaseOrder.objects.get()
    assert (po.created_by, po.note, po.status) == (admin_user, "from admin", Status.DRAFT)
    assert dict(po.lines.values_list("sku__code", "quantity_ordered")) == {a.code: 36, b.code: 4}


def test_admin_edits_a_draft_through_the_service_and_freezes_it_once_sent(admin_client, world):
    supplier, wh, a, b = world
    po = purchase_order_create(supplier_id=supplier.pk, warehouse_id=wh.pk, lines=[(a.pk, 24)], actor=SYSTEM)
    url = reverse("admin:inventory_purchaseorder_change", args=[po.pk])
    page = admin_client.get(url)
    assert f"{a.code} 24" in page.content.decode()  # the lines, as text to edit
    data = {
        "supplier": supplier.pk,
        "warehouse": wh.pk,
        "expected_at": "2030-03-01",
        "over_receipt_tolerance_pct": "2.50",
        "note": "revised",
        "order_lines": f"{b.code} 9",
    }
    # The read-only inlines post only their management forms.
    for prefix in ("lines", "events"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    response = admin_client.post(url, data)
    assert response.status_code == 302
    po.refresh_from_db()
    assert (po.note, po.expected_at, po.over_receipt_tolerance_pct) == (
        "revised",
        date(2030, 3, 1),
        Decimal("2.50"),
    )
    assert dict(po.lines.values_list("sku__code", "quantity_ordered")) == {b.code: 9}
    assert po.events.last().kind == "updated"

    purchase_order_send(po_id=po.pk, actor=SYSTEM)
    page = admin_client.get(url).content.decode()
    assert 'name="order_lines"' not in page
    admin_client.post(url, {**data, "order_lines": f"{a.code} 48", "note": "tampered"})
    po.refresh_from_db()
    assert po.note == "revised"
    assert dict(po.lines.values_list("sku__code", "quantity_ordered")) == {b.code: 9}
