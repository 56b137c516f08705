"""Helpers shared by the order tests: a seller who can be paid (through the real
onboarding service against the local Stripe server), a listing, API tokens, and
signed webhook deliveries."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.lists.models import Have
from marketplace.lists.operations import Lists
from marketplace.orders.operations import Orders
from marketplace.payments.stripe_provider import StripeProvider
from tests.catalogue_factory import make_pin
from tests.conftest import make_user
from tests.stripe_server import API_KEY, WEBHOOK_SECRET, FakeStripe, sign

STRIPE_ENV = {"STRIPE_SECRET_KEY": API_KEY, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}


def stripe_provider(fake: FakeStripe) -> StripeProvider:
    return StripeProvider(API_KEY, WEBHOOK_SECRET, api_base=fake.url)


def orders(app: Flask) -> Orders:
    return find_service(Orders)


def make_seller(app: Flask, fake: FakeStripe, email: str = "seller@example.org") -> User:
    """A collector onboarded through the service, enabled by 'Stripe', and the
    account refreshed as `account.updated` would."""
    seller = make_user(email, name="Продавец")
    service = orders(app)
    account, _ = service.start_onboarding(seller)
    fake.enable_account(account.stripe_account_id)
    service.refresh_account(account.stripe_account_id)
    # Into the test's outer transaction: a request answering 4xx rolls back only
    # what came after.
    db.session.commit()
    return seller


def make_listing(
    seller: User, price: str = "12.50", currency: str = "EUR", quantity: int = 1, **pin: Any
) -> Have:
    have = Lists(db.session()).add_have(
        seller,
        make_pin(**pin).id,
        quantity=quantity,
        condition="excellent",
        price=Decimal(price),
        currency=currency,
    )
    db.session.commit()
    return have


def api_token(user: User) -> str:
    from marketplace.accounts.operations import Accounts
    from marketplace.core.registry import find_service

    _, clear = find_service(Accounts).create_api_token(user, "tests")
    db.session.commit()
    return clear


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_event(client: FlaskClient, body: bytes, signature: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = sign(body) if signature is None else signature
    return client.post("/webhooks/stripe", data=body, headers=headers)


def committed_database(config: pytest.Config, workdir: Path, name: str) -> str:
    """A database of its own for tests that need committed data and many
    connections (created on the suite's PostgreSQL server when that is the run)."""
    if config.getoption("--db") == "postgresql":
        base = os.environ.get("ZNACHKI_TEST_PG")
        if not base:
            pytest.skip("PostgreSQL tests need ZNACHKI_TEST_PG (make test starts a server)")
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{base}/{name}"
    path = workdir / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"
