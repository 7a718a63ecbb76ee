"""Accounting reports: every figure checked against numbers worked out by
hand from the books built below, the CSV downloads parsed back, bad
parameters refused naming the parameter, and the admin pages for staff only.

Two sets of books:
- `journal_books`: entries posted straight through journal_post (sales in
  three currencies and channels, a refund, costs, capital, a 2025 sale);
- `receivables`: invoices and supplier invoices with partial payments
  before and after the aging day (2026-06-30), for the aging reports.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounting.invoicing import (
    InvoiceInput,
    InvoiceLineInput,
    invoice_issue,
    invoice_payment_record,
    supplier_invoice_record,
    supplier_payment_record,
)
from accounting.models import ExchangeRate
from accounting.reports import (
    AgingAmounts,
    ap_aging,
    ar_aging,
    balance_sheet,
    profit_and_loss,
    sales_by_channel,
    tax_report,
)
from accounting.selectors import trial_balance
from accounting.services import Posting, journal_post
from oms.actors import Actor
from oms.errors import InvalidInput
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db
D = Decimal
SYSTEM = Actor.system()
JAN, FEB = date(2026, 1, 1), date(2026, 2, 28)
AS_OF = date(2026, 6, 30)


@pytest.fixture(autouse=True)
def _base_currency(settings):
    settings.BASE_CURRENCY = "USD"


def post(day: date, ref: str, *postings: Posting) -> None:
    journal_post(day=day, memo=ref, source_type="test", source_ref=ref, postings=postings, actor=SYSTEM)


@pytest.fixture
def journal_books():
    """Hand-checked books (USD base; EUR 1.10 on 10 Jan, GBP 1.30 on 15 Feb):

    2025-12-20 capital:        Dr 1000 1000            / Cr 3000 1000
    2025-12-25 WEB sale USD:   Dr 1100 110             / Cr 4000 100, 2200 10
    2026-01-05 stock bought:   Dr 1300 200             / Cr 1000 200
    2026-01-10 WEB sale EUR:   Dr 1100 108 EUR = 118.80 / Cr 4000 90 EUR = 99.00,
                               4100 10 EUR = 11.00, 2200 8 EUR = 8.80
    2026-01-10 WEB COGS:       Dr 5000 40              / Cr 1300 40
    2026-02-15 B2B sale GBP:   Dr 1100 60 GBP = 78.00  / Cr 4000 50 GBP = 65.00, 2200 10 GBP = 13.00
    2026-02-15 WEB refund USD: Dr 4900 20, 2200 2      / Cr 1100 22
    2026-02-20 carrier cost:   Dr 5200 15              / Cr 1000 15
    2026-02-25 sale, no channel: Dr 1000 33            / Cr 4000 30, 2200 3
    2026-03-01 B2B sale USD:   Dr 1100 55              / Cr 4000 50, 2200 5   (after February)
    """
    ExchangeRate.objects.create(currency="EUR", day=date(2026, 1, 10), rate=D("1.10"))
    ExchangeRate.objects.create(currency="GBP", day=date(2026, 2, 15), rate=D("1.30"))
    web = ChannelFactory(code="WEB")
    b2b = ChannelFactory(code="B2B", kind="b2b")
    post(date(2025, 12, 20), "capital", Posting("1000", debit=D(1000)), Posting("3000", credit=D(1000)))
    post(
        date(2025, 12, 25),
        "sale-2025",
        Posting("1100", debit=D(110), channel_id=web.pk),
        Posting("4000", credit=D(100), channel_id=web.pk),
        Posting("2200", credit=D(10), channel_id=web.pk),
    )
    post(date(2026, 1, 5), "stock", Posting("1300", debit=D(200)), Posting("1000", credit=D(200)))
    eur = {"currency": "EUR", "channel_id": web.pk}
    post(
        date(2026, 1, 10),
        "sale-eur",
        Posting("1100", debit=D(108), **eur),
        Posting("4000", credit=D(90), **eur),
        Posting("4100", credit=D(10), **eur),
        Posting("2200", credit=D(8), **eur),
    )
    post(
        date(2026, 1, 10),
        "cogs",
        Posting("5000", debit=D(40), channel_id=web.pk),
        Posting("1300", credit=D(40), channel_id=web.pk),
    )
    gbp = {"currency": "GBP", "channel_id": b2b.pk}
    post(
        date(2026, 2, 15),
        "sale-gbp",
        Posting("1100", debit=D(60), **gbp),
        Posting("4000", credit=D(50), **gbp),
        Posting("2200", credit=D(10), **gbp),
    )
    post(
        date(2026, 2, 15),
        "refund",
        Posting("4900", debit=D(20), channel_id=web.pk),
        Posting("2200", debit=D(2), channel_id=web.pk),
        Posting("1100", credit=D(22), channel_id=web.pk),
    )
    post(date(2026, 2, 20), "carrier", Posting("5200", debit=D(15)), Posting("1000", credit=D(15)))
    post(
        date(2026, 2, 25),
        "sale-nochannel",
        Posting("1000", debit=D(33)),
        Posting("4000", credit=D(30)),
        Posting("2200", credit=D(3)),
    )
    post(
        date(2026, 3, 1),
        "sale-march",
        Posting("1100", debit=D(55), channel_id=b2b.pk),
        Posting("4000", credit=D(50), channel_id=b2b.pk),
        Posting("2200", credit=D(5), channel_id=b2b.pk),
    )


def invoice(ref: str, customer: tuple[int, str], currency: str, total: str, day: date, terms: int, tax="0"):
    net = D(total) - D(tax)
    line = InvoiceLineInput(
        sku="MUG", description="Mug", quantity=1, unit_price=net, net_amount=net, tax=D(tax)
    )
    return invoice_issue(
        data=InvoiceInput(
            source_ref=ref,
            customer_id=customer[0],
            customer_name=customer[1],
            customer_email="ap@example.com",
            currency=currency,
            terms_days=terms,
            lines=[line],
        ),
        day=day,
        actor=SYSTEM,
    )


def pay(inv, amount: str, day: date) -> None:
    invoice_payment_record(
        invoice_id=inv.pk, amount=D(amount), day=day, reference=f"{day}:{amount}", actor=SYSTEM
    )


@pytest.fixture
def receivables():
    """Aging on 2026-06-30. Buckets by due date: current >= 06-30; 1-30 from
    05-31; 31-60 from 05-01; 61-90 from 04-01; over 90 before 04-01.

    Acme (7), EUR:
      A1 issued 06-15 net 30 -> due 07-15, 100 (rate 1.25), unpaid          current 100 = 125.00
      A2 issued 05-01 net 30 -> due 05-31, 200 (rate 1.20333), 50 paid 06-10 1-30    150 = 180.50 (180.4995)
      A3 issued 03-01 net 30 -> due 03-31, 300 (rate 1.10), 100 paid 07-05   90+     300 = 330.00
    Beta (8), USD:
      B1 issued 04-01 net 30 -> due 05-01, 80, 30 paid on 06-30             31-60    50
      B2 issued 03-02 net 30 -> due 04-01, 40, unpaid                       61-90    40
      B3 issued 06-29 net 1  -> due 06-30, 25, unpaid                       current  25
    Epsilon (11), USD:
      E1 issued 04-15 net 30 -> due 05-15, 90, paid in full 07-10           31-60    90
    Left out: Gamma's invoice issued 07-01; Delta's paid in full 05-20.

    Suppliers:
      Paper Co (3), USD: S1 06-01 due 07-01, 100, 40 paid 06-20             current  60
                         S2 03-01 due 03-15, 50 + 5 tax, unpaid             90+      55
      Zinc AG (4), EUR:  S3 05-01 due 05-20, 200 (1.20333), paid 07-05      31-60   200 = 240.67
    """
    for day, rate in [
        (date(2026, 3, 1), "1.10"),
        (date(2026, 5, 1), "1.20333"),
        (date(2026, 6, 10), "1.22"),
        (date(2026, 6, 15), "1.25"),
        (date(2026, 7, 5), "1.30"),
    ]:
        ExchangeRate.objects.create(currency="EUR", day=day, rate=D(rate))
    acme, beta, gamma, delta, epsilon = (
        (7, "Acme GmbH"),
        (8, "Beta Ltd"),
        (9, "Gamma SA"),
        (10, "Delta BV"),
        (11, "Epsilon Inc"),
    )
    invoice("A1", acme, "EUR", "100", date(2026, 6, 15), 30, tax="10")
    a2 = invoice("A2", acme, "EUR", "200", date(2026, 5, 1), 30)
    pay(a2, "50", date(2026, 6, 10))
    a3 = invoice("A3", acme, "EUR", "300", date(2026, 3, 1), 30)
    pay(a3, "100", date(2026, 7, 5))
    b1 = invoice("B1", beta, "USD", "80", date(2026, 4, 1), 30)
    pay(b1, "30", AS_OF)
    invoice("B2", beta, "USD", "40", date(2026, 3, 2), 30)
    invoice("B3", beta, "USD", "25", date(2026, 6, 29), 1)
    invoice("G1", gamma, "USD", "60", date(2026, 7, 1), 30)
    d1 = invoice("D1", delta, "USD", "70", date(2026, 5, 1), 10)
    pay(d1, "70", date(2026, 5, 20))
    e1 = invoice("E1", epsilon, "USD", "90", date(2026, 4, 15), 30)
    pay(e1, "90", date(2026, 7, 10))

    def bill(supplier, number, currency, net, tax, issued, due):
        return supplier_invoice_record(
            supplier_id=supplier[0],
            supplier_name=supplier[1],
            number=number,
            currency=currency,
            issue_date=issued,
            due_date=due,
            net_total=D(net),
            tax_total=D(tax),
            actor=SYSTEM,
        )

    paper, zinc = (3, "Paper Co"), (4, "Zinc AG")
    s1 = bill(paper, "S1", "USD", "100", "0", date(2026, 6, 1), date(2026, 7, 1))
    supplier_payment_record(
        supplier_invoice_id=s1.pk, amount=D(40), day=date(2026, 6, 20), reference="o1", actor=SYSTEM
    )
    bill(paper, "S2", "USD", "50", "5", date(2026, 3, 1), date(2026, 3, 15))
    s3 = bill(zinc, "S3", "EUR", "200", "0", date(2026, 5, 1), date(2026, 5, 20))
    supplier_payment_record(
        supplier_invoice_id=s3.pk, amount=D(200), day=date(2026, 7, 5), reference="o2", actor=SYSTEM
    )


def amounts(*values: str) -> AgingAmounts:
    return AgingAmounts(*(D(v) for v in values))


def rows(report_rows) -> list[tuple]:
    return [(r.code, r.total) for r in report_rows]


# --- Selectors -----------------------------------------------------------------------


def test_profit_and_loss_in_total(journal_books):
    pnl = profit_and_loss(date_from=JAN, date_to=FEB)
    assert pnl.columns == ("total",)
    # 4000: 99.00 + 65.00 + 30.00; 4100: 11.00; 4900 (contra): -20.00.
    assert rows(pnl.revenue) == [("4000", D("194.00")), ("4100", D("11.00")), ("4900", D("-20.00"))]
    assert rows(pnl.expenses) == [("5000", D("40.00")), ("5200", D("15.00"))]
    assert (pnl.revenue_total, pnl.expense_total, pnl.net_profit) == ((D(185),), (D(55),), (D(130),))
    # The 2025 sale and the March one are outside the range.
    assert profit_and_loss(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)).total_net_profit == D(50)


def test_profit_and_loss_by_channel_and_by_month(journal_books):
    pnl = profit_and_loss(date_from=JAN, date_to=FEB, by="channel")
    assert pnl.columns == ("B2B", "WEB", "no channel")
    assert [(r.code, r.amounts) for r in pnl.revenue] == [
        ("4000", (D(65), D(99), D(30))),
        ("4100", (D(0), D(11), D(0))),
        ("4900", (D(0), D(-20), D(0))),
    ]
    assert [(r.code, r.amounts) for r in pnl.expenses] == [
        ("5000", (D(0), D(40), D(0))),
        ("5200", (D(0), D(0), D(15))),
    ]
    assert pnl.net_profit == (D(65), D(50), D(15))
    assert pnl.total_net_profit == D(130)

    monthly = profit_and_loss(date_from=date(2025, 12, 15), date_to=FEB, by="month")
    assert monthly.columns == ("2025-12", "2026-01", "2026-02")
    assert monthly.revenue_total == (D(100), D(110), D(75))
    assert monthly.expense_total == (D(0), D(40), D(15))
    assert monthly.net_profit == (D(100), D(70), D(60))
    # Months without postings still get their column.
    assert profit_and_loss(date_from=date(2026, 4, 1), date_to=date(2026, 5, 31), by="month").columns == (
        "2026-04",
        "2026-05",
    )


def test_balance_sheet_balances_with_earlier_and_current_year_earnings(journal_books):
    sheet = balance_sheet(as_of=FEB)
    # 1000: 1000 - 200 - 15 + 33; 1100: 110 + 118.80 + 78 - 22; 1300: 200 - 40.
    assert [(r.code, r.balance) for r in sheet.assets] == [
        ("1000", D("818.00")),
        ("1100", D("284.80")),
        ("1300", D("160.00")),
    ]
    assert [(r.code, r.balance) for r in sheet.liabilities] == [("2200", D("32.80"))]
    assert [(r.code, r.balance) for r in sheet.equity] == [("3000", D("1000.00"))]
    assert (sheet.earlier_earnings, sheet.current_year_earnings) == (D(100), D(130))
    assert sheet.total_assets == D("1262.80") == sheet.total_liabilities_and_equity

    year_end = balance_sheet(as_of=date(2025, 12, 31))
    assert (year_end.earlier_earnings, year_end.current_year_earnings) == (D(0), D(100))
    assert year_end.total_assets == D(1110) == year_end.total_liabilities_and_equity


def test_assets_equal_liabilities_equity_and_earnings_on_every_day(journal_books, receivables):
    """The proof over books with invoices, partial payments, FX results and
    supplier bills: the equation holds whatever the day, and the current
    year's earnings are the year-to-date profit and loss."""
    for as_of in [date(2025, 12, 31), FEB, date(2026, 5, 20), AS_OF, date(2026, 7, 5), date(2026, 12, 31)]:
        sheet = balance_sheet(as_of=as_of)
        assert sheet.total_assets == sheet.total_liabilities_and_equity, as_of
        ytd = profit_and_loss(date_from=as_of.replace(month=1, day=1), date_to=as_of)
        assert sheet.current_year_earnings == ytd.total_net_profit, as_of
    # The aging at the invoices' rates is what the receivable account holds.
    receivable = next(r.balance for r in trial_balance(as_of=date(2026, 12, 31)) if r.code == "1200")
    assert ar_aging(as_of=date(2026, 12, 31)).base.total == receivable


