"""The accounting API: trial balance, journal export, period close, reversal."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from accounting.models import ExchangeRate, JournalEntry
from accounting.services import Posting, journal_post
from oms.actors import Actor

pytestmark = pytest.mark.django_db
DAY = date(2026, 12, 2)


@pytest.fixture(autouse=True)
def _books(settings, db):
    settings.BASE_CURRENCY = "USD"
    ExchangeRate.objects.create(currency="EUR", day=DAY, rate=Decimal("1.08"))


def sale(ref: str, day: date = DAY, currency: str = "EUR") -> JournalEntry:
    return journal_post(
        day=day,
        memo=f"Sale {ref}",
        source_type="test",
        source_ref=ref,
        postings=[
            Posting("1100", debit=Decimal("54.00"), currency=currency),
            Posting("4000", credit=Decimal("50.00"), currency=currency),
            Posting("2200", credit=Decimal("4.00"), currency=currency),
        ],
        actor=Actor.system(),
    )


def test_trial_balance_sums_to_zero_and_is_staff_only(api, staff_api):
    sale("order:1")
    assert api.get("/api/v1/accounting/trial-balance/").status_code in (401, 403)
    body = staff_api.get("/api/v1/accounting/trial-balance/").json()
    assert body["base_currency"] == "USD"
    assert body["total_debit"] == body["total_credit"] == "58.3200"
    assert [(r["code"], r["balance"]) for r in body["rows"]] == [
        ("1100", "58.3200"),
        ("2200", "-4.3200"),
        ("4000", "-54.0000"),
    ]
    assert staff_api.get("/api/v1/accounting/trial-balance/", {"as_of": "2026-12-01"}).json()["rows"] == []
    bad = staff_api.get("/api/v1/accounting/trial-balance/", {"as_of": "yesterday"})
    assert bad.status_code == 400 and "as_of" in bad.json()["error"]["fields"]


def test_journal_export_is_the_documented_csv_of_one_period(staff_api):
    entry = sale("order:1")
    sale("order:2", day=date(2026, 11, 30), currency="USD")
    response = staff_api.get("/api/v1/accounting/journal-export/", {"period": "2026-12"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["source_ref"] for r in rows] == ["order:1"] * 3
    first = rows[0]
    assert (first["entry"], first["date"], first["account"], first["debit"], first["credit"]) == (
        str(entry.pk),
        "2026-12-02",
        "1100",
        "58.3200",
        "0.0000",
    )
    assert (first["amount"], first["currency"], first["rate"], first["base_currency"]) == (
        "54.0000",
        "EUR",
        "1.08000000",
        "USD",
    )
    bad = staff_api.get("/api/v1/accounting/journal-export/", {"period": "2026-13"})
    assert bad.status_code == 400 and "period" in bad.json()["error"]["fields"]


def test_closing_a_period_then_correcting_by_reversal(staff_api):
    entry = sale("order:1")
    closed = staff_api.post("/api/v1/accounting/periods/2026-12/close/")
    assert closed.status_code == 200 and closed.json()["period"] == "2026-12"

    refused = staff_api.post(
        f"/api/v1/accounting/journal-entries/{entry.pk}/reverse/", {"day": "2026-12-20"}, format="json"
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "period_closed"
    done = staff_api.post(
        f"/api/v1/accounting/journal-entries/{entry.pk}/reverse/", {"day": "2027-01-04"}, format="json"
    )
    assert done.status_code == 201 and done.json()["reverses"] == entry.pk
    body = staff_api.get("/api/v1/accounting/trial-balance/").json()
    assert all(Decimal(r["balance"]) == 0 for r in body["rows"])
    assert (
        staff_api.post(
            "/api/v1/accounting/journal-entries/999999/reverse/", {"day": "2027-01-04"}
        ).status_code
        == 404
    )
    bad = staff_api.post(
        f"/api/v1/accounting/journal-entries/{entry.pk}/reverse/", {"day": "soon"}, format="json"
    )
    assert bad.status_code == 400 and "day" in bad.json()["error"]["fields"]
    assert staff_api.post("/api/v1/accounting/periods/2026-00/close/").status_code == 400
