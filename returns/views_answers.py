"""The page behind the answer links of the post-sale follow-up e-mail
(returns.answers): no login, the signed link is the credential. GET shows
the answer with an optional comment box and changes nothing; POST (with the
CSRF token of that page) records it. The page speaks the customer's language."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from oms.errors import DomainError
from oms.mail import customer_language

from .answers import ARRIVED, MAX_COMMENT_LENGTH, MISSING, RATING, answer_from_link, post_sale_answer_record
from .notifications import policy_url


class AnswerForm(forms.Form):
    comment = forms.CharField(
        label=_("Anything you would like to add? (optional)"),
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
    )


@require_http_methods(["GET", "POST"])
@never_cache
def answer_page(request: HttpRequest, order_id: int, kind: str, token: str) -> HttpResponse:
    try:
        answer = answer_from_link(order_id=order_id, kind=kind, token=token)
    except DomainError as exc:
        return _render(request, "returns/answer_invalid.html", {"expired": exc.status == 410}, exc.status)
    order = answer.order
    with translation.override(customer_language(order.customer)):
        context = {
            "order": order,
            "channel": order.channel,
            "policy_url": policy_url(order.channel),
            "kind": kind,
            "value": answer.value,
            "rating": int(answer.value) if kind == RATING else None,
            "arrived": kind == ARRIVED and answer.value != MISSING,
            "missing": kind == ARRIVED and answer.value == MISSING,
        }
        form = AnswerForm(request.POST if request.method == "POST" else None)
        if request.method == "POST":
            if form.is_valid():
                try:
                    post_sale_answer_record(
                        order_id=order.pk, kind=kind, value=answer.value, comment=form.cleaned_data["comment"]
                    )
                except DomainError as exc:
                    for field, problems in (exc.fields or {None: [exc.message]}).items():
                        form.add_error(field if field in form.fields else None, problems)
                else:
                    return _render(request, "returns/answer_done.html", context)
            return _render(request, "returns/answer.html", {**context, "form": form}, 400)
        return _render(request, "returns/answer.html", {**context, "form": form})


def _render(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
