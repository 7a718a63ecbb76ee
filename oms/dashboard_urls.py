"""/dashboard/: every app's dashboard pages under one namespace, "dashboard"."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from oms.dashboard_views import DashboardLogin, audit_trail

app_name = "dashboard"

urlpatterns = [
    path("login/", DashboardLogin.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="dashboard:login"), name="logout"),
    path("audit/", audit_trail, name="audit"),
    path("", include("returns.dashboard.urls")),
    path("orders/", include("orders.dashboard_urls")),
    path("inventory/", include("inventory.dashboard_urls")),
    path("warehouse/", include("fulfillment.dashboard_urls")),
    path("accounting/", include("accounting.dashboard_urls")),
]
