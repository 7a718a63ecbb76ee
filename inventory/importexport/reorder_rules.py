"""Reorder rules: one row per SKU x warehouse, upserted by that pair.

Columns left out of the file, and blank cells, keep their values on existing
rules; a new rule needs reorder_point and order_up_to, the rest default as in
the model (static, safety stock 0, service level 0.950, 14 days, active). The
model's CHECK constraints (order_up_to above the reorder point, a service
level of 0.5-0.999) are checked here on the merged values, so a bad row is
reported with its row number instead of failing the whole file in the
database.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from oms.actors import Actor

from ..models import SKU, ReorderRule, Warehouse
from .base import CREATE, LOOKUP_CHUNK, UNCHANGED, UPDATE, Kind, Outcome, Ticker, by_key
from .cells import MISSING, RowError, RowReader
from .tables import Table

METHODS = tuple(ReorderRule.Method.values)
SERVICE_LEVEL_MIN, SERVICE_LEVEL_MAX = Decimal("0.5"), Decimal("0.999")
FIELDS = (
    "method",
    "reorder_point",
    "order_up_to",
    "safety_stock",
    "service_level",
    "review_period_days",
    "is_active",
)


@dataclass
class _Rule:
    rule: ReorderRule
    action: str


class ReorderRules(Kind):
    name = "reorder_rules"
    label = "Reorder rules (per SKU and warehouse)"
    columns = ("sku", "warehouse", *FIELDS)
    required = ("sku", "warehouse")
    text_columns = ("sku", "warehouse", "method")
    filters = ("warehouse",)

    # --- Import ----------------------------------------------------------------

    def check(self, table: Table, errors: list[RowError], *, partial: bool, ticker: Ticker) -> list[_Rule]:
        ticker.start("check", len(table.rows))
        parsed = []
        for source in table.rows:
            r = RowReader(source, errors, decimal_comma=table.decimal_comma)
            values = {
                "sku": r.text("sku", max_length=64, required=True),
                "warehouse": r.text("warehouse", max_length=32, required=True),
                "method": r.choice("method", METHODS),
                "reorder_point": r.whole("reorder_point"),
                "order_up_to": r.whole("order_up_to"),
                "safety_stock": r.whole("safety_stock"),
                "service_level": r.decimal("service_level"),
                "review_period_days": r.whole("review_period_days"),
                "is_active": r.boolean("is_active"),
            }
            parsed.append((r, values))
        skus = by_key(SKU.objects.only("code"), "code", (v["sku"] for _, v in parsed))
        warehouses = by_key(Warehouse.objects.only("code"), "code", (v["warehouse"] for _, v in parsed))
        # Locked (FOR NO KEY UPDATE) so an admin edit cannot interleave with the upsert.
        sku_ids = sorted(s.pk for s in skus.values())
        existing = {}
        for start in range(0, len(sku_ids), LOOKUP_CHUNK):
            rules = ReorderRule.objects.filter(
                sku_id__in=sku_ids[start : start + LOOKUP_CHUNK], warehouse__in=warehouses.values()
            )
            for rule in rules.select_for_update(no_key=True).order_by("pk"):
                existing[(rule.sku_id, rule.warehouse_id)] = rule
        plan: list[_Rule] = []
        seen: dict[tuple[int, int], int] = {}
        for r, v in parsed:
            ticker.tick()
            sku, warehouse = skus.get(v["sku"]), warehouses.get(v["warehouse"])
            if v["sku"] and sku is None:
                r.error("sku", f"no SKU with code '{v['sku']}'")
            if v["warehouse"] and warehouse is None:
                r.error("warehouse", f"no warehouse with code '{v['warehouse']}'")
            if sku is None or warehouse is None:
                continue
            key = (sku.pk, warehouse.pk)
            if key in seen:
                r.error("sku", f"the rule for {sku.code} in {warehouse.code} is also on row {seen[key]}")
                continue
            seen[key] = r.row.number
            rule = existing.get(key)
            planned = self._merge(r, v, rule or ReorderRule(sku=sku, warehouse=warehouse))
            if planned is not None:
                plan.append(planned)
        ticker.flush()
        return plan

    def _merge(self, r: RowReader, v: dict, rule: ReorderRule) -> _Rule | None:
        new = rule.pk is None
        if new:
            r.need(
                (("reorder_point", v["reorder_point"]), ("order_up_to", v["order_up_to"])), "for a new rule"
            )
        level = v["service_level"]
        if isinstance(level, Decimal):
            if not SERVICE_LEVEL_MIN <= level <= SERVICE_LEVEL_MAX:
                r.error("service_level", "must be between 0.5 and 0.999")
            elif level != level.quantize(Decimal("0.001")):
                r.error("service_level", "has more than 3 decimals")
        if r.failed:
            return None
        changed = False
        for name in FIELDS:
            value = v[name]
            if value is not MISSING and getattr(rule, name) != value:
                setattr(rule, name, value)
                changed = True
        if rule.order_up_to <= rule.reorder_point:
            column = "order_up_to" if r.has("order_up_to") else "reorder_point"
            r.error(
                column,
                f"order_up_to ({rule.order_up_to}) must be greater than reorder_point ({rule.reorder_point})",
            )
            return None
        return _Rule(rule, CREATE if new else UPDATE if changed else UNCHANGED)

    # --- Apply -----------------------------------------------------------------

    def apply(
        self, plan: list[_Rule], *, actor: Actor, approve: bool, partial: bool, note: str, ticker: Ticker
    ) -> Outcome:
        ticker.start("write", len(plan))
        outcome = Outcome()
        for item in plan:
            outcome.tally(item.action)
        ReorderRule.objects.bulk_create([p.rule for p in plan if p.action == CREATE], batch_size=1000)
        changed = [p.rule for p in plan if p.action == UPDATE]
        now = timezone.now()
        for rule in changed:
            rule.updated_at = now  # bulk_update skips auto_now
        ReorderRule.objects.bulk_update(changed, [*FIELDS, "updated_at"], batch_size=1000)
        ticker.tick(len(plan))
        ticker.flush()
        return outcome

    # --- Export ----------------------------------------------------------------

    def export_rows(self, *, warehouse: str | None) -> tuple[int, Iterator[Sequence[object]]]:
        rules = ReorderRule.objects.select_related("sku", "warehouse").order_by(
            "sku__code", "warehouse__code"
        )
        if warehouse:
            rules = rules.filter(warehouse__code=warehouse)
        return rules.count(), (
            [
                rule.sku.code,
                rule.warehouse.code,
                rule.method,
                rule.reorder_point,
                rule.order_up_to,
                rule.safety_stock,
                rule.service_level,
                rule.review_period_days,
                rule.is_active,
            ]
            for rule in rules.iterator(chunk_size=2000)
        )