def test_sales_by_channel_and_currency(journal_books):
    report = sales_by_channel(date_from=JAN, date_to=FEB)
    assert [(r.channel, r.currency, r.original_amount, r.base_amount, r.entries) for r in report.rows] == [
        ("B2B", "GBP", D(50), D("65.00"), 1),
        ("WEB", "EUR", D(100), D("110.00"), 1),  # goods 90 + shipping 10 EUR
        ("WEB", "USD", D(-20), D("-20.00"), 1),  # the refund
        ("no channel", "USD", D(30), D("30.00"), 1),
    ]
    assert (report.base_total, report.entries) == (D(185), 4)


def test_tax_collected_and_reclaimed_by_currency(journal_books):
    report = tax_report(date_from=JAN, date_to=FEB)
    assert [
        (
            r.currency,
            r.collected_original,
            r.collected_base,
            r.reclaimed_original,
            r.reclaimed_base,
            r.net_base,
        )
        for r in report.rows
    ] == [
        ("EUR", D(8), D("8.80"), D(0), D(0), D("8.80")),
        ("GBP", D(10), D("13.00"), D(0), D(0), D("13.00")),
        ("USD", D(3), D("3.00"), D(2), D("2.00"), D("1.00")),
    ]
    assert (report.collected_base, report.reclaimed_base, report.net_base) == (D("24.80"), D(2), D("22.80"))


