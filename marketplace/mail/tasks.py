"""Delivering stored mail: a task per batch of messages (the outbox relay publishes
up to 50 queued messages as one `deliver_mail_batch`), or per message for a task
published one by one; both retry transient failures with backoff."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from marketplace.core import outbox
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.tasks import db_task
from marketplace.mail import delivery as mail

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    name="workers.tasks.deliver_mail",
    acks_late=True,
    max_retries=mail.MAX_ATTEMPTS,
    time_limit=120,
    soft_time_limit=90,
)
def deliver_mail(self: Task, message_id: int, outbox_id: int | None = None) -> str:
    """Send one stored message. 4xx replies and dropped connections retry with
    exponential backoff; 5xx marks the message failed with the server's reason."""
    if outbox_id is not None and outbox.is_consumed(db.session(), outbox_id):
        return mail.Outcome.SKIPPED.value
    outcome, message = mail.deliver(
        db.session(),
        message_id,
        current_app.extensions["mail_transport"],
        current_app.config["SETTINGS"].mail_from,
    )
    if outcome is mail.Outcome.RETRY and message is not None:
        delay = mail.retry_delay(message.attempts, current_app.config["MAIL_RETRY_BASE_S"])
        message.next_attempt_at = utcnow() + timedelta(seconds=delay)
        log.info("mail %s: %s; retrying in %.1fs", message_id, message.last_error, delay)
        raise self.retry(countdown=delay, max_retries=None)
    if outbox_id is not None and outcome is not mail.Outcome.SKIPPED:
        outbox.claim(db.session(), outbox_id)
    if outcome is mail.Outcome.FAILED and message is not None:
        log.warning("mail %s failed: %s", message_id, message.last_error)
    return outcome.value


@shared_task(
    bind=True,
    name="workers.tasks.deliver_mail_batch",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=300,
    soft_time_limit=270,
)
def deliver_mail_batch(self: Task, items: list[dict[str, Any]]) -> int:
    """Send a batch of stored messages over one SMTP connection; each item names a
    message and, when it came from the outbox, its outbox row. Messages refused
    for now are tried again by this task (the rest of the batch done) when they
    are due; so are those still held by this same task, handed out again by the
    broker after its worker died, once that claim runs out."""
    session = db.session()
    rows = [int(i["outbox_id"]) for i in items if i.get("outbox_id") is not None]
    consumed = outbox.consumed_of(session, rows) if rows else set()
    ids = [int(i["message_id"]) for i in items if i.get("outbox_id") not in consumed]
    batch = mail.deliver_batch(
        session,
        ids,
        current_app.extensions["mail_transport"],
        current_app.config["SETTINGS"].mail_from,
        commit=session.commit,
        retry_base_s=current_app.config["MAIL_RETRY_BASE_S"],
        # Handed out again after its worker died, or its own retry: messages still
        # held may be held by this very task.
        wait_for_held=bool(
            (self.request.delivery_info or {}).get("redelivered") or self.request.retries
        ),
    )
    # The rows are handled: what is left is this task's to retry (and the stuck
    # mail sweep's, should the retry be lost).
    outbox.claim_many(session, sorted(set(rows) - consumed))
    for message_id in batch.failed:
        log.warning("mail %s failed", message_id)
    later = batch.look_again()
    if later:
        delay = max(0.2, (min(later.values()) - utcnow()).total_seconds() + 0.05)
        log.info("mail %s: trying again in %.1fs", sorted(later), delay)
        session.commit()
        raise self.retry(
            kwargs={"items": [{"message_id": m} for m in sorted(later)]},
            countdown=delay,
            max_retries=None,
        )
    return len(batch.sent)


@db_task("sweep_stuck_mail", max_retries=3, time_limit=300)
def sweep_stuck_mail() -> int:
    """Beat: queue again mail whose delivery task was lost (still queued long
    after its attempt was due, or held by a claim that ran out long ago).
    Delivery claims each row first, so a task that was only slow and this one
    never both send."""
    after = timedelta(seconds=current_app.config["SETTINGS"].mail_stuck_after_s)
    swept = mail.requeue_stuck(db.session(), after)
    if swept:
        log.warning("queued %d stuck messages again", swept)
    return swept
