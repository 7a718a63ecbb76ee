"""A warehouse user in a real browser: runs a wave, then packs a parcel at the
pack station by typing barcodes + Enter as a scanner does (a wrong item is
refused, visibly), closes the parcel with the keyboard and opens its label."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from fulfillment.models import FulfillmentOrder, Wave
from fulfillment.picking import pick_confirm_line
from oms.actors import Actor
from oms.roles import WAREHOUSE
from tests.dashboard.test_warehouse import Site
from tests.factories import staff_user

pytestmark = pytest.mark.django_db(transaction=True)


def scan(page, code: str) -> None:
    """What a scanner does: type into whatever has the focus, then Enter."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_a_warehouse_user_runs_a_wave_and_packs_a_parcel_by_scanning(page_for, shots, channel):
    site = Site(channel)
    fo = site.shipment(site.a, (0, 2), (1, 1))
    other = site.shipment(site.a, (2, 1))
    site.shipment(site.b, (0, 1))  # another location's work: never shown
    user = staff_user("picker-a", WAREHOUSE, locations=[site.a])
    page = page_for(user, viewport={"width": 1024, "height": 1366})  # a warehouse tablet, portrait

    # The work queue: their location only.
    page.goto("/dashboard/warehouse/")
    expect(page.locator("#warehouse-live")).to_contain_text("DC-A")
    expect(page.locator("#warehouse-live")).not_to_contain_text("DC-B")
    shots.take(page, "work-queue")

    # Run a wave.
    page.goto("/dashboard/warehouse/waves/")
    expect(page.locator("#id_location option")).to_have_count(1)
    page.fill("#id_consolidation_point", "DOCK 3")
    page.get_by_role("button", name="Run the wave").click()
    page.wait_for_url(re.compile(r"/dashboard/warehouse/waves/\d+/$"))
    expect(page.get_by_text("is planned and released to the pickers")).to_be_visible()
    expect(page.locator("main")).to_contain_text("DOCK 3")
    expect(page.locator("main")).to_contain_text(fo.number)
    expect(page.locator("main")).to_contain_text(other.number)
    expect(page.locator("main")).not_to_contain_text("DC-B")
    shots.take(page, "wave-released")

    # The pickers walk the lists (on the floor, with their scanners).
    wave = Wave.objects.get(warehouse=site.a)
    for pick_list in wave.pick_lists.all():
        for line in pick_list.lines.all():
            pick_confirm_line(pick_line_id=line.pk, quantity=line.quantity, actor=Actor.system())
    page.reload()
    expect(page.locator(".badge", has_text="Completed").first).to_be_visible()
    page.locator("#wave-live a", has_text="P0").first.click()
    expect(page.locator("main h1")).to_contain_text("Pick list P0")
    shots.take(page, "pick-list-walked")

    # The pack station: the scan box has the focus from the start.
    page.goto("/dashboard/warehouse/pack/")
    expect(page.locator("#scan-code")).to_be_focused()
    scan(page, fo.number)
    expect(page.locator("#open-shipment")).to_contain_text(fo.number)
    expect(page.locator("#pack-count")).to_contain_text("0 of 3")
    expect(page.locator("#box-choice")).to_contain_text("Small")

    # A wrong item is refused, visibly, and counts nothing.
    scan(page, site.sku(site.a, 2).barcode)
    expect(page.locator("#scan-result.bad")).to_contain_text("Wrong item")
    expect(page.locator("#scan-code")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pack-count")).to_contain_text("0 of 3")
    expect(page.locator("#scan-code")).to_be_focused()
    shots.take(page, "wrong-item-refused")

    # The right ones count up; one too many is refused too.
    right, second = site.sku(site.a, 0), site.sku(site.a, 1)
    scan(page, right.barcode)
    expect(page.locator("#pack-count")).to_contain_text("1 of 3")
    expect(page.locator("#scan-code")).not_to_have_attribute("aria-invalid", "true")
    scan(page, right.barcode)
    expect(page.locator("#pack-count")).to_contain_text("2 of 3")
    scan(page, right.barcode)
    expect(page.locator("#scan-result.bad")).to_contain_text("already packed")
    scan(page, second.barcode)
    expect(page.locator("#pack-count")).to_contain_text("3 of 3")
    expect(page.locator("#scan-result.ok")).to_contain_text("close the parcel")
    expect(page.locator("#close-form")).to_contain_text("Suggested (small)")

    # Close the parcel with the keyboard only: Tab to the button, Enter.
    for _ in range(6):
        page.keyboard.press("Tab")
        if focused_id(page) == "close-parcel":
            break
    assert focused_id(page) == "close-parcel"
    page.keyboard.press("Enter")
    label_link = page.locator("#print-label")
    expect(label_link).to_be_visible()
    fo.refresh_from_db()
    assert fo.status == FulfillmentOrder.Status.PACKED and fo.tracking_number
    expect(page.locator("#pack-station")).to_contain_text(fo.tracking_number)
    # The scan box has the focus back for the next shipment.
    expect(page.locator("#scan-code")).to_be_focused()
    shots.take(page, "parcel-closed")

    # Print label: the document API answers the signed-in staff member with the PDF.
    href = label_link.get_attribute("href")
    assert label_link.get_attribute("target") == "_blank"
    label = page.request.get(href)
    assert label.status == 200 and label.headers["content-type"] == "application/pdf"
    assert label.body().startswith(b"%PDF")
    slip = page.request.get(page.locator("#print-slip").get_attribute("href"))
    assert slip.status == 200 and slip.body().startswith(b"%PDF")

    # Another location's label is not theirs to print.
    fo_b = FulfillmentOrder.objects.get(warehouse=site.b)
    assert page.request.get(f"/api/v1/fulfillment/shipments/{fo_b.pk}/label.pdf").status == 404
