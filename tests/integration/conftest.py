"""Real moving parts for integration tests: a Redis broker (started by
tests/run_suite.sh), an SMTP server on loopback, a Celery worker process, and an
app that commits for real, all sharing one migrated database per run; for the
browser tests, that app served over HTTP and Debian's Chromium driven by
Playwright on phone-sized screens."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from marketplace import create_app
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.mail.models import MailMessage
from tests.support.app import database_url, make_settings, migrate, wipe
from tests.support.smtp_server import SmtpServer, free_port
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


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture()
def server(live: Flask) -> Iterator[str]:
    """The live app over HTTP on a free loopback port."""
    port = free_port()
    httpd = make_server("127.0.0.1", port, live, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture()
def browser(server: str) -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("browser tests need Debian's chromium (make test installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture()
def phones(browser: Any) -> Iterator[Callable[[], Any]]:
    """A new phone-sized browser (its own cookies) per call, each a page."""
    contexts: list[Any] = []

    def phone() -> Any:
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
        contexts.append(context)
        return context.new_page()

    yield phone
    for context in contexts:
        context.close()


@pytest.fixture()
def page(phones: Callable[[], Any]) -> Any:
    return phones()
