"""Printed documents: the 4x6 label's text and Code128 both carry the
tracking number (decoded from a rendering, as a scanner would), ZPL, packing
slips (no prices on gifts), receipts, pick lists and a wave's print run."""

from __future__ import annotations

import io
from decimal import Decimal

import pypdfium2
import pytest
import zxingcpp
from django.db.models import F
from pypdf import PdfReader

from fulfillment.documents import (
    label_pdf,
    label_zpl,
    packing_slip_pdf,
    pick_list_pdf,
    pick_list_rows,
    receipt_pdf,
    wave_documents_pdf,
)
from fulfillment.models import FulfillmentOrder, PickList, PickListLine, Wave
from fulfillment.packing import pack_complete, pack_scan
from fulfillment.services.lifecycle import fo_transition
from oms.actors import Actor
from oms.documents import fonts, format_money
from oms.errors import Conflict, InvalidInput
from tests.factories import sku_in_stock

from .conftest import add_bins, place_order, release_whole_order

pytestmark = pytest.mark.django_db
STAFF = Actor.system()
Status = FulfillmentOrder.Status


@pytest.fixture
def sku(channel, warehouse):
    return sku_in_stock(
        channel=channel,
        warehouse=warehouse,
        quantity=50,
        price="12.50",
        length_mm=120,
        width_mm=80,
        height_mm=30,
        weight_grams=250,
    )


@pytest.fixture
def make_packed(channel, warehouse, sku, carrier, boxes, materials):
    """A shipment picked, scanned and packed through the real services."""

    def make(quantity: int = 1, **address) -> FulfillmentOrder:
        order = place_order(channel, [(sku.code, quantity)], **address)
        fo = release_whole_order(order)
        fo.lines.update(quantity_picked=F("quantity"))
        fo_transition(fo, Status.PICKING, actor=STAFF)
        pack_scan(fulfillment_order_id=fo.pk, barcode=sku.barcode, actor=STAFF, quantity=quantity)
        return pack_complete(fulfillment_order_id=fo.pk, actor=STAFF)

    return make


def pdf_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def decoded_barcodes(data: bytes, page: int = 0, dpi: int = 300) -> list[tuple[str, str]]:
    image = pypdfium2.PdfDocument(data)[page].render(scale=dpi / 72).to_pil()
    return [(str(b.format), b.text) for b in zxingcpp.read_barcodes(image)]


# --- Labels ---------------------------------------------------------------------------


def test_label_pdf_is_4x6_and_carries_the_tracking_number_as_text_and_code128(make_packed):
    fo = make_packed(2)
    data = label_pdf([fo])
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == (288.0, 432.0)  # 4 x 6 inch
    text = reader.pages[0].extract_text()
    assert fo.tracking_number in text
    for expected in ["Ada Lovelace", "350 5th Ave", "New York, NY 10118", "ACME", "Acme ground", fo.number]:
        assert expected in text
    codes = decoded_barcodes(data)
    assert ("BarcodeFormat.Code128", fo.tracking_number) in codes or [t for _, t in codes] == [
        fo.tracking_number
    ]


def test_label_barcode_still_reads_at_thermal_printer_resolution(make_packed):
    fo = make_packed()
    assert [text for _, text in decoded_barcodes(label_pdf([fo]), dpi=203)] == [fo.tracking_number]


def test_labels_in_bulk_and_refused_without_tracking(make_packed, channel, sku):
    first, second = make_packed(), make_packed()
    pages = pdf_text(label_pdf([first, second]))
    assert len(pages) == 2
    assert first.tracking_number in pages[0] and second.tracking_number in pages[1]
    unpacked = release_whole_order(place_order(channel, [(sku.code, 1)]))
    with pytest.raises(InvalidInput) as exc:
        label_pdf([first, unpacked])
    assert exc.value.fields == {
        "shipments": [f"shipment {unpacked.number} has no tracking number yet; pack it first"]
    }
    with pytest.raises(InvalidInput):
        label_zpl([unpacked])


def test_label_zpl(make_packed):
    fo = make_packed(name="Ada ^Lovelace~")
    zpl = label_zpl([fo, fo])
    assert zpl.count("^XA") == zpl.count("^XZ") == 2
    assert "^PW812" in zpl and "^LL1218" in zpl  # 4 x 6 inch at 203 dpi
    assert "^BCN" in zpl and f"^FD{fo.tracking_number}^FS" in zpl
    assert "^BY" in zpl
    # Field data cannot inject commands: ^ and ~ are sent as hex escapes.
    assert "Ada \\5ELovelace\\7E" in zpl and "^Lovelace" not in zpl


# --- Packing slips and receipts -------------------------------------------------------


