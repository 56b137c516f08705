"""Talking to the app as its clients do: browser forms with their CSRF token,
logging in, and API bearer tokens."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient

from marketplace.accounts.models import User
from marketplace.accounts.operations import Accounts
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from tests.support.factories import PASSWORD

CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def post_form(
    client: FlaskClient, url: str, data: dict[str, Any], page: str | None = None, **kwargs: Any
) -> Any:
    """Submit a form the way a browser does: load the page, send its CSRF token."""
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(html), **data}, **kwargs)


def login(client: FlaskClient, email: str = "ivan@example.org", password: str = PASSWORD) -> Any:
    return post_form(client, "/account/login", {"email": email, "password": password})


def token_for(client: FlaskClient, email: str = "ivan@example.org") -> str:
    """An API token asked for through the API, with the suite's password."""
    response = client.post(
        "/api/v1/tokens", json={"email": email, "password": PASSWORD, "name": "cli"}
    )
    assert response.status_code == 201, response.json
    return str(response.json["token"])


def api_token(user: User) -> str:
    """An API token made by the accounts service, committed into the test's
    outer transaction."""
    _, clear = find_service(Accounts).create_api_token(user, "tests")
    db.session.commit()
    return clear


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
