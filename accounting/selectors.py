"""Reading the books."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from .models import Account


@dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        """Debit minus credit (positive: a debit balance)."""
        return self.debit - self.credit


def trial_balance(*, as_of: date | None = None) -> list[TrialBalanceRow]:
    """Every account with postings, its debit and credit totals up to `as_of`."""
    on = Q(lines__entry__date__lte=as_of) if as_of else Q()
    rows = (
        Account.objects.annotate(
            debit_total=Sum("lines__debit", filter=on), credit_total=Sum("lines__credit", filter=on)
        )
        .filter(Q(debit_total__isnull=False) | Q(credit_total__isnull=False))
        .order_by("code")
    )
    return [
        TrialBalanceRow(a.code, a.name, a.type, a.debit_total or Decimal(0), a.credit_total or Decimal(0))
        for a in rows
    ]
