"""Fulfillment API: sourcing (filled in with its feature)."""

urlpatterns: list = []
