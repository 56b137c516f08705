"""Values no field rule should have to think about never reach a view: ids and
integers the database cannot hold, pages past any real page, NUL and lone
surrogates in any text, JSON nested without end — each a clear 4xx, never a 500,
on pages and in the API alike."""

from __future__ import annotations

import json

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from marketplace.core.input_guard import json_problem
from tests.support.factories import make_user
from tests.support.web import bearer, login, token_for

pytestmark = pytest.mark.usefixtures("app_ctx")


@pytest.fixture()
def token(client: FlaskClient) -> str:
    make_user()
    return token_for(client)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/me/haves/2147483648", "/api/v1/orders/3922132167", "/api/v1/pins/99999999999999",
     "/api/v1/me/wants/18446744073709551616"],
)  # fmt: skip
def test_ids_the_database_cannot_hold_are_not_found(
    client: FlaskClient, token: str, path: str
) -> None:
    response = client.get(path, headers=bearer(token))
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "body",
    [{"have_id": -307732051695702848}, {"have_id": 2**31}, {"have_id": 1, "x": "a\u0000b"}],
)
def test_integers_and_text_out_of_bounds_in_a_body_are_refused_by_name(
    client: FlaskClient, token: str, body: dict[str, object]
) -> None:
    response = client.post("/api/v1/orders", json=body, headers=bearer(token))
    assert response.status_code == 422
    assert response.json is not None and response.json["errors"]


def test_a_lone_surrogate_is_refused(client: FlaskClient, token: str) -> None:
    raw = '{"pin_id": 1, "notes": "\\ud800"}'
    response = client.post(
        "/api/v1/me/haves", data=raw, content_type="application/json", headers=bearer(token)
    )
    assert response.status_code == 422
    assert "notes" in response.json["errors"]  # type: ignore[index]


def test_json_nested_without_end_is_refused(client: FlaskClient, token: str) -> None:
    raw = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/api/v1/me/haves", data=raw, content_type="application/json", headers=bearer(token)
    )
    assert response.status_code == 400


@pytest.mark.parametrize("query", ["page=9617443694847092326400", "q=a%00b", "page=100001"])
def test_pages_refuse_what_no_page_can_hold(client: FlaskClient, query: str) -> None:
    make_user()
    login(client)
    for path in ("/pins", "/lists/haves", "/matches"):
        assert client.get(f"{path}?{query}").status_code == 400, path
    assert client.get(f"/api/v1/pins?{query}").status_code == 422


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(JSON)
def test_whatever_is_accepted_fits_the_database(document: object) -> None:
    if json_problem(document) is None:
        text = json.dumps(document)
        assert "\\u0000" not in text
        for n in _ints(document):
            assert -(2**31) <= n < 2**31


def _ints(value: object) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _ints(v)]
    if isinstance(value, list):
        return [n for v in value for n in _ints(v)]
    return []