def test_packing_slip_shows_prices_but_a_gift_slip_does_not(make_packed):
    normal = make_packed(2)
    text = pdf_text(packing_slip_pdf([normal]))[0]
    assert "PACKING SLIP" in text and normal.order.number in text and normal.number in text
    assert "12.50 USD" in text and "2 items in this parcel" in text

    gift = make_packed(1)
    order = gift.order
    order.is_gift, order.gift_message = True, "Happy birthday, Charles! With love from Ada."
    order.save(update_fields=["is_gift", "gift_message"])
    text = pdf_text(packing_slip_pdf([FulfillmentOrder.objects.get(pk=gift.pk)]))[0]
    assert "GIFT PACKING SLIP" in text and "Happy birthday, Charles!" in text
    assert "USD" not in text and "12.50" not in text and "Unit price" not in text


def test_slip_prints_non_latin_names_when_a_unicode_font_is_available(make_packed):
    if fonts()[0] == "Helvetica":
        pytest.skip("no DejaVu Sans on this machine: names are limited to Latin-1 (documented)")
    fo = make_packed(name="Дмитрий Σοφία Žofie")
    assert "Дмитрий Σοφία Žofie" in pdf_text(packing_slip_pdf([fo]))[0]


def test_receipt_shows_the_money(make_packed):
    fo = make_packed(3)
    order = fo.order
    text = pdf_text(receipt_pdf([order]))[0]
    assert "RECEIPT" in text
    assert format_money(order.grand_total, "USD") in text
    assert format_money(order.subtotal, "USD") == "37.50 USD" and "37.50 USD" in text
    assert "Shipping" in text and "Total" in text and "Tax" in text
    assert "**** 4242" in text


def test_money_follows_the_currency_minor_units():
    assert format_money(Decimal("1234.5"), "USD") == "1,234.50 USD"
    assert format_money(Decimal("1234.5"), "JPY") == "1,235 JPY"
    assert format_money(Decimal("2.1235"), "BHD") == "2.124 BHD"


# --- Pick lists and waves -------------------------------------------------------------


def picked_list(warehouse, fos, mode, bins, wave=None) -> PickList:
    pick_list = PickList.objects.create(warehouse=warehouse, mode=mode, wave=wave)
    for slot, fo in enumerate(fos, start=1):
        for i, line in enumerate(fo.lines.all()):
            PickListLine.objects.create(
                pick_list=pick_list,
                fulfillment_line=line,
                sku=line.sku,
                bin=bins[i % len(bins)],
                quantity=line.quantity,
                sequence=bins[i % len(bins)].walk_sequence,
                tote_slot=slot,
            )
    return pick_list


def test_batch_pick_list_is_aggregated_by_bin_with_bin_barcodes(warehouse, make_packed):
    bins = add_bins(warehouse, {"A": ["A-01", "A-02"]})
    fos = [make_packed(2), make_packed(1)]
    batch = picked_list(warehouse, fos, PickList.Mode.BATCH, [bins["A-02"]])
    (row,) = pick_list_rows(batch)
    assert (row["bin"], row["quantity"], row["totes"]) == ("A-02", 3, {1: 2, 2: 1})
    data = pick_list_pdf([batch])
    text = pdf_text(data)[0]
    assert f"PICK LIST P{batch.pk:06d}" in text and "1x2, 2x1" in text
    decoded = {t for _, t in decoded_barcodes(data)}
    assert "A-02" in decoded and f"P{batch.pk:06d}" in decoded

    single = picked_list(warehouse, fos[:1], PickList.Mode.SINGLE, [bins["A-01"]])
    assert [r["quantity"] for r in pick_list_rows(single)] == [2]


def test_wave_print_run(warehouse, make_packed):
    bins = add_bins(warehouse, {"A": ["A-01"]})
    wave = Wave.objects.create(warehouse=warehouse)
    with pytest.raises(Conflict) as exc:
        wave_documents_pdf(wave)
    assert exc.value.code == "nothing_to_print"
    fos = [make_packed(), make_packed()]
    FulfillmentOrder.objects.filter(pk__in=[f.pk for f in fos]).update(wave=wave)
    picked_list(warehouse, fos, PickList.Mode.WAVE, [bins["A-01"]], wave=wave)
    pages = pdf_text(wave_documents_pdf(wave))
    assert len(pages) == 5  # label + slip per shipment, then the pick list
    assert fos[0].tracking_number in pages[0] and "PACKING SLIP" in pages[1]
    assert fos[1].tracking_number in pages[2] and "PACKING SLIP" in pages[3]
    assert "PICK LIST" in pages[4]


# --- API ------------------------------------------------------------------------------


