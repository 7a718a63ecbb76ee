"""The migrated schema's indexes: every foreign key can be looked up by an
index, and the hot write tables carry no index another one already covers."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

# Written on every order placed: an index here is one more write per order.
HOT_TABLES = [
    "inventory_stocklevel",
    "inventory_stockmovement",
    "inventory_reservation",
    "orders_order",
    "orders_orderline",
    "orders_idempotencykey",
    "orders_payment",
    "orders_paymenttransaction",
    "orders_orderevent",
    "oms_outboxevent",
    "customers_customer",
]

# Each index's table, name, key columns in order (expressions as NULL), and
# whether it is partial and whether it is unique.
INDEXES = """
    SELECT t.relname, i.relname,
           ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
                 LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                 ORDER BY k.n),
           x.indpred IS NOT NULL, x.indisunique
    FROM pg_index x
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = 'public'
"""


def indexes() -> list[tuple[str, str, list[str | None], bool, bool]]:
    with connection.cursor() as cursor:
        cursor.execute(INDEXES)
        return cursor.fetchall()


def _same_expression_first(index: str, single: str) -> bool:
    """Whether `index` leads with the same expression that `single` indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(%s::regclass, 1, true) = pg_get_indexdef(%s::regclass, 1, true)",
            [index, single],
        )
        return cursor.fetchone()[0]


def test_every_foreign_key_has_an_index_that_leads_with_it():
    """A parent's delete (and the reverse lookups) must not scan the child."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, a.attname
            FROM pg_constraint c
            JOIN pg_class t ON t.oid = c.conrelid
            JOIN pg_namespace ns ON ns.oid = t.relnamespace AND ns.nspname = 'public'
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1]
            WHERE c.contype = 'f' AND array_length(c.conkey, 1) = 1
            """
        )
        foreign_keys = cursor.fetchall()
    # A partial index counts: a foreign key is looked up by a value, never by NULL.
    led = {(table, columns[0]) for table, _, columns, _, _ in indexes() if columns and columns[0]}
    assert foreign_keys
    assert sorted(fk for fk in foreign_keys if fk not in led) == []


def test_hot_tables_have_no_single_column_index_another_index_leads_with():
    found = indexes()
    redundant = []
    for table, name, columns, partial, unique in found:
        if table not in HOT_TABLES or len(columns) != 1 or partial or unique:
            continue
        # Another whole-table index on the same leading column or expression.
        covering = [
            other
            for t, other, cols, other_partial, _ in found
            if t == table
            and other != name
            and len(cols) > 1
            and not other_partial
            and (cols[0] == columns[0] if columns[0] else _same_expression_first(other, name))
        ]
        if covering:
            redundant.append((table, name, covering))
    assert redundant == [], redundant
