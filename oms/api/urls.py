from django.urls import include, path

urlpatterns = [
    path("", include("customers.api")),
    path("", include("inventory.api")),
    path("", include("orders.api")),
    path("", include("fulfillment.api")),
    path("", include("accounting.api")),
    path("", include("returns.api")),
    path("integrations/", include("orders.integrations.api")),
    path("", include("returns.api_metrics")),
    path("", include("returns.api_customers")),
    path("", include("oms.api.webhooks")),
]
