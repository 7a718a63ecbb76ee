"""The pack station: scans are checked against the shipment, the box is
chosen (or named by staff and checked), the parcel is rated and labelled,
and a refused call changes nothing."""

from __future__ import annotations

import pytest
from django.db.models import F

from fulfillment.carriers import register_adapter
from fulfillment.carriers.table import TableCarrier, tracking_number_for
from fulfillment.models import FulfillmentEvent, FulfillmentOrder
from fulfillment.packing import box_suggest, pack_complete, pack_scan
from fulfillment.services.lifecycle import fo_transition
from inventory.models import Warehouse
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput, InvalidTransition
from orders.models import Order
from tests.factories import SKUFactory, WarehouseFactory, sku_in_stock

from .conftest import place_order, release_whole_order

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status
STAFF = Actor.system()


def picked_shipment(channel, warehouse, lines, **release):
    """A released shipment of the DC, its pick list done: everything picked."""
    fo = release_whole_order(place_order(channel, lines), **release)
    fo.lines.update(quantity_picked=F("quantity"))
    fo_transition(fo, Status.PICKING, actor=STAFF)
    return fo


@pytest.fixture
def skus(channel, warehouse):
    book = sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=20,
        length_mm=200,
        width_mm=150,
        height_mm=30,
        weight_grams=300,
    )
    mug = sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=20,
        length_mm=100,
        width_mm=80,
        height_mm=40,
        weight_grams=200,
    )
    return book, mug


@pytest.fixture
def fo(channel, warehouse, skus, carrier, boxes, materials):
    book, mug = skus
    ground = carrier.services.get(code="ground")
    return picked_shipment(channel, warehouse, [(book.code, 2), (mug.code, 1)], service_id=ground.pk)


def packed_quantities(fo):
    return sorted(fo.lines.values_list("quantity_packed", flat=True))


def scan_all(fo, skus):
    book, mug = skus
    pack_scan(fulfillment_order_id=fo.pk, barcode=book.barcode, actor=STAFF, quantity=2)
    return pack_scan(fulfillment_order_id=fo.pk, barcode=mug.barcode, actor=STAFF)


# --- Scanning -----------------------------------------------------------------------


def test_scanning_counts_units_and_says_what_is_left(fo, skus):
    book, mug = skus
    first = pack_scan(fulfillment_order_id=fo.pk, barcode=book.barcode, actor=STAFF)
    assert (first.sku, first.units_left, first.complete) == (book.code, 2, False)
    second = pack_scan(
        fulfillment_order_id=fo.pk, barcode=f" {book.barcode}\r\n", actor=STAFF
    )  # scanner CR/LF
    assert second.units_left == 1
    last = pack_scan(fulfillment_order_id=fo.pk, barcode=mug.barcode, actor=STAFF)
    assert last.complete and last.units_left == 0
    assert {line.sku: line.packed for line in last.lines} == {book.code: 2, mug.code: 1}
    assert fo.events.filter(kind="pack_scan").count() == 3


def test_wrong_item_is_refused_and_nothing_changes(fo, channel, warehouse):
    stranger = sku_in_stock(channel=channel, warehouse=warehouse, quantity=5)
    with pytest.raises(Conflict) as exc:
        pack_scan(fulfillment_order_id=fo.pk, barcode=stranger.barcode, actor=STAFF)
    assert exc.value.code == "wrong_item"
    assert exc.value.message == (
        f"Wrong item: {stranger.code} (barcode {stranger.barcode}) is not in shipment {fo.number}."
    )
    assert packed_quantities(fo) == [0, 0]
    assert not fo.events.filter(kind="pack_scan").exists()


def test_an_extra_unit_is_refused(fo, skus):
    book, _ = skus
    pack_scan(fulfillment_order_id=fo.pk, barcode=book.barcode, actor=STAFF, quantity=2)
    with pytest.raises(Conflict) as exc:
        pack_scan(fulfillment_order_id=fo.pk, barcode=book.barcode, actor=STAFF)
    assert exc.value.code == "extra_unit"
    assert exc.value.message == f"All 2 of {book.code} are already packed."
    with pytest.raises(Conflict):
        pack_scan(fulfillment_order_id=fo.pk, barcode=skus[1].barcode, actor=STAFF, quantity=2)
    assert packed_quantities(fo) == [0, 2]


def test_unknown_barcode_names_the_field(fo):
    with pytest.raises(InvalidInput) as exc:
        pack_scan(fulfillment_order_id=fo.pk, barcode="1234567890123", actor=STAFF)
    assert exc.value.fields == {"barcode": ["unknown barcode 1234567890123"]}
    with pytest.raises(InvalidInput) as exc:
        pack_scan(fulfillment_order_id=fo.pk, barcode="  ", actor=STAFF)
    assert "barcode" in exc.value.fields
    with pytest.raises(InvalidInput) as exc:
        pack_scan(fulfillment_order_id=fo.pk, barcode="x", actor=STAFF, quantity=0)
    assert "quantity" in exc.value.fields
    assert packed_quantities(fo) == [0, 0]


