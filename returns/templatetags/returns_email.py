"""`{% return_policy_url channel as url %}`: the link to the channel's public
return policy page, for the customer e-mails of every app (orders and
fulfillment cannot import returns, their e-mail templates can load this)."""

from __future__ import annotations

from django import template

from returns.notifications import policy_url

register = template.Library()


@register.simple_tag
def return_policy_url(channel) -> str:
    return policy_url(channel) if channel else ""
