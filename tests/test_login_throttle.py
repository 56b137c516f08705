"""Login throttling counts wrong passwords per account and client address and per
client address, so someone guessing cannot lock the owner out: not from another
address, and not from a device the owner logged in on before, even behind the
guesser's address. Successful logins count for nothing."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from marketplace.accounts.login_throttle import DEVICE_COOKIE
from tests.support.factories import PASSWORD, make_user
from tests.support.web import login, post_form

WRONG = "not the password at all"


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def guess(client: FlaskClient, times: int, email: str = "ivan@example.org") -> list[int]:
    return [login(client, email, WRONG).status_code for _ in range(times)]


def log_out(client: FlaskClient) -> None:
    post_form(client, "/account/logout", {}, page="/account/settings")


def test_an_attackers_failures_do_not_lock_the_owner_out_elsewhere(app_ctx: Flask) -> None:
    make_user("ivan@example.org")
    attacker = client_at(app_ctx, "203.0.113.9")
    assert guess(attacker, 6) == [422] * 5 + [429]
    owner = client_at(app_ctx, "198.51.100.7")
    assert login(owner).status_code == 302


def test_successful_logins_do_not_count(app_ctx: Flask) -> None:
    make_user("ivan@example.org")
    owner = client_at(app_ctx, "198.51.100.7")
    for _ in range(8):
        assert login(owner).status_code == 302
        log_out(owner)
    # Eight logins later, the owner still has every mistake of the minute left.
    assert guess(owner, 5) == [422] * 5


def test_a_known_device_gets_in_where_its_address_is_throttled(app_ctx: Flask) -> None:
    make_user("ivan@example.org")
    shared_address = "192.0.2.44"  # one café, one NAT: owner and attacker look alike
    owner = client_at(app_ctx, shared_address)
    assert login(owner).status_code == 302
    assert owner.get_cookie(DEVICE_COOKIE) is not None
    log_out(owner)

    attacker = client_at(app_ctx, shared_address)
    assert guess(attacker, 6) == [422] * 5 + [429]
    # The attacker stays throttled, even with the right password...
    assert login(attacker).status_code == 429
    # ...while the owner's device, known from its earlier login, gets in.
    assert login(owner).status_code == 302


def test_a_known_device_is_counted_on_its_own(app_ctx: Flask) -> None:
    make_user("ivan@example.org")
    device = client_at(app_ctx, "198.51.100.7")
    assert login(device).status_code == 302
    log_out(device)
    assert guess(device, 6) == [422] * 5 + [429]
    # A stolen device cookie buys no more guesses than the address had.
    thief = client_at(app_ctx, "203.0.113.9")
    cookie = device.get_cookie(DEVICE_COOKIE)
    assert cookie is not None
    thief.set_cookie(DEVICE_COOKIE, cookie.value)
    assert login(thief, "ivan@example.org", WRONG).status_code == 429


def test_a_device_known_for_one_account_is_a_stranger_to_another(app_ctx: Flask) -> None:
    make_user("ivan@example.org")
    make_user("olena@example.org")
    client = client_at(app_ctx, "198.51.100.7")
    assert login(client).status_code == 302
    log_out(client)
    assert guess(client, 6, "olena@example.org") == [422] * 5 + [429]
    assert login(client, "olena@example.org", PASSWORD).status_code == 429
    assert login(client).status_code == 302  # still known to Ivan's account


def test_one_address_guessing_across_accounts_is_throttled(app_ctx: Flask) -> None:
    attacker = client_at(app_ctx, "203.0.113.9")
    statuses = [login(attacker, f"user{i}@example.org", WRONG).status_code for i in range(31)]
    assert statuses == [422] * 30 + [429]
    make_user("ivan@example.org")
    assert login(client_at(app_ctx, "198.51.100.7")).status_code == 302


def test_the_token_endpoint_counts_only_failures_too(app_ctx: Flask) -> None:
    make_user("ivan@example.org")
    client = client_at(app_ctx, "198.51.100.7")
    right = {"email": "ivan@example.org", "password": PASSWORD, "name": "cli"}
    assert [client.post("/api/v1/tokens", json=right).status_code for _ in range(7)] == [201] * 7
    wrong = {**right, "password": WRONG}
    statuses = [client.post("/api/v1/tokens", json=wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    other = client_at(app_ctx, "203.0.113.80")
    assert other.post("/api/v1/tokens", json=right).status_code == 201
