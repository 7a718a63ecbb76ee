"""The journal: balanced entries only, in the base currency at the day's
rate with the original kept; bad input posts nothing; closed periods take
no entries; reversals correct; reconcile proves the books."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounting.models import ExchangeRate, JournalEntry, JournalLine
from accounting.selectors import trial_balance
from accounting.services import Posting, journal_post, journal_reverse, period_close
from oms.actors import Actor
from oms.errors import Conflict, InvalidInput
from oms.reconcile import registered_checks

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system()
DAY = date(2026, 12, 2)
D = Decimal


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


@pytest.fixture
def rates(db):
    ExchangeRate.objects.create(currency="EUR", day=DAY, rate=D("1.08"))
    ExchangeRate.objects.create(currency="GBP", day=DAY, rate=D("1.27"))
    ExchangeRate.objects.create(currency="JPY", day=DAY, rate=D("0.0067"))


def post(postings, ref="order:1", day=DAY, **kwargs):
    return journal_post(
        day=day, memo="test", source_type="test", source_ref=ref, postings=postings, actor=SYSTEM, **kwargs
    )


def sale(amount="108.00", tax="8.00", currency="", ref="order:1"):
    net = D(amount) - D(tax)
    return post(
        [
            Posting("1100", debit=D(amount), currency=currency),
            Posting("4000", credit=net, currency=currency),
            Posting("2200", credit=D(tax), currency=currency),
        ],
        ref=ref,
    )


def balances() -> dict[str, Decimal]:
    return {row.code: row.balance for row in trial_balance()}


def reconcile_problems() -> dict[str, list[str]]:
    checks = registered_checks()
    return {
        name: problems
        for name in ("every journal entry balances", "the trial balance sums to zero")
        if (problems := checks[name]())
    }


def test_a_balanced_entry_is_booked_in_the_base_currency():
    entry = sale()
    assert [(ln.account.code, ln.debit, ln.credit) for ln in entry.lines.select_related("account")] == [
        ("1100", D("108.00"), 0),
        ("4000", 0, D("100.00")),
        ("2200", 0, D("8.00")),
    ]
    assert balances() == {"1100": D("108.00"), "2200": D("-8.00"), "4000": D("-100.00")}
    assert reconcile_problems() == {}


def test_a_foreign_currency_entry_keeps_the_original_and_uses_the_days_rate(rates):
    entry = sale("54.00", "4.00", currency="EUR")
    card = entry.lines.get(account__code="1100")
    assert (card.amount, card.currency, card.rate, card.debit) == (D("54.00"), "EUR", D("1.08"), D("58.32"))
    assert sum(ln.debit for ln in entry.lines.all()) == sum(ln.credit for ln in entry.lines.all())


def test_conversion_rounding_goes_to_the_rounding_account(rates):
    # 3 x 33.33 + 0.01 = 100.00 EUR, each converted on its own at 1.08.
    entry = post(
        [
            Posting("1100", debit=D("100.00"), currency="EUR"),
            Posting("4000", credit=D("33.33"), currency="EUR"),
            Posting("4000", credit=D("33.33"), currency="EUR"),
            Posting("4000", credit=D("33.34"), currency="EUR"),
        ]
    )
    # 36.00 + 36.00 + 36.01 of credits against 108.00 of debit: 0.01 of rounding.
    assert (
        sum(ln.debit for ln in entry.lines.all()) == sum(ln.credit for ln in entry.lines.all()) == D("108.01")
    )
    [rounding] = entry.lines.filter(account__code="7990")
    assert (rounding.debit, rounding.credit) == (D("0.01"), 0)
    assert reconcile_problems() == {}


@pytest.mark.parametrize(
    ("postings", "field", "code"),
    [
        ([Posting("1100", debit=D("10")), Posting("4000", credit=D("9"))], "postings", "unbalanced"),
        ([Posting("1100", debit=D("10"))], "postings", "invalid"),
        (
            [Posting("1100", debit=D("-10")), Posting("4000", credit=D("-10"))],
            "postings[0].amount",
            "negative_amount",
        ),
        (
            [Posting("9999", debit=D("10")), Posting("4000", credit=D("10"))],
            "postings[0].account",
            "invalid",
        ),
        (
            [Posting("1100", debit=D("10"), currency="XYZ"), Posting("4000", credit=D("10"), currency="XYZ")],
            "currency",
            "unknown_currency",
        ),
        (
            [Posting("1100", debit=D("10"), currency="CHF"), Posting("4000", credit=D("10"), currency="CHF")],
            "currency",
            "missing_exchange_rate",
        ),
        (
            [Posting("1100", debit=D("10.001")), Posting("4000", credit=D("10.001"))],
            "postings[0].amount",
            "invalid",
        ),
        (
            [Posting("1100", debit=D("10"), credit=D("10")), Posting("4000", credit=D("10"))],
            "postings[0].amount",
            "invalid",
        ),
    ],
    ids=[
        "unbalanced",
        "one-sided",
        "negative",
        "unknown-account",
        "unknown-currency",
        "no-rate",
        "precision",
        "both-sides",
    ],
)
def test_bad_input_is_refused_naming_the_field_and_posts_nothing(rates, postings, field, code):
    with pytest.raises(InvalidInput) as exc:
        post(postings)
    assert field in exc.value.fields
    assert exc.value.code == code
    assert not JournalEntry.objects.exists() and not JournalLine.objects.exists()


def test_the_same_business_event_posts_once():
    first = sale(ref="capture:7")
    again = sale(ref="capture:7")
    assert again.pk == first.pk
    assert JournalEntry.objects.count() == 1


def test_a_closed_period_refuses_entries_and_a_reversal_corrects_in_an_open_one():
    entry = sale()
    period_close(year=2026, month=12, actor=SYSTEM)
    with pytest.raises(Conflict) as exc:
        sale(ref="order:2")
    assert exc.value.code == "period_closed" and "2026-12" in exc.value.message
    with pytest.raises(Conflict):
        journal_reverse(entry_id=entry.pk, day=DAY, actor=SYSTEM)

    reversal = journal_reverse(entry_id=entry.pk, day=date(2027, 1, 4), actor=SYSTEM)
    assert reversal.reverses == entry
    assert all(v == 0 for v in balances().values())
    with pytest.raises(Conflict):
        journal_reverse(entry_id=entry.pk, day=date(2027, 1, 5), actor=SYSTEM)
    assert JournalEntry.objects.count() == 2


def test_reconcile_names_an_entry_that_does_not_balance():
    entry = sale()
    JournalLine.objects.filter(entry=entry, account__code="2200").update(credit=D("7.00"))
    problems = reconcile_problems()
    assert f"JE{entry.pk:07d}" in problems["every journal entry balances"][0]
    assert problems["the trial balance sums to zero"] == ["debits exceed credits by 1.0000"]
    with pytest.raises(CommandError):
        call_command("reconcile", stdout=StringIO())


CURRENCIES = ["USD", "EUR", "GBP", "JPY"]
ACCOUNTS = ["1000", "1100", "1200", "1300", "2000", "2200", "4000", "4100", "5000", "5100"]


@st.composite
def entries(draw):
    """A balanced entry in one currency: a few debits and credits summing alike."""
    currency = draw(st.sampled_from(CURRENCIES))
    places = 0 if currency == "JPY" else 2
    cents = st.integers(min_value=1, max_value=10_000_000)
    debits = draw(st.lists(cents, min_size=1, max_size=4))
    total = sum(debits)
    cuts = sorted(
        draw(st.lists(st.integers(min_value=1, max_value=max(total - 1, 1)), max_size=3, unique=True))
    )
    cuts = [c for c in cuts if 0 < c < total]
    credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    scale = Decimal(1).scaleb(-places)
    postings = [Posting(draw(st.sampled_from(ACCOUNTS)), debit=d * scale, currency=currency) for d in debits]
    postings += [
        Posting(draw(st.sampled_from(ACCOUNTS)), credit=c * scale, currency=currency) for c in credits
    ]
    return draw(st.permutations(postings))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(entries(), min_size=1, max_size=6))
def test_any_sequence_of_balanced_entries_in_several_currencies_keeps_the_books_balanced(rates, batch):
    JournalLine.objects.all().delete()
    JournalEntry.objects.all().delete()
    for i, postings in enumerate(batch):
        post(postings, ref=f"prop:{i}")
    assert reconcile_problems() == {}
    assert sum((row.balance for row in trial_balance()), Decimal(0)) == 0
