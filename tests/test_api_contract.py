"""The API against its own OpenAPI document, generated cases for every operation
(schemathesis): no server errors, every status, content type, header and body as
documented, requests outside the documented bounds refused, and valid queries
accepted. Bounded to a few examples per operation, as a bearer-token collector."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.factories import make_user
from tests.support.web import api_token

schema = schemathesis.pytest.from_fixture("api_schema")


# Requests the document allows. What it refuses (out-of-bounds values, NUL, deep
# JSON) is asked of the input guard in tests/test_input_guard.py; schemathesis's
# negative cases strip the bearer header this test adds back, so they cannot tell.
CONFIG = SchemathesisConfig.from_dict({"generation": {"mode": "positive"}})


@pytest.fixture()
def api_schema(app_ctx: Flask) -> Any:
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app_ctx, config=CONFIG)


@pytest.fixture()
def auth(app_ctx: Flask) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(make_user())}"}


@schema.parametrize()
@settings(max_examples=10, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any, auth: dict[str, str]) -> None:
    # A schema-valid write can still be refused by the state of the data (a copy
    # that does not exist, a wrong password): "valid input is accepted" is asked
    # of reads only.
    excluded = [] if case.method == "GET" else [positive_data_acceptance]
    case.call_and_validate(headers=auth, excluded_checks=excluded)
