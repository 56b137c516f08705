"""Buying and selling against the local Stripe-compatible server, through the real
SDK: onboarding, the Buy button and the API, signed webhooks, fulfilment only by
webhook, expiry, late payments, refunds, disputes, and the price guide. Each test
runs in a savepoint; concurrency has its own committed-database tests
(test_orders_race.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.outbox import OutboxMessage
from marketplace.lists.models import Condition, Have
from marketplace.mail.models import MailMessage
from marketplace.orders.models import Order, StripeEvent
from marketplace.orders.operations import from_minor, platform_fee, price_guide, to_minor
from tests.support.addresses import make_address
from tests.support.factories import make_user
from tests.support.orders import make_listing, make_seller, orders, post_event, stripe_provider
from tests.support.stripe_server import FakeStripe, sign
from tests.support.web import api_token, bearer, login, post_form


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture()
def stripe_app(app_ctx: Flask, fake: FakeStripe, monkeypatch: pytest.MonkeyPatch) -> Flask:
    fake.reset()
    monkeypatch.setitem(app_ctx.extensions, "payments", stripe_provider(fake))
    return app_ctx


@pytest.fixture()
def client(stripe_app: Flask) -> FlaskClient:
    return stripe_app.test_client()


def count(model: type) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def mails(kind: str) -> list[MailMessage]:
    return list(db.session.scalars(select(MailMessage).where(MailMessage.kind == kind)))


def deliver(client: FlaskClient, app: Flask, type_: str, obj: dict) -> str:  # type: ignore[type-arg]
    """Stripe delivers a signed event; the stored row is processed as its task would."""
    response = post_event(client, FakeStripe.event(type_, obj))
    assert response.status_code == 200, response.get_data(as_text=True)
    row = db.session.scalar(select(StripeEvent).order_by(StripeEvent.id.desc()))
    assert row is not None
    return orders(app).process_event(row.id)


def buy_via_api(client: FlaskClient, token: str, have_id: int) -> dict:  # type: ignore[type-arg]
    response = client.post("/api/v1/orders", json={"have_id": have_id}, headers=bearer(token))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json  # type: ignore[no-any-return]


# -- money ------------------------------------------------------------------------------


def test_money_is_integer_minor_units() -> None:
    assert to_minor(Decimal("12.50"), "EUR") == 1250
    assert to_minor(Decimal("1500"), "JPY") == 1500
    assert from_minor(1250, "EUR") == Decimal("12.50")
    assert platform_fee(1250, 8) == 100
    assert platform_fee(1999, 7.5) == 150  # 149.925 rounds half up
    assert platform_fee(1, 8) == 0
    with pytest.raises(Exception, match="decimal places"):
        to_minor(Decimal("10.5"), "JPY")


# -- sellers ----------------------------------------------------------------------------


def test_seller_onboards_through_the_api_and_account_updated_enables_sales(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_user("seller@example.org")
    token = api_token(seller)
    body = client.post("/api/v1/me/seller-account", headers=bearer(token)).json
    assert body["onboarding_url"].startswith("https://connect.stripe.com/setup/")
    assert body["can_be_paid"] is False
    created = fake.calls("/v1/accounts")
    assert created[0].params["type"] == "express"
    have = make_listing(seller)
    assert orders(stripe_app).offer(have.id) is None  # not for sale until it can be paid

    account = fake.enable_account(body["stripe_account_id"])
    assert deliver(client, stripe_app, "account.updated", account) == "can be paid"
    assert client.get("/api/v1/me/seller-account", headers=bearer(token)).json["can_be_paid"]
    assert orders(stripe_app).offer(have.id) is not None
    # Onboarding again reuses the account (one per seller) with a fresh link.
    again = client.post("/api/v1/me/seller-account", headers=bearer(token)).json
    assert again["stripe_account_id"] == body["stripe_account_id"]


# -- buying -----------------------------------------------------------------------------


def test_buy_through_the_page_and_the_signed_webhook_makes_it_paid(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller, price="12.50", quantity=2)
    make_user("buyer@example.org", name="Покупатель")
    login(client, "buyer@example.org")
    page = client.get(f"/listings/{have.id}").get_data(as_text=True)
    assert "Buy now" in page and "€12.50" in page

    response = post_form(client, f"/listings/{have.id}/buy", {}, page=f"/listings/{have.id}")
    assert response.status_code == 303
    assert response.location.startswith("https://checkout.stripe.com/c/pay/cs_test_")
    order = db.session.scalar(select(Order))
    assert order is not None and order.status == "pending"
    assert (order.amount, order.currency, order.platform_fee) == (1250, "EUR", 100)
    db.session.refresh(have)
    assert have.reserved == 1 and have.quantity == 2

    sent = fake.calls("/v1/checkout/sessions")[0]
    assert sent.params["payment_intent_data"]["application_fee_amount"] == "100"
    assert sent.params["client_reference_id"] == str(order.id)
    assert sent.params["metadata"] == {"order_id": str(order.id)}
    assert sent.idempotency_key == f"znachki-order-{order.id}-{order.token}-checkout"
    assert int(sent.params["expires_at"]) >= int(order.created_at.timestamp()) + 30 * 60

    # The success page shows the status only: still pending until Stripe says so.
    fake.complete_session(order.checkout_session_id)  # type: ignore[arg-type]
    waiting = client.get(f"/orders/{order.id}/success?session_id=x").get_data(as_text=True)
    assert "Waiting for payment" in waiting
    db.session.refresh(order)
    assert order.status == "pending"

    session = fake.get_session({}, order.checkout_session_id)  # type: ignore[arg-type]
    assert deliver(client, stripe_app, "checkout.session.completed", session) == "paid"
    db.session.refresh(order)
    db.session.refresh(have)
    assert order.status == "paid" and order.payment_intent_id
    assert (have.quantity, have.reserved) == (1, 0)
    assert [m.to_addr for m in mails("order_paid")] == ["buyer@example.org"]
    assert [m.to_addr for m in mails("order_sold")] == ["seller@example.org"]
    assert "€11.50" in mails("order_sold")[0].body_text  # the payout after the 8 % fee


def test_buy_through_the_api_answers_with_the_checkout_url(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller, price="1500", currency="JPY")
    have_id = have.id
    token = api_token(make_user("buyer@example.org"))
    body = buy_via_api(client, token, have.id)
    assert body["checkout_url"].startswith("https://checkout.stripe.com/")
    assert (body["status"], body["amount"], body["amount_minor"]) == ("pending", "1500", 1500)
    assert body["platform_fee_minor"] == 120 and body["role"] == "buyer"
    # Buy again while checkout is open: the same order, no second reservation.
    assert buy_via_api(client, token, have.id)["id"] == body["id"]
    # The last copy is held: another buyer gets 409.
    other = api_token(make_user("late@example.org"))
    refused = client.post("/api/v1/orders", json={"have_id": have.id}, headers=bearer(other))
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"

    order = db.session.get(Order, body["id"])
    assert order is not None
    session = fake.complete_session(order.checkout_session_id)  # type: ignore[arg-type]
    deliver(client, stripe_app, "checkout.session.completed", session)
    got = client.get(f"/api/v1/orders/{order.id}", headers=bearer(token)).json
    assert got["status"] == "paid" and got["checkout_url"] is None
    # The last copy left the seller's Haves.
    assert db.session.scalar(select(Have.id).where(Have.id == have_id)) is None


def test_refusals(client: FlaskClient, stripe_app: Flask, fake: FakeStripe) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller)
    own = client.post(
        "/api/v1/orders", json={"have_id": have.id}, headers=bearer(api_token(seller))
    )
    assert own.status_code == 400
    buyer = api_token(make_user("buyer@example.org"))
    missing = client.post("/api/v1/orders", json={"have_id": 999999}, headers=bearer(buyer))
    assert missing.status_code == 404
    unpaid_seller = make_user("new@example.org")
    listing = make_listing(unpaid_seller)
    cannot = client.post("/api/v1/orders", json={"have_id": listing.id}, headers=bearer(buyer))
    assert cannot.status_code == 409
    assert count(Order) == 0
    db.session.refresh(have)
    assert have.reserved == 0


# -- webhooks ---------------------------------------------------------------------------


def test_forged_stale_reserialised_and_unsigned_webhooks_are_refused_without_writes(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    before = (count(StripeEvent), count(OutboxMessage))
    body = FakeStripe.event("checkout.session.completed", {"id": "cs_test_x"})
    cases = {
        "forged": sign(body, secret="whsec_not_ours"),
        "stale": sign(body, timestamp=int(utcnow().timestamp()) - 301),
        "future": sign(body, timestamp=int(utcnow().timestamp()) + 10 * 365 * 86400),
        "soon": sign(body, timestamp=int(utcnow().timestamp()) + 301),
        "garbage": "t=abc,v1=zz",
        "missing": "",
    }
    for name, signature in cases.items():
        response = post_event(client, body, signature)
        assert response.status_code == 400, name
    reserialised = json.dumps(json.loads(body)).encode()  # same event, other bytes
    assert post_event(client, reserialised, sign(body)).status_code == 400
    assert (count(StripeEvent), count(OutboxMessage)) == before
    print(f"\nFIGURE webhooks refused: {len(cases) + 1} of {len(cases) + 1} → 400, rows written: 0")


def test_duplicate_and_unknown_events(client: FlaskClient, stripe_app: Flask) -> None:
    body = FakeStripe.event("account.updated", {"id": "acct_nobody"}, event_id="evt_dup")
    for _ in range(3):
        assert post_event(client, body).status_code == 200
    assert count(StripeEvent) == 1
    assert count(OutboxMessage) == 1
    unknown = FakeStripe.event("customer.created", {"id": "cus_1"})
    assert post_event(client, unknown).status_code == 200
    assert count(StripeEvent) == 1


def test_processing_twice_and_out_of_order_changes_nothing_the_second_time(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller, quantity=3)
    order = orders(stripe_app).buy(make_user("buyer@example.org"), have.id)
    session = fake.complete_session(order.checkout_session_id)  # type: ignore[arg-type]
    # An (old) expired event arrives after completion: the re-fetched session is complete.
    assert deliver(client, stripe_app, "checkout.session.expired", session) == "paid"
    assert deliver(client, stripe_app, "checkout.session.completed", session) == "already paid"
    row = db.session.scalar(select(StripeEvent).order_by(StripeEvent.id.desc()))
    assert row is not None
    assert orders(stripe_app).process_event(row.id) == "already processed"
    db.session.refresh(have)
    assert (have.quantity, have.reserved) == (2, 0)
    assert len(mails("order_paid")) == 1


def test_expired_checkout_releases_the_copy(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller)
    order = orders(stripe_app).buy(make_user("buyer@example.org"), have.id)
    session = fake.expire_session(order.checkout_session_id)  # type: ignore[arg-type]
    assert deliver(client, stripe_app, "checkout.session.expired", session) == (
        "expired: copy released"
    )
    db.session.refresh(order)
    db.session.refresh(have)
    assert order.status == "expired" and not order.holds_reservation
    assert have.reserved == 0


def test_the_sweeper_expires_lapsed_reservations_after_asking_stripe(
    stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller, quantity=2)
    service = orders(stripe_app)
    lapsed = service.buy(make_user("a@example.org"), have.id)
    paid = service.buy(make_user("b@example.org"), have.id)
    fake.complete_session(paid.checkout_session_id)  # type: ignore[arg-type]
    later = utcnow() + timedelta(hours=1)
    assert service.expire_reservations(now=later) == 1
    db.session.refresh(lapsed)
    db.session.refresh(paid)
    assert lapsed.status == "expired"
    assert fake.sessions[lapsed.checkout_session_id]["status"] == "expired"  # type: ignore[index]
    assert paid.status == "paid"  # its webhook was late; the sweeper settled it
    db.session.refresh(have)
    assert (have.quantity, have.reserved) == (1, 0)


def test_async_payment_holds_the_copy_until_it_fails(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller)
    order = orders(stripe_app).buy(make_user("buyer@example.org"), have.id)
    session = fake.complete_session(order.checkout_session_id, payment_status="unpaid")  # type: ignore[arg-type]
    assert deliver(client, stripe_app, "checkout.session.completed", session) == (
        "payment processing"
    )
    db.session.refresh(order)
    assert order.status == "pending" and order.holds_reservation and order.reserved_until is None
    fake.fail_async_payment(order.checkout_session_id)  # type: ignore[arg-type]
    outcome = deliver(client, stripe_app, "checkout.session.async_payment_failed", session)
    assert outcome == "payment failed: order cancelled"
    db.session.refresh(have)
    assert have.reserved == 0
    assert [m.to_addr for m in mails("order_payment_failed")] == ["buyer@example.org"]


def test_late_payment_after_resale_is_refunded(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller)
    service = orders(stripe_app)
    first = service.buy(make_user("slow@example.org"), have.id)
    expired = fake.expire_session(first.checkout_session_id)  # type: ignore[arg-type]
    deliver(client, stripe_app, "checkout.session.expired", expired)
    second = service.buy(make_user("quick@example.org"), have.id)
    paid = fake.complete_session(second.checkout_session_id)  # type: ignore[arg-type]
    assert deliver(client, stripe_app, "checkout.session.completed", paid) == "paid"
    # The slow buyer's payment was already in flight and settles now.
    late = fake.complete_session(first.checkout_session_id, even_if_expired=True)  # type: ignore[arg-type]
    outcome = deliver(client, stripe_app, "checkout.session.completed", late)
    assert outcome == "paid late, copy gone: refunded"
    db.session.refresh(first)
    assert first.status == "refunded" and first.refunded_amount == first.amount
    refunds = fake.refunds_for(first.payment_intent_id)  # type: ignore[arg-type]
    assert len(refunds) == 1
    sent = fake.calls("/v1/refunds")[0].params
    assert (sent["reverse_transfer"], sent["refund_application_fee"]) == ("true", "true")
    sold = db.session.scalar(
        select(func.count(Order.id)).where(Order.status.in_(("paid", "shipped", "delivered")))
    )
    assert sold == 1
    assert [m.to_addr for m in mails("order_late_refund")] == ["slow@example.org"]


# -- after payment ----------------------------------------------------------------------


def paid_order(client: FlaskClient, app: Flask, fake: FakeStripe, **listing: str) -> Order:
    seller = make_seller(app, fake)
    have = make_listing(seller, **listing)  # type: ignore[arg-type]
    order = orders(app).buy(make_user("buyer@example.org", name="Покупатель"), have.id)
    session = fake.complete_session(order.checkout_session_id)  # type: ignore[arg-type]
    deliver(client, app, "checkout.session.completed", session)
    db.session.refresh(order)
    return order


def test_ship_deliver_through_the_api_with_emails(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    order = paid_order(client, stripe_app, fake)
    seller_token = api_token(order.seller)
    buyer_token = api_token(order.buyer)
    early = client.post(f"/api/v1/orders/{order.id}/deliver", headers=bearer(seller_token))
    assert early.status_code == 403
    shipped = client.post(
        f"/api/v1/orders/{order.id}/ship",
        json={"tracking_number": "RA123456789RU"},
        headers=bearer(seller_token),
    )
    assert shipped.json["status"] == "shipped"
    assert "RA123456789RU" in mails("order_shipped")[0].body_text
    delivered = client.post(f"/api/v1/orders/{order.id}/deliver", headers=bearer(buyer_token))
    assert delivered.json["status"] == "delivered"
    assert [m.to_addr for m in mails("order_delivered")] == ["seller@example.org"]
    listed = client.get("/api/v1/orders?role=selling", headers=bearer(seller_token)).json
    assert [o["id"] for o in listed] == [order.id]
    stranger = api_token(make_user("nosy@example.org"))
    assert client.get(f"/api/v1/orders/{order.id}", headers=bearer(stranger)).status_code == 404


def test_seller_ships_and_refunds_on_the_pages(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    order = paid_order(client, stripe_app, fake)
    login(client, "seller@example.org")
    page = f"/orders/{order.id}"
    assert "Mark shipped" in client.get(page).get_data(as_text=True)
    post_form(client, f"/orders/{order.id}/ship", {"tracking_number": "LZ1"}, page=page)
    db.session.refresh(order)
    assert order.status == "shipped"
    post_form(client, f"/orders/{order.id}/refund", {"reason": "lost in the post"}, page=page)
    db.session.refresh(order)
    assert order.status == "refunded" and order.refund_id
    assert "lost in the post" in mails("order_refunded")[0].body_text
    assert sorted(m.to_addr for m in mails("order_refunded")) == [
        "buyer@example.org",
        "seller@example.org",
    ]
    # A second refund is refused (and Stripe would refuse it too).
    again = post_form(client, f"/orders/{order.id}/refund", {}, page=page, follow_redirects=True)
    assert "cannot be refunded" in again.get_data(as_text=True)
    assert len(fake.refunds) == 1


def test_only_seller_or_moderator_refunds(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    order = paid_order(client, stripe_app, fake)
    buyer = client.post(
        f"/api/v1/orders/{order.id}/refund", json={}, headers=bearer(api_token(order.buyer))
    )
    assert buyer.status_code == 403
    moderator = make_user("mod@example.org")
    moderator.is_moderator = True
    done = client.post(
        f"/api/v1/orders/{order.id}/refund",
        json={"reason": "counterfeit"},
        headers=bearer(api_token(moderator)),
    )
    assert done.json["status"] == "refunded" and done.json["role"] == "moderator"


def test_refund_and_dispute_made_at_stripe_are_recorded(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    order = paid_order(client, stripe_app, fake)
    intent = order.payment_intent_id
    assert intent
    moderator = make_user("mod@example.org")
    moderator.is_moderator = True
    dispute = {"id": "dp_1", "object": "dispute", "payment_intent": intent, "charge": "ch"}
    assert deliver(client, stripe_app, "charge.dispute.created", dispute) == "dispute recorded"
    assert len(mails("order_disputed")) == 1
    assert [m.to_addr for m in mails("order_disputed_moderator")] == ["mod@example.org"]
    charge = fake.refund_at_dashboard(intent)
    assert deliver(client, stripe_app, "charge.refunded", charge) == "refunded"
    db.session.refresh(order)
    assert order.status == "refunded" and order.disputed_at is not None


def test_cancel_expires_the_session_and_releases(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller)
    token = api_token(make_user("buyer@example.org"))
    body = buy_via_api(client, token, have.id)
    cancelled = client.post(f"/api/v1/orders/{body['id']}/cancel", headers=bearer(token))
    assert cancelled.json["status"] == "cancelled"
    order = db.session.get(Order, body["id"])
    assert order is not None
    assert fake.sessions[order.checkout_session_id]["status"] == "expired"  # type: ignore[index]
    db.session.refresh(have)
    assert have.reserved == 0


def test_task_body_processes_an_event_once(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    from marketplace.orders.tasks import process_stripe_event

    seller = make_seller(stripe_app, fake)
    have = make_listing(seller)
    order = orders(stripe_app).buy(make_user("buyer@example.org"), have.id)
    session = fake.complete_session(order.checkout_session_id)  # type: ignore[arg-type]
    post_event(client, FakeStripe.event("checkout.session.completed", session))
    message = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.task == "workers.tasks.process_stripe_event")
    )
    assert message is not None
    args = {**message.payload, "outbox_id": message.id}
    assert process_stripe_event.run(**args) == "paid"
    assert process_stripe_event.run(**args) == "skipped"


# -- price guide ------------------------------------------------------------------------


def test_price_guide_median_range_count_chart_and_api(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    have = make_listing(seller, price="10.00", quantity=10)
    service = orders(stripe_app)
    buyer = make_user("buyer@example.org")
    prices = ["10.00", "30.00", "12.00", "20.00"]
    for n, price in enumerate(prices):
        have.price = Decimal(price)
        db.session.flush()
        order = service.buy(buyer, have.id)
        session = fake.complete_session(order.checkout_session_id)  # type: ignore[arg-type]
        service._apply_session(order, service.payments.retrieve_session(session["id"]), "test")
        order.paid_at = utcnow() - timedelta(days=30 * (len(prices) - n))
    guide = price_guide(db.session(), have.pin_id)
    eur = guide.currencies[0]
    assert (eur.count, eur.median, eur.low, eur.high) == (
        4,
        Decimal("16.00"),
        Decimal("10.00"),
        Decimal("30.00"),
    )
    assert "<polyline" in eur.chart and eur.chart.count("<circle") == 4

    body = client.get(f"/api/v1/pins/{have.pin_id}/price-guide").json
    assert body["count"] == 4
    assert body["currencies"][0]["median"] == "16.00"
    assert [s["price"] for s in body["currencies"][0]["sales"]] == prices
    market = client.get(f"/pins/{have.pin_id}/market").get_data(as_text=True)
    assert "Median €16.00" in market and "<svg" in market
    assert client.get("/api/v1/pins/999999/price-guide").status_code == 404


def test_openapi_describes_the_order_endpoints(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{order_id}/ship",
        "/api/v1/orders/{order_id}/refund",
        "/api/v1/me/seller-account",
        "/api/v1/pins/{pin_id}/price-guide",
    ):
        assert path in paths, path
    created = paths["/api/v1/orders"]["post"]["responses"]["201"]["content"]["application/json"]
    assert created["schema"]["$ref"].endswith("/OrderOut")
    assert "checkout_url" in spec["components"]["schemas"]["OrderOut"]["required"]


# -- the development test provider --------------------------------------------------------


def test_test_provider_runs_the_whole_flow_labelled(app_ctx: Flask) -> None:
    client = app_ctx.test_client()
    provider = app_ctx.extensions["payments"]
    assert provider.is_test
    seller = make_user("seller@example.org")
    have = make_listing(seller)
    login(client, "seller@example.org")
    started = post_form(client, "/sell/payouts/onboard", {}, page="/sell/payouts")
    onboarding = started.location.removeprefix("http://znachki.test")
    assert "TEST PAYMENTS — no money moves" in client.get(onboarding).get_data(as_text=True)
    post_form(client, onboarding, {})
    row = db.session.scalar(select(StripeEvent).where(StripeEvent.type == "account.updated"))
    assert row is not None and orders(app_ctx).process_event(row.id) == "can be paid"

    buyer = make_user("buyer@example.org")
    make_address(buyer)  # its checkout cannot ask for one
    buyer_client = app_ctx.test_client()
    login(buyer_client, "buyer@example.org")
    to_checkout = post_form(
        buyer_client, f"/listings/{have.id}/buy", {}, page=f"/listings/{have.id}"
    )
    checkout = to_checkout.location.removeprefix("http://znachki.test")
    page = buyer_client.get(checkout).get_data(as_text=True)
    assert "TEST PAYMENTS — no money moves" in page and "€12.50" in page
    back = post_form(buyer_client, checkout, {"action": "pay"})
    assert "/success?session_id=cs_test_" in back.location
    row = db.session.scalar(
        select(StripeEvent).where(StripeEvent.type == "checkout.session.completed")
    )
    assert row is not None and orders(app_ctx).process_event(row.id) == "paid"
    order = db.session.scalar(select(Order).where(Order.buyer_id == buyer.id))
    assert order is not None and order.status == "paid"
    assert "TEST PAYMENTS" in buyer_client.get(f"/orders/{order.id}").get_data(as_text=True)


@pytest.mark.parametrize("has_account", [False, True])
def test_the_payouts_page_button_posts_where_onboarding_starts(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe, has_account: bool
) -> None:
    """ "Set up payouts with Stripe" and "Update my details" both reach Stripe
    (they answered 405: the form posted to the GET-only refresh URL)."""
    import re

    if has_account:
        make_seller(stripe_app, fake, email="ivan@example.org")
    else:
        make_user()
    login(client)
    page = client.get("/sell/payouts").get_data(as_text=True)
    button = "Update my details with Stripe" if has_account else "Set up payouts with Stripe"
    assert button in page
    action = re.search(
        r'<form method="post" action="([^"]+)">\s*<input[^>]*csrf[^>]*>\s*<button[^>]*>' + button,
        page,
    )
    assert action is not None and action.group(1) == "/sell/payouts/onboard"
    started = post_form(client, action.group(1), {}, page="/sell/payouts")
    assert started.status_code == 303
    # Stripe's refresh link (an expired onboarding link) is a GET and works too.
    assert client.get("/sell/payouts/refresh").status_code == 303


def test_a_delivered_pin_joins_the_buyers_haves_and_closes_the_want_it_filled(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    from marketplace.catalogue.models import Pin
    from marketplace.lists.models import Want
    from tests.support.catalogue import make_pin
    from tests.support.factories import WantFactory

    order = paid_order(client, stripe_app, fake)
    buyer = order.buyer
    pin = db.session.get(Pin, order.pin_id)
    filled = WantFactory(user=buyer, wanted=pin, min_condition=Condition.FINE)
    someone_elses = WantFactory(user=make_user("picky@example.org"), wanted=pin)
    other = WantFactory(user=buyer, wanted=make_pin(ref="OTHER-1"))  # stays wanted
    db.session.flush()
    filled_id, other_id = filled.id, other.id
    orders(stripe_app).ship(order.seller, order.id, "RA1")
    orders(stripe_app).confirm_delivery(buyer, order.id)

    [have] = db.session.scalars(select(Have).where(Have.user_id == buyer.id)).all()
    assert (have.pin_id, have.quantity, have.condition) == (pin.id, 1, Condition.EXCELLENT)
    assert have.tradeable is False and have.notes == f"Bought in order #{order.id}."
    open_wants = set(db.session.scalars(select(Want.id)))
    assert filled_id not in open_wants and other_id in open_wants
    assert someone_elses.id in open_wants
    refresh = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.task == "workers.tasks.refresh_collector_matches")
    ).all()
    assert any(m.payload.get("user_id") == buyer.id for m in refresh)


def test_the_listing_promises_the_hold_the_order_gets(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A non-default checkout time: the page and the reservation both follow it.
    settings = replace(stripe_app.config["SETTINGS"], checkout_minutes=90)
    monkeypatch.setitem(stripe_app.config, "SETTINGS", settings)
    have = make_listing(make_seller(stripe_app, fake))
    buyer = make_user("buyer@example.org")
    login(client, "buyer@example.org")
    page = client.get(f"/listings/{have.id}").get_data(as_text=True)
    # Stripe's 90-minute session plus the grace for its expiry event.
    assert "The copy is held for you for 100 minutes" in page
    before = utcnow()
    order = orders(stripe_app).buy(buyer, have.id)
    assert order.reserved_until is not None
    held = order.reserved_until - before
    assert timedelta(minutes=100) <= held < timedelta(minutes=100, seconds=5)
    session = fake.sessions[order.checkout_session_id]
    lifetime = session["expires_at"] - before.replace(tzinfo=UTC).timestamp()
    assert 90 * 60 - 5 <= lifetime <= 90 * 60 + 5


def test_the_listing_and_order_speak_the_readers_language_and_money(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    have = make_listing(make_seller(stripe_app, fake), price="1234.50")
    buyer = make_user("buyer@example.org")
    buyer.locale = "ru"
    db.session.commit()
    login(client, "buyer@example.org")
    page = client.get(f"/listings/{have.id}").get_data(as_text=True)
    # Russian plural of the default 45 minutes, the price as Russians write euros.
    assert "Экземпляр закреплён за вами на 45 минут, пока вы платите через Stripe." in page
    assert "Купить — 1\u00a0234,50\u00a0€" in page
    order = orders(stripe_app).buy(buyer, have.id)
    db.session.commit()
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f"Заказ №{order.id}: " in page and "Ждёт оплаты" in page
    assert "Отменить оплату" in page and "UTC" not in page
    cancel = f"/orders/{order.id}/cancel"
    done = post_form(client, cancel, {}, page=f"/orders/{order.id}", follow_redirects=True)
    assert "Оплата отменена; экземпляр снова свободен." in done.get_data(as_text=True)
    again = post_form(client, cancel, {}, page=f"/orders/{order.id}", follow_redirects=True)
    assert "Заказ в состоянии «отменён» нельзя отменить." in again.get_data(as_text=True)


def test_order_mail_is_in_the_buyers_and_the_sellers_own_language(
    client: FlaskClient, stripe_app: Flask, fake: FakeStripe
) -> None:
    seller = make_seller(stripe_app, fake)
    seller.locale = "et"
    have = make_listing(seller, price="12.50", title_en="Gagarin 1961")
    buyer = make_user("buyer@example.org", name="Покупатель")
    buyer.locale = "ru"
    db.session.commit()
    order = orders(stripe_app).buy(buyer, have.id)
    db.session.commit()
    fake.complete_session(order.checkout_session_id)  # type: ignore[arg-type]
    session = fake.get_session({}, order.checkout_session_id)  # type: ignore[arg-type]
    assert deliver(client, stripe_app, "checkout.session.completed", session) == "paid"

    paid = mails("order_paid")[0]
    assert paid.subject == "Платёж получен: Gagarin 1961"
    assert paid.body_text.startswith("Здравствуйте, Покупатель!")
    assert "Ваш платёж 12,50\u00a0€ за Gagarin 1961" in paid.body_text
    assert (
        '<html lang="ru">' in paid.body_html and "<strong>12,50\u00a0€</strong>" in paid.body_html
    )
    sold = mails("order_sold")[0]
    assert sold.subject == "Müüdud: Gagarin 1961 — palun saada teele"
    assert "saad Stripe'i kaudu 11,50\u00a0€" in sold.body_text
    assert "Hello" not in sold.body_text + paid.body_text


def test_the_price_chart_speaks_the_readers_language(app_ctx: Flask) -> None:
    from flask_babel import force_locale

    from marketplace.orders.operations.price_guide import CurrencyGuide, Sale, price_chart

    sales = [Sale(at=utcnow() - timedelta(days=3), amount=Decimal("12.00")),
             Sale(at=utcnow(), amount=Decimal("16.00"))]  # fmt: skip
    guide = CurrencyGuide(
        "EUR", 2, Decimal("14.00"), Decimal("12.00"), Decimal("16.00"), sales=sales
    )
    with force_locale("ru"):
        chart = str(price_chart(guide))
    assert 'aria-label="Цены продаж по времени, EUR"' in chart
    assert "<title>медиана</title>" in chart and "\u202fг.</text>" in chart
