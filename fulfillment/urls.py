"""Public (no login) fulfillment pages."""

from django.urls import path

from .views import tracking_page

urlpatterns = [
    path("track/<str:token>/", tracking_page, name="tracking-page"),
]
