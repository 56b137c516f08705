"""The development mail outbox: stored messages readable in the browser, their
HTML only inside a sandbox, and nothing at all outside development."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from marketplace.core.extensions import db
from marketplace.mail import delivery as mail


def test_dev_mail_lists_and_shows_messages_in_development(
    client: FlaskClient, app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app_ctx.config, "DEV_MAIL_PAGE", True)
    message = mail.queue(
        db.session(),
        to="olena@example.org",
        template="verify_email",
        name="Олена",
        url="http://x/y",
    )
    listing = client.get("/dev/mail")
    assert listing.status_code == 200
    assert "olena@example.org" in listing.text
    assert f"/dev/mail/{message.id}" in listing.text

    shown = client.get(f"/dev/mail/{message.id}")
    assert shown.status_code == 200
    assert message.subject in shown.text

    html = client.get(f"/dev/mail/{message.id}?part=html")
    assert html.mimetype == "text/html"
    assert html.headers["Content-Security-Policy"].startswith("sandbox")
    assert client.get("/dev/mail/999999").status_code == 404


def test_dev_mail_is_absent_outside_development(
    client: FlaskClient, app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app_ctx.config, "DEV_MAIL_PAGE", False)
    assert client.get("/dev/mail").status_code == 404
