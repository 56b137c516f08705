"""The headers every response carries: a strict Content-Security-Policy (and
templates it can hold: no inline script or style), a Permissions-Policy, HSTS
outside development, no framing or sniffing, the referrer kept on the site, and
`Cache-Control: no-store` on whatever shows one visitor's own data. A real
browser checks the policy against every page in
tests/integration/test_browser_csp.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from marketplace import create_app
from marketplace.config import Settings
from marketplace.core.extensions import db
from marketplace.mail import delivery as mail
from tests.support.app import ROOT
from tests.support.factories import make_user
from tests.support.web import api_token, bearer, login


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def test_pages_and_api_carry_the_policies(client: FlaskClient) -> None:
    for url in ("/", "/pins", "/account/login", "/api/v1/pins", "/no-such-page"):
        headers = client.get(url).headers
        csp = directives(headers["Content-Security-Policy"])
        assert csp["default-src"] == ["'self'"], url
        assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], url
        assert csp["img-src"] == ["'self'", "data:"], url
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"], url
        assert csp["frame-ancestors"] == ["'none'"], url
        # Buy and payouts post here and are redirected to Stripe's hosted pages.
        assert csp["form-action"] == [
            "'self'", "https://checkout.stripe.com", "https://connect.stripe.com"
        ], url  # fmt: skip
        assert "unsafe-inline" not in headers["Content-Security-Policy"], url
        features = dict(item.split("=") for item in headers["Permissions-Policy"].split(", "))
        for denied in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert features[denied] == "()", (url, denied)
        assert headers["Referrer-Policy"] == "same-origin", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        # Development and testing serve plain HTTP on localhost: no HSTS there.
        assert "Strict-Transport-Security" not in headers, url


def test_hsts_outside_development(workdir: Path) -> None:
    settings = Settings.from_env(
        {
            "ZNACHKI_ENV": "production",
            "SECRET_KEY": "a production secret that is long enough",
            "DATABASE_URL": f"sqlite:///{workdir / 'hsts.sqlite3'}",
            "REDIS_URL": "redis://127.0.0.1:9",
            "SMTP_HOST": "127.0.0.1",
            "BASE_URL": "https://znachki.example",
            "BROKER_DIR": str(workdir / "broker"),
        }
    )
    # Rate limits in memory: the limiter is shared, and nothing listens on REDIS_URL.
    app = create_app(settings, RATELIMIT_STORAGE_URI="memory://")
    response = app.test_client().get("/no-such-page", base_url="https://znachki.example")
    hsts = response.headers["Strict-Transport-Security"]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))  # type: ignore[union-attr]
    assert max_age >= 365 * 24 * 3600 and "includeSubDomains" in hsts
    app.extensions["db_engine"].dispose()


SIGNED_IN_PAGES = [
    "/account/settings", "/account/addresses/", "/account/notifications", "/lists/",
    "/lists/haves", "/lists/wants", "/lists/haves/import", "/matches", "/orders/",
    "/sell/payouts", "/submissions", "/pins",
]  # fmt: skip


def test_a_signed_in_members_pages_are_never_stored(client: FlaskClient) -> None:
    make_user()
    login(client)
    for url in SIGNED_IN_PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-store", url
    # The stylesheet is the same for everyone.
    with client.get("/static/site.css") as stylesheet:
        assert "no-store" not in stylesheet.headers.get("Cache-Control", "")


def test_private_answers_are_never_stored_even_without_a_session(client: FlaskClient) -> None:
    for url in ("/account/login", "/account/signup", "/account/reset"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    # A token is shown once, in the answer to the request that made it.
    user = make_user()
    created = client.post(
        "/api/v1/tokens",
        json={"email": "ivan@example.org", "password": "correct horse battery", "name": "x"},
    )
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    mine = client.get("/api/v1/me/haves", headers=bearer(api_token(user)))
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "no-store"
    # The public catalogue may be kept anywhere, asked again each time.
    assert client.get("/pins").headers["Cache-Control"] == "public, no-cache"


def test_dev_mail_is_private_and_its_html_framed_by_this_site_only(
    client: FlaskClient, app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app_ctx.config, "DEV_MAIL_PAGE", True)
    message = mail.queue(
        db.session(), to="olena@example.org", template="verify_email", name="Олена", url="http://x"
    )
    assert client.get("/dev/mail").headers["Cache-Control"] == "no-store"
    page = client.get(f"/dev/mail/{message.id}")
    assert page.headers["Cache-Control"] == "no-store"
    part = client.get(f"/dev/mail/{message.id}?part=html")
    csp = directives(part.headers["Content-Security-Policy"])
    # The message page frames it (the page itself may not be framed), and the
    # mail keeps its inline styles, inside a sandbox where nothing runs.
    assert "sandbox" in csp and csp["frame-ancestors"] == ["'self'"]
    assert csp["default-src"] == ["'none'"] and "script-src" not in csp
    assert part.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert directives(page.headers["Content-Security-Policy"])["frame-ancestors"] == ["'none'"]


INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|['\"]style['\"]\s*:|\son[a-z]+\s*=|javascript:",
    re.IGNORECASE,
)


def test_page_templates_hold_no_inline_script_or_style() -> None:
    """What the policy refuses would silently not run or not apply: page templates
    keep scripts and styles in marketplace/static/ (emails are not pages)."""
    templates = ROOT / "templates"
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0).strip()}"
        for path in sorted(templates.rglob("*.html"))
        if path.relative_to(templates).parts[0] != "email"
        for match in INLINE.finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
