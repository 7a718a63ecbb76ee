"""Public (no login) fulfillment pages."""

from django.urls import path

from .views import tracking_page

urlpatterns = [
    path("track/<str:tracking_number>/", tracking_page, name="tracking-page"),
]
