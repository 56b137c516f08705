"""Batched delivery over real parts (Redis, Celery worker processes, an SMTP
server): one refusal in a batch touches only its own message, two workers given
the same messages send each once, mail a dead worker had claimed goes out through
the stuck-mail sweep, and notifications built together still reach each collector
with their own content and unsubscribe link."""

from __future__ import annotations

import collections
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update

from marketplace.accounts.models import User
from marketplace.core import outbox
from marketplace.core.celery_app import after_commit
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.mail import delivery as mail
from marketplace.mail.models import MailMessage
from marketplace.matches.models import Match
from marketplace.notifications.operations import Links
from tests.support.smtp_server import SmtpServer
from tests.support.worker import Worker

pytestmark = pytest.mark.integration


def wait_until(predicate, timeout: float = 60.0, step: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")


def queue(app: Flask, count: int, prefix: str = "r") -> list[int]:
    """`count` messages queued in one transaction (so the relay publishes them as
    one batch), published after the commit."""
    with app.app_context():
        ids = [
            mail.queue(db.session(), to=f"{prefix}{n}@example.org", template="verify_email",
                       name=f"Reader {n}", url=f"http://znachki.test/verify/{n}").id
            for n in range(count)
        ]  # fmt: skip
        db.session.commit()
        after_commit(app)
        return ids


def rows(app: Flask, ids: list[int]) -> dict[int, MailMessage]:
    with app.app_context():
        found = {
            m.id: m for m in db.session.scalars(select(MailMessage).where(MailMessage.id.in_(ids)))
        }
        db.session.expunge_all()
        return found


def settled(app: Flask, ids: list[int]) -> dict[int, MailMessage] | None:
    found = rows(app, ids)
    return found if all(m.status != "queued" for m in found.values()) else None


def test_one_refusal_in_a_batch_touches_only_its_own_message(live: Flask, smtp: SmtpServer) -> None:
    # The batch goes in id order: the second message is greylisted, the third
    # refused for good; the others go through on the same connection.
    smtp.handler.script.extend(["250 OK", "451 4.7.1 greylisted", "550 5.1.1 no such user"])
    ids = queue(live, 6)
    found = wait_until(lambda: settled(live, ids), timeout=60)
    time.sleep(1.0)  # anything sent twice would arrive now

    assert [found[i].status for i in ids] == ["sent", "sent", "failed", "sent", "sent", "sent"]
    assert found[ids[1]].attempts == 2  # retried once, with backoff
    assert found[ids[2]].attempts == 1 and found[ids[2]].last_error == "550 5.1.1 no such user"
    per_address = collections.Counter(r.rcpt_tos[0] for r in smtp.handler.received)
    assert per_address == {f"r{n}@example.org": 1 for n in (0, 1, 3, 4, 5)}
    assert smtp.handler.attempts == 7  # six first tries and the one retry
    # The first tries of the batch shared one SMTP connection.
    first_tries = [r for r in smtp.handler.received if r.rcpt_tos[0] != "r1@example.org"]
    assert len({r.peer for r in first_tries}) == 1
    # The Message-ID is the stored message's: a copy sent again would say so.
    by_address = {r.rcpt_tos[0]: r for r in smtp.handler.received}
    assert by_address["r1@example.org"].message["Message-ID"] == f"<mail-{ids[1]}@znachki.exchange>"


def test_two_workers_given_the_same_messages_send_each_once(
    live: Flask, smtp: SmtpServer, live_env: dict[str, str], workdir: Path
) -> None:
    count = 40
    smtp.handler.delay = 0.01  # a server slow enough for deliveries to overlap
    second = Worker(live_env, workdir / "second-worker.log", concurrency=2).start()
    try:
        ids = queue(live, count, prefix="twice")
        # The same messages handed out again, three more times, in other batches.
        celery = live.extensions["celery"]
        for chunk in (ids, ids[::-1], ids[count // 2 :] + ids[: count // 2]):
            celery.send_task(
                "workers.tasks.deliver_mail_batch",
                kwargs={"items": [{"message_id": i} for i in chunk]},
            )
        wait_until(lambda: settled(live, ids), timeout=90)
        time.sleep(1.5)
    finally:
        second.stop()
    per_address = collections.Counter(r.rcpt_tos[0] for r in smtp.handler.received)
    assert per_address == {f"twice{n}@example.org": 1 for n in range(count)}
    assert all(m.status == "sent" and m.attempts == 1 for m in rows(live, ids).values())


def test_mail_a_dead_worker_had_claimed_goes_out_through_the_sweep(
    live: Flask, smtp: SmtpServer
) -> None:
    with live.app_context():
        session = db.session()
        ids = [
            mail.queue(session, to=f"held{n}@example.org", template="verify_email",
                       name="N", url=f"http://znachki.test/verify/{n}").id
            for n in range(3)
        ]  # fmt: skip
        session.commit()  # not published: the worker that claims them dies
        claimed = mail.claim(session, ids, utcnow())
        assert [m.id for m in claimed] == ids
        assert mail.claim(session, ids, utcnow()) == []  # held: nobody else takes them
        session.commit()
        # ... and long ago: its claim ran out and the sweep's interval has passed.
        session.execute(
            update(MailMessage)
            .where(MailMessage.id.in_(ids))
            .values(next_attempt_at=utcnow() - timedelta(seconds=30))
        )
        session.commit()
        assert mail.requeue_stuck(session, timedelta(seconds=10)) == 3
        session.commit()
        after_commit(live)
    found = wait_until(lambda: settled(live, ids), timeout=60)
    time.sleep(1.0)
    assert all(m.status == "sent" and m.attempts == 2 for m in found.values())
    per_address = collections.Counter(r.rcpt_tos[0] for r in smtp.handler.received)
    assert per_address == {f"held{n}@example.org": 1 for n in range(3)}


def test_notifications_built_together_each_carry_their_own_content(
    live: Flask, smtp: SmtpServer
) -> None:
    count = 12
    with live.app_context():
        session = db.session()
        now = utcnow()
        people = [
            User(email=f"col{n}@example.org", display_name=f"Коллекционер {n}",
                 password_hash="-", email_verified_at=now, locale="ru" if n % 2 else "en")
            for n in range(count)
        ] + [
            User(email=f"partner{n}@example.org", display_name=f"Партнёр-{n}-Zz",
                 password_hash="-", email_verified_at=now)
            for n in range(count)
        ]  # fmt: skip
        session.add_all(people)
        session.flush()
        collectors, partners = people[:count], people[count:]
        for me, other in zip(collectors, partners, strict=True):
            session.add(Match(user_id=me.id, kind="swap", key=f"swap:{other.id}",
                              counterpart_id=other.id, score=1.0))  # fmt: skip
        # As a match refresh does: one event per collector, in one transaction.
        outbox.enqueue_many(
            session, "workers.tasks.notify_collector", ({"user_id": u.id} for u in collectors)
        )
        session.commit()
        after_commit(live)
        expected = {
            u.email: (u.id, p.display_name) for u, p in zip(collectors, partners, strict=True)
        }
    received = smtp.handler.wait_for(count, timeout=60)
    time.sleep(1.0)
    assert len(smtp.handler.received) == count
    links = Links("http://znachki.test", "integration-secret")
    for r in received:
        user_id, partner = expected[r.rcpt_tos[0]]
        assert r.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        token = re.search(r"/unsubscribe/([^>]+)>", r.message["List-Unsubscribe"])
        assert token and links.read_token(token.group(1)) == (user_id, "swap")
        assert partner in r.message["Subject"] and partner in r.text and partner in r.html
        others = {name for _, name in expected.values()} - {partner}
        assert not any(name in r.text for name in others)
    assert len({r.message["Message-ID"] for r in received}) == count
    # Built together, they were delivered in batches, not a connection each.
    assert len({r.peer for r in received}) < count
