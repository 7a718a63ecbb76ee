"""E-mail from outbox handlers: plain text + HTML from templates, with a
Message-ID derived from the outbox event so a redelivery is recognisable."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

from .models import OutboxEvent


def send_templated(
    *, event: OutboxEvent, to: list[str], template: str, context: dict, from_email: str | None = None
) -> None:
    context = {**context, "site_url": settings.SITE_URL}
    subject = render_to_string(f"{template}_subject.txt", context).strip().replace("\n", " ")
    text = render_to_string(f"{template}.txt", context)
    html = render_to_string(f"{template}.html", context)
    domain = (from_email or settings.DEFAULT_FROM_EMAIL).rsplit("@", 1)[-1]
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={"Message-ID": f"<outbox-{event.pk}-{template.replace('/', '.')}@{domain}>"},
    )
    message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)


def customer_language(customer) -> str:
    """The language a customer reads: theirs when the site has it, else the site's."""
    for code in ((getattr(customer, "language", "") if customer else "") or "", settings.LANGUAGE_CODE):
        try:
            return translation.get_supported_language_variant(code.strip().lower())
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def send_order_email(*, event: OutboxEvent, order, template: str, context: dict | None = None) -> None:
    """An e-mail about an order to its customer: rendered (subject, text, HTML,
    dates) in the customer's language, from the order's channel's sender."""
    channel = order.channel
    with translation.override(customer_language(order.customer)):
        send_templated(
            event=event,
            to=[order.email],
            template=template,
            context={"order": order, "channel": channel, **(context or {})},
            from_email=channel.sender_email or settings.DEFAULT_FROM_EMAIL,
        )
