"""The picking and wave API as a scanner uses it, its refusals (4xx naming
the field), constant query counts, and the admin pages and actions."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment.models import FulfillmentOrder, PickList, PickListLine, Wave
from fulfillment.picking import pick_lists_create, wave_create
from oms.actors import Actor
from tests.factories import WarehouseFactory

from .picking_world import build_world, status_of

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status
API = "/api/v1/fulfillment"


@pytest.fixture
def w(channel, warehouse):
    return build_world(channel, warehouse)


def post(client, url, payload=None):
    return client.post(f"{API}/{url}", payload or {}, format="json")


def create(client, w, **payload):
    return post(client, "pick-lists/", {"warehouse": w.warehouse.code, **payload})


def test_a_scanner_walks_a_batch_list(staff_api, w):
    first, second = w.shipment((w.mug, 2), (w.book, 1)), w.shipment((w.tape, 1))
    r = create(staff_api, w, mode="batch")
    assert r.status_code == 201, r.json()
    [summary] = r.json()["pick_lists"]
    assert (summary["mode"], summary["status"], summary["units"], summary["stops"], summary["shipments"]) == (
        "batch",
        "open",
        4,
        3,
        2,
    )
    pk = summary["id"]
    body = staff_api.get(f"{API}/pick-lists/{pk}/").json()
    assert [(r["bin"], r["sku"], r["quantity"]) for r in body["rows"]] == [
        ("A-02", w.mug.code, 2),
        ("B-01", w.book.code, 1),
        ("", w.tape.code, 1),
    ]
    assert body["next"]["bin"] == "A-02" and body["next"]["totes"] == [{"slot": 1, "quantity": 2}]
    assert [(ln["shipment"], ln["tote_slot"], ln["left"]) for ln in body["lines"]] == [
        (first.number, 1, 2),
        (first.number, 1, 1),
        (second.number, 2, 1),
    ]

    r = post(staff_api, f"pick-lists/{pk}/scan/", {"bin": "A-02", "barcode": w.mug.barcode, "quantity": 2})
    assert r.status_code == 200, r.json()
    assert r.json()["placed"] == [{"slot": 1, "quantity": 2, "shipment": first.number}]
    assert r.json()["next"]["bin"] == "B-01" and r.json()["left"] == 2

    r = post(staff_api, f"pick-lists/{pk}/scan/", {"bin": "A-02", "barcode": w.book.barcode})
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_bin"
    r = post(staff_api, f"pick-lists/{pk}/scan/", {"bin": "B-01", "barcode": w.mug.barcode})
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_item"
    assert "barcode" in r.json()["error"]["fields"]
    r = post(staff_api, f"pick-lists/{pk}/scan/", {"bin": "B-01", "barcode": w.book.barcode, "quantity": 2})
    assert r.status_code == 409 and r.json()["error"]["code"] == "over_pick"

    book_line = next(ln for ln in body["lines"] if ln["sku"] == w.book.code)
    r = post(staff_api, f"pick-lines/{book_line['id']}/confirm/", {"quantity": 1})
    assert r.status_code == 200 and r.json()["next"]["bin"] is None
    tape_line = next(ln for ln in body["lines"] if ln["sku"] == w.tape.code)
    r = post(staff_api, f"pick-lines/{tape_line['id']}/short/", {"quantity": 1})
    assert r.status_code == 200, r.json()
    assert r.json()["complete"] and r.json()["resourced"] is None and r.json()["shipment"] == second.number
    assert staff_api.get(f"{API}/pick-lists/{pk}/progress/").json()["status"] == "done"
    r = post(staff_api, f"pick-lists/{pk}/cancel/")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"


def test_create_for_named_shipments_and_cancel(staff_api, w):
    fo = w.shipment((w.mug, 1))
    r = create(staff_api, w, mode="single", shipments=[fo.pk])
    assert r.status_code == 201
    pk = r.json()["pick_lists"][0]["id"]
    r = create(staff_api, w, mode="batch", shipments=[fo.pk])
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_listed"
    assert r.json()["error"]["fields"]["shipments"] == [f"{fo.number} is already on open pick list P{pk:06d}"]
    r = post(staff_api, f"pick-lists/{pk}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert status_of(fo) == Status.RELEASED


def test_bad_input_names_the_field(staff_api, api, w):
    fo = w.shipment((w.mug, 1))
    far = WarehouseFactory(code="WH-FAR")
    cases = [
        ({"warehouse": "NOPE", "mode": "batch"}, 400, "warehouse"),
        ({"warehouse": w.warehouse.code, "mode": "wave"}, 400, "mode"),
        ({"warehouse": w.warehouse.code, "mode": "batch", "max_orders": "many"}, 400, "max_orders"),
        ({"warehouse": w.warehouse.code, "mode": "batch", "shipments": ["x"]}, 400, "shipments[0]"),
        ({"warehouse": w.warehouse.code, "mode": "batch", "shipments": [999999]}, 400, "shipments"),
        ({"warehouse": far.code, "mode": "batch", "shipments": [fo.pk]}, 400, "shipments"),
        ({"warehouse": w.warehouse.code, "mode": "batch", "zone": "Q"}, 400, "zone"),
        ({"warehouse": w.warehouse.code, "mode": "batch", "shipment": [fo.pk]}, 400, "shipment"),
        ({"mode": "batch"}, 400, "warehouse"),
    ]
    for payload, status, field in cases:
        r = post(staff_api, "pick-lists/", payload)
        assert r.status_code == status, (payload, r.json())
        assert field in r.json()["error"]["fields"], (payload, r.json())
    r = post(staff_api, "pick-lists/", {"warehouse": far.code, "mode": "batch"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "nothing_to_pick"
    assert not PickList.objects.exists() and status_of(fo) == Status.RELEASED

    pk = create(staff_api, w, mode="single").json()["pick_lists"][0]["id"]
    line_id = PickList.objects.get(pk=pk).lines.get().pk
    for url, payload, field in [
        (f"pick-lists/{pk}/scan/", {"bin": "A-02", "barcode": w.mug.barcode, "quantity": "two"}, "quantity"),
        (f"pick-lists/{pk}/scan/", {"bin": "A-02", "barcode": w.mug.barcode, "quantity": 0}, "quantity"),
        (f"pick-lists/{pk}/scan/", {"bin": "A-02"}, "barcode"),
        (f"pick-lists/{pk}/scan/", {"bin": "A-02", "barcode": "999"}, "barcode"),
        (f"pick-lines/{line_id}/confirm/", {"quantity": 1.5}, "quantity"),
        (f"pick-lines/{line_id}/short/", {"quantity": 5}, "quantity"),
        (f"pick-lines/{line_id}/short/", {}, "quantity"),
    ]:
        r = post(staff_api, url, payload)
        assert r.status_code == 400, (url, payload, r.json())
        assert field in r.json()["error"]["fields"], (url, payload, r.json())
    for url, payload in [
        ("pick-lists/999999/scan/", {"bin": "A-02", "barcode": w.mug.barcode}),
        ("pick-lines/999999/confirm/", {"quantity": 1}),
        ("pick-lines/999999/short/", {"quantity": 1}),
        ("pick-lists/999999/cancel/", {}),
        ("waves/999999/release/", {}),
    ]:
        assert post(staff_api, url, payload).status_code == 404, url
    assert staff_api.get(f"{API}/pick-lists/999999/").status_code == 404
    assert staff_api.get(f"{API}/pick-lists/", {"status": "lost"}).status_code == 400
    assert staff_api.get(f"{API}/pick-lists/").status_code == 200
    assert api.get(f"{API}/pick-lists/").status_code == 403  # a channel is not staff
    assert post(api, "pick-lists/", {"warehouse": w.warehouse.code, "mode": "batch"}).status_code == 403
    assert PickList.objects.get(pk=pk).lines.get().quantity_picked == 0


def test_waves_through_the_api(staff_api, w, carrier):
    ground = carrier.services.get(code="ground")
    fo = w.shipment((w.mug, 1), (w.book, 1), service_id=ground.pk, ship_by="2030-01-01")
    w.shipment((w.mug, 1), ship_by="2030-01-01")  # no carrier
    r = post(staff_api, "waves/", {"warehouse": w.warehouse.code, "carrier": "acme", "ship_by": "2030-01-02"})
    assert r.status_code == 201, r.json()
    wave = r.json()
    assert wave["status"] == "planned" and wave["carrier"] == "acme" and wave["lists"] == 2
    assert [s["shipment"] for s in wave["shipments"]] == [fo.number]
    assert [pl["zone"] for pl in wave["pick_lists"]] == ["A", "B"]
    zone_a = wave["pick_lists"][0]["id"]
    r = post(staff_api, f"pick-lists/{zone_a}/scan/", {"bin": "A-02", "barcode": w.mug.barcode})
    assert r.status_code == 409 and r.json()["error"]["code"] == "wave_not_released"
    r = post(staff_api, f"waves/{wave['id']}/release/")
    assert r.status_code == 200 and r.json()["status"] == "released"
    assert staff_api.get(f"{API}/waves/", {"status": "released"}).json()["count"] == 1
    assert staff_api.get(f"{API}/pick-lists/", {"wave": wave["id"]}).json()["count"] == 2
    detail = staff_api.get(f"{API}/pick-lists/{zone_a}/").json()
    assert detail["consolidation_point"] == wave["consolidation_point"]
    r = post(staff_api, f"waves/{wave['id']}/cancel/")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    for payload, field in [
        ({"warehouse": w.warehouse.code, "carrier": "nope"}, "carrier"),
        ({"warehouse": w.warehouse.code, "ship_by": "soon"}, "ship_by"),
        ({"warehouse": "NOPE"}, "warehouse"),
    ]:
        r = post(staff_api, "waves/", payload)
        assert r.status_code == 400 and field in r.json()["error"]["fields"], r.json()


def test_list_and_detail_queries_do_not_grow(staff_api, w):
    def queries(url):
        staff_api.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert staff_api.get(url).status_code == 200
        return len(ctx.captured_queries)

    def counts(pick_list_id, wave_id):
        return [
            queries(f"{API}/pick-lists/"),
            queries(f"{API}/pick-lists/{pick_list_id}/"),
            queries(f"{API}/pick-lists/{pick_list_id}/progress/"),
            queries(f"{API}/waves/"),
            queries(f"{API}/waves/{wave_id}/"),
        ]

    w.shipment((w.mug, 1))
    small = create(staff_api, w, mode="batch").json()["pick_lists"][0]["id"]
    w.shipment((w.mug, 1))
    small_wave = post(staff_api, "waves/", {"warehouse": w.warehouse.code}).json()["id"]
    before = counts(small, small_wave)

    for _ in range(4):
        w.shipment((w.mug, 1), (w.book, 2), (w.tape, 1), (w.pen, 1))  # the pens: A-01, then B-02
    big = create(staff_api, w, mode="batch").json()["pick_lists"][0]["id"]
    for _ in range(3):
        w.shipment((w.mug, 1), (w.pen, 1))
    big_wave = post(staff_api, "waves/", {"warehouse": w.warehouse.code}).json()["id"]
    assert PickList.objects.get(pk=big).lines.count() == 16
    assert counts(big, big_wave) == before


# --- Admin ------------------------------------------------------------------------------------


def admin_url(model, view, *args):
    return reverse(f"admin:fulfillment_{model._meta.model_name}_{view}", args=args)


def test_admin_pages_and_actions(admin_client, w):
    fos = [w.shipment((w.mug, 1), (w.book, 1)) for _ in range(2)]
    [batch] = pick_lists_create(
        warehouse_id=w.warehouse.pk, mode="batch", actor=Actor.system(), fulfillment_order_ids=[fos[0].pk]
    )
    wave = wave_create(warehouse_id=w.warehouse.pk, actor=Actor.system())
    for model, obj in ((PickList, batch), (Wave, wave), (PickListLine, batch.lines.first())):
        assert admin_client.get(admin_url(model, "changelist")).status_code == 200
        assert admin_client.get(admin_url(model, "changelist"), {"q": "A"}).status_code == 200
        assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200

    r = admin_client.post(
        admin_url(Wave, "changelist"), {"action": "release", "_selected_action": [wave.pk]}, follow=True
    )
    assert r.status_code == 200
    wave.refresh_from_db()
    assert wave.status == Wave.Status.RELEASED
    r = admin_client.post(
        admin_url(PickList, "changelist"), {"action": "cancel", "_selected_action": [batch.pk]}, follow=True
    )
    assert "1 pick list(s) cancelled" in r.content.decode()
    assert status_of(fos[0]) == Status.RELEASED
    r = admin_client.post(
        admin_url(PickList, "changelist"), {"action": "cancel", "_selected_action": [batch.pk]}, follow=True
    )
    assert "cannot be cancelled" in r.content.decode()
    admin_client.post(admin_url(Wave, "changelist"), {"action": "cancel", "_selected_action": [wave.pk]})
    wave.refresh_from_db()
    assert wave.status == Wave.Status.CANCELLED and status_of(fos[1]) == Status.RELEASED


def test_admin_lists_do_not_query_more_as_rows_grow(admin_client, w):
    def grow():
        fos = [w.shipment((w.mug, 1), (w.book, 1)) for _ in range(2)]
        pick_lists_create(
            warehouse_id=w.warehouse.pk, mode="zone", actor=Actor.system(), fulfillment_order_ids=[fos[0].pk]
        )
        wave_create(warehouse_id=w.warehouse.pk, actor=Actor.system())

    def queries(model):
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(admin_url(model, "changelist")).status_code == 200
        return len(ctx.captured_queries)

    grow()
    models = [PickList, Wave, PickListLine]
    before = [queries(m) for m in models]
    grow()
    grow()
    assert [queries(m) for m in models] == before
