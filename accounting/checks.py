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


# A document and its payments, and the ledger lines they posted on its open-item account.
_OPEN_ITEMS = """
    SELECT d.number, d.total, d.amount_paid, d.currency, d.status,
           (SELECT COALESCE(SUM(p.amount), 0) FROM {payments} p WHERE p.{fk} = d.id),
           (SELECT l.amount FROM accounting_journalline l JOIN accounting_account a ON a.id = l.account_id
             WHERE l.entry_id = d.entry_id AND a.code = %(account)s AND l.{side} > 0
               AND l.currency = d.currency)
    FROM {documents} d ORDER BY d.id
"""


def _open_items_agree(
    label: str, documents: str, payments: str, fk: str, account: str, side: str
) -> list[str]:
    sql = _OPEN_ITEMS.format(documents=documents, payments=payments, fk=fk, side=side)
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(sql, {"account": account})
        for number, total, paid, currency, status, payments_sum, booked in cursor.fetchall():
            if booked != total:
                problems.append(
                    f"{label} {number}: total {total} {currency} but booked {booked} on {account}"
                )
            if payments_sum != paid:
                problems.append(
                    f"{label} {number}: paid {paid} {currency} but its payments sum to {payments_sum}"
                )
            if (status == "paid") != (paid == total):
                problems.append(f"{label} {number}: {status} with {paid} of {total} {currency} paid")
            if len(problems) >= 50:
                break
    return problems


@check("invoices and their payments agree with the ledger")
def invoices_agree() -> list[str]:
    return _open_items_agree(
        "invoice", "accounting_invoice", "accounting_invoicepayment", "invoice_id", "1200", "debit"
    ) + _open_items_agree(
        "supplier invoice",
        "accounting_supplierinvoice",
        "accounting_supplierpayment",
        "supplier_invoice_id",
        "2000",
        "credit",
    )
