"""The address book: its verbs and refusals (`AddressBook`), its pages under
/account/addresses (forms with CSRF, per-field errors, another collector's address
a 404), and its API under /api/v1/me/addresses with the OpenAPI document."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.accounts.addresses import MAX_ADDRESSES, AddressBook, snapshot_as_given
from marketplace.accounts.models import Address, User, address_lines
from marketplace.core.errors import DomainError, InvalidInput, NotFound
from marketplace.core.extensions import db
from tests.support.addresses import KYIV, TALLINN, make_address
from tests.support.factories import make_user
from tests.support.web import api_token, bearer, login, post_form

pytestmark = pytest.mark.usefixtures("app_ctx")


def book() -> AddressBook:
    return AddressBook(db.session())


def address_count(user: User) -> int:
    return int(db.session.scalar(select(func.count()).where(Address.user_id == user.id)) or 0)


# -- the verbs ----------------------------------------------------------------------------


def test_the_first_address_is_the_default_and_the_default_comes_first() -> None:
    ivan = make_user("ivan@example.org")
    first = book().add(ivan, TALLINN)
    second = book().add(ivan, {**KYIV, "country": " ua "})
    assert first.is_default and not second.is_default
    assert second.country == "UA"  # trimmed and upper-cased
    assert second.line2 == "" and second.phone == ""

    book().make_default(ivan, second.id)
    db.session.refresh(first)
    assert not first.is_default
    assert [a.id for a in book().addresses(ivan)] == [second.id, first.id]
    assert book().default(ivan.id) == second
    assert book().ship_to(ivan) == second.snapshot()
    assert book().ship_to(ivan, first.id)["city"] == "Tallinn"


def test_missing_fields_and_a_bad_country_are_named_field_by_field() -> None:
    ivan = make_user("ivan@example.org")
    with pytest.raises(InvalidInput) as missing:
        book().add(ivan, {"line2": "кв. 1", "country": ""})
    assert set(missing.value.errors) == {"name", "line1", "city", "country"}
    assert missing.value.errors["name"] == ["Recipient is required."]

    for country in ("EST", "E1", "Ээ", "1"):
        with pytest.raises(InvalidInput) as bad:
            book().add(ivan, {**TALLINN, "country": country})
        assert list(bad.value.errors) == ["country"], country

    with pytest.raises(InvalidInput) as long:
        book().add(ivan, {**TALLINN, "line1": "я" * 201, "phone": "\x07ring"})
    assert long.value.errors == {
        "line1": ["At most 200 characters."],
        "phone": ["Control characters are not allowed."],
    }
    assert address_count(ivan) == 0


def test_an_address_book_holds_ten() -> None:
    ivan = make_user("ivan@example.org")
    for n in range(MAX_ADDRESSES):
        book().add(ivan, {**TALLINN, "line1": f"Narva mnt {n + 1}"})
    with pytest.raises(DomainError, match="at most 10 addresses"):
        book().add(ivan, KYIV)
    assert address_count(ivan) == MAX_ADDRESSES


def test_update_changes_only_what_is_given_and_checks_the_result() -> None:
    ivan = make_user("ivan@example.org")
    address = book().add(ivan, TALLINN)
    book().update(ivan, address.id, {"line2": "", "postal_code": "10111"})
    assert (address.line1, address.line2, address.postal_code) == ("Narva mnt 5", "", "10111")
    with pytest.raises(InvalidInput) as refused:
        book().update(ivan, address.id, {"city": "  "})
    assert list(refused.value.errors) == ["city"]


def test_deleting_the_default_hands_it_to_the_oldest_left() -> None:
    ivan = make_user("ivan@example.org")
    first = book().add(ivan, TALLINN)
    second = book().add(ivan, KYIV)
    third = book().add(ivan, {**KYIV, "line1": "вул. Січових Стрільців, 1"})
    book().make_default(ivan, third.id)
    book().delete(ivan, third.id)
    db.session.refresh(first)
    assert first.is_default
    assert [a.id for a in book().addresses(ivan)] == [first.id, second.id]
    book().delete(ivan, first.id)
    book().delete(ivan, second.id)
    assert book().default(ivan.id) is None
    with pytest.raises(DomainError, match="Add a postal address") as none:
        book().ship_to(ivan)
    assert none.value.field == "address_id"


def test_another_collectors_address_is_not_found() -> None:
    ivan = make_user("ivan@example.org")
    olena = make_user("olena@example.org")
    hers = book().add(olena, KYIV)
    for verb in (
        lambda: book().get(ivan, hers.id),
        lambda: book().update(ivan, hers.id, {"city": "Tallinn"}),
        lambda: book().make_default(ivan, hers.id),
        lambda: book().delete(ivan, hers.id),
        lambda: book().ship_to(ivan, hers.id),
    ):
        with pytest.raises(NotFound):
            verb()
    db.session.refresh(hers)
    assert hers.city == "Київ" and hers.is_default


def test_an_address_given_elsewhere_is_kept_as_given_within_our_lengths() -> None:
    kept = snapshot_as_given(
        {"name": " Иван\tПетров ", "line1": "x" * 300, "country": "ee", "city": None}
    )
    assert kept["name"] == "Иван Петров"
    assert len(kept["line1"]) == 200
    assert (kept["country"], kept["city"], kept["phone"]) == ("EE", "", "")
    assert address_lines(kept) == ["Иван Петров", "x" * 200, "EE"]


# -- the pages ----------------------------------------------------------------------------


def test_add_change_choose_and_delete_addresses_on_the_pages(client: FlaskClient) -> None:
    ivan = make_user("ivan@example.org")
    login(client)
    settings = client.get("/account/settings").get_data(as_text=True)
    assert 'href="/account/addresses/"' in settings and "no postal address yet" in settings
    assert "No addresses yet" in client.get("/account/addresses/").get_data(as_text=True)

    form = client.get("/account/addresses/new").get_data(as_text=True)
    assert 'autocomplete="address-line1"' in form and 'name="csrf_token"' in form
    added = post_form(client, "/account/addresses/new", TALLINN)
    assert added.status_code == 302 and added.location.endswith("/account/addresses/")
    post_form(client, "/account/addresses/new", KYIV)
    tallinn, kyiv = book().addresses(ivan)
    assert (tallinn.city, tallinn.is_default, kyiv.city) == ("Tallinn", True, "Київ")

    listing = client.get("/account/addresses/").get_data(as_text=True)
    assert (
        listing.index("★ Default address")
        < listing.index("Narva mnt 5")
        < listing.index("вул. Хрещатик, 22")
    )
    assert "Phone: +372 5555 1234" in listing

    page = f"/account/addresses/{kyiv.id}/edit"
    assert "вул. Хрещатик, 22" in client.get(page).get_data(as_text=True)  # filled in
    changed = post_form(
        client, page, {**KYIV, "line2": "кв. 7", "is_default": "y"}, follow_redirects=True
    )
    assert "Address saved." in changed.get_data(as_text=True)
    db.session.refresh(kyiv)
    db.session.refresh(tallinn)
    assert kyiv.line2 == "кв. 7" and kyiv.is_default and not tallinn.is_default

    back = post_form(
        client, f"/account/addresses/{tallinn.id}/default", {}, page="/account/addresses/"
    )
    assert back.status_code == 302
    db.session.refresh(tallinn)
    assert tallinn.is_default

    post_form(client, f"/account/addresses/{tallinn.id}/delete", {}, page="/account/addresses/")
    assert [a.id for a in book().addresses(ivan)] == [kyiv.id]
    db.session.refresh(kyiv)
    assert kyiv.is_default
    settings = client.get("/account/settings").get_data(as_text=True)
    assert "Parcels you buy come to:" in settings and "вул. Хрещатик, 22" in settings


def test_the_form_names_each_wrong_field(client: FlaskClient) -> None:
    ivan = make_user("ivan@example.org")
    login(client)
    refused = post_form(
        client,
        "/account/addresses/new",
        {"name": "", "line1": "я" * 201, "city": "Tallinn", "country": "Estonia"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    for field, message in (
        ("name", "Recipient is required."),
        ("line1", "At most 200 characters."),
        ("country", "A two-letter country code, such as EE, UA or DE."),
    ):
        assert f'<p class="error" id="{field}-error">{message}</p>' in html, field
        assert re.search(rf'<input[^>]*aria-invalid="true"[^>]*id="{field}"', html) or re.search(
            rf'<input[^>]*id="{field}"[^>]*aria-invalid="true"', html
        ), field
    assert 'value="Tallinn"' in html  # what was right stays filled in
    assert address_count(ivan) == 0


def test_the_eleventh_address_is_refused_on_the_form(client: FlaskClient) -> None:
    ivan = make_user("ivan@example.org")
    for n in range(MAX_ADDRESSES):
        make_address(ivan, line1=f"Narva mnt {n + 1}")
    login(client)
    assert "delete one to add another" in client.get("/account/addresses/").get_data(as_text=True)
    refused = post_form(client, "/account/addresses/new", KYIV)
    assert refused.status_code == 422
    assert "An address book holds at most 10 addresses." in refused.get_data(as_text=True)
    assert address_count(ivan) == MAX_ADDRESSES


def test_forms_without_their_csrf_token_change_nothing(client: FlaskClient) -> None:
    ivan = make_user("ivan@example.org")
    address = make_address(ivan)
    login(client)
    assert client.post("/account/addresses/new", data=KYIV).status_code == 400
    client.post(f"/account/addresses/{address.id}/delete")
    client.post(f"/account/addresses/{address.id}/edit", data={**TALLINN, "city": "Narva"})
    db.session.refresh(address)
    assert address_count(ivan) == 1 and address.city == "Tallinn"


def test_another_collectors_address_is_a_404_on_the_pages(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    hers = make_address(make_user("olena@example.org"), KYIV)
    login(client)
    assert client.get(f"/account/addresses/{hers.id}/edit").status_code == 404
    for action in ("edit", "default", "delete"):
        response = post_form(
            client,
            f"/account/addresses/{hers.id}/{action}",
            KYIV if action == "edit" else {},
            page="/account/addresses/",
        )
        assert response.status_code == 404, action
    db.session.refresh(hers)
    assert hers.city == "Київ"
    assert client.get("/account/addresses/").status_code == 200
    assert "Київ" not in client.get("/account/addresses/").get_data(as_text=True)


def test_saving_returns_to_the_page_that_asked_and_only_to_ours(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    login(client)
    back = post_form(
        client, "/account/addresses/new?next=/listings/7", TALLINN, page="/account/addresses/new"
    )
    assert back.location.endswith("/listings/7")
    away = post_form(
        client,
        "/account/addresses/new?next=//evil.example/x",
        KYIV,
        page="/account/addresses/new",
    )
    assert away.location.endswith("/account/addresses/")


def test_the_pages_need_a_login(client: FlaskClient) -> None:
    response = client.get("/account/addresses/")
    assert response.status_code == 302 and "/account/login" in response.location


# -- the API ------------------------------------------------------------------------------


def test_the_address_book_through_the_api(client: FlaskClient) -> None:
    ivan = make_user("ivan@example.org")
    auth = bearer(api_token(ivan))
    assert client.get("/api/v1/me/addresses", headers=auth).json == []

    created = client.post("/api/v1/me/addresses", json=TALLINN, headers=auth)
    assert created.status_code == 201, created.json
    first = created.json
    assert first["is_default"] is True and first["country"] == "EE"
    assert first["lines"] == [
        "Иван Петров",
        "Narva mnt 5",
        "кв. 12",
        "10117 Tallinn",
        "Harjumaa",
        "EE",
    ]
    second = client.post(
        "/api/v1/me/addresses", json={**KYIV, "is_default": True}, headers=auth
    ).json
    listed = client.get("/api/v1/me/addresses", headers=auth).json
    assert [a["id"] for a in listed] == [second["id"], first["id"]]
    assert [a["is_default"] for a in listed] == [True, False]

    patched = client.patch(
        f"/api/v1/me/addresses/{first['id']}", json={"line2": "", "phone": ""}, headers=auth
    )
    assert patched.status_code == 200
    assert (patched.json["line2"], patched.json["phone"], patched.json["city"]) == (
        "",
        "",
        "Tallinn",
    )
    made = client.post(f"/api/v1/me/addresses/{first['id']}/default", headers=auth)
    assert made.status_code == 200 and made.json["is_default"] is True
    assert client.delete(f"/api/v1/me/addresses/{first['id']}", headers=auth).status_code == 204
    left = client.get("/api/v1/me/addresses", headers=auth).json
    assert [(a["id"], a["is_default"]) for a in left] == [(second["id"], True)]


def test_api_refusals_are_problems_with_field_errors(client: FlaskClient) -> None:
    ivan = make_user("ivan@example.org")
    auth = bearer(api_token(ivan))
    missing = client.post("/api/v1/me/addresses", json={"line2": "кв. 1"}, headers=auth)
    assert missing.status_code == 422 and missing.mimetype == "application/problem+json"
    assert set(missing.json["errors"]) == {"name", "line1", "city", "country"}
    too_long = client.post(
        "/api/v1/me/addresses", json={**TALLINN, "postal_code": "1" * 21}, headers=auth
    )
    assert too_long.status_code == 422 and list(too_long.json["errors"]) == ["postal_code"]
    bad_country = client.post(
        "/api/v1/me/addresses", json={**TALLINN, "country": "EST"}, headers=auth
    )
    assert bad_country.status_code == 422 and list(bad_country.json["errors"]) == ["country"]
    assert address_count(ivan) == 0

    mine = client.post("/api/v1/me/addresses", json=TALLINN, headers=auth).json
    emptied = client.patch(f"/api/v1/me/addresses/{mine['id']}", json={"city": ""}, headers=auth)
    assert emptied.status_code == 422 and list(emptied.json["errors"]) == ["city"]
    for n in range(MAX_ADDRESSES - 1):
        make_address(ivan, line1=f"Narva mnt {n + 10}")
    full = client.post("/api/v1/me/addresses", json=KYIV, headers=auth)
    assert full.status_code == 400 and "at most 10" in full.json["detail"]
    assert client.get("/api/v1/me/addresses").status_code == 401


def test_another_collectors_address_is_a_404_in_the_api(client: FlaskClient) -> None:
    olena = make_user("olena@example.org")
    hers = make_address(olena, KYIV)
    auth = bearer(api_token(make_user("ivan@example.org")))
    url = f"/api/v1/me/addresses/{hers.id}"
    assert client.patch(url, json={"city": "Tallinn"}, headers=auth).status_code == 404
    assert client.delete(url, headers=auth).status_code == 404
    assert client.post(f"{url}/default", headers=auth).status_code == 404
    assert client.get("/api/v1/me/addresses", headers=auth).json == []
    db.session.refresh(hers)
    assert hers.city == "Київ"


def test_openapi_documents_the_address_book(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/me/addresses"])
    assert {"patch", "delete"} <= set(paths["/api/v1/me/addresses/{address_id}"])
    assert "post" in paths["/api/v1/me/addresses/{address_id}/default"]
    assert paths["/api/v1/me/addresses"]["post"]["security"] == [{"bearerAuth": []}]
    schemas = spec["components"]["schemas"]
    new = schemas["AddressIn"]
    assert set(new["required"]) == {"name", "line1", "city", "country"}
    assert new["properties"]["line1"]["maxLength"] == 200
    assert new["properties"]["postal_code"]["maxLength"] == 20
    assert "lines" in schemas["AddressOut"]["required"]
    assert "address_id" in schemas["OrderIn"]["properties"]
    assert "ship_to" in schemas["OrderOut"]["required"]
