"""Customers, most profitable first, searched and filtered by segment; one
customer's page with metrics, orders, returns, cases and the timeline;
roles; a constant number of queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer, CustomerMetrics
from orders.models import Order, OrderEvent
from returns.metrics import customer_metrics_refresh
from returns.models import CustomerCase
from tests.dashboard.conftest import assert_constant_queries, page_queries
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _usd_books(settings):
    settings.BASE_CURRENCY = "USD"


def customer(email: str, first: str, last: str, **extra) -> Customer:
    return Customer.objects.create(email=email, first_name=first, last_name=last, **extra)


def order(channel, who: Customer, total: str, days_ago: int = 1) -> Order:
    made = Order.objects.create(
        channel=channel,
        customer=who,
        status=Order.Status.DELIVERED,
        email=who.email,
        shipping_address={"country": "US"},
        ship_country="US",
        currency="USD",
        subtotal=Decimal(total),
        grand_total=Decimal(total),
        placed_at=timezone.now() - timedelta(days=days_ago),
    )
    OrderEvent.objects.create(order=made, kind="placed", actor_type="channel", message=f"Placed for {total}")
    return made


@pytest.fixture
def people():
    channel = ChannelFactory(code="WEB", currency="USD")
    grace = customer("grace@example.com", "Grace", "Hopper", is_vip=True, company="Navy")
    alan = customer("alan@example.com", "Alan", "Turing")
    nobody = customer("nobody@example.com", "Ada", "Nobody")
    for total in ("300.00", "200.00"):
        order(channel, grace, total)
    order(channel, alan, "20.00", days_ago=300)
    customer_metrics_refresh()
    return {"channel": channel, "grace": grace, "alan": alan, "nobody": nobody}


def names(html: str, people: dict) -> list[str]:
    found = [(html.find(p.email), key) for key, p in people.items() if key != "channel" and p.email in html]
    return [key for _, key in sorted(found)]


def test_most_profitable_first_search_and_segment(role_client, people):
    client = role_client("customer_service")
    html = page_queries(client, "/dashboard/customers/")[1].content.decode()
    assert names(html, people) == ["grace", "alan", "nobody"]
    assert "$500.00" in html and "VIP" in html and "No orders yet" in html
    for query, expected in (
        ("grace@example.com", ["grace"]),
        ("GRACE@EXAMPLE.COM", ["grace"]),
        ("tur", ["alan"]),
        ("Alan Tu", ["alan"]),
        ("alan", ["alan"]),
        ("zzz", []),
    ):
        html = page_queries(client, f"/dashboard/customers/?q={query}")[1].content.decode()
        assert names(html, people) == expected, query
    segment = CustomerMetrics.objects.get(customer=people["alan"]).segment
    html = page_queries(client, f"/dashboard/customers/?segment={segment}")[1].content.decode()
    assert "alan" in names(html, people) and "nobody" not in names(html, people)
    html = page_queries(client, "/dashboard/customers/?sort=recent&segment=bogus&page=-3")[1].content.decode()
    assert names(html, people) == ["grace", "alan", "nobody"]


def test_customer_page(role_client, people):
    grace = people["grace"]
    CustomerCase.objects.create(customer=grace, kind="other", subject="Wants an invoice copy")
    client = role_client("accounting")
    html = page_queries(client, f"/dashboard/customers/{grace.pk}/")[1].content.decode()
    assert "Grace Hopper" in html and "$500.00" in html  # revenue
    for placed in grace.orders.all():
        assert f'href="/dashboard/orders/{placed.number}/"' in html
    assert "Placed for 300.00" in html  # the timeline
    assert "Wants an invoice copy" in html
    assert client.get("/dashboard/customers/999999/").status_code == 404


def test_roles(role_client, people):
    assert role_client("warehouse").get("/dashboard/customers/").status_code == 403
    assert role_client("warehouse").get(f"/dashboard/customers/{people['alan'].pk}/").status_code == 403
    for role in ("customer_service", "accounting", "manager"):
        assert role_client(role).get("/dashboard/customers/").status_code == 200


def test_constant_queries(role_client, people):
    client = role_client("customer_service")
    made = iter(range(1000))

    def grow():
        for _ in range(3):
            n = next(made)
            who = customer(f"more{n}@example.com", "More", f"Buyer {n}")
            order(people["channel"], who, "15.00")
        grace = people["grace"]
        order(people["channel"], grace, "5.00")
        CustomerCase.objects.create(customer=grace, kind="other", subject="Another")
        customer_metrics_refresh()

    assert_constant_queries(client, "/dashboard/customers/", grow)
    assert_constant_queries(client, f"/dashboard/customers/{people['grace'].pk}/", grow)
