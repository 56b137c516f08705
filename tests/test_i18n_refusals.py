"""What a rule refuses is said in the reader's language: flashes and page errors in
the member's or browser's language, API `detail`s and field errors per
`Accept-Language`, and the matches page's reasons — one case per feature."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale

from marketplace.catalogue.models import PinTitle
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.lists import reservations as ledger
from marketplace.matches.scoring import Terms, explain
from marketplace.notifications.operations import Notifier
from tests.support.factories import make_user
from tests.support.reports import direct_thread
from tests.support.trades import copy_of, trader
from tests.support.web import api_token, bearer, login, post_form


def test_a_trade_refusal_is_shown_in_russian_with_the_pins_russian_title(app_ctx: Flask) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    ivan.locale = "ru"
    mine, theirs = copy_of(ivan), copy_of(olga)
    theirs.pin.titles.append(PinTitle(language="ru", title="Гагарин в космосе"))
    assert ledger.hold(db.session(), theirs.id, 1)  # someone's checkout holds Olga's copy
    db.session.expire_all()
    client = app_ctx.test_client()
    assert login(client, ivan.email).status_code == 302

    refused = post_form(
        client, f"/trades/new?with={olga.id}", {"give": [mine.id], "take": [theirs.id]}
    )

    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "У Olga свободно только 0 шт. «Гагарин в космосе» (" in html
    assert "); запрошено 1." in html
    assert "Only 0 of" not in html


def test_a_trade_api_detail_is_in_estonian(app_ctx: Flask) -> None:
    ivan = trader("Ivan")
    headers = {**bearer(api_token(ivan)), "Accept-Language": "et"}
    client = app_ctx.test_client()

    missing = client.get("/api/v1/trades/999999", headers=headers)
    alone = client.post("/api/v1/trades", json={"counterpart_id": ivan.id, "take": []},
                        headers=headers)  # fmt: skip

    assert missing.status_code == 404 and missing.json["detail"] == "Teil pole sellist vahetust."
    assert alone.status_code in (400, 422)
    assert "Valige vähemalt üks eksemplar, mille annate või mida küsite." in str(alone.json)


def test_a_feedback_refusal_is_in_ukrainian(app_ctx: Flask) -> None:
    ivan = trader("Ivan")
    headers = {**bearer(api_token(ivan)), "Accept-Language": "uk"}

    missing = app_ctx.test_client().get("/api/v1/collectors/999999/feedback", headers=headers)

    assert missing.status_code == 404 and missing.json["detail"] == "Такого колекціонера немає."


def test_a_wrong_password_is_refused_in_the_browsers_language(app_ctx: Flask) -> None:
    make_user("ivan@example.org")
    client = app_ctx.test_client()
    client.set_cookie("lang", "ru")

    wrong = login(client, "ivan@example.org", "wrong password!")

    assert wrong.status_code == 422
    assert "Неверный адрес эл. почты или пароль." in wrong.get_data(as_text=True)
    assert "Invalid email or password." not in wrong.get_data(as_text=True)


def test_writing_to_yourself_is_refused_in_estonian(app_ctx: Flask) -> None:
    anna = trader("Anna")
    headers = {**bearer(api_token(anna)), "Accept-Language": "et"}

    refused = app_ctx.test_client().post(
        "/api/v1/threads", json={"kind": "direct", "user_id": anna.id},
        headers=headers,
    )  # fmt: skip

    assert refused.status_code == 422
    assert "Iseendale ei saa kirjutada." in str(refused.json)


def test_reporting_yourself_is_refused_in_ukrainian(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    direct_thread(boris, anna, "Привіт")
    headers = {**bearer(api_token(anna)), "Accept-Language": "uk"}

    refused = app_ctx.test_client().post(
        "/api/v1/reports", json={"kind": "profile", "id": anna.id, "reason": "other"},
        headers=headers,
    )  # fmt: skip

    assert refused.status_code == 422
    assert refused.json["errors"]["id"] == [
        "Не можна поскаржитися на себе чи на те, що ви написали."
    ]


def test_an_unknown_notification_kind_is_refused_in_russian(app_ctx: Flask) -> None:
    user = trader("Ivan")
    with (
        app_ctx.test_request_context(),
        force_locale("ru"),
        pytest.raises(DomainError) as refused,
    ):
        find_service(Notifier).set_mode(user.id, "weather", "off")
    assert refused.value.message == "Неизвестный вид уведомлений: weather."


def test_why_a_match_ranks_here_is_said_in_ukrainian_with_plural_forms(app_ctx: Flask) -> None:
    terms = Terms(score=17.0, coverage=24, balance=1.0, condition=1.0, reputation=0.0)
    pins = [{"want_id": n, "priority": 5, "tradeable": True, "price": None} for n in (1, 2)]
    with app_ctx.test_request_context(), force_locale("uk"):
        swap = explain("swap", terms, pins, pins[:1] * 2)["reasons"]
        ring = explain("cycle", terms, pins[:1], pins[:1], cycle_length=5)["reasons"]
    assert swap[0].startswith("Закриває 2 з ваших пошуків (2 на 5 зірок); покриття 24")
    assert swap[1] == "Ви віддаєте 2 і отримуєте 2: баланс 100% (рівний обмін)."
    assert swap[2] == "Отримане в середньому у стані «ідеальне» (100% від ідеального)."
    assert ring[0].startswith("Коло з 5 колекціонерів:")
    assert ring[1] == "Ви отримуєте значок, якому дали 5 зірок, у стані «ідеальне»."


def test_a_catalogue_api_refusal_is_in_estonian(app_ctx: Flask) -> None:
    ivan = trader("Ivan")
    headers = {**bearer(api_token(ivan)), "Accept-Language": "et"}

    refused = app_ctx.test_client().post("/api/v1/submissions/1/approve", headers=headers)

    assert refused.status_code == 403
    assert refused.json["detail"] == "Seda saavad teha ainult moderaatorid."
