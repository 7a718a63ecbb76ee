"""Recording the audit trail of staff actions (oms.models_audit.AuditEntry).

`AuditMiddleware` writes one entry per state-changing request (POST, PUT,
PATCH, DELETE) that a signed-in staff user (session or staff API token) makes
to the dashboard, the admin or the staff API, refused ones included: an
attempt is worth recording. It writes after the view ran, so the entry has
the answer's status, in a statement of its own outside the view's
transaction: a rolled-back action still leaves its attempt. Reads and
channel (API key) requests leave nothing: they are not staff actions, and
a channel's orders have their own event history.

The signal receivers below record sign-ins, failed sign-ins (the username
tried, never the password) and sign-outs; the middleware then leaves that
request alone, so each action is one entry.

Recording must never cost the user their action: if the insert fails, the
error is logged and the answer goes out as it was.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from typing import Any

from django.apps import apps
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import connection, transaction
from django.dispatch import receiver

from oms.api.auth import ChannelPrincipal
from oms.api.permissions import is_staff
from oms.auth_backends import client_address
from oms.models_audit import AuditEntry
from oms.roles import request_roles, user_roles

logger = logging.getLogger("oms.audit")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Where staff act: the dashboard, the admin and the API (whose channel requests are left out).
AUDITED_PREFIXES = ("/dashboard/", "/admin/", "/api/")
SUMMARY_LIMIT = 4096  # characters of JSON
# Bodies up to this size are kept for the summary before the view reads them (a
# JSON body can be read only once); a bigger one is noted by its size only.
BODY_LIMIT = 1024 * 1024
REDACTED = "[redacted]"

# A submitted field is a secret when its name, split into words, has one of
# these words, or when the name run together contains one of the fragments.
_SECRET_WORDS = frozenset({"pwd", "pin", "pan", "card", "cvc", "cvv", "cvn", "otp", "ssn", "iban", "auth"})
_SECRET_FRAGMENTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "csrf",
    "apikey",
    "privatekey",
    "accesskey",
    "signingkey",
    "cardnumber",
    "creditcard",
    "signature",
    "authorization",
    "cookie",
    "sessionid",
    "credential",
)
# The trail is append-only, and a customer's personal data must go when the
# customer is anonymized (returns/privacy.py): so it never holds any. Values of
# fields named like these (and any string that looks like an e-mail address)
# are replaced by PERSONAL; the field names stay, so the entry still says what
# was changed.
PERSONAL = "[personal data]"
_PERSONAL_WORDS = frozenset(
    {
        "email", "mail", "name", "holder", "phone", "mobile", "tel", "fax", "address", "line1", "line2",
        "street", "city", "postal", "zip", "postcode", "company", "confirm", "note", "notes", "message",
        "comment", "comments", "gift", "body", "text", "q", "search", "query", "contact", "recipient",
    }
)  # fmt: skip
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z]+|[0-9]+")


def is_secret_key(key: object) -> bool:
    words = _WORD.findall(_CAMEL.sub(r"\1_\2", str(key)).lower())
    joined = "".join(words)
    return any(word in _SECRET_WORDS for word in words) or any(part in joined for part in _SECRET_FRAGMENTS)


def is_personal_key(key: object) -> bool:
    words = _WORD.findall(_CAMEL.sub(r"\1_\2", str(key)).lower())
    return any(word in _PERSONAL_WORDS for word in words)


def _redact_item(key: object, item: Any, depth: int) -> Any:
    if is_secret_key(key):
        return REDACTED
    if is_personal_key(key) and not isinstance(item, bool | int | float | type(None)):
        return PERSONAL
    return _redact(item, depth + 1)


def _redact(value: Any, depth: int = 0) -> Any:
    """`value` with every secret-named key's value and every personal value
    replaced, long strings and lists cut short, deep nesting elided."""
    if isinstance(value, dict):
        if depth >= 4:
            return "{…}"
        items = list(value.items())
        out = {str(key)[:64]: _redact_item(key, item, depth) for key, item in items[:50]}
        if len(items) > 50:
            out["…"] = f"{len(items) - 50} more fields"
        return out
    if isinstance(value, list | tuple):
        if depth >= 4:
            return "[…]"
        out_list = [_redact(item, depth + 1) for item in value[:20]]
        if len(value) > 20:
            out_list.append(f"… {len(value) - 20} more")
        return out_list
    if isinstance(value, str):
        if _EMAIL_LIKE.search(value):
            return PERSONAL
        return value if len(value) <= 200 else value[:200] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)[:200]


def _fit(summary: dict) -> dict:
    """`summary` cut to about SUMMARY_LIMIT characters of JSON: whole fields
    are kept in order while they fit, and the rest are counted."""
    if len(json.dumps(summary, default=str)) <= SUMMARY_LIMIT:
        return summary
    kept: dict = {}
    size = 2
    for key, value in summary.items():
        size += len(json.dumps({key: value}, default=str))
        if size > SUMMARY_LIMIT - 40:
            break
        kept[key] = value
    kept["…"] = f"{len(summary) - len(kept)} fields left out (too long)"
    return kept


def summarize_submission(data: Any) -> dict:
    """A redacted, capped summary of submitted data (a dict, a list, a QueryDict)."""
    if hasattr(data, "lists"):  # QueryDict: one value, or the list when a field repeats
        data = {key: values[0] if len(values) == 1 else values for key, values in data.lists()}
    if not isinstance(data, dict):
        data = {"_body": data}
    return _fit(_redact(data))


def _request_summary(request) -> dict:
    content_type = (request.content_type or "").lower()
    summary: dict = {}
    try:
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # The view or the CSRF check has parsed the form by now; reading it again is free.
            summary = dict(summarize_submission(request.POST))
            for name, upload in request.FILES.items():
                summary[name] = {"file": upload.name[:200], "size": upload.size}
            return _fit(summary)
        body = getattr(request, "_body", None)
        if body is None:
            length = request.META.get("CONTENT_LENGTH") or "0"
            return {} if length in ("", "0") else {"_body": f"{content_type or 'body'}, {length} bytes"}
        if not body:
            return {}
        if content_type.endswith("json"):
            return summarize_submission(json.loads(body))
        return {"_body": f"{content_type or 'body'}, {len(body)} bytes"}
    except Exception:  # bad JSON, nesting too deep, a broken form: the view has answered it already
        return {"_body": f"{content_type or 'body'}, unreadable"}


def _keep_body(request) -> None:
    """Read a small non-form body now: once the view has read the stream
    (DRF's parsers do) `request.body` can no longer be read."""
    content_type = (request.content_type or "").lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if 0 < length <= BODY_LIMIT:
        try:
            request.body  # noqa: B018 - caches the body on the request
        except Exception:  # too big for DATA_UPLOAD_MAX_MEMORY_SIZE, or a broken stream: the view will say
            logger.debug("audit: body of %s not kept", request.path, exc_info=True)


# --- The target of an action -------------------------------------------------

# The model a dashboard or API URL acts on, by URL name: the longest matching
# prefix of the name wins. tests/audit checks that every such URL with
# arguments is covered, so a new endpoint cannot go unlabelled.
TARGET_OF_URL = {
    "order-": "orders.order",
    "dashboard:order": "orders.order",
    "cart-": "orders.cart",
    "quote-": "orders.quote",
    "inbound-order-": "orders.inboundorder",
    "integrations-": "oms.channel",
    "transfer-": "inventory.transfer",
    "count-": "inventory.countsheet",
    "supplier-": "inventory.supplier",
    "purchase-order-": "inventory.purchaseorder",
    "sku-": "inventory.sku",
    "dashboard:sku": "inventory.sku",
    "inventory-import": "inventory.sku",
    "inventory-export": "inventory.sku",
    "fulfillment-order-": "fulfillment.fulfillmentorder",
    "fulfillment-receipt": "fulfillment.fulfillmentorder",
    "fulfillment-shipment": "fulfillment.fulfillmentorder",
    "fulfillment-pack-": "fulfillment.fulfillmentorder",
    "fulfillment-box": "fulfillment.fulfillmentorder",
    "fulfillment-label-": "fulfillment.fulfillmentorder",
    "fulfillment-packing-slip": "fulfillment.fulfillmentorder",
    "shipment-": "fulfillment.fulfillmentorder",
    "dashboard:warehouse-shipment-": "fulfillment.fulfillmentorder",
    "fulfillment-pick-": "fulfillment.picklist",
    "dashboard:warehouse-pick-list": "fulfillment.picklist",
    "fulfillment-pick-line-": "fulfillment.picklistline",
    "dashboard:warehouse-pick-line-": "fulfillment.picklistline",
    "fulfillment-wave": "fulfillment.wave",
    "dashboard:warehouse-wave": "fulfillment.wave",
    "fulfillment-carrier-": "fulfillment.carrier",
    "accounting-period-": "accounting.period",
    "accounting-entry-": "accounting.journalentry",
    "accounting-invoice-": "accounting.invoice",
    "accounting-supplier-invoice-": "accounting.supplierinvoice",
    "return-": "returns.returnrequest",
    "dashboard:return": "returns.returnrequest",
    "return-policy": "returns.returnpolicy",
    "case-": "returns.customercase",
    "dashboard:case": "returns.customercase",
    "customer-": "customers.customer",
    "dashboard:customer": "customers.customer",
    "webhook-subscription": "oms.webhooksubscription",
    "webhook-delivery": "oms.webhookdelivery",
}
# The URL argument that names the object, in order of preference.
_ID_KWARGS = ("pk", "object_id", "number", "code", "key", "period")
_ADMIN_VIEWS = ("_change", "_delete", "_history", "_changelist", "_add")


def _admin_model(url_name: str) -> str:
    """The model label of an admin URL name such as `orders_order_change`."""
    for suffix in _ADMIN_VIEWS:
        if url_name.endswith(suffix):
            app_model = url_name[: -len(suffix)]
            for at in range(app_model.find("_"), len(app_model)):
                if app_model[at] != "_":
                    continue
                try:
                    model = apps.get_model(app_model[:at], app_model[at + 1 :])
                except LookupError:
                    continue
                return model._meta.label_lower
    return ""


def url_target(view_name: str, kwargs: dict) -> tuple[str, str]:
    """(model label, id) of the object a URL acts on, ("", "") when it names none."""
    if view_name.startswith("admin:"):
        return _admin_model(view_name.removeprefix("admin:")), str(kwargs.get("object_id", ""))[:64]
    if not kwargs:
        return "", ""
    matches = [prefix for prefix in TARGET_OF_URL if view_name.startswith(prefix)]
    if not matches:
        return "", ""
    label = TARGET_OF_URL[max(matches, key=len)]
    key = next((name for name in _ID_KWARGS if name in kwargs), next(iter(kwargs)))
    return label, str(kwargs[key])[:64]


# --- Writing an entry ------------------------------------------------------------


def _address(request) -> str | None:
    address = client_address(request)
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return None
    return address


def _roles(request, user) -> list[str]:
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    found = request_roles(request) if user is getattr(request, "user", None) else user_roles(user)
    return (["superuser"] if getattr(user, "is_superuser", False) else []) + sorted(found)


def audit_entry_record(
    *,
    action: str,
    request,
    user=None,
    username: str = "",
    status: int | None = None,
    submitted: dict | None = None,
) -> AuditEntry | None:
    """Write one entry (None if the write failed: logged, never raised)."""
    try:
        match = getattr(request, "resolver_match", None) if request is not None else None
        view_name = match.view_name if match else ""
        target_type, target_id = url_target(view_name, match.kwargs) if match else ("", "")
        meta = request.META if request is not None else {}
        entry = AuditEntry(
            user=user if getattr(user, "pk", None) else None,
            username=(username or (user.get_username() if user is not None else ""))[:150],
            roles=_roles(request, user),
            address=_address(request) if request is not None else None,
            user_agent=str(meta.get("HTTP_USER_AGENT", ""))[:300],
            action=action,
            method=(request.method or "")[:8] if request is not None else "",
            path=request.path[:500] if request is not None else "",
            url_name=view_name[:120],
            target_type=target_type,
            target_id=target_id,
            status=status,
            submitted=submitted or {},
        )
        if connection.in_atomic_block:
            # Inside a transaction (a sign-in in an atomic view, a test): a savepoint keeps a
            # failed insert from breaking the transaction around it.
            with transaction.atomic():
                entry.save(force_insert=True)
        else:
            entry.save(force_insert=True)  # autocommit: one statement, whatever the view did
    except Exception:
        logger.exception(
            "audit entry not recorded: %s %s %s",
            action,
            getattr(request, "method", ""),
            getattr(request, "path", ""),
        )
        return None
    if request is not None:
        request._oms_audited = True
    return entry


class AuditMiddleware:
    """Records staff users' state-changing requests (see the module docstring).
    Goes after AuthenticationMiddleware: it needs the session's user."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        if not (request.method in UNSAFE_METHODS and request.path_info.startswith(AUDITED_PREFIXES)):
            return self.get_response(request)
        if request.META.get("HTTP_AUTHORIZATION", "")[:7].lower() == "bearer ":
            return self.get_response(request)  # a channel's API key: not a staff action
        _keep_body(request)
        session_user = request.user  # lazy: costs nothing unless looked at below
        response = self.get_response(request)
        try:
            self._record(request, session_user, response)
        except Exception:  # e.g. the database went away: the answer still goes out as it is
            logger.exception("audit entry not recorded: %s %s", request.method, request.path)
        return response

    @staticmethod
    def _record(request, session_user, response) -> None:
        if getattr(request, "_oms_audited", False):  # a sign-in or sign-out, recorded by its signal
            return
        user = request.user  # the staff API replaces it with the user its token names
        if isinstance(user, ChannelPrincipal):
            return
        if not is_staff(user):
            # Refused before anything authenticated the request (a CSRF failure on the staff
            # API turns its user anonymous): the session's user made the attempt.
            user = session_user if is_staff(session_user) else None
        if user is None:
            return
        audit_entry_record(
            action=AuditEntry.Action.REQUEST,
            request=request,
            user=user,
            status=response.status_code,
            submitted=_request_summary(request),
        )


# --- Sign-in and sign-out -----------------------------------------------------------


@receiver(user_logged_in, dispatch_uid="oms.audit.logged_in")
def _record_login(sender, request, user, **kwargs) -> None:
    audit_entry_record(action=AuditEntry.Action.LOGIN, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="oms.audit.login_failed")
def _record_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # `credentials` comes with the password already masked; only the username is kept.
    username = str(credentials.get("username") or "")
    audit_entry_record(action=AuditEntry.Action.LOGIN_FAILED, request=request, username=username)


@receiver(user_logged_out, dispatch_uid="oms.audit.logged_out")
def _record_logout(sender, request, user, **kwargs) -> None:
    if user is None:  # signing out without being signed in
        return
    audit_entry_record(action=AuditEntry.Action.LOGOUT, request=request, user=user)
