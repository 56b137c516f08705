"""Where a page may send the browser back to: only paths on this site, whatever
tabs, newlines, backslashes or schemes a crafted `next` carries — after logging in
and after a button on the lists pages."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from marketplace.core.web import safe_target
from tests.support.factories import PASSWORD, make_user
from tests.support.web import post_form

HOSTILE = [
    "/\t/evil.example/", "/\n/evil.example", "/\\evil.example",
    "\\\\evil.example", "//evil.example", "https://evil.example/", "javascript:alert(1)",
    "/\r\n/evil.example", " //evil.example", "http:/evil.example", "/\x0b/evil.example",
]  # fmt: skip


def browser_reads(target: str) -> tuple[str, str]:
    """(scheme, host) a browser would go to for `target` on this site: it drops
    tabs and newlines and leading/trailing control characters and spaces, and
    reads a backslash as a slash."""
    cleaned = "".join(ch for ch in target if ch not in "\t\n\r")
    cleaned = cleaned.strip("".join(chr(c) for c in range(0x21))).replace("\\", "/")
    parts = urlsplit(cleaned)
    return parts.scheme, parts.netloc


@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_targets_fall_back_to_the_default(target: str) -> None:
    assert safe_target(target, "/home") == "/home"


@pytest.mark.parametrize("target", ["/lists/haves?page=2", "/pins?q=Гагарин ленин", "/"])
def test_paths_on_this_site_are_kept(target: str) -> None:
    assert safe_target(target, "/home") == target


@given(st.text(alphabet=st.sampled_from("/\\\t\n\r :.%09abevil@?#\x0b\x00"), max_size=20))
def test_whatever_is_kept_stays_on_this_site(target: str) -> None:
    kept = safe_target(target, "/home")
    assert browser_reads(kept) == ("", "")


@pytest.mark.parametrize(
    "query", ["next=/%09/evil.example/", "next=/%0A/evil.example", "next=/%5Cevil.example",
              "next=%5C%5Cevil.example", "next=//evil.example", "next=https://evil.example/"],
)  # fmt: skip
def test_logging_in_never_leaves_the_site(client: FlaskClient, query: str) -> None:
    make_user()
    url = f"/account/login?{query}"
    response = post_form(client, url, {"email": "ivan@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert browser_reads(response.headers["Location"]) in {("", ""), ("http", "localhost")}
    assert "evil" not in response.headers["Location"]


def test_lists_buttons_never_leave_the_site(client: FlaskClient) -> None:
    make_user()
    client.post("/account/login", data={"email": "ivan@example.org", "password": PASSWORD})
    with client.application.test_request_context(
        "/lists/haves", method="POST", data={"next": "/\t/evil.example/"}
    ):
        from marketplace.lists.web.common import back

        assert back("/lists/haves") == "/lists/haves"
