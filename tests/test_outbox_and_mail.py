"""The outbox (publish after commit, claim once) and mail delivery against a real
SMTP server on loopback, including temporary and permanent refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.core import outbox
from marketplace.core.celery_app import MAIL_QUEUE, QUEUES, REFRESH_QUEUE
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.outbox import OutboxMessage
from marketplace.mail import delivery as mail
from marketplace.mail.models import MailMessage
from marketplace.mail.transport import DevTransport, SmtpTransport
from tests.support.smtp_server import SmtpServer


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture()
def transport(smtp: SmtpServer) -> SmtpTransport:
    smtp.handler.reset()
    return SmtpTransport(host="127.0.0.1", port=smtp.port, timeout=5)


def queue_one(to: str = "olena@example.org") -> MailMessage:
    return mail.queue(db.session(), to=to, template="verify_email", name="Олена", url="http://x/y")


def test_publish_pending_publishes_each_row_once(app_ctx: Flask) -> None:
    first = outbox.enqueue(db.session(), "workers.tasks.send_digest", user_id=1, period="d")
    second = outbox.enqueue(db.session(), "workers.tasks.send_digest", user_id=2, period="d")
    sent: list[tuple[str, dict[str, Any], str]] = []
    assert outbox.publish_pending(db.session(), lambda *a: sent.append(a)) == 2
    assert outbox.publish_pending(db.session(), lambda *a: sent.append(a)) == 0
    assert sent == [
        (
            "workers.tasks.send_digest",
            {"user_id": 1, "period": "d", "outbox_id": first.id},
            f"outbox-{first.id}",
        ),
        (
            "workers.tasks.send_digest",
            {"user_id": 2, "period": "d", "outbox_id": second.id},
            f"outbox-{second.id}",
        ),
    ]


def test_rows_of_a_batched_task_are_published_together(app_ctx: Flask) -> None:
    mails = [outbox.enqueue(db.session(), mail.DELIVER_TASK, message_id=n) for n in range(60)]
    digest = outbox.enqueue(db.session(), "workers.tasks.send_digest", user_id=1, period="d")
    sent: list[tuple[str, dict[str, Any], str]] = []
    assert outbox.publish_pending(db.session(), lambda *a: sent.append(a)) == 61
    batches = [(task, kwargs) for task, kwargs, _ in sent if task.endswith("_batch")]
    assert [len(kwargs["items"]) for _, kwargs in batches] == [50, 10]
    items = [item for _, kwargs in batches for item in kwargs["items"]]
    assert items == [{"message_id": n, "outbox_id": row.id} for n, row in enumerate(mails)]
    assert sent[0][2] == f"outbox-{mails[0].id}+50"
    assert ("workers.tasks.send_digest", {"user_id": 1, "period": "d", "outbox_id": digest.id},
            f"outbox-{digest.id}") in sent  # fmt: skip


def test_a_failed_publish_leaves_the_row_for_the_next_sweep(app_ctx: Flask) -> None:
    row = outbox.enqueue(db.session(), "workers.tasks.deliver_mail", message_id=1)
    db.session.commit()

    def broken(*_: Any) -> None:
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        outbox.publish_pending(db.session(), broken)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(OutboxMessage, row.id).published_at is None  # type: ignore[union-attr]


def test_rows_published_long_ago_and_never_consumed_are_published_again(
    app_ctx: Flask,
) -> None:
    lost = outbox.enqueue(db.session(), "workers.tasks.deliver_mail", message_id=1)
    done = outbox.enqueue(db.session(), "workers.tasks.deliver_mail", message_id=2)
    recent = outbox.enqueue(db.session(), "workers.tasks.deliver_mail", message_id=3)
    outbox.publish_pending(db.session(), lambda *a: None)
    an_hour_ago = utcnow() - timedelta(hours=1)
    lost.published_at = done.published_at = an_hour_ago
    outbox.claim(db.session(), done.id)
    db.session.flush()

    sent: list[tuple[str, dict[str, Any], str]] = []
    again = outbox.republish_lost(db.session(), lambda *a: sent.append(a), timedelta(minutes=30))
    assert again == 1
    assert sent == [
        (
            "workers.tasks.deliver_mail_batch",
            {"items": [{"message_id": 1, "outbox_id": lost.id}]},
            f"outbox-{lost.id}+1",
        )
    ]
    assert lost.publish_attempts == 2 and lost.published_at > an_hour_ago
    assert recent.publish_attempts == 1  # published a moment ago: not lost yet
    # Just published again: not overdue until the interval has passed once more.
    assert (
        outbox.republish_lost(db.session(), lambda *a: sent.append(a), timedelta(minutes=30)) == 0
    )


def test_a_row_is_published_at_most_a_few_times(app_ctx: Flask) -> None:
    row = outbox.enqueue(db.session(), "workers.tasks.deliver_mail", message_id=1)
    outbox.publish_pending(db.session(), lambda *a: None)
    published = 1
    for _ in range(outbox.REPUBLISH_LIMIT + 3):
        row.published_at = utcnow() - timedelta(hours=1)
        db.session.flush()
        published += outbox.republish_lost(db.session(), lambda *a: None, timedelta(minutes=30))
    assert published == outbox.REPUBLISH_LIMIT == row.publish_attempts


def test_claim_is_once_per_outbox_id(app_ctx: Flask) -> None:
    row = outbox.enqueue(db.session(), "workers.tasks.deliver_mail", message_id=1)
    assert not outbox.is_consumed(db.session(), row.id)
    assert outbox.claim(db.session(), row.id) is True
    assert outbox.claim(db.session(), row.id) is False
    assert outbox.is_consumed(db.session(), row.id)


def test_queued_mail_is_rendered_in_text_and_html(app_ctx: Flask) -> None:
    message = queue_one()
    assert message.subject == "Confirm your email for Znachki Exchange"
    assert "Олена" in message.body_text and "http://x/y" in message.body_text
    assert '<a href="http://x/y"' in message.body_html
    row = db.session.scalar(select(OutboxMessage))
    assert row is not None and row.payload == {"message_id": message.id}


def test_delivery_over_real_smtp(
    app_ctx: Flask, smtp: SmtpServer, transport: SmtpTransport
) -> None:
    message = queue_one()
    outcome, _ = mail.deliver(db.session(), message.id, transport, "Znachki <noreply@znachki.test>")
    assert outcome is mail.Outcome.SENT
    received = smtp.handler.wait_for(1)[0]
    assert received.rcpt_tos == ["olena@example.org"]
    assert received.message["Subject"] == message.subject
    assert "Олена" in received.text and "http://x/y" in received.html
    # Delivering the same message again sends nothing.
    assert mail.deliver(db.session(), message.id, transport, "x@y.z")[0] is mail.Outcome.SKIPPED
    assert smtp.handler.attempts == 1


def test_4xx_is_retried_and_5xx_is_final(
    app_ctx: Flask, smtp: SmtpServer, transport: SmtpTransport
) -> None:
    message = queue_one()
    smtp.handler.script.extend(["451 4.3.0 try later", "550 5.1.1 no such mailbox"])
    outcome, row = mail.deliver(db.session(), message.id, transport, "a@b.c")
    assert outcome is mail.Outcome.RETRY and row is not None
    assert row.status == "queued" and row.attempts == 1 and row.last_error.startswith("451")
    outcome, row = mail.deliver(db.session(), message.id, transport, "a@b.c")
    assert outcome is mail.Outcome.FAILED and row is not None
    assert row.status == "failed" and "550 5.1.1 no such mailbox" in (row.last_error or "")
    assert smtp.handler.received == []


def test_dropped_connection_is_transient(
    app_ctx: Flask, smtp: SmtpServer, transport: SmtpTransport
) -> None:
    message = queue_one()
    smtp.handler.script.append("drop")
    outcome, row = mail.deliver(db.session(), message.id, transport, "a@b.c")
    assert outcome is mail.Outcome.RETRY and row is not None and row.last_error
    assert mail.deliver(db.session(), message.id, transport, "a@b.c")[0] is mail.Outcome.SENT


def test_unreachable_server_is_transient(app_ctx: Flask) -> None:
    from tests.support.smtp_server import free_port

    message = queue_one()
    closed = SmtpTransport(host="127.0.0.1", port=free_port(), timeout=2)
    assert mail.deliver(db.session(), message.id, closed, "a@b.c")[0] is mail.Outcome.RETRY


def test_backoff_grows_and_is_capped() -> None:
    assert [mail.retry_delay(n, 30) for n in (1, 2, 3)] == [30, 60, 120]
    assert mail.retry_delay(20, 30) == 3600


def test_a_message_is_claimed_by_one_delivery_until_its_claim_runs_out(app_ctx: Flask) -> None:
    ids = [queue_one(f"c{n}@example.org").id for n in range(3)]
    now = utcnow()
    assert [m.id for m in mail.claim(db.session(), ids, now)] == ids
    assert mail.claim(db.session(), ids, now + timedelta(seconds=1)) == []  # held

    # Another delivery leaves them to their holder, unless it may be the holder
    # itself (handed out again after its worker died): that one waits.
    def deliver(wait: bool) -> mail.Batch:
        return mail.deliver_batch(
            db.session(), ids, DevTransport(), "a@b.c",
            commit=db.session.flush, retry_base_s=30, wait_for_held=wait,
        )  # fmt: skip

    assert deliver(wait=False).skipped == ids
    waiting = deliver(wait=True)
    assert waiting.sent == [] and sorted(waiting.held) == ids
    later = now + mail.CLAIM_FOR + timedelta(seconds=1)  # the claimer died
    again = mail.claim(db.session(), ids, later)
    assert [(m.id, m.attempts) for m in again] == [(i, 2) for i in ids]


def test_a_batch_goes_over_one_connection_and_a_refusal_touches_only_its_message(
    app_ctx: Flask, smtp: SmtpServer, transport: SmtpTransport
) -> None:
    ids = [queue_one(f"b{n}@example.org").id for n in range(5)]
    smtp.handler.script.extend(["250 OK", "451 4.3.0 try later", "550 5.1.1 no such mailbox"])
    batch = mail.deliver_batch(db.session(), ids, transport, "Znachki <noreply@znachki.test>",
                               commit=db.session.flush, retry_base_s=30)  # fmt: skip
    assert batch.sent == [ids[0], ids[3], ids[4]] and batch.failed == [ids[2]]
    assert list(batch.retry) == [ids[1]]
    retrying = db.session.get(MailMessage, ids[1])
    assert retrying is not None and retrying.status == "queued" and retrying.attempts == 1
    assert retrying.next_attempt_at is not None and retrying.next_attempt_at > utcnow()
    received = smtp.handler.wait_for(3)
    assert [r.rcpt_tos[0] for r in received] == [
        "b0@example.org",
        "b3@example.org",
        "b4@example.org",
    ]
    assert len({r.peer for r in received}) == 1
    assert received[0].message["Message-ID"] == f"<mail-{ids[0]}@znachki.exchange>"
    assert "Олена" in received[0].text and "http://x/y" in received[0].html
    # The same batch again sends nothing: sent, failed, and a retry not yet due.
    again = mail.deliver_batch(db.session(), ids, transport, "a@b.c", commit=db.session.flush,
                               retry_base_s=30)  # fmt: skip
    assert again.sent == [] and sorted(again.skipped) == sorted(ids)
    assert smtp.handler.attempts == 5


def test_refreshes_and_mail_have_queues_of_their_own(app: Flask) -> None:
    """Workers take from every queue in turn, so a match refresh never waits
    behind the ring searches and notifications earlier changes queued."""
    celery = app.extensions["celery"]
    assert [queue.name for queue in celery.conf.task_queues] == list(QUEUES)

    def queue_of(task: str) -> str:
        return str(celery.amqp.router.route({}, task)["queue"].name)

    assert queue_of("workers.tasks.refresh_collector_matches") == REFRESH_QUEUE
    assert queue_of("workers.tasks.deliver_mail_batch") == MAIL_QUEUE
    assert queue_of("workers.tasks.find_collector_rings") == "znachki"
    assert queue_of("workers.tasks.notify_collector") == "znachki"
