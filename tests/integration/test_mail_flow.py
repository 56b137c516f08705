"""End to end over real parts: web form → database → outbox → Redis → Celery worker
process → SMTP server → link followed → logged in."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.mail import delivery as mail
from marketplace.mail.models import MailMessage
from tests.support.factories import PASSWORD
from tests.support.smtp_server import SmtpServer
from tests.support.web import post_form

pytestmark = pytest.mark.integration


def wait_until(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def message_row(app: Flask, message_id: int) -> MailMessage:
    with app.app_context():
        row = db.session.get(MailMessage, message_id)
        assert row is not None
        db.session.expunge(row)
        return row


def test_sign_up_verify_by_email_and_log_in(live: Flask, smtp: SmtpServer) -> None:
    client = live.test_client()
    response = post_form(
        client,
        "/account/signup",
        {"email": "sasha@example.org", "password": PASSWORD, "display_name": "Саша"},
    )
    assert "Check your mail" in response.get_data(as_text=True)

    received = smtp.handler.wait_for(1)
    assert received[0].rcpt_tos == ["sasha@example.org"]
    link = re.search(r"http://znachki\.test(/account/verify/[\w-]+)", received[0].text)
    assert link, received[0].text
    assert link.group(0) in received[0].html

    assert client.get(link.group(1)).status_code == 302
    logged_in = post_form(
        client, "/account/login", {"email": "sasha@example.org", "password": PASSWORD}
    )
    assert logged_in.status_code == 302
    assert "Саша" in client.get("/").get_data(as_text=True)

    with live.app_context():
        row = db.session.scalar(select(OutboxMessage))
        assert row is not None and row.published_at is not None
        assert wait_until(lambda: db.session.get(OutboxMessage, row.id).consumed_at)  # type: ignore[union-attr]


def queue_and_commit(app: Flask, to: str) -> int:
    """What any service does: write the message and its outbox row in one
    transaction; the boundary commits and then publishes."""
    from marketplace.core.celery_app import after_commit

    with app.app_context():
        message = mail.queue(
            db.session(), to=to, template="verify_email", name="N", url="http://u/v"
        )
        db.session.commit()
        after_commit(app)
        return message.id


def test_451_twice_then_accepted_is_delivered_exactly_once(live: Flask, smtp: SmtpServer) -> None:
    smtp.handler.script.extend(["451 4.7.1 greylisted", "451 4.7.1 greylisted"])
    message_id = queue_and_commit(live, "mart@example.ee")
    smtp.handler.wait_for(1)
    row = wait_until(lambda: (r := message_row(live, message_id)).status == "sent" and r)
    assert row.attempts == 3
    time.sleep(1.0)  # nothing else is on its way
    assert len(smtp.handler.received) == 1
    assert smtp.handler.attempts == 3


def test_550_marks_the_message_failed_with_the_reason(live: Flask, smtp: SmtpServer) -> None:
    smtp.handler.script.append("550 5.1.1 mailbox unavailable")
    message_id = queue_and_commit(live, "ghost@example.org")
    row = wait_until(lambda: (r := message_row(live, message_id)).status == "failed" and r)
    assert row.last_error == "550 5.1.1 mailbox unavailable"
    assert row.attempts == 1
    assert smtp.handler.received == []


def test_healthz_reports_database_and_broker(live: Flask) -> None:
    body = live.test_client().get("/healthz").json
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert body["broker"]["transport"] == "redis"