def test_units_not_picked_cannot_be_packed(channel, warehouse, skus):
    book, _ = skus
    fo = release_whole_order(place_order(channel, [(book.code, 3)]))
    with pytest.raises(InvalidTransition, match="released but not picked yet"):
        pack_scan(fulfillment_order_id=fo.pk, barcode=book.barcode, actor=STAFF)
    fo.lines.update(quantity_picked=1)
    fo_transition(fo, Status.PICKING, actor=STAFF)
    pack_scan(fulfillment_order_id=fo.pk, barcode=book.barcode, actor=STAFF)
    with pytest.raises(Conflict) as exc:
        pack_scan(fulfillment_order_id=fo.pk, barcode=book.barcode, actor=STAFF)
    assert exc.value.code == "not_picked"
    assert packed_quantities(fo) == [1]


def test_a_store_packs_straight_from_the_shelf(channel):
    store = WarehouseFactory(kind=Warehouse.Kind.STORE)
    sku = sku_in_stock(channel=channel, warehouse=store, quantity=3)
    order = place_order(channel, [(sku.code, 1)])
    assert order.warehouse_id == store.pk
    fo = release_whole_order(order)
    assert pack_scan(fulfillment_order_id=fo.pk, barcode=sku.barcode, actor=STAFF).complete


@pytest.mark.parametrize("status", [Status.SHIPPED, Status.CANCELLED, Status.PACKED])
def test_a_shipped_or_cancelled_shipment_cannot_be_packed(fo, skus, status):
    FulfillmentOrder.objects.filter(pk=fo.pk).update(status=status)
    events = FulfillmentEvent.objects.count()
    with pytest.raises(InvalidTransition) as exc:
        pack_scan(fulfillment_order_id=fo.pk, barcode=skus[0].barcode, actor=STAFF)
    if status == Status.SHIPPED:
        assert exc.value.message == f"Shipment {fo.number} is shipped; it cannot be packed again."
    with pytest.raises(InvalidTransition):
        pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)
    fo.refresh_from_db()
    assert fo.status == status and fo.box_id is None and fo.tracking_number is None
    assert packed_quantities(fo) == [0, 0]
    assert FulfillmentEvent.objects.count() == events


# --- Box choice and completion ------------------------------------------------------


def test_box_suggestion_for_the_shipment(fo):
    choice = box_suggest(fulfillment_order_id=fo.pk)
    # Two 20 x 15 x 3 cm books cannot lie side by side or stack in the 4 cm mailer.
    assert choice.box.code == "small" and choice.material.code == "none"
    assert {(r.box_code, r.material_code): r.reason for r in choice.rejected}[
        ("mailer", "none")
    ] == "does_not_fit"


def test_fragile_shipment_gets_protective_packaging(channel, warehouse, carrier, boxes, materials):
    vase = sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=2,
        length_mm=150,
        width_mm=150,
        height_mm=250,
        is_fragile=True,
    )
    fo = picked_shipment(channel, warehouse, [(vase.code, 1)])
    choice = box_suggest(fulfillment_order_id=fo.pk)
    assert choice.box.protection + (choice.material.protection if choice.material else 0) >= 2


def test_complete_with_the_suggested_box(fo, skus, carrier):
    scan_all(fo, skus)
    packed = pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)
    assert packed.status == Status.PACKED and packed.packed_at is not None
    assert packed.tracking_number == tracking_number_for(carrier, fo.pk)
    assert packed.box.code == "small" and packed.material.code == "none"
    assert packed.weight_grams == 2 * 300 + 200 + 150  # items + empty small box
    assert packed.dim_weight_grams == 300 * 220 * 120 // 5000
    assert packed.shipping_cost > 0 and packed.shipping_cost_currency == "USD"
    kinds = list(packed.events.values_list("kind", flat=True))
    assert kinds[-3:] == ["pack_box", "rated", "packed"]
    assert Order.objects.get(pk=fo.order_id).status == Order.Status.FULFILLING


def test_complete_with_a_box_and_weight_staff_chose(fo, skus):
    scan_all(fo, skus)
    packed = pack_complete(
        fulfillment_order_id=fo.pk, actor=STAFF, box_code="large", material_code="bubble", weight_grams=1700
    )
    assert (packed.box.code, packed.material.code, packed.weight_grams) == ("large", "bubble", 1700)
    assert packed.status == Status.PACKED and packed.tracking_number


