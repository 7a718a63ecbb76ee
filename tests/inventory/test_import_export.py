"""Import / export of products, stock counts and reorder rules (CSV and XLSX).

Every bad-input test takes a snapshot of everything an import could touch and
proves it is unchanged afterwards: a file with errors imports nothing unless
a partial import is asked for.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from inventory.barcodes import make_ean13
from inventory.importexport import ImportReport, inventory_export, inventory_import, tables
from inventory.models import (
    SKU,
    Bin,
    CountSheet,
    Product,
    ReorderRule,
    SKUBin,
    StockLevel,
    StockMovement,
    Zone,
)
from inventory.selectors import ledger_mismatches
from inventory.services import stock_receive, stock_reserve
from oms.actors import Actor
from oms.errors import InvalidInput
from oms.progress import ProgressBars
from tests.factories import SKUFactory, WarehouseFactory, stock_level

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()

PRODUCT_COLUMNS = [
    "sku",
    "barcode",
    "sku_name",
    "product_name",
    "category",
    "brand",
    "weight_grams",
    "length_mm",
    "width_mm",
    "height_mm",
    "unit_cost",
    "cost_currency",
    "is_active",
]
COUNT_COLUMNS = ["warehouse", "bin", "sku", "barcode", "sku_name", "counted"]
RULE_COLUMNS = [
    "sku",
    "warehouse",
    "method",
    "reorder_point",
    "order_up_to",
    "safety_stock",
    "service_level",
    "review_period_days",
    "is_active",
]
NEW_TEE = ["TEE-L", make_ean13("400", 7), "Tee L", "Tee", "apparel", "Acme", 180, 300, 200, 20, "7.25", "EUR"]


# --- Helpers ---------------------------------------------------------------------


def csv_file(header, *rows, delimiter=",", bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


def xlsx_file(header, *rows, sheet="Sheet1") -> bytes:
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    worksheet.append(list(header))
    for row in rows:
        worksheet.append([None if v == "" else v for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def build(file_format, header, *rows) -> tuple[bytes, str]:
    maker = xlsx_file if file_format == "xlsx" else csv_file
    return maker(header, *rows), f"upload.{file_format}"


def run(kind, data, filename="upload.csv", **options) -> ImportReport:
    return inventory_import(kind=kind, data=data, filename=filename, actor=SYSTEM, **options)


def problems(report: ImportReport) -> set[tuple[int | None, str]]:
    return {(e.row, e.field) for e in report.errors}


def problem(report: ImportReport, row, field) -> str:
    return next(e.problem for e in report.errors if (e.row, e.field) == (row, field))


def export(kind, file_format="csv", **options) -> bytes:
    out = io.BytesIO()
    inventory_export(kind=kind, file_format=file_format, out=out, **options)
    return out.getvalue()


def rows_of(data: bytes) -> list[list[str]]:
    """A file's cells as text, whatever its format."""
    if data.startswith(b"PK"):
        sheet = load_workbook(io.BytesIO(data)).worksheets[0]
        return [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def snapshot() -> dict:
    """Everything an import could write."""
    return {
        "products": sorted(Product.objects.values_list("id", "name", "category", "brand", "is_active")),
        "skus": sorted(
            SKU.objects.values_list(
                "id",
                "code",
                "barcode",
                "name",
                "product_id",
                "weight_grams",
                "length_mm",
                "width_mm",
                "height_mm",
                "unit_cost",
                "cost_currency",
                "is_active",
            )
        ),
        "rules": sorted(
            ReorderRule.objects.values_list(
                "sku_id",
                "warehouse_id",
                "method",
                "reorder_point",
                "order_up_to",
                "safety_stock",
                "service_level",
                "review_period_days",
                "is_active",
                "updated_at",
            )
        ),
        "sheets": sorted(CountSheet.objects.values_list("id", "status")),
        "levels": sorted(StockLevel.objects.values_list("sku_id", "warehouse_id", "on_hand", "allocated")),
        "movements": StockMovement.objects.count(),
    }


@pytest.fixture
def world():
    """Two locations (a DC with two bins, a store), a shirt stocked in both,
    a mug in the DC, and a reorder rule for the shirt in the DC."""
    dc = WarehouseFactory(code="DC-1")
    store = WarehouseFactory(code="ST-1", kind="store")
    zone = Zone.objects.create(warehouse=dc, code="A", name="Ambient")
    bins = [
        Bin.objects.create(warehouse=dc, zone=zone, code=f"A-01-01-0{i}", walk_sequence=10 * i, **place)
        for i, place in (
            (1, {"aisle": "A", "rack": "01", "shelf": "01", "position": "01"}),
            (2, {"aisle": "A", "rack": "01", "shelf": "01", "position": "02"}),
        )
    ]
    shirt = SKUFactory(code="SHIRT-M", name="Shirt M", unit_cost=Decimal("4.50"))
    mug = SKUFactory(code="MUG", name="Mug", unit_cost=Decimal("2.00"))
    SKUBin.objects.create(sku=mug, warehouse=dc, bin=bins[0], kind=SKUBin.Kind.PRIMARY)
    for warehouse, sku, quantity in ((dc, shirt, 10), (store, shirt, 4), (dc, mug, 5)):
        stock_receive(warehouse_id=warehouse.pk, sku_id=sku.pk, quantity=quantity, reference="t")
    rule = ReorderRule.objects.create(sku=shirt, warehouse=dc, reorder_point=5, order_up_to=20)
    return SimpleNamespace(dc=dc, store=store, bins=bins, shirt=shirt, mug=mug, rule=rule)


def product_row(sku: SKU, **changes) -> list:
    row = {
        "sku": sku.code,
        "barcode": sku.barcode,
        "sku_name": sku.name,
        "product_name": sku.product.name,
        "category": sku.product.category,
        "brand": sku.product.brand,
        "weight_grams": sku.weight_grams,
        "length_mm": sku.length_mm,
        "width_mm": sku.width_mm,
        "height_mm": sku.height_mm,
        "unit_cost": f"{sku.unit_cost:.2f}",
        "cost_currency": sku.cost_currency,
        "is_active": "true",
    }
    row.update(changes)
    return [row[c] for c in PRODUCT_COLUMNS]


# --- Products --------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_products_create_update_and_leave_unchanged(world, file_format):
    data, name = build(
        file_format,
        PRODUCT_COLUMNS,
        [*NEW_TEE, "true"],
        product_row(world.shirt, unit_cost="5.10", sku_name="Shirt M (blue)"),
        product_row(world.mug),
    )
    report = run("products", data, name)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 1), report.errors
    assert report.applied and not report.rejected and report.file_format == file_format
    tee = SKU.objects.select_related("product").get(code="TEE-L")
    assert (tee.product.name, tee.product.category, tee.product.brand) == ("Tee", "apparel", "Acme")
    assert (tee.weight_grams, tee.height_mm, tee.unit_cost, tee.cost_currency) == (
        180,
        20,
        Decimal("7.25"),
        "EUR",
    )
    world.shirt.refresh_from_db()
    assert (world.shirt.unit_cost, world.shirt.name) == (Decimal("5.10"), "Shirt M (blue)")


