"""The security suite (issue 9): object-level access on every API endpoint,
the staff role matrix, CSRF, security headers and `check --deploy`, secrets
from the environment, and constant-time verifiers. Every test here carries
the `security` marker (`pytest -m security`), set by each module's pytestmark."""

from __future__ import annotations

from tests.fulfillment.conftest import boxes, carrier, materials
from tests.returns.conftest import shipped_order

__all__ = ["boxes", "carrier", "materials", "shipped_order"]  # fixtures shared with the returns tests
