"""Email as durable work: render a message from its templates, keep it as a
`MailMessage`, and hand it to the outbox; delivery is a task that retries transient
failures and records permanent ones on the message."""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any

from flask import render_template
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.core import outbox
from marketplace.core.models import utcnow
from marketplace.mail.models import MailMessage, MailSettings
from marketplace.mail.transport import (
    OutgoingMail,
    PermanentMailError,
    TransientMailError,
    Transport,
)

DELIVER_TASK = "workers.tasks.deliver_mail"
MAX_ATTEMPTS = 8


class Outcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    SKIPPED = "skipped"


def queue(
    session: Session,
    *,
    to: str,
    template: str,
    user_id: int | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> MailMessage:
    """Render `templates/email/<template>.{subject.txt,txt,html}` and schedule
    delivery for when the caller's transaction commits."""
    subject = render_template(f"email/{template}.subject.txt", **context).strip()
    message = MailMessage(
        user_id=user_id,
        kind=template,
        to_addr=to,
        subject=" ".join(subject.split()),
        body_text=render_template(f"email/{template}.txt", **context),
        body_html=render_template(f"email/{template}.html", **context),
        headers=headers or {},
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    outbox.enqueue(session, DELIVER_TASK, message_id=message.id)
    return message


def deliver(
    session: Session, message_id: int, transport: Transport, sender: str
) -> tuple[Outcome, MailMessage | None]:
    """Try to send one message once. The row is locked (on PostgreSQL) so two
    deliveries of the same outbox row cannot both send."""
    message = session.scalar(
        select(MailMessage).where(MailMessage.id == message_id).with_for_update()
    )
    if message is None or message.status != "queued":
        return Outcome.SKIPPED, message
    message.attempts += 1
    try:
        transport.send(
            OutgoingMail(
                sender=sender,
                to=message.to_addr,
                subject=message.subject,
                text=message.body_text,
                html=message.body_html,
                headers=dict(message.headers or {}),
            )
        )
    except TransientMailError as exc:
        message.last_error = str(exc)
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            message.last_error = f"gave up after {message.attempts} attempts: {exc}"
            return Outcome.FAILED, message
        return Outcome.RETRY, message
    except PermanentMailError as exc:
        message.status = "failed"
        message.last_error = str(exc)
        _record_failure(session, message)
        return Outcome.FAILED, message
    message.status = "sent"
    message.sent_at = utcnow()
    message.last_error = None
    _record_success(session, message)
    return Outcome.SENT, message


def requeue_stuck(session: Session, after: timedelta, limit: int = 500) -> int:
    """Give a new delivery task to queued messages whose attempt was due more than
    `after` ago; each is due again now, so it is swept at most once per `after`."""
    now = utcnow()
    stuck = session.scalars(
        select(MailMessage)
        .where(MailMessage.status == "queued", MailMessage.next_attempt_at < now - after)
        .order_by(MailMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for message in stuck:
        message.next_attempt_at = now
        outbox.enqueue(session, DELIVER_TASK, message_id=message.id)
    session.flush()
    return len(stuck)


def stuck_count(session: Session, after: timedelta) -> int:
    """Queued messages whose attempt was due more than `after` ago."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(MailMessage)
            .where(MailMessage.status == "queued", MailMessage.next_attempt_at < utcnow() - after)
        )
        or 0
    )


SUSPEND_AFTER = 3  # permanent refusals in a row before an address stops receiving


def mail_settings(session: Session, user_id: int) -> MailSettings:
    """A collector's mail settings, made with the defaults on first use."""
    settings = session.get(MailSettings, user_id)
    if settings is not None:
        return settings
    # Two transactions can make them at once (two trades agreed at the same moment
    # both mail a collector never mailed before): the loser of the insert takes
    # the winner's row instead of failing its whole unit of work.
    try:
        with session.begin_nested():
            settings = MailSettings(user_id=user_id)
            session.add(settings)
    except IntegrityError:
        settings = session.get(MailSettings, user_id)
        if settings is None:
            raise
    return settings


def _record_failure(session: Session, message: MailMessage) -> None:
    """A permanent refusal counts against the address; after a few in a row,
    notifications stop until the collector fixes it (settings page)."""
    # user_id is set to NULL when an account is deleted (the foreign key says so),
    # so a message that still names a collector names one that exists.
    if message.user_id is None:
        return
    state = mail_settings(session, message.user_id)
    state.consecutive_failures += 1
    state.last_failure = (message.last_error or "")[:500]
    state.last_failure_at = utcnow()
    if state.consecutive_failures >= SUSPEND_AFTER and state.suspended_at is None:
        state.suspended_at = utcnow()


def _record_success(session: Session, message: MailMessage) -> None:
    if message.user_id is None:
        return
    state = session.get(MailSettings, message.user_id)
    if state is not None and state.consecutive_failures:
        state.consecutive_failures = 0


def retry_delay(attempts: int, base_seconds: float) -> float:
    """Exponential backoff: base, 2×base, 4×base… capped at an hour."""
    return min(3600.0, base_seconds * (2 ** max(0, attempts - 1)))
