"""Products: one row per SKU, upserted by SKU code.

A row names its product; the product is found by name (or created), and the
category and brand columns are the product's. Columns left out of the file,
and blank cells, leave existing SKUs as they are, so a two-column file (sku,
unit_cost) updates costs only; a new SKU needs every column except category,
brand and is_active (default true). A blank category or brand clears it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from oms.actors import Actor
from oms.money import DECIMAL_PLACES, MAX_DIGITS, MINOR_UNITS, has_valid_precision, minor_units, round_money

from ..barcodes import barcode_problem, is_valid_gtin
from ..models import SKU, Product
from .base import CREATE, UNCHANGED, UPDATE, Kind, Outcome, Ticker, by_key, value_by_key
from .cells import MISSING, RowError, RowReader
from .tables import SourceRow, Table

CURRENCIES = tuple(sorted(MINOR_UNITS))
MAX_COST = Decimal(10) ** (MAX_DIGITS - DECIMAL_PLACES)
DIMENSIONS = ("weight_grams", "length_mm", "width_mm", "height_mm")
# column -> SKU field, for the columns that map one to one
SKU_FIELDS = {
    "barcode": "barcode",
    "sku_name": "name",
    **{d: d for d in DIMENSIONS},
    "unit_cost": "unit_cost",
    "cost_currency": "cost_currency",
    "is_active": "is_active",
}
NEEDED_FOR_NEW = ("barcode", "sku_name", "product_name", *DIMENSIONS, "unit_cost", "cost_currency")


@dataclass
class _Row:
    number: int
    code: str
    values: dict[str, object]  # column -> parsed value, only the columns the row sets
    sku: SKU | None = None
    product_key: object = None  # a Product pk, or ("new", name)


@dataclass
class _ProductChange:
    name: str
    product: Product | None  # None: create it
    attrs: dict[str, str] = field(default_factory=dict)  # category / brand the file sets
    rows: dict[str, int] = field(default_factory=dict)  # attr -> row that set it


@dataclass
class ProductPlan:
    rows: list[_Row] = field(default_factory=list)
    products: dict[object, _ProductChange] = field(default_factory=dict)


class Products(Kind):
    name = "products"
    label = "Products (one row per SKU)"
    columns = (
        "sku",
        "barcode",
        "sku_name",
        "product_name",
        "category",
        "brand",
        *DIMENSIONS,
        "unit_cost",
        "cost_currency",
        "is_active",
    )
    required = ("sku",)
    text_columns = ("sku", "barcode", "sku_name", "product_name", "category", "brand", "cost_currency")

    # --- Import ----------------------------------------------------------------

    def check(self, table: Table, errors: list[RowError], *, partial: bool, ticker: Ticker) -> ProductPlan:
        ticker.start("check", len(table.rows))
        parsed = [self._parse(row, errors, table.decimal_comma) for row in table.rows]
        codes = {r.code for _, r in parsed if r}
        # The rows this import may change are locked (FOR NO KEY UPDATE: order
        # lines can still reference them) so an admin edit cannot interleave.
        skus = by_key(
            SKU.objects.select_related("product").select_for_update(no_key=True, of=("self",)).order_by("pk"),
            "code",
            codes,
        )
        barcodes = (r.values.get("barcode") for _, r in parsed if r)
        owners = value_by_key(SKU.objects, "barcode", "code", barcodes)
        names = {r.values["product_name"] for _, r in parsed if r and r.values.get("product_name")}
        products_named: dict[str, list[Product]] = defaultdict(list)
        for product in Product.objects.filter(name__in=names).order_by("pk"):
            products_named[product.name].append(product)

        plan = ProductPlan()
        seen_codes: dict[str, int] = {}
        seen_barcodes: dict[str, int] = {}
        for reader, row in parsed:
            ticker.tick()
            if row is None:
                continue
            row.sku = skus.get(row.code)
            self._resolve(reader, row, seen_codes, seen_barcodes, owners, products_named, plan)
            if not reader.failed:
                plan.rows.append(row)
        ticker.flush()
        return plan

    def _parse(
        self, source: SourceRow, errors: list[RowError], decimal_comma: bool
    ) -> tuple[RowReader, _Row | None]:
        r = RowReader(source, errors, decimal_comma=decimal_comma)
        code = r.text("sku", max_length=64, required=True)
        values: dict[str, object] = {
            "barcode": r.text("barcode", max_length=48),
            "sku_name": r.text("sku_name", max_length=200),
            "product_name": r.text("product_name", max_length=200),
            "category": r.text("category", max_length=100, clear=True),
            "brand": r.text("brand", max_length=100, clear=True),
            **{d: r.whole(d) for d in DIMENSIONS},
            "unit_cost": r.decimal("unit_cost"),
            "cost_currency": r.choice("cost_currency", CURRENCIES),
            "is_active": r.boolean("is_active"),
        }
        cost = values["unit_cost"]
        if isinstance(cost, Decimal):
            if cost < 0:
                r.error("unit_cost", "must not be negative")
            elif cost >= MAX_COST:
                r.error("unit_cost", "is too large")
        barcode = values["barcode"]
        if barcode:
            problem = barcode_problem(barcode)
            if problem:
                r.error("barcode", problem)
            elif isinstance(r.raw("barcode"), int | float) and not is_valid_gtin(barcode):
                r.error(
                    "barcode",
                    "is a number in the sheet, which drops leading zeros; format the column as text",
                )
        present = {k: v for k, v in values.items() if v is not MISSING}
        return r, (_Row(source.number, code, present) if code else None)

    def _resolve(
        self,
        r: RowReader,
        row: _Row,
        seen_codes: dict[str, int],
        seen_barcodes: dict[str, int],
        owners: dict[object, object],
        products_named: dict[str, list[Product]],
        plan: ProductPlan,
    ) -> None:
        if row.code in seen_codes:
            r.error("sku", f"{row.code} is also on row {seen_codes[row.code]}")
            return
        seen_codes[row.code] = row.number
        sku = row.sku
        if sku is None:
            r.need(((c, row.values.get(c, MISSING)) for c in NEEDED_FOR_NEW), "to create a new SKU")
        barcode = row.values.get("barcode")
        if barcode:
            owner = owners.get(barcode)
            if barcode in seen_barcodes:
                r.error("barcode", f"{barcode} is also on row {seen_barcodes[barcode]}")
            elif owner is not None and owner != row.code:
                r.error("barcode", f"{barcode} is already the barcode of SKU {owner}")
            seen_barcodes.setdefault(barcode, row.number)
        currency = row.values.get("cost_currency") or (sku.cost_currency if sku else None)
        cost = row.values.get("unit_cost", sku.unit_cost if sku else None)
        if (
            currency
            and cost is not None
            and "unit_cost" not in r.bad
            and not has_valid_precision(cost, currency)
        ):
            r.error(
                "unit_cost",
                f"{cost} has more decimals than {currency} allows ({minor_units(currency)})",
            )
        self._product(r, row, products_named, plan)

    def _product(
        self, r: RowReader, row: _Row, products_named: dict[str, list[Product]], plan: ProductPlan
    ) -> None:
        sku = row.sku
        name = row.values.get("product_name") or (sku.product.name if sku else None)
        if not name:
            return
        if sku is not None and sku.product.name == name:
            product: Product | None = sku.product
        else:
            named = products_named.get(name, [])
            if len(named) > 1:
                r.error("product_name", f"{len(named)} products are named '{name}'; rename them first")
                return
            product = named[0] if named else None
        key = product.pk if product else ("new", name)
        change = plan.products.get(key) or _ProductChange(name, product)
        for attr in ("category", "brand"):
            if attr not in row.values:
                continue
            if attr in change.attrs and change.attrs[attr] != row.values[attr]:
                r.error(
                    attr,
                    f"product '{name}' has {attr} '{change.attrs[attr]}' on row {change.rows[attr]}",
                )
        if r.failed:
            return
        for attr in ("category", "brand"):
            if attr in row.values and attr not in change.attrs:
                change.attrs[attr], change.rows[attr] = row.values[attr], row.number
        plan.products[key] = change
        row.product_key = key

    # --- Apply -----------------------------------------------------------------

    def apply(
        self, plan: ProductPlan, *, actor: Actor, approve: bool, partial: bool, note: str, ticker: Ticker
    ) -> Outcome:
        ticker.start("write", len(plan.rows))
        outcome = Outcome()
        products = self._write_products(plan)
        product_changed = {key for key, ch in plan.products.items() if ch.product is None or _differs(ch)}
        new_skus: list[SKU] = []
        changed: list[SKU] = []
        fields: set[str] = set()
        for row in plan.rows:
            ticker.tick()
            product = products[row.product_key]
            sku = row.sku or SKU(code=row.code)
            diff = {
                SKU_FIELDS[c]: v
                for c, v in row.values.items()
                if c in SKU_FIELDS and getattr(sku, SKU_FIELDS[c]) != v
            }
            if sku.pk is None or sku.product_id != product.pk:
                diff["product"] = product
            for name, value in diff.items():
                setattr(sku, name, value)
            if sku.pk is None:
                new_skus.append(sku)
                action = CREATE
            elif diff:
                changed.append(sku)
                fields.update(diff)
                action = UPDATE
            else:
                action = UPDATE if row.product_key in product_changed else UNCHANGED
            outcome.tally(action)
        SKU.objects.bulk_create(new_skus, batch_size=1000)
        if changed:
            SKU.objects.bulk_update(changed, sorted(fields), batch_size=1000)
        ticker.flush()
        return outcome

    def _write_products(self, plan: ProductPlan) -> dict[object, Product]:
        created = {
            key: Product(name=ch.name, **ch.attrs) for key, ch in plan.products.items() if ch.product is None
        }
        Product.objects.bulk_create(created.values(), batch_size=1000)
        updated = []
        for change in plan.products.values():
            if change.product is not None and _differs(change):
                for attr, value in change.attrs.items():
                    setattr(change.product, attr, value)
                updated.append(change.product)
        if updated:
            Product.objects.bulk_update(updated, ["category", "brand"], batch_size=1000)
        return {key: created.get(key) or ch.product for key, ch in plan.products.items()}

    # --- Export ----------------------------------------------------------------

    def export_rows(self, *, warehouse: str | None) -> tuple[int, Iterator[Sequence[object]]]:
        skus = SKU.objects.select_related("product").order_by("code")
        return skus.count(), (
            [
                s.code,
                s.barcode,
                s.name,
                s.product.name,
                s.product.category,
                s.product.brand,
                s.weight_grams,
                s.length_mm,
                s.width_mm,
                s.height_mm,
                round_money(s.unit_cost, s.cost_currency),
                s.cost_currency,
                s.is_active,
            ]
            for s in skus.iterator(chunk_size=2000)
        )


def _differs(change: _ProductChange) -> bool:
    return change.product is not None and any(
        getattr(change.product, attr) != value for attr, value in change.attrs.items()
    )
