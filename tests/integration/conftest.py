"""Real moving parts for integration tests: a Redis broker (started by
tests/run_suite.sh), an SMTP server on loopback, a Celery worker process, and an
app that commits for real, all sharing one migrated database per run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from marketplace import create_app
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


@pytest.fixture()
def live(live_app: Flask, worker: Worker, smtp: SmtpServer) -> Iterator[Flask]:
    """The live app with a running worker; data and mail are cleared before each test."""
    wipe(live_app)
    smtp.handler.reset()
    yield live_app
