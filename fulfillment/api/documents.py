"""Fulfillment API: documents (filled in with its feature)."""

urlpatterns: list = []