@pytest.mark.parametrize(
    ("kwargs", "field", "problem"),
    [
        ({"box_code": "crate"}, "box", "unknown box 'crate'"),
        ({"material_code": "straw"}, "material", "unknown material 'straw'"),
        ({"box_code": "mailer"}, "box", "mailer cannot take this shipment"),
        ({"weight_grams": 0}, "weight_grams", "must be a positive whole number of grams"),
        ({"weight_grams": 90_000}, "weight_grams", "over 70000 g"),
        ({"weight_grams": 100}, "weight_grams", "less than the empty small box"),
    ],
)
def test_complete_refuses_bad_input_and_changes_nothing(fo, skus, kwargs, field, problem):
    scan_all(fo, skus)
    events = fo.events.count()
    with pytest.raises(InvalidInput) as exc:
        pack_complete(fulfillment_order_id=fo.pk, actor=STAFF, **kwargs)
    assert list(exc.value.fields) == [field]
    assert problem in exc.value.fields[field][0]
    fo.refresh_from_db()
    assert fo.status == Status.PICKING and fo.box_id is None and fo.weight_grams is None
    assert fo.events.count() == events


def test_complete_before_everything_is_scanned(fo, skus):
    book, mug = skus
    pack_scan(fulfillment_order_id=fo.pk, barcode=book.barcode, actor=STAFF)
    with pytest.raises(Conflict) as exc:
        pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)
    assert exc.value.code == "pack_incomplete"
    assert f"1 x {book.code}, 1 x {mug.code}" in exc.value.message
    fo.refresh_from_db()
    assert fo.status == Status.PICKING and fo.box_id is None


def test_pickup_is_packed_without_a_label(channel, warehouse, skus, boxes, materials):
    fo = picked_shipment(channel, warehouse, [(skus[1].code, 1)], method=FulfillmentOrder.Method.PICKUP)
    pack_scan(fulfillment_order_id=fo.pk, barcode=skus[1].barcode, actor=STAFF)
    packed = pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)
    assert packed.status == Status.PACKED and packed.tracking_number is None
    assert packed.events.get(kind="packed").message == "Ready for collection."


@register_adapter("flaky-test")
class FlakyCarrier(TableCarrier):
    """The table carrier behind an API that fails the first label request."""

    calls = 0

    def create_shipment(self, *, fulfillment_order, parcel):
        type(self).calls += 1
        if type(self).calls == 1:
            raise ConnectionError("carrier API timed out")
        return super().create_shipment(fulfillment_order=fulfillment_order, parcel=parcel)


def test_a_carrier_failure_is_retried_without_doubling(fo, skus, carrier):
    carrier.adapter = "flaky-test"
    carrier.save(update_fields=["adapter"])
    FlakyCarrier.calls = 0
    scan_all(fo, skus)
    with pytest.raises(ConnectionError):
        pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)
    fo.refresh_from_db()
    assert fo.status == Status.PICKING and fo.tracking_number is None  # boxed, weighed, not labelled
    packed = pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)
    assert packed.status == Status.PACKED
    assert packed.tracking_number == tracking_number_for(carrier, fo.pk)
    assert packed.events.filter(kind="packed").count() == 1


# --- API ------------------------------------------------------------------------------


def url(fo, tail):
    return f"/api/v1/fulfillment/shipments/{fo.pk}/{tail}"


def test_api_scan_box_and_complete(staff_api, fo, skus):
    book, mug = skus
    r = staff_api.post(url(fo, "pack/scan/"), {"barcode": book.barcode, "quantity": 2}, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["units_left"] == 1
    staff_api.post(url(fo, "pack/scan/"), {"barcode": mug.barcode}, format="json")
    r = staff_api.get(url(fo, "box/"))
    assert r.status_code == 200 and r.json()["box"] == "small"
    assert {x["reason"] for x in r.json()["rejected"]} >= {"does_not_fit", "costs_more"}
    r = staff_api.post(url(fo, "pack/complete/"), {"weight_grams": 1000}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["status"] == "packed" and body["weight_grams"] == 1000 and body["tracking_number"]


def test_api_bad_input(staff_api, api, fo, skus, channel, warehouse):
    stranger = SKUFactory()
    cases = [
        ("pack/scan/", {"barcode": "999"}, 400, "barcode"),
        ("pack/scan/", {"barcode": skus[0].barcode, "quantity": 0}, 400, "quantity"),
        ("pack/scan/", {"barcode": skus[0].barcode, "quantiy": 2}, 400, "quantiy"),
        ("pack/scan/", {}, 400, "barcode"),
        ("pack/complete/", {"box": "crate"}, 400, "box"),
        ("pack/complete/", {"weight_grams": -5}, 400, "weight_grams"),
    ]
    for tail, payload, status, field in cases:
        r = staff_api.post(url(fo, tail), payload, format="json")
        assert r.status_code == status, (payload, r.json())
        assert field in r.json()["error"]["fields"], r.json()
    r = staff_api.post(url(fo, "pack/scan/"), {"barcode": stranger.barcode}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "wrong_item"
    r = staff_api.post(url(fo, "pack/complete/"), {}, format="json")
    assert r.status_code == 409 and r.json()["error"]["code"] == "pack_incomplete"
    r = staff_api.post("/api/v1/fulfillment/shipments/999999/pack/scan/", {"barcode": "1"}, format="json")
    assert r.status_code == 404
    assert api.post(url(fo, "pack/scan/"), {"barcode": skus[0].barcode}, format="json").status_code == 403
    assert packed_quantities(fo) == [0, 0]