def test_receivables_aging_buckets_as_of_a_day(receivables):
    report = ar_aging(as_of=AS_OF)
    assert [(r.party_id, r.party_name, r.currency, r.documents) for r in report.rows] == [
        (7, "Acme GmbH", "EUR", 3),
        (8, "Beta Ltd", "USD", 3),
        (11, "Epsilon Inc", "USD", 1),
    ]
    acme, beta, epsilon = report.rows
    assert acme.amount == amounts("100", "150", "0", "0", "300")
    assert acme.base == amounts("125.00", "180.50", "0", "0", "330.00")
    assert (acme.amount.total, acme.base.total) == (D(550), D("635.50"))
    assert beta.amount == beta.base == amounts("25", "0", "50", "40", "0")
    assert epsilon.amount == amounts("0", "0", "90", "0", "0")  # paid in full only after the day
    assert [(t.currency, t.documents, t.amount) for t in report.currency_totals] == [
        ("EUR", 3, amounts("100", "150", "0", "0", "300")),
        ("USD", 4, amounts("25", "0", "140", "40", "0")),
    ]
    assert report.base == amounts("150.00", "180.50", "140.00", "40.00", "330.00")
    assert (report.base.total, report.documents) == (D("840.50"), 7)

    # Earlier: A1 not yet issued and A2's payment not yet made; B3 not issued either.
    earlier = ar_aging(as_of=date(2026, 6, 9))
    acme = earlier.rows[0]
    assert (acme.documents, acme.amount) == (2, amounts("0", "200", "0", "300", "0"))
    # Later: A3 partly and E1 fully paid, Gamma's invoice issued.
    later = ar_aging(as_of=date(2026, 7, 31))
    assert [(r.party_name, r.amount.total) for r in later.rows] == [
        ("Acme GmbH", D(450)),
        ("Beta Ltd", D(115)),
        ("Gamma SA", D(60)),
    ]


