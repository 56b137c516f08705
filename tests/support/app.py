"""The app under test and its databases: settings for the testing environment, a
database URL per run (SQLite file or a database on the suite's PostgreSQL server),
Alembic migration, wiping committed data, and the test client class."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from marketplace.config import Settings
from marketplace.core.extensions import cache, db, limiter

ROOT = Path(__file__).resolve().parents[2]


def _postgres_base() -> str:
    base = os.environ.get("ZNACHKI_TEST_PG")
    if not base:
        pytest.skip("PostgreSQL tests need ZNACHKI_TEST_PG (make test starts a server)")
    return base


def database_url(config: pytest.Config, workdir: Path, name: str) -> str:
    """The run's database `name`: on the suite's PostgreSQL server (which
    tests/run_suite.sh creates) or a SQLite file under `workdir`."""
    if config.getoption("--db") == "postgresql":
        return f"{_postgres_base()}/{name}"
    return f"sqlite:///{workdir / (name + '.sqlite3')}"


def committed_database(config: pytest.Config, workdir: Path, name: str) -> str:
    """A fresh, empty database of its own for tests that need committed data and
    many connections (created on the suite's PostgreSQL server when that is the run)."""
    if config.getoption("--db") == "postgresql":
        base = _postgres_base()
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


@contextmanager
def app_on_own_database(config: pytest.Config, workdir: Path, name: str) -> Iterator[Flask]:
    """An app on a fresh database of its own (`committed_database`), not yet
    migrated, for tests that commit for real or move the schema; its connections
    are closed afterwards."""
    from marketplace import create_app

    app = create_app(
        make_settings(committed_database(config, workdir, name), workdir), OUTBOX_RELAY=False
    )
    try:
        yield app
    finally:
        app.extensions["db_engine"].dispose()


def make_settings(url: str, workdir: Path, **env: str) -> Settings:
    return Settings.from_env(
        {
            "ZNACHKI_ENV": "testing",
            "SECRET_KEY": "test-secret-key",
            "DATABASE_URL": url,
            "BASE_URL": "http://znachki.test",
            "BROKER_DIR": str(workdir / "broker"),
            # Every collector the suite makes is new; the trust ladder's allowance
            # is tested at its production default in tests/test_trust_ladder.py.
            "NEW_MEMBER_OPEN_TRADES": "1000",
            **env,
        }
    )


@contextmanager
def savepoint(app: Flask) -> Iterator[None]:
    """The app's context with a session on one connection whose outer transaction
    is rolled back at the end, whatever the code under test committed; rate
    limits and the cache start empty."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        db.session.session_factory.configure(
            bind=connection, join_transaction_mode="create_savepoint"
        )
        limiter.reset()
        cache.clear()
        # The versions too: what a test committed is rolled back after it,
        # so nothing kept under its versions (the facet index) may outlive it.
        versions = app.extensions.get("cache_versions")
        if versions is not None:
            versions.clear()
        try:
            yield
        finally:
            db.session.remove()
            db.session.session_factory.configure(bind=None)
            outer.rollback()
            connection.close()


def migrate(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")


def table_names() -> list[str]:
    """Every table, children before parents (the order rows can be deleted in)."""
    return [t.name for t in reversed(db.metadata.sorted_tables)]


def wipe(app: Flask) -> None:
    """Delete every committed row (tests that commit for real start from empty)."""
    with app.app_context(), db.engine.begin() as conn:
        for name in table_names():
            conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names


class RequestClient(FlaskClient):
    """Unit tests keep one app context open (it holds the savepoint session), and
    Flask reuses an open app context for requests. Each request here still gets a
    fresh `g`, as it would in production, so login and CSRF state cannot leak
    between requests or clients."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if not has_app_context():
            return super().open(*args, **kwargs)
        # What the test set up is written first, as a real request would find it
        # committed; the request's own unit of work then writes only its own.
        db.session.flush()
        saved = dict(g.__dict__)
        g.__dict__.clear()
        try:
            return super().open(*args, **kwargs)
        finally:
            g.__dict__.clear()
            g.__dict__.update(saved)