def test_products_a_file_with_some_columns_updates_only_those(world):
    before = SKU.objects.get(code="MUG")
    report = run("products", csv_file(["sku", "unit_cost", "brand"], ["MUG", "2.75", "Potter"]))
    assert (report.updated, report.errors) == (1, [])
    mug = SKU.objects.select_related("product").get(code="MUG")
    assert (mug.unit_cost, mug.product.brand) == (Decimal("2.75"), "Potter")
    assert (mug.barcode, mug.name, mug.weight_grams) == (before.barcode, before.name, before.weight_grams)


def test_products_blank_cells_leave_values_but_a_new_sku_needs_them(world):
    report = run(
        "products",
        csv_file(
            PRODUCT_COLUMNS,
            product_row(world.mug, barcode="", weight_grams="", unit_cost="3.00"),
            ["NEW-1", "", "New", "", "", "", "", 1, 1, 1, "1.00", "USD", ""],
        ),
    )
    assert problems(report) == {(3, "barcode"), (3, "product_name"), (3, "weight_grams")}
    assert problem(report, 3, "barcode") == "is required to create a new SKU"
    only_cost = run("products", csv_file(["sku", "unit_cost"], ["NEW-2", "1.00"]))
    assert problem(only_cost, 2, "barcode") == "column is missing (to create a new SKU)"
    assert SKU.objects.get(code="MUG").unit_cost == Decimal("2.00")  # nothing written


def test_products_bad_rows_are_all_reported_and_nothing_is_written(world):
    before = snapshot()
    report = run(
        "products",
        csv_file(
            PRODUCT_COLUMNS,
            [*NEW_TEE, "true"],  # valid, but the file has errors
            ["B-1", "4006381333932", "x", "P", "", "", 1, 1, 1, 1, "1.00", "USD", "true"],
            ["B-2", make_ean13("400", 12), "x", "P", "", "", 1, 1, 1, 1, "1.00", "XXX", "true"],
            ["B-3", make_ean13("400", 13), "x", "P", "", "", 1, 1, 1, 1, "12.5", "JPY", "true"],
            ["B-4", make_ean13("400", 14), "x", "P", "", "", "heavy", 1, 1, 1, "1.00", "USD", "true"],
            ["B-5", make_ean13("400", 15), "x", "P", "", "", 1, 1, 1, -3, "-1", "USD", "true"],
            ["TEE-L", make_ean13("400", 16), "x", "P", "", "", 1, 1, 1, 1, "1.00", "USD", "true"],
            ["B-6", world.shirt.barcode, "x", "P", "", "", 1, 1, 1, 1, "1.00", "USD", "true"],
            ["B-7", make_ean13("400", 17), "x", "P", "", "", 1.5, 1, 1, 1, "1.00", "USD", "maybe"],
        ),
    )
    assert report.rejected and not report.applied
    assert problems(report) == {
        (3, "barcode"),
        (4, "cost_currency"),
        (5, "unit_cost"),
        (6, "weight_grams"),
        (7, "height_mm"),
        (7, "unit_cost"),
        (8, "sku"),
        (9, "barcode"),
        (10, "weight_grams"),
        (10, "is_active"),
    }
    assert problem(report, 3, "barcode") == "has a wrong GTIN check digit"
    assert problem(report, 5, "unit_cost") == "12.5 has more decimals than JPY allows (0)"
    assert problem(report, 6, "weight_grams") == "'heavy' is not a number"
    assert problem(report, 8, "sku") == "TEE-L is also on row 2"
    assert problem(report, 9, "barcode") == f"{world.shirt.barcode} is already the barcode of SKU SHIRT-M"
    assert problem(report, 10, "weight_grams") == "'1.5' is not a whole number"
    assert report.summary.startswith("Nothing imported")
    assert snapshot() == before


