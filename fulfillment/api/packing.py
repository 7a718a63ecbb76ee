"""Fulfillment API: packing (filled in with its feature)."""

urlpatterns: list = []
