"""Passwords: scored by zxcvbn (below 3 is refused, saying why) at sign-up,
password change and reset, in pages and the API; and compared in Unicode's NFKC
form, so a password typed composed or decomposed, or in full-width letters, is the
same password — also for accounts whose hash was made before normalisation."""

from __future__ import annotations

import re
import unicodedata

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.accounts.operations import check_password
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.mail.models import MailMessage
from tests.support.accounts import run_reset_requests
from tests.support.factories import PASSWORD, make_user
from tests.support.web import login, post_form

WEAK = ["aaaaaaaaaa", "password12", "1234567890", " " * 10, "\u200b" * 10]
WEAK_IDS = ["repeated", "common", "digits", "spaces", "zero-width"]


@pytest.mark.parametrize("weak", WEAK, ids=WEAK_IDS)
def test_weak_passwords_are_refused_with_a_reason(app_ctx: Flask, weak: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_password(weak, "ivan@example.org")
    assert refused.value.field == "password"
    assert "easy to guess" in refused.value.message
    # zxcvbn's own words say what is wrong or what would help.
    assert re.search(r"(common|Repeats|Add another word)", refused.value.message)


def test_the_suites_password_is_strong(app_ctx: Flask) -> None:
    check_password(PASSWORD, "ivan@example.org")


def test_a_password_built_from_the_name_or_address_is_refused(app_ctx: Flask) -> None:
    with pytest.raises(DomainError, match="easy to guess"):
        check_password("ivanpetrov1961", "ivan.petrov1961@example.org", name="Ivan Petrov")


@pytest.mark.parametrize("weak", WEAK, ids=WEAK_IDS)
def test_sign_up_page_refuses_weak_passwords(client: FlaskClient, weak: str) -> None:
    response = post_form(
        client,
        "/account/signup",
        {"email": "olena@example.org", "password": weak, "display_name": "Олена"},
    )
    assert response.status_code == 422
    assert "easy to guess" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(User.id))) == 0


@pytest.mark.parametrize("weak", WEAK, ids=WEAK_IDS)
def test_sign_up_api_refuses_weak_passwords(client: FlaskClient, weak: str) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": "olena@example.org", "password": weak, "display_name": "Олена"},
    )
    assert response.status_code == 400
    assert "easy to guess" in response.json["errors"]["password"][0]
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_password_change_refuses_a_weak_password(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    login(client)
    response = post_form(
        client,
        "/account/settings/password",
        {"password-current_password": PASSWORD, "password-new_password": "password12"},
        page="/account/settings",
    )
    assert response.status_code == 422 and "easy to guess" in response.get_data(as_text=True)


def reset_link(client: FlaskClient, email: str) -> str:
    post_form(client, "/account/reset", {"email": email})
    assert run_reset_requests() == ["sent"]
    message = db.session.scalars(select(MailMessage).order_by(MailMessage.id.desc())).first()
    assert message is not None
    match = re.search(r"http://znachki\.test(/account/reset/[\w-]+)", message.body_text)
    assert match
    return match.group(1)


def test_password_reset_refuses_a_weak_password(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    path = reset_link(client, "ivan@example.org")
    response = post_form(client, path, {"password": "1234567890", "confirm": "1234567890"})
    assert response.status_code == 422 and "easy to guess" in response.get_data(as_text=True)
    assert login(client).status_code == 302  # the old password still works


COMPOSED = "Café crème brûlée à minuit"
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)
FULL_WIDTH = "Ｃａｆé crème brûlée à minuit"


def test_any_unicode_spelling_of_a_password_is_the_same_password(client: FlaskClient) -> None:
    assert COMPOSED != DECOMPOSED
    post_form(
        client,
        "/account/signup",
        {"email": "olena@example.org", "password": DECOMPOSED, "display_name": "Олена"},
    )
    user = db.session.scalar(select(User))
    assert user is not None
    user.email_verified_at = user.created_at
    db.session.flush()
    for spelling in (COMPOSED, DECOMPOSED, FULL_WIDTH):
        assert login(client, "olena@example.org", spelling).status_code == 302, spelling
        post_form(client, "/account/logout", {}, page="/account/settings")


def test_a_hash_made_before_normalisation_still_opens_and_is_upgraded(
    client: FlaskClient,
) -> None:
    # The account's hash was made from the decomposed form, as typed at the time.
    user = make_user("ivan@example.org", password=DECOMPOSED)
    old_hash = user.password_hash
    assert login(client, "ivan@example.org", DECOMPOSED).status_code == 302
    post_form(client, "/account/logout", {}, page="/account/settings")
    db.session.refresh(user)
    assert user.password_hash != old_hash  # rehashed from the normalised form
    # From now on every spelling works.
    assert login(client, "ivan@example.org", COMPOSED).status_code == 302
