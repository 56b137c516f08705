"""Real moving parts for integration tests: a Redis broker (started by
tests/run_suite.sh), an SMTP server on loopback, a Celery worker process, and an
app that commits for real, all sharing one migrated database per run."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from marketplace import create_app
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.mail.models import MailMessage
from tests.support.app import database_url, make_settings, migrate, wipe
from tests.support.smtp_server import SmtpServer
from tests.support.worker import Worker


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("ZNACHKI_TEST_REDIS")
    if not url:
        pytest.skip("integration tests need ZNACHKI_TEST_REDIS (make test starts Redis)")
    return url


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_env(
    request: pytest.FixtureRequest, workdir: Path, redis_url: str, smtp: SmtpServer
) -> dict[str, str]:
    return {
        "ZNACHKI_ENV": "testing",
        "SECRET_KEY": "integration-secret",
        "DATABASE_URL": database_url(request.config, workdir, "znachki_it"),
        "REDIS_URL": redis_url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port),
        "MAIL_RETRY_BASE_SECONDS": "0.2",
        "BROKER_VISIBILITY_TIMEOUT": "4",
        "BASE_URL": "http://znachki.test",
        "BROKER_DIR": str(workdir / "broker"),
    }


@pytest.fixture(scope="session")
def live_app(live_env: dict[str, str], workdir: Path) -> Iterator[Flask]:
    settings = make_settings(live_env["DATABASE_URL"], workdir, **live_env)
    app = create_app(settings)
    migrate(app)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture(scope="session")
def worker(live_app: Flask, live_env: dict[str, str], workdir: Path) -> Iterator[Worker]:
    process = Worker(live_env, workdir / "worker.log").start()
    yield process
    process.stop()


def _worker_busy(app: Flask) -> bool:
    """Tasks handed to the worker and not yet done, or mail still waiting to go."""
    with app.app_context():
        in_flight = (
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.published_at.is_not(None), OutboxMessage.consumed_at.is_(None))
        )
        unsent = select(func.count()).select_from(MailMessage).where(MailMessage.status == "queued")
        return bool(db.session.scalar(in_flight) or db.session.scalar(unsent))


def settle(app: Flask, timeout: float = 30.0) -> None:
    """Let the worker finish what the previous test started. A task still in
    flight would otherwise act on the next test's data, or its mail reach the
    SMTP server after the next test reset it. Quiet must hold twice in a row: a
    task commits its follow-up work a moment before it hands it over."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:
        quiet = 0 if _worker_busy(app) else quiet + 1
        time.sleep(0.2)


@pytest.fixture()
def live(live_app: Flask, worker: Worker, smtp: SmtpServer) -> Iterator[Flask]:
    """The live app with a running worker; once the worker has finished what the
    previous test started, data and mail are cleared before each test."""
    settle(live_app)
    wipe(live_app)
    smtp.handler.reset()
    yield live_app