def test_products_partial_import_writes_the_valid_rows(world):
    report = run(
        "products",
        csv_file(
            PRODUCT_COLUMNS,
            [*NEW_TEE, "true"],
            ["B-1", "4006381333932", "x", "P", "", "", 1, 1, 1, 1, "1.00", "USD", "true"],
            product_row(world.mug, unit_cost="2.20"),
        ),
        partial=True,
    )
    assert report.applied and not report.rejected
    assert (report.created, report.updated, report.error_rows) == (1, 1, 1)
    assert problems(report) == {(3, "barcode")}
    assert "1 row(s) with errors skipped" in report.summary
    assert set(SKU.objects.values_list("code", flat=True)) == {"SHIRT-M", "MUG", "TEE-L"}
    assert SKU.objects.get(code="MUG").unit_cost == Decimal("2.20")


def test_products_moving_a_sku_to_another_product_and_product_conflicts(world):
    report = run(
        "products",
        csv_file(
            ["sku", "product_name", "category"],
            ["MUG", "Kitchen", "home"],
            ["SHIRT-M", "Kitchen", "garden"],
        ),
    )
    assert problems(report) == {(3, "category")}
    assert problem(report, 3, "category") == "product 'Kitchen' has category 'home' on row 2"
    fixed = run(
        "products",
        csv_file(["sku", "product_name", "category"], ["MUG", "Kitchen", "home"], ["SHIRT-M", "Kitchen", ""]),
    )
    assert problems(fixed) == {(3, "category")}
    both = run("products", csv_file(["sku", "product_name"], ["MUG", "Kitchen"], ["SHIRT-M", "Kitchen"]))
    assert (both.updated, both.errors) == (2, [])
    kitchen = Product.objects.get(name="Kitchen")
    assert set(kitchen.skus.values_list("code", flat=True)) == {"MUG", "SHIRT-M"}
    Product.objects.create(name="Kitchen")
    ambiguous = run("products", csv_file(["sku", "product_name"], [*NEW_TEE[:1], "Kitchen"]))
    assert "2 products are named 'Kitchen'" in problem(ambiguous, 2, "product_name")


def test_products_formula_text_round_trips_and_is_never_a_formula(world):
    world.shirt.name = '=HYPERLINK("http://evil")'
    world.shirt.save(update_fields=["name"])
    data = export("products")
    assert "'=HYPERLINK" in data.decode("utf-8-sig")
    assert run("products", data).unchanged == 2
    sheet = load_workbook(io.BytesIO(export("products", "xlsx"))).active
    cell = next(c for c in sheet["C"] if c.value and str(c.value).startswith("=HYP"))
    assert cell.data_type == "s"  # text, not a formula that a spreadsheet would run


def test_products_a_barcode_stored_as_a_number_in_a_sheet_is_refused(world):
    # A UPC-A with a leading zero that a spreadsheet turned into the number 12345678905.
    data = xlsx_file(["sku", "barcode"], ["MUG", 12345678905], ["SHIRT-M", int(make_ean13("400", 99))])
    report = run("products", data, "upload.xlsx")
    assert problems(report) == {(2, "barcode")}
    assert "leading zeros" in problem(report, 2, "barcode")


# --- Stock counts ----------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_stock_counts_open_one_sheet_per_warehouse_and_leave_stock_alone(world, file_format):
    before = snapshot()
    data, name = build(
        file_format,
        ["warehouse", "bin", "sku", "barcode", "counted"],
        ["DC-1", "A-01-01-01", "SHIRT-M", "", 6],
        ["DC-1", "A-01-01-02", "SHIRT-M", "", 3],  # counts per bin add up per warehouse
        ["DC-1", "", "", world.mug.barcode, 5],  # scanned barcode instead of the code
        ["ST-1", "", "SHIRT-M", world.shirt.barcode, 4],
    )
    report = run("stock_counts", data, name)
    assert report.applied and report.errors == []
    assert (report.updated, report.unchanged) == (1, 2)  # one line with a variance
    assert [(s["warehouse"], s["status"], s["lines"], s["variances"]) for s in report.count_sheets] == [
        ("DC-1", "submitted", 2, 1),
        ("ST-1", "submitted", 1, 0),
    ]
    dc_sheet = CountSheet.objects.get(warehouse=world.dc)
    assert dict(dc_sheet.lines.values_list("sku__code", "counted")) == {"SHIRT-M": 9, "MUG": 5}
    assert dc_sheet.note == f"Imported from {name}"
    after = snapshot()
    assert (after["levels"], after["movements"]) == (before["levels"], before["movements"])


def test_stock_counts_approve_applies_the_variances_through_the_ledger(world):
    report = run(
        "stock_counts",
        csv_file(["warehouse", "sku", "counted"], ["DC-1", "SHIRT-M", 7], ["DC-1", "MUG", 8]),
        approve=True,
    )
    assert report.count_sheets[0]["status"] == "approved" and report.updated == 2
    assert (stock_level(world.shirt, world.dc).on_hand, stock_level(world.mug, world.dc).on_hand) == (7, 8)
    sheet = CountSheet.objects.get()
    counts = StockMovement.objects.filter(kind="count", reference=f"count:{sheet.pk}")
    assert sorted(counts.values_list("on_hand_delta", flat=True)) == [-3, 3]
    assert ledger_mismatches() == []


