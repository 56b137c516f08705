"""The money figures, on committed data with real concurrency: the app served over
HTTP by a threaded server (one connection and session per request), the real SDK
against the local Stripe-compatible server, on SQLite and on PostgreSQL.

* 50 concurrent buyers of the last copy → exactly 1 order.
* 10 concurrent deliveries of one completed event (and 10 concurrent processings
  of it) → 1 fulfilment, 1 email to each party.
* forged, stale and re-serialised webhooks → 400 and no writes.
* a late payment after the copy was resold → 0 double sales, 1 refund.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from marketplace import create_app
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.outbox import OutboxMessage
from marketplace.mail.models import MailMessage
from marketplace.orders.models import Order, StripeEvent
from tests.support.app import committed_database, make_settings, migrate, wipe
from tests.support.factories import make_user
from tests.support.orders import STRIPE_ENV, make_listing, make_seller, orders
from tests.support.stripe_server import FakeStripe, sign
from tests.support.web import api_token, bearer

BUYERS = 50
DELIVERIES = 10


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def race_app(request: pytest.FixtureRequest, workdir: Path, fake: FakeStripe) -> Iterator[Flask]:
    url = committed_database(request.config, workdir, "znachki_orders_race")
    settings = make_settings(url, workdir, **STRIPE_ENV, STRIPE_API_BASE=fake.url)
    app = create_app(settings, OUTBOX_RELAY=False)
    migrate(app)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture()
def base_url(race_app: Flask, fake: FakeStripe) -> Iterator[str]:
    wipe(race_app)
    fake.reset()
    server = make_server("127.0.0.1", 0, race_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def db_name(app: Flask) -> str:
    return str(app.extensions["db_engine"].dialect.name)


def in_app(app: Flask, fn: Callable[[], Any]) -> Any:
    """Run `fn` as one unit of work in its own app context, as a task would."""
    with app.app_context():
        try:
            result = fn()
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise


def counts(app: Flask) -> dict[str, int]:
    def count() -> dict[str, int]:
        return {
            model.__name__: int(db.session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Order, StripeEvent, OutboxMessage, MailMessage)
        }

    return in_app(app, count)  # type: ignore[no-any-return]


def together(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """Start n calls at the same instant (a barrier), each on its own thread."""
    barrier = threading.Barrier(n)

    def run(i: int) -> Any:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def post_webhook(base_url: str, body: bytes, signature: str) -> int:
    response = requests.post(
        f"{base_url}/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        timeout=60,
    )
    return response.status_code


def process_pending(app: Flask) -> list[str]:
    def run() -> list[str]:
        ids = db.session.scalars(
            select(StripeEvent.id)
            .where(StripeEvent.processed_at.is_(None))
            .order_by(StripeEvent.id)
        ).all()
        return [orders(app).process_event(i) for i in ids]

    return in_app(app, run)  # type: ignore[no-any-return]


def test_50_concurrent_buyers_of_the_last_copy_make_exactly_one_order(
    race_app: Flask, fake: FakeStripe, base_url: str
) -> None:
    def setup() -> tuple[int, list[str]]:
        seller = make_seller(race_app, fake)
        have = make_listing(seller, price="45.00", quantity=1)
        tokens = [api_token(make_user(f"buyer{i}@example.org")) for i in range(BUYERS)]
        return have.id, tokens

    have_id, tokens = in_app(race_app, setup)

    def buy(i: int) -> int:
        response = requests.post(
            f"{base_url}/api/v1/orders",
            json={"have_id": have_id},
            headers=bearer(tokens[i]),
            timeout=120,
        )
        return response.status_code

    statuses = Counter(together(BUYERS, buy))
    after = counts(race_app)
    reserved = in_app(race_app, lambda: db.session.scalar(select(func.sum(Order.amount))))
    sessions = len(fake.calls("/v1/checkout/sessions"))
    print(
        f"\nFIGURE [{db_name(race_app)}] {BUYERS} concurrent buyers of the last copy: "
        f"orders={after['Order']} responses={dict(statuses)} checkout_sessions={sessions}"
    )
    assert statuses == {201: 1, 409: BUYERS - 1}
    assert after["Order"] == 1 and sessions == 1 and reserved == 4500


def pending_order(app: Flask, fake: FakeStripe, buyer_email: str, have_id: int) -> Order:
    def buy() -> Order:
        return orders(app).buy(make_user(buyer_email), have_id)

    return in_app(app, buy)  # type: ignore[no-any-return]


def test_10_concurrent_deliveries_of_a_completed_event_fulfil_once(
    race_app: Flask, fake: FakeStripe, base_url: str
) -> None:
    have_id = in_app(race_app, lambda: make_listing(make_seller(race_app, fake), quantity=3).id)
    order = pending_order(race_app, fake, "buyer@example.org", have_id)
    session = fake.complete_session(order.checkout_session_id)  # type: ignore[arg-type]
    body = FakeStripe.event("checkout.session.completed", session)

    statuses = together(DELIVERIES, lambda _: post_webhook(base_url, body, sign(body)))
    stored = counts(race_app)["StripeEvent"]
    event_id = in_app(race_app, lambda: db.session.scalar(select(StripeEvent.id)))

    # Ten workers handed the same stored event at once (redelivery, sweeper…).
    def process(_: int) -> str:
        return in_app(race_app, lambda: orders(race_app).process_event(event_id))  # type: ignore[no-any-return]

    outcomes = Counter(together(DELIVERIES, process))

    def result() -> tuple[str, int, int, int]:
        row = db.session.get(Order, order.id)
        assert row is not None
        paid_mail = db.session.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.kind == "order_paid")
        )
        sold_mail = db.session.scalar(
            select(func.count()).select_from(MailMessage).where(MailMessage.kind == "order_sold")
        )
        quantity = db.session.scalar(select(func.sum(Order.quantity)).where(Order.status == "paid"))
        return row.status, int(paid_mail or 0), int(sold_mail or 0), int(quantity or 0)

    status, buyer_mails, seller_mails, fulfilled = in_app(race_app, result)
    print(
        f"\nFIGURE [{db_name(race_app)}] {DELIVERIES} concurrent deliveries of one completed "
        f"event: responses={Counter(statuses)} stored_events={stored} "
        f"processing={dict(outcomes)} fulfilments={fulfilled} buyer_emails={buyer_mails} "
        f"seller_emails={seller_mails}"
    )
    assert statuses == [200] * DELIVERIES and stored == 1
    assert outcomes == {"paid": 1, "already processed": DELIVERIES - 1}
    assert (status, fulfilled, buyer_mails, seller_mails) == ("paid", 1, 1, 1)


def test_forged_stale_and_reserialised_webhooks_write_nothing(
    race_app: Flask, fake: FakeStripe, base_url: str
) -> None:
    body = FakeStripe.event("checkout.session.completed", {"id": "cs_test_forged"})
    now = int(utcnow().timestamp())
    before = counts(race_app)
    attempts = {
        "forged": (body, sign(body, secret="whsec_someone_else")),
        "stale": (body, sign(body, timestamp=now - 301)),
        "re-serialised": (json.dumps(json.loads(body)).encode(), sign(body)),
    }
    statuses = {name: post_webhook(base_url, b, s) for name, (b, s) in attempts.items()}
    after = counts(race_app)
    print(
        f"\nFIGURE [{db_name(race_app)}] bad webhooks: {statuses}; "
        f"rows before={before} after={after}"
    )
    assert set(statuses.values()) == {400}
    assert after == before
    assert post_webhook(base_url, body, sign(body)) == 200  # the genuine one is taken


def test_late_payment_after_resale_is_refunded_not_sold_twice(
    race_app: Flask, fake: FakeStripe, base_url: str
) -> None:
    have_id = in_app(race_app, lambda: make_listing(make_seller(race_app, fake)).id)
    slow = pending_order(race_app, fake, "slow@example.org", have_id)
    expired = fake.expire_session(slow.checkout_session_id)  # type: ignore[arg-type]
    expired_event = FakeStripe.event("checkout.session.expired", expired)
    assert post_webhook(base_url, expired_event, sign(expired_event)) == 200
    assert process_pending(race_app) == ["expired: copy released"]

    quick = pending_order(race_app, fake, "quick@example.org", have_id)
    paid = FakeStripe.event(
        "checkout.session.completed",
        fake.complete_session(quick.checkout_session_id),  # type: ignore[arg-type]
    )
    assert post_webhook(base_url, paid, sign(paid)) == 200
    late = FakeStripe.event(
        "checkout.session.completed",
        fake.complete_session(slow.checkout_session_id, even_if_expired=True),  # type: ignore[arg-type]
    )
    assert post_webhook(base_url, late, sign(late)) == 200
    outcomes = process_pending(race_app)

    def result() -> tuple[int, str, str, int]:
        sold = db.session.scalar(
            select(func.count()).select_from(Order).where(Order.status == "paid")
        )
        slow_row, quick_row = db.session.get(Order, slow.id), db.session.get(Order, quick.id)
        assert slow_row is not None and quick_row is not None
        told = db.session.scalar(
            select(func.count())
            .select_from(MailMessage)
            .where(
                MailMessage.kind == "order_late_refund", MailMessage.to_addr == "slow@example.org"
            )
        )
        return int(sold or 0), slow_row.status, quick_row.status, int(told or 0)

    sold, slow_status, quick_status, told = in_app(race_app, result)
    refunds = len(fake.refunds)
    print(
        f"\nFIGURE [{db_name(race_app)}] late payment after resale: outcomes={outcomes} "
        f"copies_sold={sold} double_sales={sold - 1} refunds={refunds} buyer_told={told}"
    )
    assert outcomes == ["paid", "paid late, copy gone: refunded"]
    assert (sold, slow_status, quick_status, refunds, told) == (1, "refunded", "paid", 1, 1)
