"""The staff dashboard's kernel: the page decorator (login, role, language),
the navigation and the list helpers every dashboard page shares.

Pages live in the app that owns their data (orders/dashboard.py,
fulfillment/dashboard.py, ...; pages that join several apps in
returns/dashboard/), under /dashboard/ (oms/dashboard_urls.py). Each is a
server-rendered template under templates/dashboard/; the parts that refresh
by themselves are htmx fragments: the same view answers an htmx request
(`request.htmx`) with just the fragment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render
from django.urls import NoReverseMatch, resolve, reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from oms.roles import ROLE_LABELS, can, request_roles

# How often the live parts of the pages refresh themselves.
REFRESH_SECONDS = 15


def dashboard_language(request) -> str:
    """The staff member's language: their choice (the language cookie set by
    /i18n/setlang/), else what the browser asks for, among settings.LANGUAGES."""
    return translation.get_language_from_request(request)


def staff_page(capability: str):
    """A dashboard view for staff who may `capability` (oms.roles): others are
    sent to the login page, or get a 403 page naming what they lack. The view
    runs in the staff member's language."""

    def decorate(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not (user.is_authenticated and user.is_staff):
                return redirect_to_login(request.get_full_path(), reverse("dashboard:login"))
            with translation.override(dashboard_language(request)):
                if not can(request, capability):
                    response = render(request, "dashboard/403.html", {"capability": capability}, status=403)
                else:
                    response = view(request, *args, **kwargs)
                response.headers.setdefault("Content-Language", translation.get_language())
            response.headers.setdefault("Vary", "Cookie, Accept-Language")
            return response

        wrapped.staff_capability = capability
        return wrapped

    return decorate


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    capability: str


# The sidebar, in order; each entry shows only to those who may open it.
NAV = (
    NavItem("dashboard:home", _("Overview"), "orders.view"),
    NavItem("dashboard:orders", _("Orders"), "orders.view"),
    NavItem("dashboard:inventory", _("Inventory"), "stock.view"),
    NavItem("dashboard:warehouse", _("Warehouse"), "warehouse.view"),
    NavItem("dashboard:returns", _("Returns"), "returns.view"),
    NavItem("dashboard:customers", _("Customers"), "customers.view"),
    NavItem("dashboard:accounting", _("Accounting"), "accounting.view"),
    NavItem("dashboard:audit", _("Audit trail"), "settings.view"),
)


def nav_for(request) -> list[dict]:
    path = request.path
    items = []
    for item in NAV:
        if can(request, item.capability):
            url = reverse(item.url_name)
            active = path == url if url.rstrip("/").endswith("dashboard") else path.startswith(url)
            items.append({"url": url, "label": item.label, "active": active})
    return items


def role_labels(request) -> list[str]:
    if request.user.is_superuser:
        return [str(_("Superuser"))]
    return [str(ROLE_LABELS[role]) for role in sorted(request_roles(request))]


PAGE_SIZE = 50


@dataclass
class Page:
    items: list
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1


def paginate(request, queryset, per_page: int = PAGE_SIZE) -> Page:
    """One page of `queryset` from ?page= (1 on a bad number), in one query and
    without counting the whole set (a count of a million orders costs more than
    the page): it fetches one row more than the page to know whether a next
    page exists."""
    try:
        number = max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        number = 1
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return Page(items=rows[:per_page], number=number, has_next=len(rows) > per_page)


def page_link(request, url_name: str, *args, **query) -> str:
    """The URL of a dashboard page (with a query string of the non-empty
    `query` values) when the request's user may open it; "" when they may not
    or the page does not exist, so a tile shows its figure without a link."""
    try:
        url = reverse(url_name, args=args)
    except NoReverseMatch:
        return ""
    capability = getattr(resolve(url).func, "staff_capability", None)
    if capability is None or not can(request, capability):
        return ""
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def query_without(request, *names: str) -> str:
    """The current query string without `names` (for paging and sort links)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