def test_stock_counts_bad_input_is_reported_and_nothing_is_counted(world):
    before = snapshot()
    report = run(
        "stock_counts",
        csv_file(
            ["warehouse", "bin", "sku", "barcode", "counted"],
            ["DC-1", "", "SHIRT-M", "", -1],
            ["XX", "", "SHIRT-M", "", 1],
            ["DC-1", "", "NOPE", "", 1],
            ["DC-1", "", "", "4006381333931", 1],
            ["DC-1", "", "MUG", world.shirt.barcode, 1],
            ["DC-1", "Z-99", "MUG", "", 1],
            ["DC-1", "", "MUG", "", 2],
            ["DC-1", "", "MUG", "", 3],
            ["ST-1", "", "MUG", "", "1.5"],
            ["ST-1", "A-01-01-01", "MUG", "", 1],
            ["ST-1", "", "", "", 1],
            ["ST-1", "", "SHIRT-M", "", ""],
        ),
    )
    assert report.rejected
    assert problems(report) == {
        (2, "counted"),
        (3, "warehouse"),
        (4, "sku"),
        (5, "barcode"),
        (6, "barcode"),
        (7, "bin"),
        (9, "sku"),
        (10, "counted"),
        (11, "bin"),
        (12, "sku"),
        (13, "counted"),
    }
    assert problem(report, 2, "counted") == "a count cannot be negative"
    assert problem(report, 3, "warehouse") == "no warehouse with code 'XX'"
    assert problem(report, 4, "sku") == "no SKU with code 'NOPE'"
    assert problem(report, 6, "barcode") == "is the barcode of SHIRT-M, not of MUG"
    assert problem(report, 7, "bin") == "no bin 'Z-99' in warehouse DC-1"
    assert problem(report, 9, "sku") == "MUG in DC-1 is also on row 8"
    assert problem(report, 11, "bin") == "no bin 'A-01-01-01' in warehouse ST-1"
    assert problem(report, 13, "counted") == "is required"
    assert snapshot() == before


def test_stock_counts_partial_import_keeps_a_partly_bad_sku_out_whole(world):
    report = run(
        "stock_counts",
        csv_file(
            ["warehouse", "bin", "sku", "counted"],
            ["DC-1", "A-01-01-01", "SHIRT-M", 6],
            ["DC-1", "Z-99", "SHIRT-M", 3],
            ["DC-1", "", "MUG", 4],
        ),
        partial=True,
    )
    assert report.applied and problems(report) == {(2, "counted"), (3, "bin")}
    assert problem(report, 2, "counted") == "not imported: row 3 of this SKU in DC-1 has an error"
    sheet = CountSheet.objects.get()
    assert dict(sheet.lines.values_list("sku__code", "counted")) == {"MUG": 4}


def test_stock_counts_approval_refused_by_the_service_rolls_back_unless_partial(world):
    # 8 of the 10 shirts are held for a cart: a count of 1 cannot be approved.
    stock_reserve(
        warehouse_id=world.dc.pk,
        quantities={world.shirt.pk: 8},
        expires_at=timezone.now() + timedelta(hours=1),
        reference="cart:1",
    )
    data = csv_file(["warehouse", "sku", "counted"], ["DC-1", "MUG", 6], ["DC-1", "SHIRT-M", 1])
    before = snapshot()
    report = run("stock_counts", data, approve=True)
    assert report.rejected and problems(report) == {(3, "counted")}
    assert problem(report, 3, "counted").startswith("refused: only 2 available")
    assert snapshot() == before
    partial = run("stock_counts", data, approve=True, partial=True)
    assert partial.applied and problems(partial) == {(3, "counted")}
    assert stock_level(world.mug, world.dc).on_hand == 6
    assert stock_level(world.shirt, world.dc).on_hand == 10
    assert dict(CountSheet.objects.get().lines.values_list("sku__code", "counted")) == {"MUG": 6}
    assert ledger_mismatches() == []


def test_stock_counts_export_is_a_count_sheet_in_walking_order(world):
    rows = rows_of(export("stock_counts"))
    assert rows[0] == COUNT_COLUMNS
    assert rows[1:] == [
        ["DC-1", "A-01-01-01", "MUG", world.mug.barcode, "Mug", "5"],
        ["DC-1", "", "SHIRT-M", world.shirt.barcode, "Shirt M", "10"],
        ["ST-1", "", "SHIRT-M", world.shirt.barcode, "Shirt M", "4"],
    ]
    assert [r[0] for r in rows_of(export("stock_counts", warehouse="ST-1"))[1:]] == ["ST-1"]
    with pytest.raises(InvalidInput):
        export("stock_counts", warehouse="NOPE")
    with pytest.raises(InvalidInput):
        export("products", warehouse="DC-1")


# --- Reorder rules ---------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_reorder_rules_upsert_by_sku_and_warehouse(world, file_format):
    data, name = build(
        file_format,
        RULE_COLUMNS,
        ["SHIRT-M", "DC-1", "forecast", 8, 30, 2, "0.975", 7, "true"],
        ["MUG", "DC-1", "", 2, 10, "", "", "", ""],  # blanks: the model's defaults
        ["SHIRT-M", "ST-1", "static", 1, 6, 0, "0.95", 14, "false"],
    )
    report = run("reorder_rules", data, name)
    assert (report.created, report.updated, report.unchanged, report.errors) == (2, 1, 0, [])
    world.rule.refresh_from_db()
    assert (world.rule.method, world.rule.reorder_point, world.rule.order_up_to) == ("forecast", 8, 30)
    assert (world.rule.safety_stock, world.rule.service_level, world.rule.review_period_days) == (
        2,
        Decimal("0.975"),
        7,
    )
    mug = ReorderRule.objects.get(sku=world.mug)
    assert (mug.method, mug.safety_stock, mug.service_level, mug.review_period_days, mug.is_active) == (
        "static",
        0,
        Decimal("0.950"),
        14,
        True,
    )
    assert ReorderRule.objects.get(sku=world.shirt, warehouse=world.store).is_active is False


