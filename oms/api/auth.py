"""Channel API keys: `Authorization: Bearer <key>`.

The authenticated "user" of a channel request is a ChannelPrincipal; views
scope every queryset by `principal.channel`. Staff use `Authorization: Token
<key>` (StaffTokenAuthentication) or an admin session instead.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from oms.compiled import CompiledQuery, instance, model_columns
from oms.models import Channel, ChannelToken, StaffToken, hash_token


@dataclass(frozen=True)
class ChannelPrincipal:
    channel: Channel
    token_id: int

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None
    id = None

    def __str__(self) -> str:
        return f"channel:{self.channel.code}"

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False


def _live_tokens(_shape: None, *, prefix: str) -> QuerySet[ChannelToken]:
    tokens = ChannelToken.objects.filter(prefix=prefix, revoked_at__isnull=True, channel__is_active=True)
    return tokens.values(*model_columns(ChannelToken), *model_columns(Channel, "channel__"))


# Compiled once: every channel request runs it, and building it cost more than running it.
_LIVE_TOKENS = CompiledQuery(_live_tokens)


def _matching_token(raw: str) -> ChannelToken | None:
    """The live token whose key is `raw`. Found by its public prefix, then
    checked with a constant-time comparison of the SHA-256, so the secret part
    of a key never meets an ordinary (early-exit) comparison."""
    given = hash_token(raw)
    found = None
    for row in _LIVE_TOKENS.rows(prefix=raw[:12]):  # keys are random past the prefix: one, rarely more
        if hmac.compare_digest(row["key_hash"], given):
            found = instance(ChannelToken, row)
            found.channel = instance(Channel, row, "channel__")
    return found


class KeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: <keyword> <key>`: the key found by `matching(raw)` (None
    if no live key matches), turned into (user, auth) by `credentials`."""

    keyword = ""

    def matching(self, raw: str):
        raise NotImplementedError

    def credentials(self, token) -> tuple:
        raise NotImplementedError

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid Authorization header: expected '%(keyword)s <key>'.") % {"keyword": self.keyword}
            )
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("Invalid API key.")) from None
        token = self.matching(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        return self.credentials(token)

    def authenticate_header(self, request) -> str:
        return self.keyword


class ChannelTokenAuthentication(KeyAuthentication):
    keyword = "Bearer"

    def matching(self, raw: str) -> ChannelToken | None:
        return _matching_token(raw)

    def credentials(self, token: ChannelToken) -> tuple:
        return ChannelPrincipal(channel=token.channel, token_id=token.pk), token


class StaffTokenAuthentication(KeyAuthentication):
    """Staff API keys: `Authorization: Token <key>` (the scheme DRF's tokens
    used, so scripts keep working), looked up by prefix and compared by hash in
    constant time, like channel keys. Only active users' live keys count."""

    keyword = "Token"

    def matching(self, raw: str) -> StaffToken | None:
        given = hash_token(raw)
        found = None
        candidates = StaffToken.objects.select_related("user").filter(
            prefix=raw[:12], revoked_at__isnull=True, user__is_active=True
        )
        for token in candidates:  # keys are random past the prefix: one, rarely more
            if hmac.compare_digest(token.key_hash, given):
                found = token
        return found

    def credentials(self, token: StaffToken) -> tuple:
        return token.user, token


def request_channel(request) -> Channel | None:
    """The channel a request acts for, or None for staff."""
    user = getattr(request, "user", None)
    return user.channel if isinstance(user, ChannelPrincipal) else None
