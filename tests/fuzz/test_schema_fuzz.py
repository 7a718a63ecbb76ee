"""Every operation of the published OpenAPI schema, fuzzed in-process as a
channel and as a staff manager: no 5xx, and every response's status, content
type and body are the ones the schema documents."""

from __future__ import annotations

import json
import os
import re

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.seed import World

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class InTestTransaction:
    """The project's WSGI application, run the way Django's test client runs it:
    a server closes the database connection around every request, which here
    would end the test's transaction (and the seeded world with it)."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = self.app(environ, start_response)
            body = b"".join(response)
            response.close()  # sends request_finished, as a server does
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)


APP = InTestTransaction(get_wsgi_application())


def published_schema() -> dict:
    """What /api/schema/ serves, built by drf-spectacular without a request."""
    raw = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(raw, renderer_context={}))


# CI keeps the run to a few minutes; OMS_FUZZ_EXAMPLES=50 (say) digs deeper
# locally, and OMS_FUZZ_COVERAGE=true adds schemathesis' boundary-value phase.
EXAMPLES = int(os.environ.get("OMS_FUZZ_EXAMPLES", "5"))
COVERAGE = os.environ.get("OMS_FUZZ_COVERAGE", "").lower() in ("1", "true", "yes")
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
            "no-shrink": True,
        },
        "phases": {"coverage": {"enabled": COVERAGE}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_dict(published_schema(), config=CONFIG)

# Filled by the `world` fixture before any case is generated; the hook below reads it.
_WORLD: dict[str, World] = {}
_PREFIX = re.compile(r"^/api/v1/((?:fulfillment|inventory|accounting|webhooks)/[^/{]+|[^/{]+)")


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    """Half of the cases name a real object of the seeded world, so the fuzzer
    gets past the 404 into the operation itself."""
    if not path_parameters:
        return st.just(path_parameters)
    match = _PREFIX.match(context.operation.path)
    known = _WORLD["world"].params.get(match.group(1) if match else "", {})
    real = {name: known.get(name, value) for name, value in path_parameters.items()}
    return st.sampled_from([real, path_parameters])


@pytest.fixture
def seeded(world: World) -> World:
    _WORLD["world"] = world
    return world


SETTINGS = hypothesis.settings(
    deadline=None, derandomize=True, suppress_health_check=list(hypothesis.HealthCheck), database=None
)


@schema.parametrize()
@SETTINGS
def test_as_a_channel(case, seeded):
    case.call_and_validate(app=APP, headers={"Authorization": f"Bearer {seeded.channel_key}"}, checks=CHECKS)


@schema.parametrize()
@SETTINGS
def test_as_staff(case, seeded):
    case.call_and_validate(app=APP, headers={"Authorization": f"Token {seeded.staff_token}"}, checks=CHECKS)
