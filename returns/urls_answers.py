"""The answer links of the post-sale follow-up e-mail (returns.answers).

Included by returns/urls.py under the "returns" namespace:
    path("answers/", include("returns.urls_answers")),
so a link reverses as "returns:answers:answer".
"""

from django.urls import path

from .views_answers import answer_page

app_name = "answers"

urlpatterns = [
    path("<int:order_id>/<slug:kind>/<str:token>/", answer_page, name="answer"),
]
