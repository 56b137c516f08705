"""Email as durable work: render a message from its templates in its recipient's
language, keep it as a `MailMessage`, and hand it to the outbox; delivery is a
task that retries transient failures and records permanent ones on the message.

Delivery goes in batches over one SMTP connection (`deliver_batch`). A message is
claimed before it is sent: a conditional `UPDATE … WHERE status = 'queued' AND
next_attempt_at <= now` that moves its `next_attempt_at` a short lease ahead, so
no other delivery can take it while this one holds it, on either database and
without holding a lock (or SQLite's write lock) while talking to the SMTP server.
Each message is recorded as sent in its own short transaction right after the
server accepts it, so a worker that dies repeats at most the one in flight; the
messages it held become due again when the lease ends.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import render_template
from flask_babel import force_locale
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.core import outbox
from marketplace.core.i18n import offered_language
from marketplace.core.models import utcnow
from marketplace.mail.models import MailMessage, MailSettings
from marketplace.mail.transport import (
    Connection,
    OutgoingMail,
    PermanentMailError,
    TransientMailError,
    Transport,
)

DELIVER_TASK = "workers.tasks.deliver_mail"
MAX_ATTEMPTS = 8
# How long a claim holds a message. A delivery renews its claim on what it still
# has to send well before then (RENEW_AFTER), so only a dead (or frozen) worker
# lets one lapse; one message takes at most a few SMTP timeouts (10 s each).
CLAIM_FOR = timedelta(seconds=60)
RENEW_AFTER = timedelta(seconds=15)


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
    locale: str | None = None,
    user_id: int | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> MailMessage:
    """Render `templates/email/<template>.{subject.txt,txt,html}` in the
    recipient's language (their `User.locale`) and schedule delivery for when the
    caller's transaction commits."""
    message = render(
        to=to, template=template, locale=locale, user_id=user_id, headers=headers, **context
    )
    queue_all(session, [message])
    return message


@contextmanager
def language(locale: str | None) -> Iterator[str]:
    """Write in the recipient's language: their own setting if it is one we
    offer, else the first offered (English). Whatever is said or formatted inside
    (gettext, money, dates) is in that language, whatever the request's is."""
    chosen = offered_language(locale)
    with force_locale(chosen):
        yield chosen


