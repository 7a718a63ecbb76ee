"""Every verifier of a secret compares in constant time.

A spy wraps hmac.compare_digest (or Django's constant_time_compare, which
django.core.signing uses) and each verifier must go through it with the
secret-derived value, for a good and a bad credential alike; and a scan of
the source finds no `==` / `!=` between names that hold signatures, digests,
hashes, tokens or secrets.
"""

from __future__ import annotations

import ast
import hmac
from unittest import mock

import pytest
from django.core import signing

from .test_headers import BASE_DIR

pytestmark = [pytest.mark.security]


@pytest.fixture
def compare_digest():
    with mock.patch("hmac.compare_digest", wraps=hmac.compare_digest) as spy:
        yield spy


@pytest.fixture
def signing_compare():
    with mock.patch("django.core.signing.constant_time_compare", wraps=signing.constant_time_compare) as spy:
        yield spy


@pytest.mark.django_db
def test_channel_api_keys(compare_digest, channel_and_key):
    from rest_framework.test import APIClient

    from oms.models import hash_token

    _, key = channel_and_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/orders/").status_code == 200
    assert mock.call(hash_token(key), hash_token(key)) in compare_digest.call_args_list
    compare_digest.reset_mock()
    forged = key[:12] + "x" * (len(key) - 12)  # the right public prefix, the wrong secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert client.get("/api/v1/orders/").status_code == 401
    assert compare_digest.call_args_list == [mock.call(hash_token(key), hash_token(forged))]


@pytest.mark.django_db
def test_staff_api_keys(compare_digest):
    from rest_framework.test import APIClient

    from oms.models import StaffToken, hash_token
    from oms.roles import MANAGER
    from tests.factories import staff_user

    _, key = StaffToken.issue(user=staff_user("keyholder", MANAGER), name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/orders/").status_code == 200
    assert mock.call(hash_token(key), hash_token(key)) in compare_digest.call_args_list
    compare_digest.reset_mock()
    forged = key[:12] + "x" * (len(key) - 12)
    client.credentials(HTTP_AUTHORIZATION=f"Token {forged}")
    assert client.get("/api/v1/orders/").status_code == 401
    assert compare_digest.call_args_list == [mock.call(hash_token(key), hash_token(forged))]


@pytest.mark.django_db
def test_carrier_webhooks(compare_digest):
    from fulfillment.carriers.base import adapter_for
    from tests.fulfillment.conftest import make_carrier

    adapter = adapter_for(make_carrier())
    body = b'{"events": []}'
    good = hmac.new(b"acme-webhook-secret", body, "sha256").hexdigest()
    assert adapter.verify_webhook(body=body, signature=f"sha256={good}")
    assert not adapter.verify_webhook(body=body, signature="sha256=" + "0" * 64)
    assert compare_digest.call_count == 2


def test_channel_integration_webhooks(compare_digest):
    from orders.integrations.common import sign, signature_valid

    body = b'{"id": 1}'
    assert signature_valid(secret="s", body=body, signature=sign(secret="s", body=body))
    assert not signature_valid(secret="s", body=body, signature=sign(secret="t", body=body))
    assert compare_digest.call_count == 2


@pytest.mark.django_db
def test_the_returns_lookup(compare_digest, api, sku):
    from returns.views import _match
    from tests.factories import order_payload

    order_id = api.post("/api/v1/orders/", order_payload(sku.code), format="json").json()["id"]
    compare_digest.reset_mock()  # the API key's own check
    assert _match(order_id, "ADA@example.com ") is not None
    assert _match(order_id, "eve@example.com") is None
    assert _match(999999, "ada@example.com") is None  # no such order: compared all the same
    assert compare_digest.call_count == 3


def test_the_test_gateways_card_tokens(compare_digest, settings):
    from orders.payments.base import GatewayDeclined
    from orders.payments.test_gateway import TestGateway, _sign

    gateway = TestGateway()
    assert gateway._check_token(f"tok_test_visa_4242_{_sign('visa_4242')}") == ("visa", "4242")
    with pytest.raises(GatewayDeclined):
        gateway._check_token("tok_test_visa_4242_" + "0" * 20)
    assert compare_digest.call_count == 2


def _tampered(token: str) -> str:
    value, signature = token.rsplit(":", 1)
    return f"{value}:{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"


@pytest.mark.django_db
def test_signed_quote_tracking_and_answer_links(signing_compare):
    from fulfillment.shipping.selectors import TRACKING_SALT, shipment_for_token
    from oms.errors import NotFound
    from orders.services.quotes import SHARE_SALT, quote_from_share_token
    from returns.answers import ANSWERS, answer_from_link, answer_token

    with pytest.raises(NotFound):
        quote_from_share_token(_tampered(signing.dumps([1, "Q-1"], salt=SHARE_SALT, compress=True)))
    assert signing_compare.call_count == 1
    assert shipment_for_token(_tampered(signing.dumps([1, "AC1"], salt=TRACKING_SALT, compress=True))) is None
    assert signing_compare.call_count == 2
    kind = next(iter(ANSWERS))
    token = answer_token(order_id=1, kind=kind, value=next(iter(ANSWERS[kind])))
    with pytest.raises(NotFound):
        answer_from_link(order_id=1, kind=kind, token=_tampered(token))
    assert signing_compare.call_count == 3


SECRET_WORDS = ("signature", "digest", "hash", "token", "secret", "hmac", "mac", "password")
CODE_DIRS = ("oms", "customers", "inventory", "accounting", "orders", "fulfillment", "returns")


def _name(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _secretish(node) -> bool:
    name = _name(node).lower()
    return any(word in name.split("_") or name.endswith(word) for word in SECRET_WORDS)


def test_no_plain_comparison_of_secrets_in_the_source():
    found = []
    for folder in CODE_DIRS:
        for path in (BASE_DIR / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if not isinstance(node, ast.Compare):
                    continue
                if not any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                    continue
                sides = [node.left, *node.comparators]
                if any(isinstance(s, ast.Constant) for s in sides):  # == "" / None: presence, not value
                    continue
                if any(_secretish(s) for s in sides):
                    found.append(f"{path.relative_to(BASE_DIR)}:{node.lineno}")
    # Compares the request fingerprint (a hash of the body, not a secret) for idempotency.
    allowed = {"orders/services/idempotency.py"}
    assert not [f for f in found if f.split(":")[0] not in allowed], found


def test_the_scan_would_see_a_plain_comparison():
    tree = ast.parse("ok = signature == expected_signature\nsame = given_hash != stored")
    compares = [n for n in ast.walk(tree) if isinstance(n, ast.Compare)]
    assert all(any(_secretish(s) for s in [c.left, *c.comparators]) for c in compares)