def test_payables_aging_buckets_as_of_a_day(receivables):
    report = ap_aging(as_of=AS_OF)
    assert [(r.party_id, r.party_name, r.currency, r.amount, r.base) for r in report.rows] == [
        (3, "Paper Co", "USD", amounts("60", "0", "0", "0", "55"), amounts("60", "0", "0", "0", "55")),
        (4, "Zinc AG", "EUR", amounts("0", "0", "200", "0", "0"), amounts("0", "0", "240.67", "0", "0")),
    ]
    assert report.base == amounts("60", "0", "240.67", "0", "55")
    assert report.base.total == D("355.67")
    assert [r.party_name for r in ap_aging(as_of=date(2026, 7, 31)).rows] == ["Paper Co"]


def test_each_report_is_a_fixed_number_of_queries(journal_books, receivables, django_assert_num_queries):
    with django_assert_num_queries(1):
        profit_and_loss(date_from=JAN, date_to=AS_OF, by="channel")
    with django_assert_num_queries(1):
        balance_sheet(as_of=AS_OF)
    with django_assert_num_queries(2):
        sales_by_channel(date_from=JAN, date_to=AS_OF)
    with django_assert_num_queries(1):
        tax_report(date_from=JAN, date_to=AS_OF)
    with django_assert_num_queries(1):
        ar_aging(as_of=AS_OF)
    with django_assert_num_queries(1):
        ap_aging(as_of=AS_OF)


