"""Template helpers of the staff dashboard: navigation, locale-aware amounts,
numbers and dates, and charts.

`{{ amount|amount:"EUR" }}` formats an amount in the active language's
conventions with the currency's own minor units (babel / CLDR): 1.234,50 €
in Greek, €1,234.50 in English, ¥1,235 for JPY. `{{ n|number }}` groups
digits the same way. `{% chart figure %}` draws a plotly figure
(oms.charts) on the page.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, format_decimal, format_percent
from django import template
from django.utils import translation
from django.utils.html import format_html

from oms.dashboard import REFRESH_SECONDS, nav_for, role_labels

register = template.Library()


def _locale() -> str:
    return translation.to_locale(translation.get_language() or "en").replace("_Hant", "_Hant_TW")


@register.filter
def amount(value, currency: str) -> str:
    if value is None or value == "":
        return ""
    try:
        return format_currency(Decimal(value), currency, locale=_locale())
    except (InvalidOperation, ValueError, TypeError):
        return f"{value} {currency}"


@register.filter
def number(value, digits: int = 0) -> str:
    if value is None or value == "":
        return ""
    fraction = "0" * int(digits)
    pattern = f"#,##0.{fraction}" if fraction else "#,##0"
    try:
        return format_decimal(Decimal(value), format=pattern, locale=_locale())
    except (InvalidOperation, ValueError, TypeError):
        return str(value)


@register.filter
def percent(value, digits: int = 1) -> str:
    """A ratio (0.125) as a percentage in the active language (12.5%)."""
    if value is None or value == "":
        return ""
    pattern = "#,##0." + "0" * int(digits) + "%" if int(digits) else "#,##0%"
    return format_percent(Decimal(value), format=pattern, locale=_locale())


@register.inclusion_tag("dashboard/_nav.html", takes_context=True)
def dashboard_nav(context):
    request = context["request"]
    return {"items": nav_for(request), "roles": role_labels(request), "request": request}


@register.simple_tag
def refresh_every() -> str:
    return f"every {REFRESH_SECONDS}s"


@register.simple_tag
def chart(figure: dict, height: int = 280):
    """A plotly figure ({"data": [...], "layout": {...}}, oms.charts) drawn by
    static/oms/dashboard.js; the page must load plotly (block charts)."""
    return format_html(
        '<div class="chart" style="height:{}px" data-figure="{}"></div>',
        height,
        json.dumps(figure, default=str, separators=(",", ":")),
    )
