"""Dashboard pages of this app (included under /dashboard/warehouse/ by oms/dashboard_urls.py)."""

from django.urls import path

from . import dashboard_pack, dashboard_picking, dashboard_shipments
from .dashboard import warehouse_home

urlpatterns = [
    path("", warehouse_home, name="warehouse"),
    *dashboard_picking.urlpatterns,
    *dashboard_pack.urlpatterns,
    *dashboard_shipments.urlpatterns,
]
