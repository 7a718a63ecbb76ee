"""Fulfillment API: picking (filled in with its feature)."""

urlpatterns: list = []