def test_reorder_rules_constraints_are_row_errors_not_database_errors(world):
    before = snapshot()
    report = run(
        "reorder_rules",
        csv_file(
            RULE_COLUMNS,
            ["MUG", "DC-1", "static", 10, 10, 0, "0.95", 14, "true"],
            ["MUG", "ST-1", "static", 1, 5, 0, "0.4", 14, "true"],
            ["SHIRT-M", "ST-1", "static", 1, 5, 0, "0.9555", 14, "true"],
            ["SHIRT-M", "DC-1", "minmax", 1, 5, 0, "0.95", 14, "true"],
            ["NOPE", "DC-1", "static", 1, 5, 0, "0.95", 14, "true"],
            ["MUG", "XX", "static", 1, 5, 0, "0.95", 14, "true"],
            ["SHIRT-M", "DC-1", "static", 1, 5, 0, "0.95", 14, "true"],
            ["SHIRT-M", "DC-1", "static", 1, 6, 0, "0.95", 14, "true"],
        ),
    )
    assert problems(report) == {
        (2, "order_up_to"),
        (3, "service_level"),
        (4, "service_level"),
        (5, "method"),
        (6, "sku"),
        (7, "warehouse"),
        (8, "sku"),
        (9, "sku"),
    }
    assert problem(report, 2, "order_up_to") == "order_up_to (10) must be greater than reorder_point (10)"
    assert problem(report, 3, "service_level") == "must be between 0.5 and 0.999"
    assert problem(report, 4, "service_level") == "has more than 3 decimals"
    assert problem(report, 5, "method") == "'minmax' is not one of: static, forecast"
    # Row 5 has an error of its own, and still counts as the first rule for SHIRT-M in DC-1.
    assert problem(report, 9, "sku") == "the rule for SHIRT-M in DC-1 is also on row 5"
    assert snapshot() == before


def test_reorder_rules_partial_columns_are_checked_against_the_stored_values(world):
    # The stored rule is 5 / 20: a reorder point of 25 alone would break it.
    report = run("reorder_rules", csv_file(["sku", "warehouse", "reorder_point"], ["SHIRT-M", "DC-1", 25]))
    assert problem(report, 2, "reorder_point") == "order_up_to (20) must be greater than reorder_point (25)"
    new = run("reorder_rules", csv_file(["sku", "warehouse", "reorder_point"], ["MUG", "DC-1", 2]))
    assert problem(new, 2, "order_up_to") == "column is missing (for a new rule)"
    ok = run("reorder_rules", csv_file(["sku", "warehouse", "order_up_to"], ["SHIRT-M", "DC-1", 40]))
    assert ok.updated == 1
    world.rule.refresh_from_db()
    assert (world.rule.reorder_point, world.rule.order_up_to) == (5, 40)


# --- Round trips -----------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", ["products", "stock_counts", "reorder_rules"])
def test_export_then_import_changes_nothing(world, kind, file_format):
    world.mug.product.brand = 'Ceramics & Co, "Ltd"'  # a comma and quotes in a CSV cell
    world.mug.product.save()
    ReorderRule.objects.create(
        sku=world.mug, warehouse=world.store, reorder_point=1, order_up_to=3, service_level=Decimal("0.999")
    )
    data = export(kind, file_format)
    assert data.startswith(b"PK" if file_format == "xlsx" else b"\xef\xbb\xbf")
    before = snapshot()
    report = run(kind, data, f"export.{file_format}", approve=kind == "stock_counts")
    assert report.errors == [] and report.applied
    assert (report.created, report.updated) == (0, 0)
    assert report.unchanged == report.rows == len(rows_of(data)) - 1
    after = snapshot()
    if kind == "stock_counts":  # approved count sheets with no variance: stock as it was
        assert [s for s in after.pop("sheets") if s not in before["sheets"]] != []
        before.pop("sheets")
    assert after == before
    assert rows_of(export(kind, file_format)) == rows_of(data)


# --- Files -----------------------------------------------------------------------


def _truncated_xlsx() -> bytes:
    return xlsx_file(["sku"], ["MUG"])[:300]


def _zip_that_is_not_a_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "filename", "expected"),
    [
        (b"", "f.csv", "the file is empty"),
        (b"  \r\n\n ", "f.csv", "the file is empty"),
        (bytes(range(256)) * 4, "f.csv", "the file is binary"),
        (b"sku,unit_cost\nMUG,\xff\xfe2.00\n", "f.csv", "not UTF-8 text"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "f.xls", "old Excel .xls file"),
        (b"sku,unit_cost\nMUG,2.00\n", "f.xlsx", "not an .xlsx workbook"),
        (_truncated_xlsx(), "f.xlsx", "not a readable .xlsx workbook"),
        (_zip_that_is_not_a_workbook(), "f.xlsx", "not a readable .xlsx workbook"),
        (b"\n\n", "f.csv", "the file is empty"),
        (b"sku,unit_cost\n\n", "f.csv", "no data rows"),
        (b'"sku,unit_cost\nMUG,2.00\n', "f.csv", "header (row 1) is malformed CSV: unexpected end of data"),
    ],
)
def test_unreadable_files_are_refused_whole(world, data, filename, expected):
    before = snapshot()
    report = run("products", data, filename, partial=True)
    assert report.rejected and len(report.errors) == 1
    error = report.errors[0]
    assert error.field == "file" and error.row is None
    assert expected in error.problem
    assert snapshot() == before


