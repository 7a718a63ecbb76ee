"""Fulfillment API: shipping (filled in with its feature)."""

urlpatterns: list = []
