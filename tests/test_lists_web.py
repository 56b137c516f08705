"""List pages: one-click add buttons, inline edit, move, series, charts, the
public page, and the staged CSV import with its progress endpoint."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.catalogue.models import PinTitle, Series
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.lists.csv_import import RUN_TASK
from marketplace.lists.models import Condition, Have, ListImport, Want
from tests.support.factories import make_user
from tests.support.lists import make_pin, theme
from tests.support.web import csrf_from, login, post_form


def test_buttons_macro_adds_in_one_click(client: FlaskClient, app_ctx: Flask) -> None:
    make_user()
    pin = make_pin("GAG-1", "Gagarin", legend="Гагарин", themes=[theme("Space")])
    login(client)
    with app_ctx.test_request_context("/pins/1"):
        html = render_template_string(
            '{% from "lists/_buttons.html" import list_buttons %}{{ list_buttons(pin) }}', pin=pin
        )
    assert 'action="/lists/haves/add"' in html and 'action="/lists/wants/add"' in html
    token = csrf_from(client.get("/lists/haves").get_data(as_text=True))
    for _ in range(2):
        added = client.post(
            "/lists/haves/add",
            data={"csrf_token": token, "pin_id": pin.id},
            headers={"Referer": "http://localhost/pins/1"},
        )
        assert added.status_code == 303 and added.headers["Location"] == "/pins/1"
    [have] = db.session.scalars(select(Have)).all()
    assert have.quantity == 2 and have.condition is Condition.FINE
    client.post("/lists/wants/add", data={"csrf_token": token, "pin_id": pin.id})
    again = client.post(
        "/lists/wants/add", data={"csrf_token": token, "pin_id": pin.id}, follow_redirects=True
    )
    assert "already in your Wants" in again.get_data(as_text=True)
    page = client.get("/lists/haves?theme=Space").get_data(as_text=True)
    assert "Gagarin" in page and "Гагарин" in page


def test_inline_edit_and_errors(client: FlaskClient) -> None:
    user = make_user()
    pin = make_pin("A-1")
    have = Have(user_id=user.id, pin_id=pin.id, quantity=1, condition=Condition.FINE)
    db.session.add(have)
    db.session.flush()
    login(client)
    ok = post_form(
        client,
        f"/lists/haves/{have.id}/edit",
        {"quantity": "3", "condition": "mint", "defects": ["bent", "repaired"],
         "tradeable": "y", "price": "9.99", "currency": "eur", "notes": "с коробкой"},
        page="/lists/haves",
    )  # fmt: skip
    assert ok.status_code == 303
    db.session.refresh(have)
    assert (have.quantity, have.condition, have.price, have.currency) == (
        3, Condition.MINT, __import__("decimal").Decimal("9.99"), "EUR",
    )  # fmt: skip
    assert have.notes == "с коробкой" and [d.slug for d in have.defect_list] == ["bent", "repaired"]
    bad = post_form(
        client,
        f"/lists/haves/{have.id}/edit",
        {"quantity": "2", "condition": "mint", "price": "5"},
        page="/lists/haves",
    )
    assert bad.status_code == 422
    assert "three-letter code" in bad.get_data(as_text=True)
    db.session.refresh(have)
    assert have.quantity == 3


def test_move_want_to_haves_and_series(client: FlaskClient) -> None:
    user = make_user()
    series = Series(name="Города", set_size=3)
    db.session.add(series)
    db.session.flush()
    pins = [make_pin(f"G-{n}", series_id=series.id, series_number=n) for n in (1, 2, 3)]
    want = Want(user_id=user.id, pin_id=pins[0].id, priority=4)
    db.session.add(want)
    db.session.flush()
    login(client)
    moved = post_form(
        client, f"/lists/wants/{want.id}/move", {"condition": "excellent"}, page="/lists/wants"
    )
    assert moved.status_code == 303
    have = db.session.scalar(select(Have).where(Have.user_id == user.id))
    assert have is not None and have.condition is Condition.EXCELLENT
    page = client.get("/lists/series").get_data(as_text=True)
    assert "1 of 3" in page and "Add the 2 missing pins to Wants" in page
    post_form(client, f"/lists/series/{series.id}/want-missing", {}, page="/lists/series")
    assert len(db.session.scalars(select(Want).where(Want.user_id == user.id)).all()) == 2


def test_overview_charts_and_public_page(client: FlaskClient) -> None:
    user = make_user()
    pin = make_pin("S-1", "Sputnik", themes=[theme("Space/Sputnik")], republic="RSFSR")
    db.session.add(Have(user_id=user.id, pin_id=pin.id, quantity=4, condition=Condition.GOOD))
    db.session.flush()
    login(client)
    overview = client.get("/lists/").get_data(as_text=True)
    assert 'class="bar"' in overview and "Space" in overview and "RSFSR" in overview
    slug = re.search(r"/c/([\w-]+)", overview)
    assert slug is None  # private until the collector opts in
    post_form(client, "/lists/public", {"shows": "haves"}, page="/lists/")
    overview = client.get("/lists/").get_data(as_text=True)
    link = re.search(r"http://[^/\"]+(/c/[\w-]+)", overview)
    assert link is not None
    client.post("/account/logout", data={"csrf_token": csrf_from(overview)})
    public = client.get(link.group(1))
    assert public.status_code == 200 and "Sputnik" in public.get_data(as_text=True)
    login(client)
    post_form(client, "/lists/public", {"shows": "none"}, page="/lists/")
    assert client.get(link.group(1)).status_code == 404


def test_staged_import_through_the_pages(client: FlaskClient) -> None:
    from marketplace.lists.tasks import run_list_import

    user = make_user()
    make_pin("A-1")
    make_pin("L-1", "Lenin one", legend="Ленин")
    make_pin("L-2", "Lenin two", legend="Ленин")
    login(client)
    data = "Каталог;Штук;Надпись\nA-1;2;\n;1;Ленин\nXX;1;\n".encode("cp1251")
    uploaded = post_form(
        client,
        "/lists/haves/import",
        {"file": (io.BytesIO(data), "мои значки.csv"), "encoding": ""},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 303, uploaded.get_data(as_text=True)
    job = db.session.scalar(select(ListImport).where(ListImport.user_id == user.id))
    assert job is not None and job.encoding == "cp1251"
    mapping_page = client.get(uploaded.headers["Location"]).get_data(as_text=True)
    assert "Каталог" in mapping_page
    mapped = post_form(
        client,
        uploaded.headers["Location"],
        {"map-ref": "Каталог", "map-quantity": "Штук", "map-legend": "Надпись"},
    )
    assert mapped.status_code == 303
    preview = client.get(mapped.headers["Location"]).get_data(as_text=True)
    assert "Which pin do you mean?" in preview and "Unknown catalogue number" in preview
    assert db.session.scalar(select(Have)) is None  # a preview changes nothing
    l2 = re.search(r'name="choice-3" value="(\d+)"> <code>L-2', preview)
    assert l2 is not None
    started = client.post(
        f"/lists/imports/{job.id}/start",
        data={"csrf_token": csrf_from(preview), "mode": "good_rows", "choice-3": l2.group(1)},
    )
    assert started.status_code == 303
    status = client.get(f"/lists/imports/{job.id}/status").json
    assert status["status"] == "queued" and not status["finished"]
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.task == RUN_TASK))
    assert message is not None
    run_list_import.run(job.id, outbox_id=message.id)
    status = client.get(f"/lists/imports/{job.id}/status").json
    assert status["finished"] and (status["created"], status["error_rows"]) == (2, 1)
    report = client.get(f"/lists/imports/{job.id}/report")
    assert report.mimetype == "text/csv" and "XX" in report.get_data(as_text=True)
    refs = {h.pin.ref for h in db.session.scalars(select(Have))}
    assert refs == {"A-1", "L-2"}


def test_upload_limits_and_bad_files(client: FlaskClient) -> None:
    make_user()
    login(client)
    empty = post_form(
        client,
        "/lists/wants/import",
        {"file": (io.BytesIO(b""), "empty.csv")},
        content_type="multipart/form-data",
    )
    assert empty.status_code in (400, 422)
    token = csrf_from(client.get("/lists/wants/import").get_data(as_text=True))
    body = (
        (
            f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            '--b\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
        ).encode()
        + b"x" * (11 * 1024 * 1024)
        + b"\r\n--b--\r\n"
    )
    # Built by hand: the test client would spool its own copy to an unclosed temp file.
    big = client.post(
        "/lists/wants/import", data=body, content_type="multipart/form-data; boundary=b"
    )
    assert big.status_code == 413 and "10 MB limit" in big.get_data(as_text=True)
    huge = client.post(
        "/lists/wants/import",
        data=b"x" * (100 * 1024 * 1024),
        content_type="multipart/form-data; boundary=x",
    )
    assert huge.status_code == 413  # the app-wide limit, before CSRF or the view read it


@pytest.mark.parametrize(
    ("kind", "entry", "changes", "wrong"),
    [
        ("haves", Have, {"quantity": "4", "condition": "good"}, {"quantity": "0"}),
        ("wants", Want, {"priority": "5", "min_condition": "good"}, {"priority": "9"}),
    ],
)
def test_edit_and_delete_pages_of_either_kind(
    client: FlaskClient, kind: str, entry: Any, changes: dict[str, str], wrong: dict[str, str]
) -> None:
    user = make_user()
    pin = make_pin("K-1", "Kremlin")
    graded = {"condition": Condition.FINE} if entry is Have else {}
    row = entry(user_id=user.id, pin_id=pin.id, notes="old", **graded)
    db.session.add(row)
    db.session.flush()
    login(client)
    page = client.get(f"/lists/{kind}")
    assert page.status_code == 200 and "Kremlin" in page.get_data(as_text=True)
    saved = post_form(
        client, f"/lists/{kind}/{row.id}/edit", {**changes, "notes": "new"}, page=f"/lists/{kind}"
    )
    assert saved.status_code == 303 and saved.headers["Location"] == f"/lists/{kind}"
    db.session.refresh(row)
    assert row.notes == "new"
    bad = post_form(client, f"/lists/{kind}/{row.id}/edit", wrong, page=f"/lists/{kind}")
    assert bad.status_code == 422 and "Kremlin" in bad.get_data(as_text=True)
    gone = post_form(client, f"/lists/{kind}/{row.id}/delete", {}, page=f"/lists/{kind}")
    assert gone.status_code == 303
    assert db.session.get(entry, row.id) is None
    label = kind.capitalize()
    after = client.get(f"/lists/{kind}").get_data(as_text=True)
    assert f"Removed from your {label}." in after
    missing = post_form(client, f"/lists/{kind}/{row.id}/edit", changes, page=f"/lists/{kind}")
    assert missing.status_code == 404


def test_another_collectors_or_a_missing_import_page_is_not_found(client: FlaskClient) -> None:
    from marketplace.lists.models import ListImport

    owner = make_user("owner@example.org", name="Owner")
    upload = ListImport(user_id=owner.id, kind="haves", encoding="utf-8", delimiter=",",
                        content="ref\nZN-1\n")  # fmt: skip
    db.session.add(upload)
    db.session.flush()
    make_user()
    login(client)
    for import_id in (upload.id, upload.id + 1000):
        for suffix in ("", "/map", "/preview"):
            response = client.get(f"/lists/imports/{import_id}{suffix}")
            assert response.status_code == 404, (import_id, suffix, response.status_code)


def _staged(client: FlaskClient, csv: str, kind: str = "haves") -> ListImport:
    """Upload `csv` through the pages and keep its guessed column mapping."""
    uploaded = post_form(
        client,
        f"/lists/{kind}/import",
        {"file": (io.BytesIO(csv.encode()), "mine.csv"), "encoding": ""},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 303, uploaded.get_data(as_text=True)
    job = db.session.scalar(select(ListImport).order_by(ListImport.id.desc()))
    assert job is not None
    return job


def _run_queued(job: ListImport) -> None:
    from marketplace.lists.tasks import run_list_import

    message = db.session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.task == RUN_TASK)
        .order_by(OutboxMessage.id.desc())
    )
    assert message is not None
    run_list_import.run(job.id, outbox_id=message.id)


def test_the_preview_names_each_rows_pin_and_no_raw_values(client: FlaskClient) -> None:
    make_user()
    gagarin = make_pin("GAG-1", "Gagarin 1961", legend="Гагарин")
    lenin = make_pin("LEN-1", "Lenin", legend="Ленин")
    login(client)
    job = _staged(
        client,
        "ref,legend,quantity,condition,defects,tradeable,price,currency,notes\n"
        "GAG-1,,1,fine,,no,,,\n"
        ",Ленин,2,mint,bent,yes,12.50,EUR,\n",
    )
    page = client.get(f"/lists/imports/{job.id}/preview").get_data(as_text=True)
    assert "Problems" not in page, page
    table = page[page.index('class="import-preview"') :]
    table = table[: table.index("</table>")]
    assert f'<a href="/pins/{gagarin.id}"><code>GAG-1</code> Gagarin 1961</a>' in table
    assert f'<a href="/pins/{lenin.id}"><code>LEN-1</code> Lenin</a>' in table  # by legend
    cells = re.findall(r"<td>([^<]*)</td>", table)
    for raw in ("True", "False", "None", "0"):
        assert raw not in cells, (raw, cells)
    assert "yes" in cells and "no" in cells and "Bent" in cells and "12.50" in cells


def test_the_preview_speaks_russian(client: FlaskClient) -> None:
    user = make_user()
    user.locale = "ru"
    make_pin("GAG-1", "Gagarin")
    db.session.commit()
    login(client)
    job = _staged(client, "ref,tradeable\nGAG-1,yes\nXX-9,no\n")
    page = client.get(f"/lists/imports/{job.id}/preview").get_data(as_text=True)
    assert "Предпросмотр" in page and "да" in page and "2 строки" in page
    assert "Неизвестный каталожный номер «XX-9»." in page


def test_a_refused_import_offers_to_import_the_good_rows(client: FlaskClient) -> None:
    make_user()
    make_pin("A-1")
    make_pin("B-1")
    login(client)
    job = _staged(client, "ref,quantity\nA-1,2\nNOPE-1,1\nB-1,0\n")
    started = post_form(
        client, f"/lists/imports/{job.id}/start", {"mode": "all_or_nothing"},
        page=f"/lists/imports/{job.id}/preview",
    )  # fmt: skip
    assert started.status_code == 303
    _run_queued(job)
    db.session.refresh(job)
    assert job.status == "refused" and db.session.scalar(select(Have)) is None
    page = client.get(f"/lists/imports/{job.id}").get_data(as_text=True)
    button = f'action="/lists/imports/{job.id}/good-rows"'
    assert button in page and "Import the good rows" in page
    again = post_form(
        client, f"/lists/imports/{job.id}/good-rows", {}, page=f"/lists/imports/{job.id}"
    )
    assert again.status_code == 303
    db.session.refresh(job)
    assert (job.status, job.mode) == ("queued", "good_rows")
    assert db.session.scalar(select(Have)) is None  # nothing until the worker runs it
    _run_queued(job)
    db.session.refresh(job)
    assert (job.status, job.created_rows, job.error_rows) == ("done", 1, 2)
    [have] = db.session.scalars(select(Have)).all()
    assert (have.pin.ref, have.quantity) == ("A-1", 2)
    done = client.get(f"/lists/imports/{job.id}").get_data(as_text=True)
    assert button not in done and "NOPE-1" in client.get(
        f"/lists/imports/{job.id}/report"
    ).get_data(as_text=True)
    # Only a refused import has good rows to import: once done, the button is refused.
    twice = post_form(
        client, f"/lists/imports/{job.id}/good-rows", {}, page=f"/lists/imports/{job.id}"
    )
    assert twice.status_code == 303
    assert len(db.session.scalars(select(Have)).all()) == 1
    assert "Only a refused import" in client.get(f"/lists/imports/{job.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("upload", "status", "why"),
    [
        (b"just some text", 422, "not a readable JPEG, PNG or WebP image"),
        ("gif", 422, "GIF images are not accepted"),
        ("big", 413, "larger than the 8 MB limit"),
        (b"", 422, "This field is required."),
    ],
)
def test_a_refused_photo_says_why_beside_the_field(
    client: FlaskClient, upload: Any, status: int, why: str
) -> None:
    from tests.support.images import image_bytes

    user = make_user()
    pin = make_pin("K-1", "Kremlin")
    have = Have(user_id=user.id, pin_id=pin.id, quantity=1, condition=Condition.FINE, notes="mine")
    db.session.add(have)
    db.session.flush()
    login(client)
    if upload == "gif":
        upload = image_bytes("GIF")
    if upload == "big":
        # Built by hand: the test client would spool its own copy to an unclosed temp file.
        token = csrf_from(client.get("/lists/haves").get_data(as_text=True))
        body = (
            (
                f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
                '--b\r\nContent-Disposition: form-data; name="next"\r\n\r\n'
                "/lists/haves?sort=added\r\n"
                '--b\r\nContent-Disposition: form-data; name="photo"; filename="copy.jpg"\r\n\r\n'
            ).encode()
            + b"\xff\xd8"
            + b"x" * (9 * 1024 * 1024)
            + b"\r\n--b--\r\n"
        )
        refused = client.post(
            f"/lists/haves/{have.id}/photos", data=body,
            content_type="multipart/form-data; boundary=b",
        )  # fmt: skip
    else:
        files = {"photo": (io.BytesIO(upload), "copy.jpg")} if upload else {}
        refused = post_form(
            client, f"/lists/haves/{have.id}/photos", {**files, "next": "/lists/haves?sort=added"},
            page="/lists/haves", content_type="multipart/form-data",
        )  # fmt: skip
    page = refused.get_data(as_text=True)
    assert refused.status_code == status
    field = f"photo-{have.id}"
    error = re.search(
        rf'<input id="{field}"[^>]*aria-describedby="{field}-error"[^>]*>\s*'
        rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>',
        page,
    )
    assert error is not None and why in error.group(1), page
    assert "<details open>" in page and "mine</textarea>" in page  # the entry is as it was
    assert 'name="next" value="/lists/haves?sort=added"' in page
    assert not have.photos


def test_a_refused_photo_speaks_russian(client: FlaskClient) -> None:
    user = make_user()
    user.locale = "ru"
    pin = make_pin("K-1", "Kremlin")
    have = Have(user_id=user.id, pin_id=pin.id, quantity=1, condition=Condition.FINE)
    db.session.add(have)
    db.session.commit()
    login(client)
    refused = post_form(
        client, f"/lists/haves/{have.id}/photos", {"photo": (io.BytesIO(b"text"), "a.jpg")},
        page="/lists/haves", content_type="multipart/form-data",
    )  # fmt: skip
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Загрузить" in page
    assert "не читается как изображение JPEG, PNG или WebP" in page


def test_the_list_pages_speak_russian(client: FlaskClient) -> None:
    user = make_user()
    user.locale = "ru"
    pin = make_pin(
        "K-1", "Kremlin", themes=[theme("Space")], titles=[PinTitle(language="ru", title="Кремль")]
    )
    db.session.add(Have(user_id=user.id, pin_id=pin.id, quantity=2, condition=Condition.FINE))
    db.session.add(Want(user_id=user.id, pin_id=make_pin("K-2", "Kremlin 2").id))
    db.session.commit()
    login(client)
    pages = {
        "/lists/": (
            "<h1>Есть / Ищу</h1>",
            "<strong>1</strong> значок",
            "<strong>2</strong> экземпляра",
            "Импорт «Есть» (CSV)",
        ),
        "/lists/haves": (
            "Что у меня есть",
            "Доступен для обмена",
            "Фото вашего экземпляра",
            "<strong>Кремль</strong>",  # the pin's Russian title
        ),
        "/lists/wants": ("Что я ищу", "Пришёл: перенести в «Есть»", "любое состояние"),
        "/lists/series": ("Заполнение серий",),
        "/lists/haves/import": ("Импорт списка «Есть» из таблицы", "Файл CSV (не более 10 МБ)"),
    }
    for url, phrases in pages.items():
        html = client.get(url).get_data(as_text=True)
        for phrase in phrases:
            assert phrase in html, (url, phrase)
        for english in ("My Haves", "Available for trade", "Import Haves", "Remove from"):
            assert english not in html, (url, english)
    moved = post_form(client, "/lists/haves/add", {"pin_id": pin.id}, page="/lists/haves")
    assert "Добавлено в «Есть» (3 шт., состояние: Хорошее)." in client.get(
        moved.headers["Location"]
    ).get_data(as_text=True)


def test_the_workers_report_of_an_import_is_in_the_collectors_language(
    client: FlaskClient,
) -> None:
    user = make_user()
    user.locale = "uk"
    make_pin("A-1")
    db.session.commit()
    login(client)
    job = _staged(client, "ref,quantity\nA-1,2\nNOPE-1,1\n")
    post_form(
        client, f"/lists/imports/{job.id}/start", {"mode": "all_or_nothing"},
        page=f"/lists/imports/{job.id}/preview",
    )  # fmt: skip
    _run_queued(job)  # the worker has no request, so no browser to take a language from
    db.session.refresh(job)
    assert job.status == "refused"
    assert job.errors[0]["message"] == "Невідомий каталожний номер «NOPE-1»."
    page = client.get(f"/lists/imports/{job.id}").get_data(as_text=True)
    assert "Імпортувати добрі рядки" in page
    assert "Нічого не імпортовано: у 1 рядку є помилки." in page


def test_the_lists_overview_speaks_estonian(client: FlaskClient) -> None:
    user = make_user()
    user.locale = "et"
    pin = make_pin("K-1", "Kremlin", themes=[theme("Space")])
    db.session.add(Have(user_id=user.id, pin_id=pin.id, quantity=2, condition=Condition.MINT))
    db.session.commit()
    login(client)
    html = client.get("/lists/").get_data(as_text=True)
    assert "<strong>1</strong> erinev märk" in html and "<strong>2</strong> eksemplari" in html
    assert "Impordi „Olemas“ (CSV)" in html and "Purgid: kogu teemade kaupa" in html
    haves = client.get("/lists/haves").get_data(as_text=True)
    assert "Laitmatu (Mint)" in haves and "Vahetuseks saadaval" in haves


def test_prices_are_written_the_readers_way(client: FlaskClient) -> None:
    user = make_user()
    pin = make_pin("K-1", "Kremlin")
    db.session.add(
        Have(user_id=user.id, pin_id=pin.id, condition=Condition.FINE, price=12.5, currency="EUR")
    )
    db.session.commit()
    login(client)
    assert "€12.50" in client.get("/lists/haves").get_data(as_text=True)
    client.set_cookie("lang", "ru")
    user.locale = "ru"
    db.session.commit()
    assert "12,50\xa0€" in client.get("/lists/haves").get_data(as_text=True)
