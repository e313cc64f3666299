"""Schemathesis fuzzes every operation of the OpenAPI spec: no input may produce a 5xx."""

from __future__ import annotations

import tempfile

import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")

from verifier_service.app import create_app  # noqa: E402
from verifier_service.settings import Settings  # noqa: E402

ADMIN = "fuzz-admin"
_app = create_app(Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/fuzz.db", admin_key=ADMIN,
                           rate_limit_per_minute=10**6))
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_produces_a_server_error(case):
    # Half the cases carry the admin key so the authenticated code paths get fuzzed too.
    headers = {"Authorization": f"Bearer {ADMIN}"} if hash(repr(case.body)) % 2 else {}
    response = case.call(headers=headers)
    assert response.status_code < 500, f"{case.method} {case.path} -> {response.status_code}: {response.text[:300]}"
    if response.status_code >= 400:
        assert "error" in response.json()
