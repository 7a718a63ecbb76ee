"""The books' invariants for `manage.py reconcile`: every entry balances in
the base currency, so the trial balance sums to zero."""

from __future__ import annotations

from django.db import connection

from oms.reconcile import check


@check("every journal entry balances")
def entries_balance() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT e.id, e.source_type, e.source_ref, SUM(l.debit), SUM(l.credit)
            FROM accounting_journalentry e
            LEFT JOIN accounting_journalline l ON l.entry_id = e.id
            GROUP BY e.id, e.source_type, e.source_ref
            HAVING COALESCE(SUM(l.debit), 0) <> COALESCE(SUM(l.credit), 0)
                OR COUNT(l.id) < 2
            ORDER BY e.id
            LIMIT 50
            """
        )
        return [
            f"JE{pk:07d} ({kind} {ref}): debits {debit or 0} <> credits {credit or 0}"
            for pk, kind, ref, debit, credit in cursor.fetchall()
        ]


@check("the trial balance sums to zero")
def trial_balance_is_zero() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(debit), 0) - COALESCE(SUM(credit), 0) FROM accounting_journalline"
        )
        (difference,) = cursor.fetchone()
    return [] if difference == 0 else [f"debits exceed credits by {difference}"]