def test_selectors_refuse_a_backwards_range_and_unknown_grouping():
    with pytest.raises(InvalidInput) as err:
        profit_and_loss(date_from=FEB, date_to=JAN)
    assert "date_from" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        profit_and_loss(date_from=JAN, date_to=FEB, by="warehouse")
    assert "by" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        profit_and_loss(date_from=date(2000, 1, 1), date_to=FEB, by="month")
    assert "by" in err.value.fields


# --- API -----------------------------------------------------------------------------

URL = "/api/v1/accounting/reports/{}/"


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_reports_are_staff_only(api, journal_books):
    for name in ["trial-balance", "profit-and-loss", "balance-sheet", "sales-by-channel", "tax", "ar-aging"]:
        assert api.get(
            URL.format(name), {"date_from": "2026-01-01", "date_to": "2026-02-28"}
        ).status_code in (
            401,
            403,
        )
    assert APIClient().get(URL.format("ap-aging")).status_code in (401, 403)


def test_profit_and_loss_json_and_csv(staff_api, journal_books):
    params = {"date_from": "2026-01-01", "date_to": "2026-02-28", "by": "channel"}
    body = staff_api.get(URL.format("profit-and-loss"), params).json()
    assert body["base_currency"] == "USD"
    assert body["columns"] == ["B2B", "WEB", "no channel"]
    assert body["revenue"][0] == {
        "code": "4000",
        "name": "Sales revenue",
        "type": "revenue",
        "amounts": ["65.0000", "99.0000", "30.0000"],
        "total": "194.0000",
    }
    assert body["net_profit"] == ["65.0000", "50.0000", "15.0000"]
    assert (body["total_revenue"], body["total_expenses"], body["total_net_profit"]) == (
        "185.0000",
        "55.0000",
        "130.0000",
    )

    table = csv_rows(staff_api.get(URL.format("profit-and-loss"), {**params, "format": "csv"}))
    assert list(table[0]) == ["section", "code", "name", "B2B", "WEB", "no channel", "total"]
    by_section = {(r["section"], r["code"]): r for r in table}
    assert by_section[("revenue", "4900")]["WEB"] == "-20.0000"
    assert by_section[("expense", "5200")]["no channel"] == "15.0000"
    net = by_section[("net_profit", "")]
    assert (net["B2B"], net["WEB"], net["no channel"], net["total"]) == (
        "65.0000",
        "50.0000",
        "15.0000",
        "130.0000",
    )

    monthly = csv_rows(
        staff_api.get(URL.format("profit-and-loss"), {**params, "by": "month", "format": "csv"})
    )
    assert {(r["section"], r["2026-01"], r["2026-02"]) for r in monthly if r["section"] == "net_profit"} == {
        ("net_profit", "70.0000", "60.0000")
    }
    total_only = csv_rows(staff_api.get(URL.format("profit-and-loss"), {**params, "by": "", "format": "csv"}))
    assert list(total_only[0]) == ["section", "code", "name", "total"]


