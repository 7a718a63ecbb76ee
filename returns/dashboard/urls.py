"""Dashboard pages that join several apps (included at /dashboard/ by
oms/dashboard_urls.py): each module below holds its views and urlpatterns."""

from django.urls import include, path

urlpatterns = [
    path("", include("returns.dashboard.home")),
    path("", include("returns.dashboard.orders")),
    path("", include("returns.dashboard.returns_queue")),
    path("", include("returns.dashboard.customers")),
]
