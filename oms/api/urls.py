from django.urls import include, path

urlpatterns = [
    path("", include("inventory.api")),
    path("", include("customers.api")),
    path("", include("orders.api")),
]
