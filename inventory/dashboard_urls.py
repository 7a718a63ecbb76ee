"""Dashboard pages of this app (included under /dashboard/ by oms/dashboard_urls.py)."""

from django.urls import path

from . import dashboard

urlpatterns = [
    path("", dashboard.inventory_overview, name="inventory"),
    path("alerts/", dashboard.inventory_alerts, name="inventory_alerts"),
    path("alerts/acknowledge/", dashboard.inventory_alerts_acknowledge, name="inventory_alerts_acknowledge"),
    path("forecast-risk/", dashboard.inventory_risk, name="inventory_risk"),
    path("sku/<str:code>/", dashboard.sku_detail, name="sku"),
    path("sku/<str:code>/stock/", dashboard.sku_stock_change, name="sku_stock_change"),
]