def render(
    *,
    to: str,
    template: str,
    locale: str | None = None,
    user_id: int | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> MailMessage:
    """A message rendered from its templates in the recipient's language, not yet
    stored (`queue_all`)."""
    with language(locale) as lang:
        subject = render_template(f"email/{template}.subject.txt", lang=lang, **context).strip()
        body_text = render_template(f"email/{template}.txt", lang=lang, **context)
        body_html = render_template(f"email/{template}.html", lang=lang, **context)
    return MailMessage(
        user_id=user_id,
        kind=template,
        to_addr=to,
        subject=" ".join(subject.split()),
        body_text=body_text,
        body_html=body_html,
        headers=headers or {},
        next_attempt_at=utcnow(),
    )


def queue_all(session: Session, messages: Sequence[MailMessage]) -> None:
    """Store rendered messages and schedule their delivery for when the caller's
    transaction commits (one insert for all, and one for their outbox rows)."""
    if not messages:
        return
    session.add_all(messages)
    session.flush()
    outbox.enqueue_many(session, DELIVER_TASK, ({"message_id": m.id} for m in messages))


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
    if message.next_attempt_at is not None and message.next_attempt_at > utcnow():
        return Outcome.SKIPPED, message  # a batch holds it, or its retry is not due
    message.attempts += 1
    outcome = _attempt(session, transport, message, sender)
    if outcome is Outcome.SENT:
        _record_success(session, message)
    return outcome, message


def outgoing(message: MailMessage, sender: str) -> OutgoingMail:
    return OutgoingMail(
        sender=sender,
        to=message.to_addr,
        subject=message.subject,
        text=message.body_text,
        html=message.body_html,
        headers=dict(message.headers or {}),
        message_id=f"<mail-{message.id}@znachki.exchange>",
    )


def _attempt(
    session: Session, via: Transport | Connection, message: MailMessage, sender: str
) -> Outcome:
    """Send a claimed message once and record what the server said on it."""
    try:
        via.send(outgoing(message, sender))
    except TransientMailError as exc:
        message.last_error = str(exc)
        if message.attempts >= MAX_ATTEMPTS:
            message.status = "failed"
            message.last_error = f"gave up after {message.attempts} attempts: {exc}"
            return Outcome.FAILED
        return Outcome.RETRY
    except PermanentMailError as exc:
        message.status = "failed"
        message.last_error = str(exc)
        _record_failure(session, message)
        return Outcome.FAILED
    message.status = "sent"
    message.sent_at = utcnow()
    message.last_error = None
    return Outcome.SENT


@dataclass
class Batch:
    """What one batch delivery did, by message id."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Refused for now (4xx, dropped connection): due again at the time given.
    retry: dict[int, datetime] = field(default_factory=dict)
    # Claimed by a delivery that has not finished (or died holding them): look
    # again when that claim ends.
    held: dict[int, datetime] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)  # already sent, failed or gone

    def look_again(self) -> dict[int, datetime]:
        return {**self.held, **self.retry}


def claim(session: Session, ids: Sequence[int], now: datetime) -> list[MailMessage]:
    """Take the queued, due messages among `ids` for this delivery (one attempt
    each) until `now + CLAIM_FOR`. Two deliveries never both get one: the
    condition is checked again on the row by whichever UPDATE comes second."""
    if not ids:
        return []
    claimed = session.scalars(
        update(MailMessage)
        .where(
            MailMessage.id.in_(sorted(set(ids))),
            MailMessage.status == "queued",
            or_(MailMessage.next_attempt_at.is_(None), MailMessage.next_attempt_at <= now),
        )
        .values(next_attempt_at=now + CLAIM_FOR, attempts=MailMessage.attempts + 1)
        .returning(MailMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return []
    return list(
        session.scalars(
            select(MailMessage)
            .where(MailMessage.id.in_(sorted(claimed)))
            .order_by(MailMessage.id)
            .execution_options(populate_existing=True)
        )
    )


def _renew(session: Session, messages: Sequence[MailMessage], held_until: datetime) -> datetime:
    """Hold the messages still to send for another CLAIM_FOR; only those this
    delivery still holds (their lease is the one it set)."""
    until = utcnow() + CLAIM_FOR
    session.execute(
        update(MailMessage)
        .where(
            MailMessage.id.in_([m.id for m in messages]),
            MailMessage.status == "queued",
            MailMessage.next_attempt_at == held_until,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    for message in messages:
        session.refresh(message, ["next_attempt_at"])
    return until


def deliver_batch(
    session: Session,
    ids: Sequence[int],
    transport: Transport,
    sender: str,
    *,
    commit: Callable[[], None],
    retry_base_s: float,
    wait_for_held: bool = False,
) -> Batch:
    """Send the queued, due messages among `ids` over one connection.

    Commits as it goes (`commit`): the claim before the first message is sent,
    then each message's outcome as soon as the server has answered for it, so
    no transaction stays open while the SMTP server thinks. A refusal of one
    message (4xx, 5xx, a dropped connection) is recorded on that message alone;
    the connection is opened again for the next.

    Messages another delivery holds are left to it, unless they may be this
    delivery's own (`wait_for_held`: the broker handed it out again because its
    worker died, or it is this delivery's own retry): then it waits for the
    claim to run out."""
    batch = Batch()
    now = utcnow()
    messages = claim(session, ids, now)
    taken = {m.id for m in messages}
    for message_id, status, due in session.execute(
        select(MailMessage.id, MailMessage.status, MailMessage.next_attempt_at).where(
            MailMessage.id.in_(sorted(set(ids) - taken))
        )
    ):
        # Held by a claim (it ends within CLAIM_FOR): perhaps this delivery's
        # own, made before its worker died. Later than that, it waits for a
        # retry that another delivery owns.
        if wait_for_held and status == "queued" and due is not None and due <= now + CLAIM_FOR:
            batch.held[message_id] = due
        else:
            batch.skipped.append(message_id)
    batch.skipped += sorted(set(ids) - taken - set(batch.held) - set(batch.skipped))
    if not messages:
        return batch
    # Mail settings of the batch's collectors in one query, for `_record_success`.
    users = sorted({m.user_id for m in messages if m.user_id is not None})
    failing = set(
        session.scalars(
            select(MailSettings.user_id).where(
                MailSettings.user_id.in_(users), MailSettings.consecutive_failures > 0
            )
        )
    )
    commit()
    held_until = now + CLAIM_FOR
    with transport.connect() as connection:
        for n, message in enumerate(messages):
            if utcnow() >= held_until - CLAIM_FOR + RENEW_AFTER:
                rest = messages[n:]
                held_until = _renew(session, rest, held_until)
                commit()
                if message.next_attempt_at != held_until:
                    batch.skipped.append(message.id)  # someone else holds it now
                    continue
            elif message.next_attempt_at != held_until:
                batch.skipped.append(message.id)
                continue
            outcome = _attempt(session, connection, message, sender)
            if outcome is Outcome.SENT:
                batch.sent.append(message.id)
                if message.user_id in failing:
                    _record_success(session, message)
            elif outcome is Outcome.FAILED:
                batch.failed.append(message.id)
            else:
                due = utcnow() + timedelta(seconds=retry_delay(message.attempts, retry_base_s))
                message.next_attempt_at = due
                batch.retry[message.id] = due
            commit()
    return batch


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


def settings_of(session: Session, user_ids: Sequence[int]) -> dict[int, MailSettings]:
    """`mail_settings` of many collectors: the missing ones made with the
    defaults in one insert that leaves alone any a concurrent one made first."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    found = {
        s.user_id: s
        for s in session.scalars(select(MailSettings).where(MailSettings.user_id.in_(ids)))
    }
    missing = [u for u in ids if u not in found]
    if missing:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert(MailSettings)
            .values([{"user_id": u} for u in missing])
            .on_conflict_do_nothing(index_elements=["user_id"])
        )
        found.update(
            (s.user_id, s)
            for s in session.scalars(select(MailSettings).where(MailSettings.user_id.in_(missing)))
        )
    return found


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