def test_trial_balance_csv(staff_api, journal_books):
    table = csv_rows(staff_api.get(URL.format("trial-balance"), {"as_of": "2026-02-28", "format": "csv"}))
    assert list(table[0]) == ["code", "name", "type", "debit", "credit", "balance"]
    assert {r["code"]: r["balance"] for r in table} == {
        "1000": "818.0000",
        "1100": "284.8000",
        "1300": "160.0000",
        "2200": "-32.8000",
        "3000": "-1000.0000",
        "4000": "-294.0000",
        "4100": "-11.0000",
        "4900": "20.0000",
        "5000": "40.0000",
        "5200": "15.0000",
    }
    assert sum(D(r["balance"]) for r in table) == 0
    body = staff_api.get(URL.format("trial-balance")).json()  # no as_of: everything, March included
    assert (body["as_of"], body["total_debit"], body["total_credit"]) == (None, "1671.8000", "1671.8000")


def test_balance_sheet_sales_and_tax_csv(staff_api, journal_books):
    sheet = csv_rows(staff_api.get(URL.format("balance-sheet"), {"as_of": "2026-02-28", "format": "csv"}))
    totals = {r["section"]: r["balance"] for r in sheet if r["section"].startswith("total")}
    assert totals == {"total_assets": "1262.8000", "total_liabilities_and_equity": "1262.8000"}
    assert [r["balance"] for r in sheet if r["section"] == "earnings"] == ["100.0000", "130.0000"]
    assert (
        staff_api.get(URL.format("balance-sheet"), {"as_of": "2026-02-28"}).json()["total_assets"]
        == "1262.8000"
    )

    params = {"date_from": "2026-01-01", "date_to": "2026-02-28", "format": "csv"}
    sales = csv_rows(staff_api.get(URL.format("sales-by-channel"), params))
    assert [tuple(r.values()) for r in sales] == [
        ("B2B", "GBP", "50.0000", "65.0000", "1"),
        ("WEB", "EUR", "100.0000", "110.0000", "1"),
        ("WEB", "USD", "-20.0000", "-20.0000", "1"),
        ("no channel", "USD", "30.0000", "30.0000", "1"),
    ]
    tax = csv_rows(staff_api.get(URL.format("tax"), params))
    assert tax[-1] == {
        "currency": "USD",
        "collected_original": "3.0000",
        "collected_base": "3.0000",
        "reclaimed_original": "2.0000",
        "reclaimed_base": "2.0000",
        "net_original": "1.0000",
        "net_base": "1.0000",
    }
    assert staff_api.get(URL.format("tax"), params | {"format": "json"}).json()["net_base"] == "22.8000"


