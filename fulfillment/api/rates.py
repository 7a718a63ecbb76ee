"""Fulfillment API: rates (filled in with its feature)."""

urlpatterns: list = []
