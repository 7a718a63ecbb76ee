"""The warehouse pages: work queue, waves, pick lists, pack station and
shipments; location scoping in the pages and in the fulfillment API; who may
act; constant query counts; the pack flow through the test client."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from fulfillment.models import Box, FulfillmentOrder, PackagingMaterial, PickList, Wave
from fulfillment.picking import pick_confirm_line, pick_lists_create, wave_create, wave_release
from oms.actors import Actor
from oms.roles import ACCOUNTING, CUSTOMER_SERVICE, MANAGER, WAREHOUSE
from tests.dashboard.conftest import assert_constant_queries, page_queries
from tests.factories import WarehouseFactory, sku_in_stock
from tests.fulfillment.conftest import add_bins, make_carrier, place_order, release_whole_order, stock_in_bin

pytestmark = pytest.mark.django_db
Status = FulfillmentOrder.Status
SYSTEM = Actor.system()
API = "/api/v1/fulfillment"
HTMX = {"HTTP_HX_REQUEST": "true"}


class Site:
    """Two distribution centres, A and B, each with two bins of its own SKUs,
    a carrier with rates and standard boxes."""

    def __init__(self, channel) -> None:
        self.channel = channel
        self.carrier = make_carrier()
        self.ground = self.carrier.services.get(code="ground")
        for code, dims, weight, cost in (
            ("small", (300, 220, 120), 150, "0.60"),
            ("medium", (400, 300, 200), 300, "0.90"),
            ("large", (600, 400, 400), 600, "1.50"),
        ):
            Box.objects.create(
                code=code,
                name=code.title(),
                inner_length_mm=dims[0],
                inner_width_mm=dims[1],
                inner_height_mm=dims[2],
                empty_weight_grams=weight,
                max_weight_grams=20000,
                cost=Decimal(cost),
            )
        PackagingMaterial.objects.create(code="none", name="No fill", padding_mm=0, cost=0)
        self.a = WarehouseFactory(code="DC-A", name="Alpha")
        self.b = WarehouseFactory(code="DC-B", name="Bravo")
        self.skus = {}
        for warehouse in (self.a, self.b):
            bins = add_bins(warehouse, {"Z1": ["A-01", "A-02", "A-03"], "Z2": ["B-01"]})
            for n, bin_code in enumerate(("A-01", "A-02", "B-01")):
                sku = sku_in_stock(
                    channel=channel,
                    warehouse=warehouse,
                    quantity=0,
                    length_mm=100,
                    width_mm=80,
                    height_mm=40,
                    weight_grams=200,
                    name=f"Item {warehouse.code} {n}",
                )
                stock_in_bin(sku, bins[bin_code], 200)
                self.skus[(warehouse.code, n)] = sku

    def sku(self, warehouse, n: int = 0):
        return self.skus[(warehouse.code, n)]

    def shipment(self, warehouse, *lines: tuple[int, int], ship_by=None) -> FulfillmentOrder:
        """A released shipment at `warehouse` of (sku number, units) lines."""
        order = place_order(self.channel, [(self.sku(warehouse, n).code, qty) for n, qty in lines])
        assert order.warehouse_id == warehouse.pk
        return release_whole_order(
            order, service_id=self.ground.pk, ship_by=ship_by or timezone.localdate() + timedelta(days=1)
        )

    def picked(self, warehouse, *lines: tuple[int, int]) -> FulfillmentOrder:
        """A shipment on a single-order pick list, every unit picked."""
        fo = self.shipment(warehouse, *lines)
        [pick_list] = pick_lists_create(
            warehouse_id=warehouse.pk, mode="single", fulfillment_order_ids=[fo.pk], actor=SYSTEM
        )
        for line in pick_list.lines.all():
            pick_confirm_line(pick_line_id=line.pk, quantity=line.quantity, actor=SYSTEM)
        fo.refresh_from_db()
        return fo

    def wave(self, warehouse, *, release: bool = True) -> Wave:
        wave = wave_create(warehouse_id=warehouse.pk, actor=SYSTEM)
        return wave_release(wave_id=wave.pk, actor=SYSTEM) if release else wave


@pytest.fixture
def site(channel) -> Site:
    return Site(channel)


@pytest.fixture
def picker_a(role_client, site):
    return role_client(WAREHOUSE, locations=[site.a])


@pytest.fixture
def manager(role_client):
    return role_client(MANAGER)


def api_for(client) -> APIClient:
    api = APIClient()
    api.force_authenticate(client.user)
    return api


def url(name: str, *args) -> str:
    return reverse(f"dashboard:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Scoping -------------------------------------------------------------------------------------


def test_a_warehouse_user_sees_only_their_locations_work(site, picker_a, manager):
    site.shipment(site.a, (0, 1))
    site.shipment(site.b, (0, 1))
    wave_a, wave_b = site.wave(site.a), site.wave(site.b)
    list_b = wave_b.pick_lists.first()

    body = picker_a.get(url("warehouse")).content.decode()
    assert "DC-A" in body and "DC-B" not in body
    assert f"W{wave_a.pk:06d}" in body and f"W{wave_b.pk:06d}" not in body
    # The location selector offers only their location.
    assert f'<option value="{site.b.pk}"' not in body

    for page in (
        url("warehouse-wave", wave_b.pk),
        url("warehouse-pick-list", list_b.pk),
        f"{url('warehouse-pack')}?shipment={list_b.lines.first().fulfillment_line.fulfillment_order_id}",
        f"{url('warehouse-pack')}?pick_list={list_b.pk}",
    ):
        assert picker_a.get(page).status_code == 404, page
        assert manager.get(page).status_code == 200, page
    assert picker_a.get(url("warehouse-wave", wave_a.pk)).status_code == 200
    waves = picker_a.get(url("warehouse-waves")).content.decode()
    assert f"W{wave_a.pk:06d}" in waves and f"W{wave_b.pk:06d}" not in waves
    lists = picker_a.get(url("warehouse-pick-lists")).content.decode()
    assert f"P{list_b.pk:06d}" not in lists
    assert f"P{wave_a.pick_lists.first().pk:06d}" in lists

    every = manager.get(url("warehouse")).content.decode()
    assert "DC-A" in every and "DC-B" in every and f"W{wave_b.pk:06d}" in every
    only_b = manager.get(f"{url('warehouse')}?location={site.b.pk}").content.decode()
    assert f"W{wave_b.pk:06d}" in only_b and f"W{wave_a.pk:06d}" not in only_b


def test_a_warehouse_user_cannot_act_on_another_locations_work(site, picker_a):
    site.shipment(site.b, (0, 1))
    wave_b = site.wave(site.b, release=False)
    list_b = wave_b.pick_lists.first()
    line_b = list_b.lines.first()
    fo_b = line_b.fulfillment_line.fulfillment_order

    for action in (
        url("warehouse-wave-release", wave_b.pk),
        url("warehouse-wave-cancel", wave_b.pk),
        url("warehouse-pick-list-cancel", list_b.pk),
        url("warehouse-pick-line-confirm", line_b.pk),
        url("warehouse-shipment-hand-over", fo_b.pk),
    ):
        assert picker_a.post(action, {"quantity": 1}).status_code == 404, action
    wave_b.refresh_from_db()
    assert wave_b.status == Wave.Status.PLANNED

    # The pack station does not open B's shipment, nor scan or close it.
    response = picker_a.post(url("warehouse-pack-scan"), {"code": fo_b.number}, **HTMX)
    assert "No shipment" in response.content.decode() and 'data-result="bad"' in response.content.decode()
    response = picker_a.post(
        url("warehouse-pack-scan"), {"code": site.sku(site.b).barcode, "shipment": fo_b.pk}, **HTMX
    )
    assert 'data-result="bad"' in response.content.decode()
    fo_b.refresh_from_db()
    assert sum(fo_b.lines.values_list("quantity_packed", flat=True)) == 0

    # Nor may a wave or pick list be made at B from the forms.
    site.shipment(site.b, (1, 1))
    before = Wave.objects.count()
    response = picker_a.post(url("warehouse-wave-run"), {"location": site.b.pk, "max_orders": 5})
    assert response.status_code == 302 and Wave.objects.count() == before
    assert any("valid choice" in m for m in messages_of(response))
    lists = PickList.objects.count()
    picker_a.post(url("warehouse-pick-lists-make"), {"location": site.b.pk, "mode": "batch", "max_orders": 5})
    assert PickList.objects.count() == lists


def test_the_fulfillment_api_is_scoped_to_a_warehouse_users_locations(site, picker_a, manager):
    fo_a = site.picked(site.a, (0, 1))
    fo_b = site.picked(site.b, (0, 1))
    site.shipment(site.a, (1, 1))
    site.shipment(site.b, (1, 1))
    wave_a, wave_b = site.wave(site.a), site.wave(site.b)
    list_a = PickList.objects.filter(warehouse=site.a).first()
    list_b = PickList.objects.filter(warehouse=site.b).first()
    mine, boss = api_for(picker_a), api_for(manager)

    ids = {row["id"] for row in mine.get(f"{API}/waves/").json()["results"]}
    assert ids == {wave_a.pk}
    assert {row["id"] for row in boss.get(f"{API}/waves/").json()["results"]} == {wave_a.pk, wave_b.pk}
    assert {row["warehouse"] for row in mine.get(f"{API}/pick-lists/").json()["results"]} == {"DC-A"}
    assert {row["warehouse"] for row in mine.get(f"{API}/shipments/").json()["results"]} == {"DC-A"}
    assert {row["warehouse"] for row in boss.get(f"{API}/shipments/").json()["results"]} == {"DC-A", "DC-B"}

    for path in (
        f"waves/{wave_b.pk}/",
        f"pick-lists/{list_b.pk}/",
        f"pick-lists/{list_b.pk}/progress/",
        f"shipments/{fo_b.pk}/",
        f"shipments/{fo_b.pk}/box/",
        f"shipments/{fo_b.pk}/packing-slip.pdf",
        f"pick-lists/{list_b.pk}/pick-list.pdf",
        f"waves/{wave_b.pk}/documents.pdf",
        f"orders/{fo_b.order_id}/receipt.pdf",
    ):
        assert mine.get(f"{API}/{path}").status_code == 404, path
        assert boss.get(f"{API}/{path}").status_code == 200, path
    for path in (f"waves/{wave_a.pk}/", f"pick-lists/{list_a.pk}/", f"shipments/{fo_a.pk}/"):
        assert mine.get(f"{API}/{path}").status_code == 200, path

    for path, payload in (
        (f"waves/{wave_b.pk}/cancel/", {}),
        (f"pick-lists/{list_b.pk}/cancel/", {}),
        (f"pick-lists/{list_b.pk}/scan/", {"barcode": site.sku(site.b, 1).barcode}),
        (f"pick-lines/{list_b.lines.first().pk}/confirm/", {"quantity": 1}),
        (f"shipments/{fo_b.pk}/pack/scan/", {"barcode": site.sku(site.b).barcode}),
        (f"shipments/{fo_b.pk}/pack/complete/", {}),
        (f"shipments/{fo_b.pk}/ship/", {}),
    ):
        assert mine.post(f"{API}/{path}", payload, format="json").status_code == 404, path
    wave_b.refresh_from_db()
    assert wave_b.status == Wave.Status.RELEASED
    labels = mine.post(f"{API}/documents/labels/", {"shipments": [fo_b.pk]}, format="json")
    assert labels.status_code == 400

    made = mine.post(f"{API}/waves/", {"warehouse": "DC-B"}, format="json")
    assert made.status_code == 403
    made = mine.post(f"{API}/pick-lists/", {"warehouse": "DC-B", "mode": "batch"}, format="json")
    assert made.status_code == 403


# --- Roles ----------------------------------------------------------------------------------------


def test_customer_service_sees_the_warehouse_but_cannot_act(site, role_client):
    fo = site.picked(site.a, (0, 1))
    site.shipment(site.a, (1, 1))
    wave = site.wave(site.a, release=False)
    line = wave.pick_lists.first().lines.first()
    cs = role_client(CUSTOMER_SERVICE)
    for page in (
        url("warehouse"),
        url("warehouse-waves"),
        url("warehouse-wave", wave.pk),
        url("warehouse-pack"),
    ):
        assert cs.get(page).status_code == 200, page
    for action, data in (
        (url("warehouse-wave-run"), {"location": site.a.pk, "max_orders": 5}),
        (url("warehouse-wave-release", wave.pk), {}),
        (url("warehouse-wave-cancel", wave.pk), {}),
        (url("warehouse-pick-lists-make"), {"location": site.a.pk, "mode": "batch", "max_orders": 5}),
        (url("warehouse-pick-line-confirm", line.pk), {"quantity": 1}),
        (url("warehouse-pack-scan"), {"code": fo.number}),
        (url("warehouse-pack-close"), {"shipment": fo.pk}),
        (url("warehouse-shipment-hand-over", fo.pk), {}),
    ):
        assert cs.post(action, data).status_code == 403, action
    wave.refresh_from_db()
    assert wave.status == Wave.Status.PLANNED
    assert api_for(cs).post(f"{API}/waves/{wave.pk}/release/").status_code == 403

    accountant = role_client(ACCOUNTING)
    assert accountant.get(url("warehouse")).status_code == 403


# --- Waves and pick lists ---------------------------------------------------------------------------


def test_running_a_wave_from_the_page_plans_and_releases_it(site, picker_a):
    fos = [site.shipment(site.a, (0, 1), (2, 1)), site.shipment(site.a, (1, 2))]
    response = picker_a.post(
        url("warehouse-wave-run"),
        {"location": site.a.pk, "max_orders": 10, "consolidation_point": "DOCK 2", "release": "on"},
    )
    wave = Wave.objects.get()
    assert response.status_code == 302 and response["Location"] == url("warehouse-wave", wave.pk)
    assert wave.status == Wave.Status.RELEASED and wave.consolidation_point == "DOCK 2"
    assert wave.created_by == picker_a.user
    assert set(FulfillmentOrder.objects.filter(wave=wave).values_list("pk", flat=True)) == {f.pk for f in fos}
    page = picker_a.get(url("warehouse-wave", wave.pk)).content.decode()
    assert "DOCK 2" in page and all(fo.number in page for fo in fos)

    # Nothing left: the service's refusal is a message, not an error page.
    again = picker_a.post(url("warehouse-wave-run"), {"location": site.a.pk, "max_orders": 10}, follow=True)
    assert again.status_code == 200
    assert any("No released shipments to pick" in m for m in messages_of(again))


def test_a_pick_list_is_walked_in_bin_order_and_confirmed_from_the_page(site, picker_a):
    site.shipment(site.a, (2, 1), (0, 2))
    picker_a.post(url("warehouse-pick-lists-make"), {"location": site.a.pk, "mode": "batch", "max_orders": 5})
    pick_list = PickList.objects.get()
    page = picker_a.get(url("warehouse-pick-list", pick_list.pk)).content.decode()
    # Walking order: A-01 (zone Z1) before B-01 (zone Z2).
    assert page.index("A-01") < page.index("B-01")
    first, second = pick_list.lines.order_by("sequence")
    response = picker_a.post(url("warehouse-pick-list-scan", pick_list.pk), {"bin": "B-01", "barcode": "x"})
    assert response.status_code == 302
    response = picker_a.post(
        url("warehouse-pick-list-scan", pick_list.pk),
        {"bin": "A-01", "barcode": site.sku(site.a, 0).barcode, "quantity": 2},
        follow=True,
    )
    assert any("Picked" in m for m in messages_of(response))
    wrong = picker_a.post(url("warehouse-pick-line-confirm", second.pk), {"quantity": 5}, follow=True)
    assert any("Over pick" in m for m in messages_of(wrong))
    picker_a.post(url("warehouse-pick-line-confirm", second.pk), {"quantity": 1})
    pick_list.refresh_from_db()
    assert pick_list.status == PickList.Status.DONE and pick_list.picker == picker_a.user
    first.refresh_from_db()
    assert first.quantity_picked == 2


# --- The pack station -------------------------------------------------------------------------------


def scan(client, code: str, fo=None, pick_list=None, htmx: bool = True):
    data = {"code": code}
    if fo is not None:
        data["shipment"] = fo.pk
    if pick_list is not None:
        data["pick_list"] = pick_list.pk
    return client.post(url("warehouse-pack-scan"), data, **(HTMX if htmx else {}))


def test_the_pack_flow_refuses_wrong_scans_counts_right_ones_and_labels_the_parcel(site, picker_a):
    fo = site.picked(site.a, (0, 2), (1, 1))
    right, other, stranger = site.sku(site.a, 0), site.sku(site.a, 1), site.sku(site.a, 2)

    opened = scan(picker_a, fo.number.lower())
    body = opened.content.decode()
    assert opened.status_code == 200 and 'data-result="ok"' in body and "0 of 3 units scanned" in body
    assert f'name="shipment" value="{fo.pk}"' in body
    assert 'id="box-choice"' in body and "Small" in body  # the box to take, before scanning into it
    assert 'id="close-parcel"' not in body
    assert opened["HX-Replace-Url"] == f"{url('warehouse-pack')}?shipment={fo.pk}"

    refused = scan(picker_a, stranger.barcode, fo).content.decode()
    assert 'data-result="bad"' in refused and 'class="result bad"' in refused and "Wrong item" in refused
    assert sum(fo.lines.values_list("quantity_packed", flat=True)) == 0

    counted = scan(picker_a, right.barcode, fo).content.decode()
    assert 'data-result="ok"' in counted and "1 of 3 units scanned" in counted
    scan(picker_a, right.barcode, fo)
    extra = scan(picker_a, right.barcode, fo).content.decode()
    assert 'data-result="bad"' in extra and "already packed" in extra
    done = scan(picker_a, other.barcode, fo).content.decode()
    assert "3 of 3 units scanned" in done and "close the parcel" in done and 'id="close-parcel"' in done
    assert 'value="">Suggested (small)' in done

    closed = picker_a.post(url("warehouse-pack-close"), {"shipment": fo.pk}, **HTMX).content.decode()
    fo.refresh_from_db()
    assert fo.status == Status.PACKED and fo.tracking_number and fo.box.code == "small"
    assert fo.tracking_number in closed and 'id="print-label"' in closed
    label_url = reverse("fulfillment-label-pdf", args=[fo.pk])
    assert label_url in closed
    label = picker_a.get(label_url)
    assert label.status_code == 200 and label["Content-Type"] == "application/pdf"
    assert label.content.startswith(b"%PDF")
    assert picker_a.get(reverse("fulfillment-packing-slip", args=[fo.pk])).content.startswith(b"%PDF")

    # The parcel is closed: another scan is refused, and B's user cannot print its label.
    assert 'data-result="bad"' in scan(picker_a, right.barcode, fo).content.decode()

    # At the dock: handed to the carrier.
    picker_a.post(url("warehouse-shipment-hand-over", fo.pk))
    fo.refresh_from_db()
    assert fo.status == Status.SHIPPED


def test_a_pick_list_barcode_opens_its_totes_and_a_tote_number_its_shipment(site, picker_a):
    first, second = site.shipment(site.a, (0, 1)), site.shipment(site.a, (1, 1))
    [pick_list] = pick_lists_create(warehouse_id=site.a.pk, mode="batch", actor=SYSTEM)
    for line in pick_list.lines.all():
        pick_confirm_line(pick_line_id=line.pk, quantity=line.quantity, actor=SYSTEM)

    body = scan(picker_a, f"P{pick_list.pk:06d}").content.decode()
    assert "has 2 shipments" in body and first.number in body and second.number in body
    body = scan(picker_a, "2", pick_list=pick_list).content.decode()
    assert f'name="shipment" value="{second.pk}"' in body and f"Shipment {second.number}" in body
    body = scan(picker_a, "7", pick_list=pick_list).content.decode()
    assert 'data-result="bad"' in body and "no tote 7" in body
    body = scan(picker_a, "nothing-open").content.decode()
    assert 'data-result="bad"' in body and "first" in body


def test_without_htmx_a_scan_redirects_with_a_message(site, picker_a):
    fo = site.picked(site.a, (0, 1))
    response = scan(picker_a, site.sku(site.a, 2).barcode, fo, htmx=False)
    assert response.status_code == 302 and response["Location"] == f"{url('warehouse-pack')}?shipment={fo.pk}"
    assert any("Wrong item" in m for m in messages_of(response))
    page = picker_a.get(response["Location"]).content.decode()
    assert "data-keep-focus" in page and "autofocus" in page and fo.number in page


def test_a_pick_up_order_is_packed_from_the_shelf_without_a_label(site, picker_a):
    store = WarehouseFactory(code="ST-1", kind="store")
    store.staff.add(picker_a.user)
    bins = add_bins(store, {"S": ["S-01"]})
    sku = sku_in_stock(
        channel=site.channel, warehouse=store, quantity=0, length_mm=50, width_mm=50, height_mm=50
    )
    stock_in_bin(sku, bins["S-01"], 5)
    order = place_order(site.channel, [(sku.code, 1)])
    fo = release_whole_order(order, method=FulfillmentOrder.Method.PICKUP)
    assert fo.warehouse_id == store.pk
    scan(picker_a, fo.number)
    scan(picker_a, sku.barcode, fo)
    closed = picker_a.post(url("warehouse-pack-close"), {"shipment": fo.pk}, **HTMX).content.decode()
    fo.refresh_from_db()
    assert fo.status == Status.PACKED and not fo.tracking_number
    assert "ready for collection" in closed


# --- Query counts -------------------------------------------------------------------------------------


def test_the_work_queue_runs_constant_queries(site, picker_a, manager):
    site.shipment(site.a, (0, 1), ship_by=timezone.localdate() - timedelta(days=2))
    site.wave(site.a)

    def grow():
        for n in range(3):
            site.shipment(site.a, (n, 1), ship_by=timezone.localdate() - timedelta(days=1))
            site.shipment(site.b, (n, 1))
        site.wave(site.b)
        site.picked(site.a, (1, 1))

    # Session, user, roles, (their locations,) locations, one aggregate, waves, lists, late ones.
    assert assert_constant_queries(picker_a, url("warehouse"), grow) <= 9
    assert assert_constant_queries(manager, url("warehouse"), grow) <= 8
    assert assert_constant_queries(manager, url("warehouse"), grow, **HTMX) <= 8


def test_the_wave_pages_run_constant_queries(site, manager):
    site.shipment(site.a, (0, 1))
    wave = site.wave(site.a)

    def grow_list():
        site.shipment(site.a, (1, 1))
        site.wave(site.a)
        site.shipment(site.b, (2, 1))

    assert_constant_queries(manager, url("warehouse-waves"), grow_list)
    small = page_queries(manager, url("warehouse-wave", wave.pk))[0]
    for n in range(3):
        site.shipment(site.a, (n, 2))
        site.shipment(site.a, (n, 1))
    big = wave_create(warehouse_id=site.a.pk, actor=SYSTEM)
    assert big.pick_lists.count() == 2 and FulfillmentOrder.objects.filter(wave=big).count() == 6
    assert page_queries(manager, url("warehouse-wave", big.pk))[0] == small


def test_the_pick_list_pages_run_constant_queries(site, picker_a):
    site.shipment(site.a, (0, 1))
    [small] = pick_lists_create(warehouse_id=site.a.pk, mode="batch", actor=SYSTEM)

    def grow():
        site.shipment(site.a, (1, 1))
        pick_lists_create(warehouse_id=site.a.pk, mode="single", actor=SYSTEM)

    assert_constant_queries(picker_a, url("warehouse-pick-lists"), grow)
    small_count = page_queries(picker_a, url("warehouse-pick-list", small.pk))[0]
    for n in range(3):
        site.shipment(site.a, (n, 1), (2 - n, 2))
    [big] = pick_lists_create(warehouse_id=site.a.pk, mode="batch", actor=SYSTEM)
    assert big.lines.count() > small.lines.count()
    assert page_queries(picker_a, url("warehouse-pick-list", big.pk))[0] == small_count


def test_the_pack_station_and_shipments_run_constant_queries(site, picker_a):
    one = site.picked(site.a, (0, 1))
    three = site.picked(site.a, (0, 1), (1, 2), (2, 1))
    pack = url("warehouse-pack")
    assert (
        page_queries(picker_a, f"{pack}?shipment={one.pk}")[0]
        == page_queries(picker_a, f"{pack}?shipment={three.pk}")[0]
    )
    for fo in (one, three):
        for line in fo.lines.select_related("sku"):
            scan(picker_a, f"{line.quantity}*{line.sku.barcode}", fo)
    # Every unit scanned: the box choice shows, for one SKU or three.
    assert (
        page_queries(picker_a, f"{pack}?shipment={one.pk}")[0]
        == page_queries(picker_a, f"{pack}?shipment={three.pk}")[0]
    )

    site.shipment(site.a, (0, 1))
    [small] = pick_lists_create(warehouse_id=site.a.pk, mode="batch", actor=SYSTEM)
    for n in range(3):
        site.shipment(site.a, (n, 1))
    [big] = pick_lists_create(warehouse_id=site.a.pk, mode="batch", actor=SYSTEM)
    assert (
        page_queries(picker_a, f"{pack}?pick_list={small.pk}")[0]
        == page_queries(picker_a, f"{pack}?pick_list={big.pk}")[0]
    )

    def grow():
        for n in range(3):
            site.shipment(site.a, (n, 1))

    assert_constant_queries(picker_a, f"{url('warehouse-shipments')}?queue=released", grow)
    assert_constant_queries(picker_a, f"{url('warehouse-shipments')}?queue=all", grow)
