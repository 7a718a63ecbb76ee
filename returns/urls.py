"""Customer self-service pages (no login), under /returns/, and the follow-up answer links."""

from django.urls import include, path

from . import views

app_name = "returns"

urlpatterns = [
    path("", views.lookup, name="lookup"),
    path("policy/<str:channel_code>/", views.policy_page, name="policy"),
    path("order/", views.order_status, name="order"),
    path("order/new/", views.return_new, name="new"),
    path("order/returns/<int:return_id>/", views.return_detail, name="return"),
    path("answers/", include("returns.urls_answers")),
]
