"""Accounts through the pages: sign-up, verification, login and logout, reset,
settings. Email links are taken from the stored messages the service rendered."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from marketplace.accounts.models import AccountToken, LoginSession, User
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.outbox import OutboxMessage
from marketplace.mail.models import MailMessage
from tests.support.accounts import run_reset_requests
from tests.support.factories import PASSWORD, make_user
from tests.support.web import login, post_form

LINK = re.compile(r"http://znachki\.test(/account/[\w/-]+)")


def last_mail(to: str) -> MailMessage:
    message = db.session.scalars(
        select(MailMessage).where(MailMessage.to_addr == to).order_by(MailMessage.id.desc())
    ).first()
    assert message is not None, f"no mail to {to}"
    return message


def link_in(message: MailMessage) -> str:
    match = LINK.search(message.body_text)
    assert match, message.body_text
    assert match.group(0) in message.body_html
    return match.group(1)


def signup(client: FlaskClient, email: str, password: str = PASSWORD, name: str = "Олена") -> str:
    response = post_form(
        client, "/account/signup", {"email": email, "password": password, "display_name": name}
    )
    return response.get_data(as_text=True)


def test_sign_up_verify_and_log_in(client: FlaskClient) -> None:
    page = signup(client, "Olena@Example.org")
    assert "Check your mail" in page
    user = db.session.scalar(select(User).where(User.email == "olena@example.org"))
    assert user is not None and user.email_verified_at is None
    assert user.password_hash.startswith("$argon2id$")
    message = last_mail("olena@example.org")
    assert message.kind == "verify_email" and message.status == "queued"
    outbox_row = db.session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
    assert outbox_row is not None
    assert outbox_row.task == "workers.tasks.deliver_mail"
    assert outbox_row.payload == {"message_id": message.id}

    # Not verified yet: the right password still does not open the account.
    refused = login(client, "olena@example.org")
    assert refused.status_code == 422
    assert "Confirm your email" in refused.get_data(as_text=True)

    assert client.get(link_in(message)).status_code == 302
    assert login(client, "olena@example.org").status_code == 302
    assert "Олена" in client.get("/").get_data(as_text=True)
    # The link worked once.
    assert client.get(link_in(message)).status_code == 400


def test_sign_up_answers_the_same_for_a_taken_address(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    fresh = signup(client, "new@example.org")
    taken = signup(client, "ivan@example.org")
    assert "Check your mail" in fresh and "Check your mail" in taken
    assert last_mail("ivan@example.org").kind == "account_exists"
    assert db.session.scalar(select(func.count(User.id))) == 2


def test_sign_up_form_errors_are_per_field(client: FlaskClient) -> None:
    response = post_form(
        client,
        "/account/signup",
        {"email": "not-an-address", "password": "short", "display_name": ""},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="email-error"' in page and 'id="password-error"' in page
    assert 'id="display_name-error"' in page
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_login_answers_the_same_for_unknown_email_and_wrong_password(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    unknown = login(client, "nobody@example.org", PASSWORD)
    wrong = login(client, "ivan@example.org", "wrong password!")
    assert unknown.status_code == wrong.status_code == 422
    for response in (unknown, wrong):
        assert "Invalid email or password." in response.get_data(as_text=True)


def test_state_changing_forms_need_csrf(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    response = client.post(
        "/account/login", data={"email": "ivan@example.org", "password": PASSWORD}
    )
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_session_cookie_flags(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    response = login(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_logout_ends_the_session_on_the_server(client: FlaskClient, app: Flask) -> None:
    make_user("ivan@example.org")
    login(client)
    stolen = client.get_cookie("session")
    assert stolen is not None
    assert client.get("/account/settings").status_code == 200
    post_form(client, "/account/logout", {}, page="/account/settings")
    assert db.session.scalar(select(func.count(LoginSession.id))) == 0

    replay = app.test_client()
    replay.set_cookie("session", stolen.value)
    response = replay.get("/account/settings")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_login_is_throttled_per_account(client: FlaskClient, app: Flask) -> None:
    make_user("ivan@example.org")
    statuses = [login(client, "ivan@example.org", "wrong password!").status_code for _ in range(6)]
    assert statuses[:5] == [422] * 5 and statuses[5] == 429
    # The right password is refused too while the account is throttled.
    assert login(client, "ivan@example.org").status_code == 429
    # Another account from the same address is not affected.
    make_user("olena@example.org")
    assert login(client, "olena@example.org").status_code == 302


def test_login_is_throttled_per_ip(client: FlaskClient) -> None:
    statuses = [
        login(client, f"user{i}@example.org", "wrong password!").status_code for i in range(31)
    ]
    assert statuses[-1] == 429 and 429 not in statuses[:30]


def test_password_reset_is_single_use_and_expires(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    page = post_form(client, "/account/reset", {"email": "ivan@example.org"}).get_data(as_text=True)
    unknown = post_form(client, "/account/reset", {"email": "ghost@example.org"}).get_data(
        as_text=True
    )
    assert "Check your mail" in page and "Check your mail" in unknown
    # The worker looks the addresses up: a link for the account, nothing for the other.
    assert run_reset_requests() == ["sent", "no_account"]
    assert (
        db.session.scalar(
            select(func.count(MailMessage.id)).where(MailMessage.to_addr == "ghost@example.org")
        )
        == 0
    )

    path = link_in(last_mail("ivan@example.org"))
    new = "a brand new password"
    response = post_form(client, path, {"password": new, "confirm": new})
    assert response.status_code == 302
    assert login(client, "ivan@example.org", new).status_code == 302
    assert client.get(path).status_code == 400  # used

    post_form(client, "/account/reset", {"email": "ivan@example.org"})
    run_reset_requests()
    expired = link_in(last_mail("ivan@example.org"))
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(expired).status_code == 400


def test_password_reset_ends_every_session(client: FlaskClient, app: Flask) -> None:
    make_user("ivan@example.org")
    login(client)
    other = app.test_client()
    post_form(other, "/account/reset", {"email": "ivan@example.org"})
    run_reset_requests()
    path = link_in(last_mail("ivan@example.org"))
    post_form(
        other, path, {"password": "another long password", "confirm": "another long password"}
    )
    assert client.get("/account/settings").status_code == 302


def test_change_password_asks_for_the_current_one(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    login(client)
    wrong = post_form(
        client,
        "/account/settings/password",
        {
            "password-current_password": "not it at all",
            "password-new_password": "new long password",
        },
        page="/account/settings",
    )
    assert wrong.status_code == 422 and "That password is not right." in wrong.get_data(
        as_text=True
    )
    right = post_form(
        client,
        "/account/settings/password",
        {"password-current_password": PASSWORD, "password-new_password": "new long password"},
        page="/account/settings",
    )
    assert right.status_code == 302
    assert client.get("/account/settings").status_code == 200  # this browser stays in


def test_change_email_is_confirmed_from_the_new_address(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    login(client)
    response = post_form(
        client,
        "/account/settings/email",
        {"email-new_email": "ivan.new@example.org", "email-password": PASSWORD},
        page="/account/settings",
    )
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user is not None and user.email == "ivan@example.org"
    client.get(link_in(last_mail("ivan.new@example.org")))
    db.session.expire_all()
    assert db.session.scalar(select(User.email)) == "ivan.new@example.org"
    assert last_mail("ivan@example.org").kind == "email_changed"


def test_delete_account_needs_the_password(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    login(client)
    refused = post_form(
        client,
        "/account/settings/delete",
        {"delete-password": "nope nope"},
        page="/account/settings",
    )
    assert refused.status_code == 422
    assert db.session.scalar(select(func.count(User.id))) == 1
    done = post_form(
        client, "/account/settings/delete", {"delete-password": PASSWORD}, page="/account/settings"
    )
    assert done.status_code == 302
    assert db.session.scalar(select(func.count(User.id))) == 0
    assert db.session.scalar(select(func.count(LoginSession.id))) == 0


def test_tokens_from_the_settings_page(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    login(client)
    response = post_form(
        client, "/account/settings/tokens", {"token-name": "my script"}, page="/account/settings"
    )
    page = response.get_data(as_text=True)
    token = re.search(r'id="new-token">(znk_[\w-]+)<', page)
    assert token
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.group(1)}"}).json[
            "email"
        ]
        == "ivan@example.org"
    )


def test_account_mail_is_in_the_members_language_not_the_askers(client: FlaskClient) -> None:
    mari = make_user("mari@example.org", name="Mari")
    mari.locale = "et"
    db.session.commit()
    # Someone with a Russian browser signs up with Mari's address: she reads Estonian.
    client.set_cookie("lang", "ru")
    page = signup(client, "mari@example.org")
    assert "Проверьте почту" in page
    told = last_mail("mari@example.org")
    assert told.subject == "Keegi püüdis sinu aadressiga registreeruda"
    assert told.body_text.startswith("Tere, Mari!")
    assert ">Logi sisse</a>" in told.body_html and "Hello" not in told.body_html
    # A new member keeps the language the sign-up page was read in.
    signup(client, "new@example.org")
    assert last_mail("new@example.org").subject == "Подтвердите почту для Znachki Exchange"


def test_a_new_member_keeps_the_language_they_signed_up_in(client: FlaskClient) -> None:
    client.set_cookie("lang", "uk")
    signup(client, "taras@example.org", name="Тарас")
    user = db.session.scalar(select(User).where(User.email == "taras@example.org"))
    assert user is not None and user.locale == "uk"
    message = last_mail("taras@example.org")
    assert message.subject == "Підтвердьте пошту для Znachki Exchange"
    # The API signs up in the language its caller asks for.
    answer = client.post(
        "/api/v1/users",
        json={"email": "kadri@example.org", "password": PASSWORD, "display_name": "Kadri"},
        headers={"Accept-Language": "et"},
    )
    assert answer.status_code == 202
    kadri = db.session.scalar(select(User).where(User.email == "kadri@example.org"))
    assert kadri is not None and kadri.locale == "et"
