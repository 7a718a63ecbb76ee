"""Dashboard accounting pages: overview, trial balance, profit and loss and
receivables aging from the same report selectors as the API, with CSV links;
only accounting.view may read them (warehouse and customer service get 403,
here and in the accounting API); constant query counts; bad dates are form
errors, never a 500."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.invoicing import InvoiceInput, InvoiceLineInput, invoice_issue, invoice_payment_record
from accounting.models import ExchangeRate
from accounting.services import Posting, journal_post
from oms.actors import Actor
from oms.roles import ACCOUNTING, CUSTOMER_SERVICE, MANAGER, WAREHOUSE
from tests.dashboard.conftest import assert_constant_queries
from tests.factories import ChannelFactory, WarehouseFactory

pytestmark = pytest.mark.django_db


D = Decimal
SYSTEM = Actor.system()
HOME = "/dashboard/accounting/"
TB = "/dashboard/accounting/trial-balance/"
PNL = "/dashboard/accounting/profit-and-loss/"
AGING = "/dashboard/accounting/ar-aging/"
PAGES = (HOME, TB, PNL, AGING)


@pytest.fixture(autouse=True)
def _base_currency(settings):
    settings.BASE_CURRENCY = "USD"


def today():
    return timezone.localdate()


def sale(day, ref: str, amount: str, channel=None) -> None:
    ch = {"channel_id": channel.pk} if channel else {}
    journal_post(
        day=day,
        memo=ref,
        source_type="test",
        source_ref=ref,
        postings=[Posting("1000", debit=D(amount), **ch), Posting("4000", credit=D(amount), **ch)],
        actor=SYSTEM,
    )


def cost(day, ref: str, amount: str) -> None:
    journal_post(
        day=day,
        memo=ref,
        source_type="test",
        source_ref=ref,
        postings=[Posting("5200", debit=D(amount)), Posting("1000", credit=D(amount))],
        actor=SYSTEM,
    )


def invoice(
    ref: str, name: str, amount: str, *, issued_days_ago: int, terms: int = 30, currency: str = "USD"
):
    data = InvoiceInput(
        source_ref=ref,
        customer_id=abs(hash(name)) % 10_000,
        customer_name=name,
        customer_email=f"{name.split()[0].lower()}@example.com",
        currency=currency,
        terms_days=terms,
        lines=[InvoiceLineInput("SKU-1", "Widgets", 1, D(amount), D(amount))],
        order_ref=f"B2B-{ref}",
    )
    return invoice_issue(data=data, day=today() - timedelta(days=issued_days_ago), actor=SYSTEM)


@pytest.fixture
def books(db):
    """This month: 500 of sales on WEB, 120 of carrier costs; Acme owes 300
    (due 30 days ago), Bolt 80 invoiced today, Cora 250 (due 70 days ago) of
    which 100 paid yesterday."""
    web = ChannelFactory(code="WEB")
    first = today().replace(day=1)
    sale(first, "sale-1", "500.00", web)
    cost(first, "carrier-1", "120.00")
    acme = invoice("inv-acme", "Acme Corp", "300.00", issued_days_ago=60)
    invoice("inv-bolt", "Bolt Ltd", "80.00", issued_days_ago=0)
    cora = invoice("inv-cora", "Cora Ltd", "250.00", issued_days_ago=100)
    invoice_payment_record(
        invoice_id=cora.pk,
        amount=D("100.00"),
        day=today() - timedelta(days=1),
        reference="bank-1",
        actor=SYSTEM,
    )
    return {"acme": acme, "cora": cora, "web": web}


def text(response) -> str:
    return response.content.decode()


# --- Pages ------------------------------------------------------------------------------


def test_overview_shows_receivables_result_balance_and_overdue_invoices(role_client, books):
    response = role_client(ACCOUNTING).get(HOME)
    assert response.status_code == 200
    body = text(response)
    assert "$530.00" in body  # receivables: 300 + 80 + 150
    assert "$450.00" in body  # overdue: Acme 300 + Cora 150
    assert "Balanced" in body
    overdue = body.split("<tbody>")[1]
    assert "Acme Corp" in overdue and "Cora Ltd" in overdue and "Bolt Ltd" not in overdue
    assert books["acme"].number in overdue and "$150.00" in overdue  # Cora's remainder
    assert overdue.index("Cora Ltd") < overdue.index("Acme Corp")  # longest overdue first
    for url in (TB, PNL, AGING):
        assert f'href="{url}"' in body


def test_trial_balance_page_and_its_csv(role_client, books):
    client = role_client(ACCOUNTING)
    body = text(client.get(TB))
    assert "4000 · Sales revenue" in body and "1200 · Accounts receivable" in body and "Balanced" in body
    assert 'href="/api/v1/accounting/reports/trial-balance/?format=csv"' in body
    csv = client.get("/api/v1/accounting/reports/trial-balance/", {"format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    assert text(csv).splitlines()[0] == "code,name,type,debit,credit,balance"

    yesterday = (today() - timedelta(days=1)).isoformat()
    dated = text(client.get(TB, {"as_of": yesterday}))
    assert f"as_of={yesterday}" in dated


def test_profit_and_loss_defaults_to_this_month(role_client, books):
    body = text(role_client(ACCOUNTING).get(PNL))
    # 500 of sales and Bolt's invoice of today (80); 120 of carrier costs.
    assert "$580.00" in body and "$120.00" in body and "$460.00" in body
    assert "format=csv" in body and f"date_from={today().replace(day=1).isoformat()}" in body


def test_profit_and_loss_by_month_and_channel_draw_a_chart(role_client, books):
    client = role_client(MANAGER)
    start = (today().replace(day=1) - timedelta(days=40)).replace(day=1)
    monthly = text(
        client.get(PNL, {"date_from": start.isoformat(), "date_to": today().isoformat(), "by": "month"})
    )
    assert "vendor/plotly.min.js" in monthly and 'class="chart"' in monthly
    assert today().strftime("%Y-%m") in monthly and start.strftime("%Y-%m") in monthly
    by_channel = text(client.get(PNL, {"by": "channel"}))
    assert '<th class="num">WEB</th>' in by_channel and "No channel" in by_channel


def test_ar_aging_page(role_client, books):
    body = text(role_client(ACCOUNTING).get(AGING))
    rows = body.split("<tbody>")[1].split("</tbody>")[0]
    assert "Acme Corp" in rows and "Bolt Ltd" in rows and "Cora Ltd" in rows
    assert "Not yet due" in body and "Over 90 days" in body and "format=csv" in body
    # As of before Cora's payment she still owed all of it.
    before = text(role_client(ACCOUNTING).get(AGING, {"as_of": (today() - timedelta(days=2)).isoformat()}))
    assert "$250.00" in before.split("<tbody>")[1]


@pytest.mark.parametrize(
    "url, query, problem",
    [
        (TB, {"as_of": "2026-13-45"}, "Enter a valid date"),
        (AGING, {"as_of": "yesterday"}, "Enter a valid date"),
        (PNL, {"date_from": "2026-02-30"}, "Enter a valid date"),
        (PNL, {"date_from": "2026-03-01", "date_to": "2026-01-31"}, "is after date_to"),
        (PNL, {"date_from": "1990-01-01", "date_to": "2026-01-31", "by": "month"}, "at most 120 months"),
        (PNL, {"by": "planet"}, "Select a valid choice"),
        (HOME, {"page": "-1"}, ""),
    ],
)
def test_bad_input_is_shown_never_a_500(role_client, books, url, query, problem):
    response = role_client(ACCOUNTING).get(url, query)
    assert response.status_code == 200
    assert problem in text(response)


# --- Query counts -----------------------------------------------------------------------


@pytest.mark.parametrize("url", [HOME, TB, PNL + "?by=channel", AGING])
def test_pages_run_constant_queries(role_client, books, url):
    client = role_client(ACCOUNTING)
    ExchangeRate.objects.create(currency="EUR", day=today() - timedelta(days=90), rate=D("1.10"))

    def grow():
        for i in range(6):
            channel = ChannelFactory(code=f"CH{i}")
            sale(today().replace(day=1), f"more-sale-{i}", "10.00", channel)
            cost(today().replace(day=1), f"more-cost-{i}", "1.00")
            invoice(f"more-{i}", f"Customer {i}", "40.00", issued_days_ago=45 + i)
            invoice(f"more-eur-{i}", f"Kunde {i}", "20.00", issued_days_ago=10 * i, currency="EUR")

    assert assert_constant_queries(client, url, grow) <= 8


# --- Roles ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [WAREHOUSE, CUSTOMER_SERVICE])
def test_warehouse_and_customer_service_may_not_read_the_books(role_client, books, role):
    client = role_client(role, locations=[WarehouseFactory()] if role == WAREHOUSE else ())
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "accounting.view" in text(response)
    for api in (
        "/api/v1/accounting/reports/trial-balance/",
        "/api/v1/accounting/reports/trial-balance/?format=csv",
        "/api/v1/accounting/reports/profit-and-loss/?date_from=2026-01-01&date_to=2026-01-31",
        "/api/v1/accounting/reports/ar-aging/",
        "/api/v1/accounting/trial-balance/",
    ):
        assert client.get(api).status_code == 403, api
    assert 'href="/dashboard/accounting/"' not in text(client.get("/dashboard/inventory/"))  # not in the menu


@pytest.mark.parametrize("role", [ACCOUNTING, MANAGER])
def test_accounting_and_managers_read_the_books(role_client, books, role):
    client = role_client(role)
    for url in PAGES:
        assert client.get(url).status_code == 200, url
    assert client.get("/api/v1/accounting/reports/trial-balance/").status_code == 200


def test_signed_out_visitors_are_sent_to_the_login(client, books):
    response = client.get(TB)
    assert response.status_code == 302 and "/dashboard/login/" in response["Location"]
