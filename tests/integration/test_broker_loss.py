"""Mail survives a broker that loses everything: Redis started without persistence
(as the suite starts it) is killed with 30 messages published to it and started
again empty. The outbox relay publishes again what no worker consumed, the mail
sweep queues again what the relay gave up on, and every message arrives exactly
once; meanwhile /healthz says work was lost."""

from __future__ import annotations

import collections
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import update

from marketplace import create_app
from marketplace.core.celery_app import QUEUES, after_commit
from marketplace.core.extensions import db
from marketplace.core.outbox import REPUBLISH_LIMIT, OutboxMessage
from marketplace.mail import delivery as mail
from marketplace.mail.models import MailMessage
from tests.support.app import make_settings
from tests.support.smtp_server import SmtpServer, free_port
from tests.support.worker import Worker

pytestmark = pytest.mark.integration

MESSAGES = 30


class Redis:
    """A throwaway redis-server without persistence, on its own port."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.log = workdir / f"redis-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        binary = shutil.which("redis-server")
        assert binary, "make test installs redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--logfile", str(self.log)],
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        for _ in range(100):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()  # SIGKILL: nothing is saved
        self.process.wait(10)

    def queued(self) -> int:
        client = redis.Redis.from_url(self.url)
        return sum(int(client.llen(queue)) for queue in QUEUES)


@pytest.fixture()
def lost_broker(
    live: Flask, live_env: dict[str, str], workdir: Path
) -> Iterator[tuple[Redis, dict[str, str], Flask]]:
    broker = Redis(workdir).start()
    env = {**live_env, "REDIS_URL": broker.url, "OUTBOX_REPUBLISH_AFTER_SECONDS": "1",
           "MAIL_STUCK_AFTER_SECONDS": "1", "BROKER_VISIBILITY_TIMEOUT": "4"}  # fmt: skip
    # The rate limiter is one object for every app in the process: keep its store
    # off this Redis, which the test kills, or the other tests' logins would fail.
    app = create_app(
        make_settings(env["DATABASE_URL"], workdir, **env), RATELIMIT_STORAGE_URI="memory://"
    )
    yield broker, env, app
    app.extensions["db_engine"].dispose()
    if broker.process and broker.process.poll() is None:
        broker.kill()


def _wait(predicate, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_mail_published_to_a_broker_that_died_is_delivered_exactly_once(
    lost_broker: tuple[Redis, dict[str, str], Flask], smtp: SmtpServer, workdir: Path
) -> None:
    broker, env, app = lost_broker
    with app.app_context():
        ids = [
            mail.queue(db.session(), to=f"reader{n}@example.org", template="verify_email",
                       name=f"Reader {n}", url=f"http://znachki.test/verify/{n}").id
            for n in range(MESSAGES)
        ]  # fmt: skip
        db.session.commit()
        after_commit(app)
        assert broker.queued() == 1  # published as one batch, nobody consuming yet
        # Half of them the relay has already published as often as it ever will:
        # only the mail sweep can save those.
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(
                db.session.scalars(
                    OutboxMessage.__table__.select().with_only_columns(OutboxMessage.id)
                    .order_by(OutboxMessage.id).limit(MESSAGES // 2)
                ).all()
            ))
            .values(publish_attempts=REPUBLISH_LIMIT)
        )  # fmt: skip
        db.session.commit()

    broker.kill()
    broker.start()  # empty: every published task is gone
    assert broker.queued() == 0
    time.sleep(1.5)
    with app.app_context():
        health = app.test_client().get("/healthz").json
        assert health["status"] == "backlog" and health["outbox"]["stale"] == MESSAGES
        assert health["mail"]["stuck"] == MESSAGES

    worker = Worker(env, workdir / "worker-lost-broker.log", beat=True).start()
    try:
        app.extensions["celery"].send_task("workers.tasks.sweep_stuck_mail")

        def all_sent() -> bool:
            with app.app_context():
                statuses = collections.Counter(
                    db.session.scalars(
                        MailMessage.__table__.select()
                        .with_only_columns(MailMessage.status)
                        .where(MailMessage.id.in_(ids))
                    )
                )
                return statuses["sent"] == MESSAGES

        _wait(all_sent)
        time.sleep(2.0)  # anything sent twice would arrive now
    finally:
        worker.stop()
    received = collections.Counter(str(r.message["To"]) for r in smtp.handler.received)
    assert len(received) == MESSAGES
    assert set(received.values()) == {1}
    print(f"\nFIGURE broker loss: {MESSAGES} queued, Redis killed, {len(received)} delivered, "
          f"{sum(received.values()) - len(received)} duplicates")  # fmt: skip
