"""End to end over real parts: a listing bought through the page and through the
API → the real `stripe` SDK against the local Stripe-compatible server → a signed
webhook → outbox → Redis → a Celery worker process that re-fetches the session and
fulfils → SMTP. The app has its own database and Redis database so that it does
not share a queue with the other integration tests' worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from marketplace import create_app
from marketplace.core.extensions import db
from marketplace.orders.models import Order
from tests.support.app import committed_database, make_settings, migrate, wipe
from tests.support.factories import make_user
from tests.support.orders import STRIPE_ENV, make_listing, make_seller, post_event
from tests.support.smtp_server import SmtpServer
from tests.support.stripe_server import FakeStripe
from tests.support.web import api_token, bearer, login, post_form
from tests.support.worker import Worker

pytestmark = pytest.mark.integration


def wait_until(predicate: Callable[[], Any], timeout: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shop_env(
    request: pytest.FixtureRequest,
    workdir: Path,
    redis_url: str,
    smtp: SmtpServer,
    fake: FakeStripe,
) -> dict[str, str]:
    return {
        "ZNACHKI_ENV": "testing",
        "SECRET_KEY": "integration-secret",
        "DATABASE_URL": committed_database(request.config, workdir, "znachki_orders_it"),
        "REDIS_URL": redis_url.rstrip("/") + "/3",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "MAIL_RETRY_BASE_SECONDS": "0.2",
        "BASE_URL": "http://znachki.test",
        "BROKER_DIR": str(workdir / "broker-orders"),
        "STRIPE_API_BASE": fake.url,
        **STRIPE_ENV,
    }


@pytest.fixture(scope="module")
def shop(shop_env: dict[str, str], workdir: Path, smtp: SmtpServer) -> Iterator[Flask]:
    app = create_app(make_settings(shop_env["DATABASE_URL"], workdir, **shop_env))
    migrate(app)
    worker = Worker(shop_env, workdir / "orders-worker.log").start()
    yield app
    worker.stop()
    app.extensions["db_engine"].dispose()


@pytest.fixture()
def live_shop(shop: Flask, fake: FakeStripe, smtp: SmtpServer) -> Flask:
    wipe(shop)
    fake.reset()
    smtp.handler.reset()
    return shop


def order_mail(smtp: SmtpServer, count: int) -> list[tuple[str, str]]:
    """(recipient, subject) of the order emails (sign-up sent verification mail too)."""

    def found() -> list[tuple[str, str]]:
        got = [
            (m.rcpt_tos[0], str(m.message["Subject"]))
            for m in list(smtp.handler.received)
            if str(m.message["Subject"]).startswith(("Payment received", "Sold:"))
        ]
        return sorted(got) if len(got) >= count else []

    return wait_until(found)  # type: ignore[no-any-return]


def order_status(app: Flask, order_id: int) -> str:
    with app.app_context():
        order = db.session.get(Order, order_id)
        assert order is not None
        return order.status


def setup_listing(app: Flask, fake: FakeStripe) -> int:
    with app.app_context():
        have = make_listing(make_seller(app, fake), price="19.90", quantity=2)
        make_user("buyer@example.org", name="Покупатель")
        db.session.commit()
        return have.id


def test_bought_through_the_page_paid_by_signed_webhook(
    live_shop: Flask, fake: FakeStripe, smtp: SmtpServer
) -> None:
    have_id = setup_listing(live_shop, fake)
    client = live_shop.test_client()
    login(client, "buyer@example.org")
    response = post_form(client, f"/listings/{have_id}/buy", {}, page=f"/listings/{have_id}")
    assert response.status_code == 303
    session_id = response.location.rsplit("/", 1)[-1]
    order_id = int(fake.sessions[session_id]["client_reference_id"])
    assert order_status(live_shop, order_id) == "pending"

    session = fake.complete_session(session_id)
    body = FakeStripe.event("checkout.session.completed", session)
    for _ in range(2):  # Stripe delivers twice
        assert post_event(client, body).status_code == 200
    assert wait_until(lambda: order_status(live_shop, order_id) == "paid")
    sent = order_mail(smtp, 2)
    assert [to for to, _ in sent] == ["buyer@example.org", "seller@example.org"]
    time.sleep(1.0)  # nothing else is on its way
    assert len(order_mail(smtp, 2)) == 2
    assert "Paid" in client.get(f"/orders/{order_id}").get_data(as_text=True)


def test_bought_through_the_api_paid_by_signed_webhook(
    live_shop: Flask, fake: FakeStripe, smtp: SmtpServer
) -> None:
    have_id = setup_listing(live_shop, fake)
    with live_shop.app_context():
        from sqlalchemy import select

        from marketplace.accounts.models import User

        buyer = db.session.scalar(select(User).where(User.email == "buyer@example.org"))
        assert buyer is not None
        token = api_token(buyer)
    client = live_shop.test_client()
    created = client.post("/api/v1/orders", json={"have_id": have_id}, headers=bearer(token))
    assert created.status_code == 201, created.get_data(as_text=True)
    order = created.json
    assert order["checkout_url"].startswith("https://checkout.stripe.com/c/pay/")
    session_id = order["checkout_url"].rsplit("/", 1)[-1]

    session = fake.complete_session(session_id)
    assert (
        post_event(client, FakeStripe.event("checkout.session.completed", session)).status_code
        == 200
    )

    def paid() -> bool:
        got = client.get(f"/api/v1/orders/{order['id']}", headers=bearer(token)).json
        return bool(got["status"] == "paid")

    assert wait_until(paid)
    assert [to for to, _ in order_mail(smtp, 2)] == ["buyer@example.org", "seller@example.org"]