def test_document_endpoints(staff_api, api, make_packed, warehouse):
    fo = make_packed()
    base = f"/api/v1/fulfillment/shipments/{fo.pk}"
    r = staff_api.get(f"{base}/label.pdf", HTTP_ACCEPT="application/pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r["Content-Disposition"] == f'inline; filename="label-{fo.number}.pdf"'
    assert fo.tracking_number in pdf_text(r.content)[0]
    r = staff_api.get(f"{base}/label.zpl")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/plain")
    assert "attachment" in r["Content-Disposition"] and f"^FD{fo.tracking_number}^FS" in r.content.decode()
    r = staff_api.get(f"{base}/packing-slip.pdf")
    assert r.status_code == 200 and "PACKING SLIP" in pdf_text(r.content)[0]
    r = staff_api.get(f"/api/v1/fulfillment/orders/{fo.order_id}/receipt.pdf")
    assert r.status_code == 200 and "RECEIPT" in pdf_text(r.content)[0]
    bins = add_bins(warehouse, {"A": ["A-01"]})
    wave = Wave.objects.create(warehouse=warehouse)
    FulfillmentOrder.objects.filter(pk=fo.pk).update(wave=wave)
    pick_list = picked_list(warehouse, [fo], PickList.Mode.SINGLE, [bins["A-01"]], wave=wave)
    r = staff_api.get(f"/api/v1/fulfillment/pick-lists/{pick_list.pk}/pick-list.pdf")
    assert r.status_code == 200 and "PICK LIST" in pdf_text(r.content)[0]
    r = staff_api.get(f"/api/v1/fulfillment/waves/{wave.pk}/documents.pdf")
    assert r.status_code == 200 and len(pdf_text(r.content)) == 3
    assert staff_api.get("/api/v1/fulfillment/shipments/999999/label.pdf").status_code == 404
    assert api.get(f"{base}/label.pdf").status_code == 403


def test_bulk_labels_endpoint(staff_api, make_packed, channel, sku):
    first, second = make_packed(), make_packed()
    r = staff_api.post(
        "/api/v1/fulfillment/documents/labels/", {"shipments": [second.pk, first.pk]}, format="json"
    )
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    pages = pdf_text(r.content)
    assert second.tracking_number in pages[0] and first.tracking_number in pages[1]
    r = staff_api.post(
        "/api/v1/fulfillment/documents/labels/", {"shipments": [first.pk], "format": "zpl"}, format="json"
    )
    assert r.status_code == 200 and r.content.decode().count("^XA") == 1
    unpacked = release_whole_order(place_order(channel, [(sku.code, 1)]))
    for payload, field in [
        ({"shipments": [first.pk, 999999]}, "shipments"),
        ({"shipments": [first.pk, unpacked.pk]}, "shipments"),
        ({"shipments": []}, "shipments"),
        ({"shipments": [first.pk], "format": "png"}, "format"),
    ]:
        r = staff_api.post("/api/v1/fulfillment/documents/labels/", payload, format="json")
        assert r.status_code == 400, payload
        assert field in r.json()["error"]["fields"]


# --- Printing from the admin -------------------------------------------------------------


def test_admin_prints_labels_and_slips_for_the_selected_shipments(admin_client, make_packed, channel, sku):
    first, second = make_packed(), make_packed()
    url = "/admin/fulfillment/fulfillmentorder/"
    selected = {"_selected_action": [first.pk, second.pk]}
    response = admin_client.post(url, {"action": "print_labels", **selected})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert [
        first.tracking_number in p or second.tracking_number in p for p in pdf_text(response.content)
    ] == [
        True,
        True,
    ]
    slips = admin_client.post(url, {"action": "print_packing_slips", **selected})
    assert slips["Content-Type"] == "application/pdf" and len(pdf_text(slips.content)) == 2

    unlabelled = release_whole_order(place_order(channel, [(sku.code, 1)]))
    refused = admin_client.post(
        url, {"action": "print_labels", "_selected_action": [first.pk, unlabelled.pk]}, follow=True
    )
    assert refused["Content-Type"].startswith("text/html")
    assert unlabelled.number in " ".join(str(m) for m in refused.context["messages"])


def test_admin_prints_a_waves_documents(admin_client, make_packed, warehouse):
    fo = make_packed()
    wave = Wave.objects.create(warehouse=warehouse)
    FulfillmentOrder.objects.filter(pk=fo.pk).update(wave=wave)
    response = admin_client.post(
        "/admin/fulfillment/wave/", {"action": "print_documents", "_selected_action": [wave.pk]}
    )
    assert response["Content-Type"] == "application/pdf"
    assert any(fo.tracking_number in page for page in pdf_text(response.content))
