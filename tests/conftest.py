"""Fixtures shared by the suite (helpers and factories live in tests/support).

The suite runs once per database (`--db=sqlite` or `--db=postgresql`); both are
migrated by Alembic, never `create_all`. Unit tests get a savepoint per test
(everything they write is rolled back); integration tests (tests/integration) run
against committed data with a real Redis, a real Celery worker process and a real
SMTP server, started once per session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from marketplace import create_app
from tests.support.app import RequestClient, database_url, make_settings, migrate, savepoint
from tests.support.orders import stripe_provider
from tests.support.stripe_server import FakeStripe


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


@pytest.fixture(scope="session")
def app(request: pytest.FixtureRequest, workdir: Path) -> Iterator[Flask]:
    url = database_url(request.config, workdir, "znachki_unit")
    application = create_app(make_settings(url, workdir), OUTBOX_RELAY=False)
    application.test_client_class = RequestClient
    migrate(application)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture()
def app_ctx(app: Flask) -> Iterator[Flask]:
    """A savepoint per test: the test's connection holds an outer transaction that
    is rolled back at the end, whatever the code under test committed."""
    with savepoint(app):
        yield app


@pytest.fixture(scope="session")
def redis_app(request: pytest.FixtureRequest, workdir: Path) -> Iterator[Flask]:
    """The unit app's twin on the suite's real Redis (cache, rate limits)."""
    redis = os.environ.get("ZNACHKI_TEST_REDIS")
    if not redis:
        pytest.skip("Redis tests need ZNACHKI_TEST_REDIS (make test starts a server)")
    url = database_url(request.config, workdir, "znachki_unit")
    application = create_app(
        make_settings(url, workdir, REDIS_URL=f"{redis}/5"), OUTBOX_RELAY=False
    )
    application.test_client_class = RequestClient
    migrate(application)
    yield application
    application.extensions["db_engine"].dispose()


@pytest.fixture(params=["simple-cache", "redis-cache"])
def cached_app(request: pytest.FixtureRequest) -> Iterator[Flask]:
    """`app_ctx` on each cache the app runs with: SimpleCache (no REDIS_URL) and Redis."""
    application = request.getfixturevalue("app" if request.param == "simple-cache" else "redis_app")
    with savepoint(application):
        yield application


@pytest.fixture()
def client(app_ctx: Flask) -> FlaskClient:
    return app_ctx.test_client()


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    """The local Stripe-compatible server, one per test module."""
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture()
def stripe_payments(
    app_ctx: Flask, fake_stripe: FakeStripe, monkeypatch: pytest.MonkeyPatch
) -> FakeStripe:
    """The app's payments go through the real SDK to `fake_stripe`, emptied first."""
    fake_stripe.reset()
    monkeypatch.setitem(app_ctx.extensions, "payments", stripe_provider(fake_stripe))
    return fake_stripe