def test_header_problems_are_named_and_refuse_the_file_even_when_partial(world):
    report = run(
        "products",
        csv_file(["SKU", "Unit Cost", "", "colour", "unit_cost", ""], ["MUG", "2.00", "", "red", "2.00", ""]),
        partial=True,
    )
    assert report.rejected
    assert problems(report) == {(1, "colour"), (1, "unit_cost"), (1, "column 3")}
    assert problem(report, 1, "colour").startswith("unknown column; the columns are: sku, barcode,")
    assert problem(report, 1, "unit_cost") == "appears twice in the header"
    missing = run("stock_counts", csv_file(["warehouse", "counted"], ["DC-1", 1]))
    assert problems(missing) == {(1, "sku or barcode")}
    no_key = run("reorder_rules", csv_file(["warehouse", "reorder_point"], ["DC-1", 1]))
    assert problem(no_key, 1, "sku") == "required column is missing"


def test_the_wrong_sheet_is_named_in_the_header_error(world):
    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["these are my notes"])
    workbook.create_sheet("Other").append(["sku", "unit_cost"])
    out = io.BytesIO()
    workbook.save(out)
    report = run("products", out.getvalue(), "catalogue.xlsx")
    assert problems(report) == {(1, "these_are_my_notes"), (1, "sku")}
    assert "in sheet 'Notes'" in problem(report, 1, "sku")
    # A sheet named after the kind is found wherever it is.
    workbook.create_sheet("products").append(["sku", "unit_cost"])
    workbook["products"].append(["MUG", 3])
    out = io.BytesIO()
    workbook.save(out)
    assert run("products", out.getvalue(), "catalogue.xlsx").updated == 1


def test_malformed_csv_rows_have_their_row_number_and_partial_skips_them(world):
    data = (
        b"sku,sku_name,unit_cost\n"
        b'MUG,"Mug, big",2.10\n'
        b'SHIRT-M,"Shirt "M"",4.60\n'  # a stray quote inside a quoted field
        b"\n"
        b'SHIRT-M,"Shirt\nwith a newline",4.70,extra\n'
        b"MUG,short\n"
    )
    before = snapshot()
    report = run("products", data)
    assert problems(report) == {(3, "row"), (5, "row"), (6, "row")}
    assert "malformed CSV" in problem(report, 3, "row")
    assert problem(report, 5, "row") == "has 4 values but the header has 3 columns"
    assert problem(report, 6, "row") == "has 2 values but the header has 3 columns"
    assert snapshot() == before
    partial = run("products", data, partial=True)
    assert (partial.updated, partial.error_rows) == (1, 3)
    mug = SKU.objects.get(code="MUG")
    assert (mug.name, mug.unit_cost) == ("Mug, big", Decimal("2.10"))


def test_semicolons_decimal_commas_and_a_bom_are_understood(world):
    report = run(
        "products",
        csv_file(["sku", "unit_cost", "weight_grams"], ["MUG", "2,35", "1.000"], delimiter=";", bom=True),
    )
    assert (report.updated, report.errors) == (1, [])
    mug = SKU.objects.get(code="MUG")
    assert (mug.unit_cost, mug.weight_grams) == (Decimal("2.35"), 1)  # "1.000" is one, not a thousand
    tabs = run(
        "reorder_rules",
        csv_file(["sku", "warehouse", "order_up_to"], ["SHIRT-M", "DC-1", 25], delimiter="\t"),
    )
    assert tabs.updated == 1
    comma = run("products", csv_file(["sku", "unit_cost"], ["MUG", "2,35"]))
    assert problem(comma, 2, "unit_cost") == "'2,35' is not a number"


def test_size_limits(world, monkeypatch):
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", 100)
    big = run("products", csv_file(["sku", "sku_name"], *[["MUG", "x" * 20]] * 10))
    assert "larger than the limit" in big.errors[0].problem
    monkeypatch.setattr(tables, "MAX_FILE_BYTES", 10_000)
    monkeypatch.setattr(tables, "MAX_ROWS", 3)
    many = run("products", xlsx_file(["sku", "unit_cost"], *[["MUG", 2]] * 4), "f.xlsx")
    assert "more than 3 data rows" in many.errors[0].problem
    assert many.rejected


def test_dry_run_reports_what_would_happen_and_writes_nothing(world):
    before = snapshot()
    products = run(
        "products", csv_file(PRODUCT_COLUMNS, [*NEW_TEE, "true"], product_row(world.mug)), dry_run=True
    )
    assert (products.created, products.unchanged, products.applied, products.rejected) == (1, 1, False, False)
    assert products.summary == "Dry run, nothing written: 1 to create, 0 to update, 1 unchanged."
    counts = run(
        "stock_counts",
        csv_file(["warehouse", "sku", "counted"], ["DC-1", "MUG", 4]),
        dry_run=True,
        approve=True,
    )
    assert counts.count_sheets == [
        {"id": None, "warehouse": "DC-1", "status": "approved", "lines": 1, "variances": 1}
    ]
    bad = run("reorder_rules", csv_file(["sku", "warehouse"], ["NOPE", "DC-1"]), dry_run=True)
    assert bad.rejected and problems(bad) == {(2, "sku")}
    assert snapshot() == before


def test_row_numbers_count_blank_rows_and_the_header(world):
    data = b"\n\nsku,unit_cost\n\nMUG,abc\n"
    report = run("products", data)
    assert problems(report) == {(5, "unit_cost")}
    sheet = xlsx_file(["sku", "unit_cost"], ["MUG", "2.00"], ["", ""], ["SHIRT-M", "x"])
    assert problems(run("products", sheet, "f.xlsx")) == {(4, "unit_cost")}


