"""Channel API keys: `Authorization: Bearer <key>`.

The authenticated "user" of a channel request is a ChannelPrincipal; views
scope every queryset by `principal.channel`. Staff use `Authorization: Token
<key>` (StaffTokenAuthentication) or an admin session instead.
"""

from __future__ import annotations

import hmac
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from oms.compiled import CompiledQuery, instance, model_columns
from oms.models import Channel, ChannelToken, HashedKey, StaffToken, hash_token

T = TypeVar("T")


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


def _the_one(candidates: Iterable[T], raw: str, key_hash: Callable[[T], str]) -> T | None:
    """The candidate (found by the key's public prefix) whose hash is the
    SHA-256 of `raw`, compared in constant time, so the secret part of a key
    never meets an ordinary (early-exit) comparison. Every candidate is
    compared: keys are random past the prefix, so there is one, rarely more."""
    given = hash_token(raw)
    found = None
    for candidate in candidates:
        if hmac.compare_digest(key_hash(candidate), given):
            found = candidate
    return found


def _matching_token(raw: str) -> ChannelToken | None:
    """The live channel token whose key is `raw`, with its channel."""
    row = _the_one(_LIVE_TOKENS.rows(prefix=raw[:12]), raw, lambda row: row["key_hash"])
    if row is None:
        return None
    token = instance(ChannelToken, row)
    token.channel = instance(Channel, row, "channel__")
    return token


class KeyAuthentication(authentication.BaseAuthentication, ABC):
    """`Authorization: <keyword> <key>`: the key found by `matching(raw)` (None
    if no live key matches), turned into (user, auth) by `credentials`."""

    keyword = ""

    @abstractmethod
    def matching(self, raw: str) -> HashedKey | None: ...

    @abstractmethod
    def credentials(self, token: HashedKey) -> tuple: ...

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
        candidates = StaffToken.objects.select_related("user").filter(
            prefix=raw[:12], revoked_at__isnull=True, user__is_active=True
        )
        return _the_one(candidates, raw, lambda token: token.key_hash)

    def credentials(self, token: StaffToken) -> tuple:
        return token.user, token


def request_channel(request) -> Channel | None:
    """The channel a request acts for, or None for staff."""
    user = getattr(request, "user", None)
    return user.channel if isinstance(user, ChannelPrincipal) else None
