"""Stock counts: what was counted on the shelves, per warehouse and SKU.

Stock is never written here. Each warehouse in the file gets a cycle count
sheet through inventory.operations (start, record, submit), so expected
quantities are snapshotted and variances reviewed like any other count;
the variances reach stock only when the sheet is approved, which this import
does only when asked to (`approve`).

A SKU may be counted in several bins of a warehouse (one row per bin): the
bin is checked to exist there, and the warehouse count is the sum of its
rows. In a partial import, an error on any row of a SKU in a warehouse keeps
all of that SKU's rows there out, so a partly counted SKU never looks short.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import OuterRef, Subquery

from oms.actors import Actor
from oms.errors import DomainError

from ..models import SKU, Bin, CountSheet, SKUBin, StockLevel, Warehouse
from ..operations import count_approve, count_record, count_start, count_submit
from .base import Kind, Outcome, Ticker, by_key
from .cells import RowError, RowReader
from .tables import Table


@dataclass
class _Line:
    sku: SKU
    counted: int = 0
    rows: list[int] = field(default_factory=list)


# warehouse -> sku_id -> line
CountPlan = dict[Warehouse, dict[int, _Line]]


class StockCounts(Kind):
    name = "stock_counts"
    label = "Stock counts (per warehouse and SKU)"
    columns = ("warehouse", "bin", "sku", "barcode", "sku_name", "counted")
    required = ("warehouse", "counted")
    one_of = ("sku", "barcode")
    # sku_name is written so counters know what they look for; imports skip it.
    text_columns = ("warehouse", "bin", "sku", "barcode", "sku_name")
    filters = ("warehouse",)

    # --- Import ----------------------------------------------------------------

    def check(self, table: Table, errors: list[RowError], *, partial: bool, ticker: Ticker) -> CountPlan:
        ticker.start("check", len(table.rows))
        parsed = []
        for source in table.rows:
            r = RowReader(source, errors, decimal_comma=table.decimal_comma)
            values = {
                "warehouse": r.text("warehouse", max_length=32, required=True),
                "bin": r.text("bin", max_length=32) or "",
                "sku": r.text("sku", max_length=64) or "",
                "barcode": r.text("barcode", max_length=48) or "",
                "counted": r.whole("counted", required=True, negative="a count cannot be negative"),
            }
            if not values["sku"] and not values["barcode"] and not r.bad & {"sku", "barcode"}:
                r.error("sku" if r.has("sku") else "barcode", "is required (a SKU code or a barcode)")
            parsed.append((r, values))
        warehouses = by_key(Warehouse.objects.all(), "code", (v["warehouse"] for _, v in parsed))
        by_code = by_key(SKU.objects.all(), "code", (v["sku"] for _, v in parsed))
        by_barcode = by_key(SKU.objects.all(), "barcode", (v["barcode"] for _, v in parsed))
        bins = {
            (b.warehouse_id, b.code)
            for b in Bin.objects.filter(
                warehouse__in=warehouses.values(), code__in={v["bin"] for _, v in parsed if v["bin"]}
            ).only("warehouse_id", "code")
        }

        plan: CountPlan = defaultdict(dict)
        seen: dict[tuple[int, int, str], int] = {}
        tainted: dict[tuple[Warehouse, int], int] = {}  # (warehouse, sku) -> a row with an error
        for r, v in parsed:
            ticker.tick()
            warehouse = warehouses.get(v["warehouse"])
            if v["warehouse"] and warehouse is None:
                r.error("warehouse", f"no warehouse with code '{v['warehouse']}'")
            sku = self._sku(r, v, by_code, by_barcode)
            if warehouse is not None and v["bin"] and (warehouse.pk, v["bin"]) not in bins:
                r.error("bin", f"no bin '{v['bin']}' in warehouse {warehouse.code}")
            if warehouse is None or sku is None:
                continue
            key = (warehouse.pk, sku.pk, v["bin"])
            if key in seen:
                where = f" bin {v['bin']}" if v["bin"] else ""
                r.error("sku", f"{sku.code} in {warehouse.code}{where} is also on row {seen[key]}")
            seen.setdefault(key, r.row.number)
            if r.failed:
                tainted.setdefault((warehouse, sku.pk), r.row.number)
                continue
            line = plan[warehouse].setdefault(sku.pk, _Line(sku))
            line.counted += v["counted"]
            line.rows.append(r.row.number)
        ticker.flush()
        for (warehouse, sku_id), bad_row in tainted.items():
            line = plan[warehouse].pop(sku_id, None)
            if line is not None and partial:
                errors.extend(
                    RowError(
                        n,
                        "counted",
                        f"not imported: row {bad_row} of this SKU in {warehouse.code} has an error",
                    )
                    for n in line.rows
                )
        return {w: lines for w, lines in plan.items() if lines}

    def _sku(
        self, r: RowReader, v: dict, by_code: dict[object, SKU], by_barcode: dict[object, SKU]
    ) -> SKU | None:
        sku = by_code.get(v["sku"]) if v["sku"] else None
        if v["sku"] and sku is None:
            r.error("sku", f"no SKU with code '{v['sku']}'")
        if v["barcode"]:
            scanned = by_barcode.get(v["barcode"])
            if scanned is None:
                r.error("barcode", f"no SKU has barcode '{v['barcode']}'")
            elif sku is not None and scanned.pk != sku.pk:
                r.error("barcode", f"is the barcode of {scanned.code}, not of {sku.code}")
            sku = sku or scanned
        return None if r.bad & {"sku", "barcode"} else sku

    # --- Apply -----------------------------------------------------------------

    def apply(
        self, plan: CountPlan, *, actor: Actor, approve: bool, partial: bool, note: str, ticker: Ticker
    ) -> Outcome:
        ticker.start("write", sum(len(lines) for lines in plan.values()))
        outcome = Outcome()
        for warehouse in sorted(plan, key=lambda w: w.code):
            lines = plan[warehouse]
            while lines:
                try:
                    # A savepoint per sheet: a sheet the services refuse leaves nothing behind.
                    with transaction.atomic():
                        sheet = count_start(
                            warehouse_id=warehouse.pk, actor=actor, sku_ids=list(lines), note=note
                        )
                        count_record(sheet_id=sheet.pk, counts={s: ln.counted for s, ln in lines.items()})
                        sheet = count_submit(sheet_id=sheet.pk, actor=actor)
                        if approve:
                            sheet = count_approve(sheet_id=sheet.pk, actor=actor)
                except DomainError as exc:
                    refused = self._refused(exc, lines, outcome)
                    if not partial or not refused:
                        break
                    for sku_id in refused:
                        del lines[sku_id]
                    continue
                self._tally(sheet, warehouse, outcome)
                ticker.tick(len(lines))
                break
        ticker.flush()
        return outcome

    def _refused(self, exc: DomainError, lines: dict[int, _Line], outcome: Outcome) -> set[int]:
        """Turn a service's refusal into row errors; the SKUs it names."""
        names = {ln.sku.code: s for s, ln in lines.items()} | {str(s): s for s in lines}
        refused: set[int] = set()
        for key, problems in exc.fields.items():
            sku_id = names.get(key.removeprefix("counts."))
            if sku_id is not None:
                refused.add(sku_id)
                outcome.errors.extend(
                    RowError(n, "counted", f"refused: {p}") for n in lines[sku_id].rows for p in problems
                )
        if not refused:  # about the sheet as a whole: every row of it is out
            outcome.errors.extend(
                RowError(n, "counted", f"count sheet refused: {exc.message}")
                for ln in lines.values()
                for n in ln.rows
            )
        return refused

    def _tally(self, sheet: CountSheet, warehouse: Warehouse, outcome: Outcome) -> None:
        counted = list(sheet.lines.values_list("expected", "counted"))
        variances = sum(1 for expected, count in counted if count != expected)
        outcome.updated += variances
        outcome.unchanged += len(counted) - variances
        outcome.count_sheets.append(
            {
                "id": sheet.pk,
                "warehouse": warehouse.code,
                "status": str(sheet.status),
                "lines": len(counted),
                "variances": variances,
            }
        )

    # --- Export ----------------------------------------------------------------

    def export_rows(self, *, warehouse: str | None) -> tuple[int, Iterator[Sequence[object]]]:
        """Every stocked SKU per warehouse, in the walking order of its primary
        bin, with today's on hand as the count: a count sheet to fill in."""
        primary = SKUBin.objects.filter(
            sku=OuterRef("sku"), warehouse=OuterRef("warehouse"), kind=SKUBin.Kind.PRIMARY
        )
        levels = (
            StockLevel.objects.select_related("warehouse", "sku")
            .annotate(
                bin_code=Subquery(primary.values("bin__code")[:1]),
                bin_walk=Subquery(primary.values("bin__walk_sequence")[:1]),
            )
            .order_by("warehouse__code", "bin_walk", "sku__code")
        )
        if warehouse:
            levels = levels.filter(warehouse__code=warehouse)
        return levels.count(), (
            [lvl.warehouse.code, lvl.bin_code or "", lvl.sku.code, lvl.sku.barcode, lvl.sku.name, lvl.on_hand]
            for lvl in levels.iterator(chunk_size=2000)
        )
