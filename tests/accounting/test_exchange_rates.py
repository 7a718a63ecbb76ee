"""Exchange rates by day, loaded from CSV: all rows or none, every problem named."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounting.models import ExchangeRate
from accounting.services import exchange_rate

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


def load(tmp_path, text: str, *args: str) -> tuple[str, str]:
    path = tmp_path / "rates.csv"
    path.write_text(text)
    out, err = StringIO(), StringIO()
    call_command("load_exchange_rates", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_rates_load_and_reload_updates(tmp_path):
    out, _ = load(
        tmp_path, "currency,day,rate\nEUR,2026-12-02,1.08\nGBP,2026-12-02,1.27\n", "--source", "ECB"
    )
    assert "2 rate(s) added, 0 updated" in out
    assert exchange_rate(currency="EUR", day=date(2026, 12, 2)) == Decimal("1.08")
    assert ExchangeRate.objects.get(currency="GBP").source == "ECB"

    out, _ = load(tmp_path, "day,rate,currency,source\n2026-12-02,1.09,EUR,manual\n")
    assert "0 rate(s) added, 1 updated" in out
    assert exchange_rate(currency="EUR", day=date(2026, 12, 2)) == Decimal("1.09")
    assert exchange_rate(currency="USD", day=date(2026, 12, 2)) == 1


def test_a_bad_file_loads_nothing_and_names_every_problem(tmp_path):
    text = (
        "currency,day,rate\n"
        "EUR,2026-12-02,1.08\n"
        "XYZ,2026-12-02,1\n"
        "GBP,02/12/2026,1.27\n"
        "JPY,2026-12-02,-0.0067\n"
        "USD,2026-12-02,1\n"
        "EUR,2026-12-02,1.07\n"
    )
    with pytest.raises(CommandError, match="5 problem"):
        load(tmp_path, text)
    assert not ExchangeRate.objects.exists()


def test_problems_are_listed_by_line_and_field(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("currency,day,rate\nXYZ,2026-12-02,1\nEUR,2026-12-02,abc\n")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("load_exchange_rates", str(path), stderr=err)
    assert "line 2, currency: unknown currency 'XYZ'" in err.getvalue()
    assert "line 3, rate: 'abc' is not a positive number" in err.getvalue()


def test_a_file_without_the_columns_or_unreadable_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match="no column rate"):
        load(tmp_path, "currency,day\nEUR,2026-12-02\n")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("load_exchange_rates", str(tmp_path / "missing.csv"))
