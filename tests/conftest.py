"""Fixtures shared by the suite.

The suite runs once per database (`--db=sqlite` or `--db=postgresql`); both are
migrated by Alembic, never `create_all`. Unit tests get a savepoint per test
(everything they write is rolled back); integration tests (tests/integration) run
against committed data with a real Redis, a real Celery worker process and a real
SMTP server, started once per session.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import text

from marketplace import create_app
from marketplace.config import Settings
from marketplace.core.extensions import db, limiter

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite")


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("run")


def database_url(config: pytest.Config, workdir: Path, name: str) -> str:
    if config.getoption("--db") == "postgresql":
        base = os.environ.get("ZNACHKI_TEST_PG")
        if not base:
            pytest.skip("PostgreSQL tests need ZNACHKI_TEST_PG (make test starts a server)")
        return f"{base}/{name}"
    return f"sqlite:///{workdir / (name + '.sqlite3')}"


def make_settings(url: str, workdir: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "ZNACHKI_ENV": "testing",
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": url,
            "BASE_URL": "http://znachki.test",
            "BROKER_DIR": str(workdir / "broker"),
            **env,
        }
    )


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")


class RequestClient(FlaskClient):
    """Unit tests keep one app context open (it holds the savepoint session), and
    Flask reuses an open app context for requests. Each request here still gets a
    fresh `g`, as it would in production, so login and CSRF state cannot leak
    between requests or clients."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from flask import g

        if not has_app_context():
            return super().open(*args, **kwargs)
        saved = dict(g.__dict__)
        g.__dict__.clear()
        try:
            return super().open(*args, **kwargs)
        finally:
            g.__dict__.clear()
            g.__dict__.update(saved)


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
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        db.session.session_factory.configure(
            bind=connection, join_transaction_mode="create_savepoint"
        )
        limiter.reset()
        try:
            yield app
        finally:
            db.session.remove()
            db.session.session_factory.configure(bind=None)
            outer.rollback()
            connection.close()


@pytest.fixture()
def client(app_ctx: Flask) -> FlaskClient:
    return app_ctx.test_client()


CSRF_RE = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def post_form(
    client: FlaskClient, url: str, data: dict[str, Any], page: str | None = None, **kwargs: Any
) -> Any:
    """Submit a form the way a browser does: load the page, send its CSRF token."""
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_from(html), **data}, **kwargs)


def table_names() -> list[str]:
    return [t.name for t in reversed(db.metadata.sorted_tables)]


def wipe(app: Flask) -> None:
    with app.app_context(), db.engine.begin() as conn:
        for name in table_names():
            conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names


PASSWORD = "correct horse battery"


def make_user(
    email: str = "ivan@example.org",
    password: str = PASSWORD,
    *,
    verified: bool = True,
    name: str = "Иван",
) -> Any:
    """A collector created through the real sign-up service."""
    from marketplace.accounts.operations import Accounts
    from marketplace.core.models import utcnow
    from marketplace.core.registry import find_service

    user = find_service(Accounts).sign_up(email, password, name)
    assert user is not None
    if verified:
        user.email_verified_at = utcnow()
    db.session.flush()
    return user


def login(client: FlaskClient, email: str = "ivan@example.org", password: str = PASSWORD) -> Any:
    return post_form(client, "/account/login", {"email": email, "password": password})
