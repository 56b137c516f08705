"""What the order tests need: the app's Stripe provider pointed at the local
Stripe server, a seller who can be paid (onboarded through the real service, with
Stripe or with the development test provider), a listing for sale, and signed
webhook deliveries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.lists.models import Condition, Have
from marketplace.orders.models import StripeEvent
from marketplace.orders.operations import Orders
from marketplace.payments.development_provider import TestPaymentProvider
from marketplace.payments.stripe_provider import StripeProvider
from tests.support.catalogue import make_pin
from tests.support.factories import HaveFactory, UserFactory
from tests.support.stripe_server import API_KEY, WEBHOOK_SECRET, FakeStripe, sign

STRIPE_ENV = {"STRIPE_SECRET_KEY": API_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


def stripe_provider(fake: FakeStripe) -> StripeProvider:
    return StripeProvider(API_KEY, WEBHOOK_SECRET, api_base=fake.url)


def orders(app: Flask) -> Orders:
    return find_service(Orders)


def make_seller(app: Flask, fake: FakeStripe, email: str = "seller@example.org") -> User:
    """A collector onboarded through the service, enabled by 'Stripe', and the
    account refreshed as `account.updated` would."""
    seller: User = UserFactory(email=email, display_name="Продавец")
    service = orders(app)
    account, _ = service.start_onboarding(seller)
    fake.enable_account(account.stripe_account_id)
    service.refresh_account(account.stripe_account_id)
    # Into the test's outer transaction: a request answering 4xx rolls back only
    # what came after.
    db.session.commit()
    return seller


def make_test_provider_seller(app: Flask, email: str = "seller@example.org") -> User:
    """A collector onboarded with the development test provider, as its fake
    onboarding page does it."""
    provider = app.extensions["payments"]
    assert isinstance(provider, TestPaymentProvider)
    seller: User = UserFactory(email=email, display_name="Продавец")
    service = orders(app)
    account, _ = service.start_onboarding(seller)
    provider.complete_onboarding(account.stripe_account_id)
    service.refresh_account(account.stripe_account_id)
    db.session.commit()
    return seller


def make_listing(
    seller: User, price: str = "12.50", currency: str = "EUR", quantity: int = 1, **pin: Any
) -> Have:
    """Copies of a new catalogued pin (`pin` are its catalogue fields) for sale."""
    have: Have = HaveFactory(
        for_sale=True,
        user=seller,
        pin=make_pin(**pin),
        quantity=quantity,
        condition=Condition.EXCELLENT,
        price=Decimal(price),
        currency=currency,
    )
    db.session.commit()
    return have


def post_event(client: FlaskClient, body: bytes, signature: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = sign(body) if signature is None else signature
    return client.post("/webhooks/stripe", data=body, headers=headers)


def deliver_event(client: FlaskClient, app: Flask, type_: str, obj: dict[str, Any]) -> str:
    """Stripe delivers a signed event; the stored row is processed as its task
    would, and the outcome returned."""
    response = post_event(client, FakeStripe.event(type_, obj))
    assert response.status_code == 200, response.get_data(as_text=True)
    row = db.session.scalar(select(StripeEvent).order_by(StripeEvent.id.desc()))
    assert row is not None
    return orders(app).process_event(row.id)
