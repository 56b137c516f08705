"""Money and names that look like values but are not: amounts finer than their
currency's smallest unit, codes that are no currency in use, and display names
with no visible character. Refused by the one check each goes through, whether it
came from a page, the API or a CSV file."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.lists import csv_import as csvio
from marketplace.lists.models import Condition, Have, Want
from marketplace.lists.operations import parse_money
from tests.support.factories import PASSWORD, make_user
from tests.support.lists import make_pin
from tests.support.web import bearer, login, post_form, token_for


@pytest.mark.parametrize(
    ("amount", "currency", "field", "says"),
    [
        ("0.001", "EUR", "price", "EUR has 2 decimal places"),
        ("12.50", "JPY", "price", "JPY has no minor unit"),
        ("12.5", "jpy", "price", "JPY has no minor unit"),
        ("1.005", "KWD", "price", "at most 2 decimal places"),  # 3 in ISO, 2 in storage
        ("5", "ZZZ", "currency", "'ZZZ' is not a currency in use"),
        ("5", "XXX", "currency", "'XXX' is not a currency in use"),  # ISO's "no currency"
        ("5", "SUR", "currency", "'SUR' is not a currency in use"),  # the Soviet rouble
        ("5", "EU", "currency", "three-letter code"),
        ("5", "", "currency", "three-letter code"),
    ],
)
def test_money_the_currency_cannot_hold_is_refused(
    amount: str, currency: str, field: str, says: str
) -> None:
    with pytest.raises(DomainError) as refused:
        parse_money(amount, currency)
    assert refused.value.field == field
    assert says in refused.value.message


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("12", "JPY", (Decimal("12.00"), "JPY")),
        ("12.50", "eur", (Decimal("12.50"), "EUR")),
        ("0.01", "USD", (Decimal("0.01"), "USD")),
        ("150.5", "RUB", (Decimal("150.50"), "RUB")),
        ("1.25", "KWD", (Decimal("1.25"), "KWD")),
        ("-0", "EUR", (Decimal("0.00"), "EUR")),
        ("1E+2", "UAH", (Decimal("100.00"), "UAH")),
    ],
)
def test_money_a_currency_can_hold_is_kept_exactly(
    amount: str, currency: str, expected: tuple[Decimal, str]
) -> None:
    value, code = parse_money(amount, currency)
    assert (value, code) == expected
    assert value is not None and not value.is_signed()


def api_headers(client: FlaskClient) -> dict[str, str]:
    make_user()
    return bearer(token_for(client))


def committed_pin(ref: str) -> int:
    """A pin that outlives a refused request's rollback."""
    pin_id = make_pin(ref).id
    db.session.commit()
    return pin_id


def test_api_refuses_a_price_finer_than_a_cent_instead_of_rounding_it(
    client: FlaskClient,
) -> None:
    headers = api_headers(client)
    pin_id = committed_pin("GAG-1961")
    response = client.post(
        "/api/v1/me/haves",
        json={"pin_id": pin_id, "price": "0.001", "currency": "EUR"},
        headers=headers,
    )
    assert response.status_code == 400, response.json
    assert "EUR has 2 decimal places" in response.json["errors"]["price"][0]
    assert db.session.scalar(select(func.count(Have.id))) == 0


def test_api_refuses_yen_with_sen_and_unknown_currencies(client: FlaskClient) -> None:
    headers = api_headers(client)
    pin_id = committed_pin("GAG-1961")
    yen = client.post(
        "/api/v1/me/haves",
        json={"pin_id": pin_id, "price": "12.50", "currency": "JPY"},
        headers=headers,
    )
    assert yen.status_code == 400 and "JPY has no minor unit" in yen.json["detail"]
    made_up = client.post(
        "/api/v1/me/wants",
        json={"pin_id": pin_id, "max_price": "5", "currency": "ZZZ"},
        headers=headers,
    )
    assert made_up.status_code == 400 and "currency" in made_up.json["errors"]
    assert db.session.scalar(select(func.count(Have.id))) == 0
    assert db.session.scalar(select(func.count(Want.id))) == 0


def test_the_have_page_refuses_yen_with_sen(client: FlaskClient) -> None:
    user = make_user()
    pin = make_pin("A-1")
    have = Have(user_id=user.id, pin_id=pin.id, quantity=1, condition=Condition.FINE)
    db.session.add(have)
    db.session.flush()
    login(client)
    response = post_form(
        client,
        f"/lists/haves/{have.id}/edit",
        {"quantity": "1", "condition": "fine", "price": "12.50", "currency": "JPY"},
        page="/lists/haves",
    )
    assert response.status_code == 422
    assert "JPY has no minor unit" in response.get_data(as_text=True)
    db.session.refresh(have)
    assert have.price is None


def test_a_csv_import_names_the_rows_with_impossible_money(app_ctx: Flask) -> None:
    user = make_user()
    make_pin("A-1")
    make_pin("A-2")
    make_pin("A-3")
    text = (
        "ref,quantity,condition,price,currency\n"
        "A-1,1,fine,12.50,JPY\n"
        "A-2,1,fine,3,ZZZ\n"
        "A-3,1,fine,0.001,EUR\n"
    )
    result = csvio.import_bytes(db.session(), user, "haves", text.encode())
    assert not result.applied
    assert [(e.row, e.column) for e in result.errors] == [
        (2, "price"),
        (3, "currency"),
        (4, "price"),
    ]
    assert "JPY has no minor unit" in result.errors[0].message


INVISIBLE_NAMES = [
    "\u200b\u200b\u200b",  # zero-width spaces
    "\u202e",  # right-to-left override
    " \u2066\u200d\u2069 ",  # isolates and a zero-width joiner, in spaces
    "\u3164\u3164",  # Hangul fillers: letters that draw nothing
    "\ufeff\u00ad",  # a byte-order mark and a soft hyphen
]


@pytest.mark.parametrize("name", INVISIBLE_NAMES)
def test_sign_up_refuses_a_name_nobody_can_see(client: FlaskClient, name: str) -> None:
    page = post_form(
        client,
        "/account/signup",
        {"email": "olena@example.org", "password": PASSWORD, "display_name": name},
    )
    assert page.status_code == 422
    assert "visible character" in page.get_data(as_text=True)
    api = client.post(
        "/api/v1/users",
        json={"email": "olena@example.org", "password": PASSWORD, "display_name": name},
    )
    assert api.status_code == 400
    assert "visible character" in api.json["errors"]["display_name"][0]
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_direction_overrides_are_taken_out_of_a_name(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/users",
        json={
            "email": "olena@example.org",
            "password": PASSWORD,
            "display_name": "\u200b Олена\u202e\u2067 Ковальчук \u200b",
        },
    )
    assert response.status_code == 202
    assert db.session.scalar(select(User.display_name)) == "Олена Ковальчук"