def test_aging_json_and_csv(staff_api, receivables):
    body = staff_api.get(URL.format("ar-aging"), {"as_of": "2026-06-30"}).json()
    assert body["rows"][0] == {
        "customer_id": 7,
        "customer_name": "Acme GmbH",
        "currency": "EUR",
        "invoices": 3,
        "amount": {
            "current": "100.0000",
            "days_1_30": "150.0000",
            "days_31_60": "0.0000",
            "days_61_90": "0.0000",
            "days_over_90": "300.0000",
            "total": "550.0000",
        },
        "base": {
            "current": "125.0000",
            "days_1_30": "180.5000",
            "days_31_60": "0.0000",
            "days_61_90": "0.0000",
            "days_over_90": "330.0000",
            "total": "635.5000",
        },
    }
    assert (body["base_total"]["total"], body["invoices"]) == ("840.5000", 7)

    table = csv_rows(staff_api.get(URL.format("ar-aging"), {"as_of": "2026-06-30", "format": "csv"}))
    assert [(r["row"], r["customer_name"], r["currency"], r["total"], r["base_total"]) for r in table] == [
        ("customer", "Acme GmbH", "EUR", "550.0000", "635.5000"),
        ("customer", "Beta Ltd", "USD", "115.0000", "115.0000"),
        ("customer", "Epsilon Inc", "USD", "90.0000", "90.0000"),
        ("currency_total", "", "EUR", "550.0000", "635.5000"),
        ("currency_total", "", "USD", "205.0000", "205.0000"),
        ("base_total", "", "", "", "840.5000"),
    ]
    assert table[1]["days_61_90"] == "40.0000" and table[2]["days_31_60"] == "90.0000"

    payables = csv_rows(staff_api.get(URL.format("ap-aging"), {"as_of": "2026-06-30", "format": "csv"}))
    assert [(r["row"], r["supplier_name"], r["base_days_31_60"], r["base_total"]) for r in payables] == [
        ("supplier", "Paper Co", "0.0000", "115.0000"),
        ("supplier", "Zinc AG", "240.6700", "240.6700"),
        ("currency_total", "", "240.6700", "240.6700"),
        ("currency_total", "", "0.0000", "115.0000"),
        ("base_total", "", "240.6700", "355.6700"),
    ]


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("profit-and-loss", {"date_from": "2026-13-01", "date_to": "2026-02-28"}, "date_from"),
        ("profit-and-loss", {"date_from": "2026-03-01", "date_to": "2026-02-28"}, "date_from"),
        ("profit-and-loss", {"date_from": "2026-01-01"}, "date_to"),
        ("profit-and-loss", {"date_from": "2026-01-01", "date_to": "2026-02-28", "by": "sku"}, "by"),
        ("profit-and-loss", {"date_from": "1990-01-01", "date_to": "2026-02-28", "by": "month"}, "by"),
        ("sales-by-channel", {"date_from": "2026-01-01", "date_to": "soon"}, "date_to"),
        ("tax", {"date_from": "2026-02-01", "date_to": "2026-01-01"}, "date_from"),
        ("balance-sheet", {"as_of": "yesterday"}, "as_of"),
        ("trial-balance", {"as_of": "2026-02-30"}, "as_of"),
        ("ar-aging", {"as_of": "2026-06-31"}, "as_of"),
        ("ap-aging", {"format": "xlsx"}, "format"),
        ("tax", {"date_from": "2026-01-01", "date_to": "2026-02-01", "format": "csv "}, "format"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(staff_api, name, params, field):
    response = staff_api.get(URL.format(name), params)
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]


