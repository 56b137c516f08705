"""The account, message, notification and report pages and the header speak
Russian, Ukrainian and Estonian: a visitor's browser language or a member's own
setting picks the words, counts follow each language's plural rules, and every
entry of the three catalogues is translated."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale, ngettext

from marketplace.core.extensions import db
from tests.support.factories import PinFactory, UserFactory, make_user
from tests.support.messages import messages, signed_in
from tests.support.web import csrf_from

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
LANGUAGES = ("ru", "uk", "et")


def page(client: FlaskClient, path: str, language: str | None = None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# What a visitor sees, by the browser's language: (path, English, ru, uk, et).
VISITOR_PAGES = [
    (
        "/account/login",
        "Forgot your password?",
        "Забыли пароль?",
        "Забули пароль?",
        "Unustasid parooli?",
    ),
    (
        "/account/signup",
        "Create your account",
        "Создайте аккаунт",
        "Створіть акаунт",
        "Loo endale konto",
    ),
    (
        "/account/signup",
        "Name other collectors see",
        "Имя, которое видят другие коллекционеры",
        "Ім’я, яке бачать інші колекціонери",
        "Nimi, mida teised kogujad näevad",
    ),
    (
        "/account/reset",
        "Reset your password",
        "Сброс пароля",
        "Скидання пароля",
        "Parooli lähtestamine",
    ),
    (
        "/",
        "Create a free account",
        "Создать бесплатный аккаунт",
        "Створити безкоштовний акаунт",
        "Loo tasuta konto",
    ),
    ("/", ">Catalogue<", ">Каталог<", ">Каталог<", ">Kataloog<"),
    ("/", ">Sign up<", ">Регистрация<", ">Реєстрація<", ">Registreeru<"),
    ("/pins", "All themes", "Все темы", "Усі теми", "Kõik teemad"),
    (
        "/pins",
        "Best match",
        "Сначала лучшие совпадения",
        "Спершу найкращі збіги",
        "Parimad vasted enne",
    ),
    ("/pins?q=nosuchword", "No pins match", "значков нет", "значків немає", "ei vasta ükski märk"),
    (
        "/places",
        "Cities and republics",
        "Города и республики",
        "Міста й республіки",
        "Linnad ja vabariigid",
    ),
    ("/series", "No series yet.", "Серий пока нет.", "Серій поки немає.", "Seeriaid veel pole."),
]


@pytest.mark.parametrize(("path", "english", "ru", "uk", "et"), VISITOR_PAGES)
def test_a_visitor_reads_the_pages_in_the_browsers_language(
    client: FlaskClient, path: str, english: str, ru: str, uk: str, et: str
) -> None:
    assert english in page(client, path)
    for language, words in (("ru", ru), ("uk", uk), ("et", et)):
        shown = page(client, path, language)
        assert words in shown, (language, words)
        assert english not in shown, (language, english)


def test_the_signup_form_says_what_is_wrong_in_the_readers_language(client: FlaskClient) -> None:
    html = page(client, "/account/signup", "ru")
    response = client.post(
        "/account/signup",
        data={"csrf_token": csrf_from(html), "display_name": "", "email": "x", "password": "1"},
        headers={"Accept-Language": "ru"},
    )
    shown = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Пароль (не менее 10 символов)" in shown
    assert "Обязательное поле." in shown  # WTForms' own words are translated too
    assert "This field is required." not in shown


# What a member sees, by the language in their settings: (path, English, ru, uk, et).
MEMBER_PAGES = [
    (
        "/account/settings",
        "Account settings",
        "Настройки аккаунта",
        "Налаштування акаунта",
        "Konto seaded",
    ),
    (
        "/account/settings",
        "Delete my account",
        "Удалить мой аккаунт",
        "Видалити мій акаунт",
        "Kustuta minu konto",
    ),
    (
        "/account/addresses/",
        "No addresses yet.",
        "Адресов пока нет.",
        "Адрес поки немає.",
        "Aadresse veel pole.",
    ),
    (
        "/account/addresses/new",
        "Street and number",
        "Улица и дом",
        "Вулиця й будинок",
        "Tänav ja majanumber",
    ),
    ("/account/notifications", "Tell me about", "Сообщать о", "Повідомляти про", "Teavita mind"),
    (
        "/account/notifications",
        "Two-way swaps",
        "Обмены один на один",
        "Обміни один на один",
        "Kahepoolsed vahetused",
    ),
    ("/account/notifications", "Trade rings", "Круговые обмены", "Колові обміни", "Ringvahetused"),
    (
        "/messages/",
        "No messages yet.",
        "Сообщений пока нет.",
        "Повідомлень поки немає.",
        "Sõnumeid veel pole.",
    ),
    (
        "/account/blocks",
        "You have not blocked anyone.",
        "Вы никого не заблокировали.",
        "Ви нікого не заблокували.",
        "Sa pole kedagi blokeerinud.",
    ),
    (
        "/reports",
        "You have not reported anything.",
        "Вы пока ни на что не жаловались.",
        "Ви поки ні на що не скаржилися.",
        "Sa pole veel millestki teatanud.",
    ),
    (
        "/pins/submit",
        "Legend exactly as struck",
        "Надпись точно как на значке",
        "Напис точно як на значку",
        "Kiri täpselt nii, nagu märgil",
    ),
    ("/submissions", "My submissions", "Мои заявки", "Мої заявки", "Minu ettepanekud"),
    ("/", ">My lists<", ">Есть / Ищу<", ">Маю / Шукаю<", ">Olemas / Otsin<"),
    ("/", ">Matches<", ">Совпадения<", ">Збіги<", ">Sobivused<"),
    ("/", ">Log out<", ">Выйти<", ">Вийти<", ">Logi välja<"),
]


@pytest.mark.parametrize(("path", "english", "ru", "uk", "et"), MEMBER_PAGES)
def test_a_member_reads_the_pages_in_their_own_language(
    app_ctx: Flask, path: str, english: str, ru: str, uk: str, et: str
) -> None:
    user = make_user()
    client = signed_in(app_ctx, user)
    assert english in page(client, path)
    for language, words in (("ru", ru), ("uk", uk), ("et", et)):
        user.locale = language
        db.session.commit()
        shown = page(client, path, "en")  # the member's setting beats the browser
        assert words in shown, (language, words)
        assert english not in shown, (language, english)


def test_the_unread_counts_in_the_header_and_inbox_are_counted_in_russian(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(display_name="Ivan"), UserFactory(display_name="Olena", locale="ru")
    thread, _ = messages().direct(ivan, olena.id)
    for body in ("раз", "два", "три"):
        messages().post(ivan, thread.id, body)
    shown = page(signed_in(app_ctx, olena), "/messages/")
    assert 'title="3 непрочитанных сообщения">3</span>' in shown
    assert "3 новых сообщения" in shown
    assert "unread" not in shown and "new messages" not in shown


# The count phrases of the header and the inbox, by the CLDR plural rules.
PLURALS = {
    "ru": {
        1: "1 новое сообщение", 2: "2 новых сообщения", 5: "5 новых сообщений",
        11: "11 новых сообщений", 21: "21 новое сообщение", 22: "22 новых сообщения",
        25: "25 новых сообщений",
    },
    "uk": {
        1: "1 нове повідомлення", 2: "2 нові повідомлення", 5: "5 нових повідомлень",
        11: "11 нових повідомлень", 21: "21 нове повідомлення", 22: "22 нові повідомлення",
        25: "25 нових повідомлень",
    },
}  # fmt: skip
UNREAD = {
    "ru": {
        1: "1 непрочитанное сообщение", 2: "2 непрочитанных сообщения",
        5: "5 непрочитанных сообщений", 11: "11 непрочитанных сообщений",
        21: "21 непрочитанное сообщение", 22: "22 непрочитанных сообщения",
        25: "25 непрочитанных сообщений",
    },
    "uk": {
        1: "1 непрочитане повідомлення", 2: "2 непрочитані повідомлення",
        5: "5 непрочитаних повідомлень", 11: "11 непрочитаних повідомлень",
        21: "21 непрочитане повідомлення", 22: "22 непрочитані повідомлення",
        25: "25 непрочитаних повідомлень",
    },
}  # fmt: skip


@pytest.mark.parametrize("language", ["ru", "uk"])
def test_counts_take_the_right_plural_form(app_ctx: Flask, language: str) -> None:
    with app_ctx.test_request_context(), force_locale(language):
        for n, expected in PLURALS[language].items():
            assert ngettext("%(num)d new message", "%(num)d new messages", n) == expected
        for n, expected in UNREAD[language].items():
            assert ngettext("%(num)d unread", "%(num)d unread", n) == expected
        trades = [ngettext("%(num)d trade waiting for you", "%(num)d trades waiting for you", n)
                  for n in (1, 3, 5, 21)]  # fmt: skip
    word = {"ru": ("обмен ", "обмена ", "обменов ", "обмен "),
            "uk": ("обмін ", "обміни ", "обмінів ", "обмін ")}[language]  # fmt: skip
    assert all(w in phrase for w, phrase in zip(word, trades, strict=True)), trades


def test_estonian_counts_have_one_and_many(app_ctx: Flask) -> None:
    with app_ctx.test_request_context(), force_locale("et"):
        said = [ngettext("%(num)d new message", "%(num)d new messages", n) for n in (1, 2, 21)]
    assert said == ["1 uus sõnum", "2 uut sõnumit", "21 uut sõnumit"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_entry_is_translated(language: str) -> None:
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as f:
        catalogue = read_po(f)
    plurals = catalogue.num_plurals
    assert plurals == (2 if language == "et" else 3)
    untranslated, fuzzy = [], []
    for message in catalogue:
        if not message.id:
            continue
        if message.fuzzy:
            fuzzy.append(message.id)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wrong_count = isinstance(message.id, tuple) and len(strings) != plurals
        if wrong_count or not all(strings):
            untranslated.append(message.id)
    assert len(catalogue) > 100
    assert untranslated == [] and fuzzy == [], (untranslated, fuzzy)


def test_a_missing_page_is_explained_in_the_readers_language(client: FlaskClient) -> None:
    english = client.get("/no/such/page")
    russian = client.get("/no/such/page", headers={"Accept-Language": "ru"})
    assert english.status_code == russian.status_code == 404
    assert "404 — Not Found" in english.get_data(as_text=True)
    shown = russian.get_data(as_text=True)
    assert "404 — Страница не найдена" in shown and "Вернуться на главную" in shown
    assert "Not Found" not in shown


def test_a_pin_page_reads_in_russian_with_its_title_values_and_numbers(
    client: FlaskClient,
) -> None:
    from tests.support.catalogue import make_pin

    pin = make_pin(
        title_en="Kyiv, hero city", legend="КИЇВ — МІСТО-ГЕРОЙ", legend_lang="uk",
        title_ru="Киев — город-герой", material="aluminium", republic="Ukrainian SSR",
        attachment="screw_post", height_mm="24.5", width_mm="18", year_from=1965,
    )  # fmt: skip
    db.session.commit()
    english = page(client, f"/pins/{pin.id}")
    assert "Kyiv, hero city" in english and "aluminium" in english and "24.5 × 18 mm" in english
    shown = page(client, f"/pins/{pin.id}", "ru")
    for words in (
        "Киев — город-герой",
        "КИЇВ — МІСТО-ГЕРОЙ",
        "Материал",
        "алюминий",
        "Украинская ССР",
        "винт с гайкой",
        "24,5 × 18 мм",
        "Предложить исправление",
    ):
        assert words in shown, words
    for english_words in ("Material", "aluminium", "Ukrainian SSR", "Suggest a correction"):
        assert english_words not in shown, english_words
    # Ukrainian readers have no Ukrainian title for it here: the legend transliterated.
    assert "KYIV — MISTO-HEROI" in page(client, f"/pins/{pin.id}", "uk")


def test_a_refused_submission_says_why_in_the_members_language(app_ctx: Flask) -> None:
    member = make_user()
    member.locale = "uk"
    db.session.commit()
    client = signed_in(app_ctx, member)
    html = page(client, "/pins/submit")
    assert "Напис точно як на значку" in html and "Надіслати на перевірку" in html
    response = client.post(
        "/pins/submit",
        data={"csrf_token": csrf_from(html), "ref": "ZN-9001", "title_en": "Old pin",
              "year_from": "1700"},
    )  # fmt: skip
    shown = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Вкажіть рік від 1850 до" in shown
    assert "A year between" not in shown


def test_the_drawing_for_a_pin_without_a_photo_is_captioned_in_the_readers_language(
    client: FlaskClient,
) -> None:
    pin = PinFactory()
    db.session.commit()
    client.set_cookie("lang", "et")
    svg = client.get(f"/pins/{pin.id}/stand-in.svg")
    assert "JOONIS — MITTE FOTO" in svg.get_data(as_text=True)
    # Caches keep one drawing per language.
    assert {"Accept-Language", "Cookie"} <= set(svg.vary)


def test_the_republic_filter_is_in_the_readers_alphabetical_order(client: FlaskClient) -> None:
    for republic in ("Armenian SSR", "Byelorussian SSR", "Ukrainian SSR", "Estonian SSR"):
        PinFactory(republic=republic)
    db.session.commit()
    client.set_cookie("lang", "uk")
    html = client.get("/pins").get_data(as_text=True)
    box = html[html.index('name="republic"') :]
    box = box[: box.index("</select>")]
    shown = [line.split(">")[1] for line in box.split("</option>")[1:-1]]
    assert shown == sorted(shown) and len(shown) == 4
    assert shown[0].startswith("Білорус"), shown
