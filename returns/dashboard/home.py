"""The dashboard's home page: the KPIs of the whole business (returns.dashboard.kpis),
refreshing themselves (the same view answers htmx with the KPI block alone)."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _

from oms.charts import bar_chart
from oms.dashboard import page_link, staff_page

from .kpis import WINDOW_DAYS, home_kpis


@staff_page("orders.view")
def home(request):
    kpis = home_kpis()
    today = kpis.today
    links = {
        "today": page_link(request, "dashboard:orders", placed_from=today.isoformat()),
        "week": page_link(request, "dashboard:orders", placed_from=kpis.days[-7].isoformat()),
        "month": page_link(request, "dashboard:orders", placed_from=kpis.days[0].isoformat()),
        "backorders": page_link(request, "dashboard:orders", status="backordered"),
        "low_stock": page_link(request, "dashboard:inventory", status="low"),
        "late": page_link(request, "dashboard:warehouse"),
        "returns": page_link(request, "dashboard:returns"),
    }
    month_start = kpis.days[0].isoformat()
    for row in kpis.channels:
        row.link = page_link(request, "dashboard:orders", channel=row.code, placed_from=month_start)
    order_pipeline = [
        (label, count, page_link(request, "dashboard:orders", status=status))
        for status, label, count in kpis.order_pipeline
    ]
    for item in kpis.jeopardy:
        item.link = page_link(request, "dashboard:order", item.number)
    chart = bar_chart(
        [d.isoformat() for d in kpis.days],
        kpis.orders_per_day,
        title=_("Orders per day by channel, last %(days)s days") % {"days": WINDOW_DAYS},
    )
    context = {
        "kpis": kpis,
        "today": kpis.period_total("today"),
        "week": kpis.period_total("week"),
        "month": kpis.period_total("month"),
        "links": links,
        "order_pipeline": order_pipeline,
        "chart": chart,
        "updated_at": timezone.now(),
        "window_days": WINDOW_DAYS,
    }
    template = "dashboard/home/_kpis.html" if request.htmx else "dashboard/home/index.html"
    return render(request, template, context)


urlpatterns = [path("", home, name="home")]