def test_as_of_defaults_to_today(staff_api):
    assert staff_api.get(URL.format("ar-aging")).json()["rows"] == []
    assert staff_api.get(URL.format("balance-sheet")).status_code == 200


# --- Admin ---------------------------------------------------------------------------


def test_admin_reports_pages_render_for_staff(admin_client, journal_books, receivables):
    index = admin_client.get(reverse("admin:accounting_reports"))
    assert index.status_code == 200
    for slug in ["trial-balance", "profit-and-loss", "balance-sheet", "sales-by-channel", "tax", "ar-aging"]:
        assert reverse("admin:accounting_report", args=[slug]) in index.content.decode()
    # The admin index links to the reports from the accounting section.
    assert reverse("admin:accounting_reports") in admin_client.get(reverse("admin:index")).content.decode()

    page = admin_client.get(reverse("admin:accounting_report", args=["ar-aging"]), {"as_of": "2026-06-30"})
    html = page.content.decode()
    assert page.status_code == 200 and "Acme GmbH" in html and "840.50" in html
    assert "/api/v1/accounting/reports/ar-aging/?as_of=2026-06-30&amp;format=csv" in html

    pnl = admin_client.get(
        reverse("admin:accounting_report", args=["profit-and-loss"]),
        {"date_from": "2026-01-01", "date_to": "2026-02-28", "by": "month"},
    )
    assert pnl.status_code == 200 and "2026-02" in pnl.content.decode() and "130.00" in pnl.content.decode()
    for slug in ["trial-balance", "balance-sheet", "sales-by-channel", "tax", "ap-aging"]:
        assert admin_client.get(reverse("admin:accounting_report", args=[slug])).status_code == 200, slug
    assert admin_client.get("/admin/accounting/reports/nope/").status_code == 404

    # The session that opened the page downloads the CSV.
    assert admin_client.get(
        "/api/v1/accounting/reports/tax/?date_from=2026-01-01&date_to=2026-02-28&format=csv"
    )["Content-Type"].startswith("text/csv")


def test_admin_report_shows_bad_dates_as_form_errors(admin_client):
    page = admin_client.get(
        reverse("admin:accounting_report", args=["tax"]), {"date_from": "2026-03-01", "date_to": "2026-01-01"}
    )
    assert page.status_code == 200
    assert page.context["result"] is None
    assert "date_from" in page.context["form"].errors


def test_admin_reports_refuse_anonymous_and_non_staff(client, django_user_model):
    for url in [reverse("admin:accounting_reports"), reverse("admin:accounting_report", args=["ar-aging"])]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    django_user_model.objects.create_user("clerk", "clerk@example.com", "pw-clerk-123")
    client.login(username="clerk", password="pw-clerk-123")
    response = client.get(reverse("admin:accounting_reports"))
    assert response.status_code == 302 and "/login/" in response["Location"]
