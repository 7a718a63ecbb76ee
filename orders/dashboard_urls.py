"""Dashboard pages of this app (included under /dashboard/orders/ by oms/dashboard_urls.py).
The order detail and its actions are in returns/dashboard/orders.py."""

from django.urls import path

from . import dashboard

urlpatterns = [
    path("", dashboard.order_list, name="orders"),
    path("new/", dashboard.order_new, name="order-new"),
]
