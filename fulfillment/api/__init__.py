"""Fulfillment REST API: one module per area, each with its own urlpatterns."""

from django.urls import include, path

urlpatterns = [
    path("", include("fulfillment.api.sourcing")),
    path("", include("fulfillment.api.rates")),
    path("", include("fulfillment.api.picking")),
    path("", include("fulfillment.api.packing")),
    path("", include("fulfillment.api.documents")),
    path("", include("fulfillment.api.shipping")),
    path("", include("fulfillment.api.optimize")),
    path("", include("fulfillment.api.edits")),
]
