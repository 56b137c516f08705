"""The API against its own OpenAPI document, generated cases for every operation
(schemathesis): no server errors, every status, content type, header and body as
documented, requests outside the documented bounds refused, and valid queries
accepted. Bounded to a few examples per operation, as a bearer-token collector."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.support.factories import HaveFactory, PinFactory, WantFactory, make_user
from tests.support.openapi import assert_documented
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
    """A collector with a priced copy and a Want, so listings answer with data
    (money and all) for the responses to be checked against the document."""
    user = make_user()
    HaveFactory(user=user, for_sale=True)
    WantFactory(user=user, max_price=Decimal("20.00"), currency="EUR")
    return {"Authorization": f"Bearer {api_token(user)}"}


def test_money_is_a_decimal_string_in_and_out(client: FlaskClient, app_ctx: Flask) -> None:
    user = make_user()
    pin = PinFactory()
    token = {"Authorization": f"Bearer {api_token(user)}"}
    made = client.post(
        "/api/v1/me/haves",
        json={"pin_id": pin.id, "price": "12.50", "currency": "EUR"},
        headers=token,
    )
    assert made.status_code == 201 and made.json["price"] == "12.50"
    spec = client.get("/api/v1/openapi.json").json
    assert_documented(spec, "/api/v1/me/haves", "POST", made)
    for name in ("HaveIn", "HaveOut", "WantIn", "WantOut"):
        prices = {k: v for k, v in spec["components"]["schemas"][name]["properties"].items()
                  if k in ("price", "max_price")}  # fmt: skip
        assert prices and all("string" in v["type"] for v in prices.values()), name


@schema.parametrize()
@settings(max_examples=10, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any, auth: dict[str, str]) -> None:
    # A schema-valid write can still be refused by the state of the data (a copy
    # that does not exist, a wrong password): "valid input is accepted" is asked
    # of reads only.
    excluded = [] if case.method == "GET" else [positive_data_acceptance]
    case.call_and_validate(headers=auth, excluded_checks=excluded)
