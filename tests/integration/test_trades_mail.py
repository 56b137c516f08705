"""Trade steps reach the parties by mail over real parts (a Celery worker and an
SMTP server): each in their own language, honouring their preferences; and the
beat task that expires unanswered proposals runs in the worker and tells everyone."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import update

from marketplace.core.celery_app import after_commit
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.registry import find_service
from marketplace.notifications.operations import Notifier
from marketplace.trades.models import Trade
from tests.support.smtp_server import SmtpServer
from tests.support.trades import copy_of, lines, trader, trades

pytestmark = pytest.mark.integration


def _wait_for(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _subjects(smtp: SmtpServer, to: str) -> list[str]:
    return [str(r.message["Subject"]) for r in smtp.handler.received if to in str(r.message["To"])]


def test_a_proposal_is_mailed_in_the_readers_language_unless_they_turned_it_off(
    live: Flask, smtp: SmtpServer
) -> None:
    with live.app_context():
        ivan, olga, petr = trader("Ivan"), trader("Olga"), trader("Petr")
        olga.locale = "ru"
        find_service(Notifier).set_mode(petr.id, "trade", "off")
        mine, hers, his = copy_of(ivan), copy_of(olga), copy_of(petr)
        trades().propose(ivan, olga.id, give=lines(mine), take=lines(hers))
        trades().propose(ivan, petr.id, give=lines(mine), take=lines(his))
        db.session.commit()
        after_commit(live)
    _wait_for(lambda: _subjects(smtp, "olga@example.org"))
    time.sleep(1.0)
    assert _subjects(smtp, "olga@example.org") == ["Ivan предлагает обмен"]
    assert _subjects(smtp, "petr@example.org") == []
    assert _subjects(smtp, "ivan@example.org") == []  # nobody is told what they did


def test_the_expiry_task_runs_in_the_worker_and_tells_both_sides(
    live: Flask, smtp: SmtpServer
) -> None:
    with live.app_context():
        ivan, olga = trader("Ivan"), trader("Olga")
        trade = trades().propose(ivan, olga.id, give=lines(copy_of(ivan)))
        trade_id = trade.id
        db.session.execute(
            update(Trade)
            .where(Trade.id == trade_id)
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        after_commit(live)
    _wait_for(lambda: _subjects(smtp, "olga@example.org"))  # the proposal
    live.extensions["celery"].send_task("workers.tasks.expire_trades")

    def expired() -> bool:
        with live.app_context():
            row = db.session.get(Trade, trade_id)
            return row is not None and row.status == "expired"

    _wait_for(expired)
    _wait_for(lambda: len(_subjects(smtp, "olga@example.org")) == 2)
    _wait_for(lambda: _subjects(smtp, "ivan@example.org"))
    assert "expired" in _subjects(smtp, "ivan@example.org")[0]
