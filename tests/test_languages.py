"""Which language a page is in: the member's setting, else the visitor's choice
from the header's switch (remembered), else the browser's Accept-Language, else
English; the API follows Accept-Language alone."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from marketplace.config import ConfigError, Settings
from marketplace.core.extensions import db
from tests.support.factories import make_user
from tests.support.web import login


def lang(client: FlaskClient, path: str = "/", **headers: str) -> str:
    page = client.get(path, headers=headers).get_data(as_text=True)
    found = re.search(r'<html lang="([a-z_]+)">', page)
    assert found, page[:200]
    return found.group(1)


def test_a_visitor_gets_the_browsers_language_else_english(client: FlaskClient) -> None:
    assert lang(client, **{"Accept-Language": "uk-UA,uk;q=0.9,ru;q=0.8"}) == "uk"
    assert lang(client, **{"Accept-Language": "de-DE,et;q=0.5"}) == "et"
    assert lang(client, **{"Accept-Language": "fr-FR"}) == "en"
    assert lang(client) == "en"


def test_the_switch_is_remembered_over_the_browsers_language(client: FlaskClient) -> None:
    response = client.post("/language", data={"lang": "et", "next": "/pins?q=gagarin"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/pins?q=gagarin"
    assert lang(client, "/pins", **{"Accept-Language": "ru"}) == "et"


def test_the_switch_refuses_unknown_languages_and_foreign_targets(client: FlaskClient) -> None:
    response = client.post("/language", data={"lang": "xx", "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_a_members_setting_wins_and_the_switch_changes_it(
    app_ctx: Flask, client: FlaskClient
) -> None:
    user = make_user()
    user.locale = "ru"
    db.session.commit()
    login(client)
    assert lang(client, **{"Accept-Language": "et"}) == "ru"
    client.post("/language", data={"lang": "uk", "next": "/"})
    db.session.refresh(user)
    assert user.locale == "uk"
    assert lang(client) == "uk"


def test_every_language_is_offered_in_the_header(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    offered = re.findall(r'name="lang" value="([a-z]+)"', page)
    assert offered == ["en", "ru", "uk", "et"]


def test_languages_come_from_configuration() -> None:
    settings = Settings.from_env({"ZNACHKI_ENV": "development", "LANGUAGES": "en,ru,uk,et,be"})
    assert settings.languages == ("en", "ru", "uk", "et", "be")
    with pytest.raises(ConfigError, match="LANGUAGES"):
        Settings.from_env({"ZNACHKI_ENV": "development", "LANGUAGES": "en;ru"})


def test_every_offered_language_can_be_kept_in_the_settings(
    app_ctx: Flask, client: FlaskClient
) -> None:
    from tests.support.web import bearer, post_form, token_for

    user = make_user()
    login(client)
    form = {
        "mode_swap": "instant", "mode_offer": "instant", "mode_cycle": "instant",
        "mode_trade": "instant", "mode_message": "instant", "mode_order": "instant",
        "timezone": "Europe/Kyiv", "locale": "uk", "digest_hour": "8", "weekly_day": "0",
    }  # fmt: skip
    assert post_form(client, "/account/notifications", form).status_code == 302
    db.session.refresh(user)
    assert user.locale == "uk"
    auth = bearer(token_for(client))
    settings = client.get("/api/v1/me/notification-settings", headers=auth).json
    for key in ("suspended", "last_failure"):
        settings.pop(key)
    put = client.put(
        "/api/v1/me/notification-settings", json={**settings, "locale": "et"}, headers=auth
    )
    assert put.status_code == 200 and put.json["locale"] == "et"
    wrong = client.put(
        "/api/v1/me/notification-settings", json={**settings, "locale": "xx"}, headers=auth
    )
    assert wrong.status_code == 422 and "locale" in wrong.json["errors"]


def test_the_pin_page_counts_collectors_in_the_readers_plural(app_ctx: Flask) -> None:
    from tests.support.factories import HaveFactory, PinFactory, WantFactory

    pin = PinFactory()
    HaveFactory(pin=pin)
    WantFactory(pin=pin)
    WantFactory(pin=pin)
    db.session.commit()
    client = app_ctx.test_client()
    english = client.get(f"/pins/{pin.id}").get_data(as_text=True)
    assert "1 collector has it · 2 want it" in english
    russian = client.get(f"/pins/{pin.id}", headers={"Accept-Language": "ru"})
    assert "Есть у 1 коллекционера · 2 ищут" in russian.get_data(as_text=True)