def test_only_stock_counts_can_be_approved_and_kinds_are_checked(world):
    with pytest.raises(InvalidInput):
        run("products", csv_file(["sku"], ["MUG"]), approve=True)
    with pytest.raises(InvalidInput):
        run("customers", csv_file(["sku"], ["MUG"]))


def test_progress_is_reported_per_phase(world):
    calls = []
    run(
        "products",
        csv_file(["sku", "unit_cost"], *[["MUG", "2.00"]] * 1, ["SHIRT-M", "4.50"]),
        progress=lambda phase, done, total: calls.append((phase, done, total)),
    )
    phases = [c[0] for c in calls]
    assert phases[0] == "read" and "check" in phases and "write" in phases
    assert sum(done for phase, done, _ in calls if phase == "check") == 2

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with ProgressBars(screen) as bars:
        bars.update("check", 0, 4)
        bars.update("check", 4, 4)
    assert "Checking: 100%" in screen.getvalue()


# --- Commands --------------------------------------------------------------------


def test_import_command_imports_and_reports(world, tmp_path):
    path = tmp_path / "counts.csv"
    path.write_bytes(csv_file(["warehouse", "sku", "counted"], ["DC-1", "MUG", 3]))
    out, err = io.StringIO(), io.StringIO()
    call_command("inventory_import", "stock_counts", str(path), "--approve", stdout=out, stderr=err)
    assert "Imported: 1 SKU(s) counted, 1 with a variance; count sheets: DC-1 (approved)." in out.getvalue()
    assert stock_level(world.mug, world.dc).on_hand == 3


def test_import_command_exits_non_zero_with_an_error_table(world, tmp_path):
    path = tmp_path / "rules.csv"
    path.write_bytes(
        csv_file(
            ["sku", "warehouse", "reorder_point", "order_up_to"],
            ["MUG", "DC-1", 2, 9],
            ["NOPE", "DC-1", 1, 2],
        )
    )
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("inventory_import", "reorder_rules", str(path), stdout=io.StringIO(), stderr=err)
    assert refused.value.returncode == 1
    table = err.getvalue().splitlines()
    assert table[0].split() == ["row", "field", "problem"]
    assert table[1].split(None, 2) == ["3", "sku", "no SKU with code 'NOPE'"]
    assert not ReorderRule.objects.filter(sku=world.mug).exists()
    with pytest.raises(CommandError) as partly:
        call_command(
            "inventory_import",
            "reorder_rules",
            str(path),
            "--partial",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert partly.value.returncode == 2
    assert ReorderRule.objects.filter(sku=world.mug).exists()
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("inventory_import", "products", str(tmp_path / "missing.csv"))


def test_export_command_writes_files_that_import_back(world, tmp_path):
    target = tmp_path / "catalogue.xlsx"
    err = io.StringIO()
    call_command("inventory_export", "products", "-o", str(target), stderr=err)
    assert "2 products row(s) written" in err.getvalue()
    assert not (tmp_path / "catalogue.xlsx.part").exists()
    out = io.StringIO()
    call_command("inventory_import", "products", str(target), "--dry-run", stdout=out)
    assert "2 unchanged" in out.getvalue()
    stdout = io.StringIO()
    call_command("inventory_export", "reorder_rules", "--warehouse", "DC-1", stdout=stdout)
    assert stdout.getvalue().splitlines() == [
        ",".join(RULE_COLUMNS),
        "SHIRT-M,DC-1,static,5,20,0,0.950,14,true",
    ]
    with pytest.raises(CommandError, match="give a file with -o"):
        call_command("inventory_export", "products", "--format", "xlsx")
    with pytest.raises(CommandError, match="no warehouse with code 'NOPE'"):
        call_command("inventory_export", "stock_counts", "--warehouse", "NOPE", stdout=io.StringIO())


# --- API -------------------------------------------------------------------------


def upload(client, kind, data, name="upload.csv", **fields):
    return client.post(
        f"/api/v1/inventory/import/{kind}/",
        {"file": SimpleUploadedFile(name, data), **fields},
        format="multipart",
    )


def test_api_import_returns_the_summary(world, staff_api):
    response = upload(
        staff_api,
        "reorder_rules",
        csv_file(["sku", "warehouse", "reorder_point", "order_up_to"], ["MUG", "DC-1", 2, 9]),
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert {k: body[k] for k in ("kind", "format", "rows", "created", "updated", "unchanged", "applied")} == {
        "kind": "reorder_rules",
        "format": "csv",
        "rows": 1,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "applied": True,
    }
    assert body["errors"] == [] and "error" not in body


def test_api_import_with_errors_is_a_400_listing_them_and_writes_nothing(world, staff_api):
    before = snapshot()
    data = csv_file(["warehouse", "sku", "counted"], ["DC-1", "MUG", -2], ["DC-1", "GHOST", 1])
    response = upload(staff_api, "stock_counts", data)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "import_rejected"
    assert body["errors"] == [
        {"row": 2, "field": "counted", "problem": "a count cannot be negative"},
        {"row": 3, "field": "sku", "problem": "no SKU with code 'GHOST'"},
    ]
    assert (body["rejected"], body["applied"], body["error_count"]) == (True, False, 2)
    garbage = upload(staff_api, "products", bytes(range(256)) * 8, "photo.jpg")
    assert garbage.status_code == 400
    assert garbage.json()["errors"][0]["field"] == "file"
    assert snapshot() == before
    partial = upload(staff_api, "stock_counts", data, partial="true", dry_run="true")
    assert partial.status_code == 400  # every row is bad: nothing to import even partially


def test_api_import_refuses_non_staff_and_bad_requests(world, api, staff_api):
    data = csv_file(["sku", "unit_cost"], ["MUG", "9.00"])
    assert upload(api, "products", data).status_code == 403
    assert staff_api.post("/api/v1/inventory/import/products/", {}, format="multipart").status_code == 400
    assert upload(staff_api, "customers", data).status_code == 404
    unknown_field = upload(staff_api, "products", data, overwrite="yes")
    assert unknown_field.status_code == 400
    assert unknown_field.json()["error"]["fields"] == {"overwrite": ["unknown field"]}
    approve = upload(staff_api, "products", data, approve="true")
    assert approve.status_code == 400 and approve.json()["error"]["fields"]["approve"]
    assert SKU.objects.get(code="MUG").unit_cost == Decimal("2.00")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_api_export_downloads_a_file(world, staff_api, api, file_format):
    response = staff_api.get(f"/api/v1/inventory/export/stock_counts.{file_format}?warehouse=DC-1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "text/csv" if file_format == "csv" else "application/vnd.openxml"
    )
    assert 'attachment; filename="stock_counts-DC-1-' in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    assert [r[2] for r in rows_of(data)] == ["sku", "MUG", "SHIRT-M"]
    assert api.get(f"/api/v1/inventory/export/products.{file_format}").status_code == 403


def test_api_export_errors_are_json_whatever_the_client_accepts(world, staff_api):
    response = staff_api.get(
        "/api/v1/inventory/export/reorder_rules.csv?warehouse=NOPE", HTTP_ACCEPT="text/csv"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"warehouse": ["no warehouse with code 'NOPE'"]}
    assert staff_api.get("/api/v1/inventory/export/products.pdf").status_code == 404


def test_the_schema_documents_the_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/inventory/import/{kind}/" in schema
    assert "/api/v1/inventory/export/{kind}.{file_format}" in schema


# --- Admin -----------------------------------------------------------------------


def test_admin_page_imports_and_shows_the_summary(world, admin_client):
    url = reverse("admin:inventory_import_export")
    page = admin_client.get(url + "?kind=reorder_rules")
    assert page.status_code == 200
    assert page.context["form"].initial["kind"] == "reorder_rules"
    assert reverse("admin:inventory_export", args=["products", "xlsx"]).encode() in page.content
    data = csv_file(["sku", "warehouse", "reorder_point", "order_up_to"], ["MUG", "DC-1", 2, 9])
    response = admin_client.post(
        url, {"kind": "reorder_rules", "file": SimpleUploadedFile("rules.csv", data)}
    )
    assert response.status_code == 200
    assert response.context["report"].created == 1
    assert b"Imported: 1 created" in response.content
    assert ReorderRule.objects.filter(sku=world.mug).exists()


def test_admin_page_shows_the_error_table_and_writes_nothing(world, admin_client):
    before = snapshot()
    data = csv_file(["warehouse", "bin", "sku", "counted"], ["DC-1", "Z-1", "MUG", 1])
    response = admin_client.post(
        reverse("admin:inventory_import_export"),
        {"kind": "stock_counts", "file": SimpleUploadedFile("c.csv", data), "approve": "on"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="import-errors"' in html and "no bin &#x27;Z-1&#x27; in warehouse DC-1" in html
    assert "Nothing imported" in html
    assert snapshot() == before
    wrong = admin_client.post(
        reverse("admin:inventory_import_export"),
        {"kind": "products", "file": SimpleUploadedFile("p.csv", b"sku\nMUG\n"), "approve": "on"},
    )
    assert wrong.context["form"].errors == {"approve": ["Only stock counts have anything to approve."]}


def test_admin_export_and_changelist_links(world, admin_client, django_user_model, client):
    response = admin_client.get(reverse("admin:inventory_export", args=["reorder_rules", "csv"]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert rows_of(response.content)[1][:2] == ["SHIRT-M", "DC-1"]
    bad = admin_client.get(
        reverse("admin:inventory_export", args=["stock_counts", "csv"]) + "?warehouse=NOPE", follow=True
    )
    assert any("no warehouse with code 'NOPE'" in str(m) for m in bad.context["messages"])
    assert (
        admin_client.get(reverse("admin:inventory_export", args=["stock_counts", "pdf"])).status_code == 404
    )
    for model in ("sku", "product", "reorderrule", "countsheet"):
        changelist = admin_client.get(reverse(f"admin:inventory_{model}_changelist"))
        assert reverse("admin:inventory_import_export").encode() in changelist.content, model
    # Staff without the model permissions can open neither the import nor the export.
    clerk = django_user_model.objects.create_user("clerk", password="pw-clerk-123", is_staff=True)
    client.force_login(clerk)
    assert client.get(reverse("admin:inventory_import_export")).status_code == 403
    # With the view permission a clerk may export products, but not import them.
    clerk.user_permissions.add(Permission.objects.get(codename="view_sku"))
    assert client.get(reverse("admin:inventory_export", args=["products", "csv"])).status_code == 200
    assert client.get(reverse("admin:inventory_export", args=["reorder_rules", "csv"])).status_code == 403
    data = csv_file(["sku", "unit_cost"], ["MUG", "9.00"])
    form = {"kind": "products", "file": SimpleUploadedFile("p.csv", data)}
    posted = client.post(reverse("admin:inventory_import_export"), form)
    assert posted.status_code == 403
    assert SKU.objects.get(code="MUG").unit_cost == Decimal("2.00")
