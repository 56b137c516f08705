"""Celery tasks. Each takes ids (never ORM objects), declares its retry policy,
and calls one service; the task wrapper (marketplace.extensions.init_celery)
provides the app context and commits or rolls back."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from marketplace.extensions import db
from marketplace.services import mail, outbox

log = logging.getLogger(__name__)


@shared_task(
    name="workers.tasks.relay_outbox",
    acks_late=True,
    autoretry_for=(ConnectionError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def relay_outbox() -> int:
    """Publish outbox rows that no request managed to publish (beat, every few seconds)."""
    celery = current_app.extensions["celery"]
    published = outbox.publish_pending(db.session(), outbox.celery_publisher(celery))
    if published:
        log.info("relayed %d outbox messages", published)
    return published


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
        log.info("mail %s: %s; retrying in %.1fs", message_id, message.last_error, delay)
        raise self.retry(countdown=delay, max_retries=None)
    if outbox_id is not None and outcome is not mail.Outcome.SKIPPED:
        outbox.claim(db.session(), outbox_id)
    if outcome is mail.Outcome.FAILED and message is not None:
        log.warning("mail %s failed: %s", message_id, message.last_error)
    return outcome.value


@shared_task(
    name="workers.tasks.run_list_import",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
    time_limit=600,
    soft_time_limit=540,
)
def run_list_import(import_id: int, outbox_id: int | None = None) -> str:
    """Import a collector's uploaded CSV (queued by the import pages); its
    progress is readable while the transaction is still open."""
    from marketplace.services.import_progress import ImportProgress
    from marketplace.services.lists_csv import StagedImports

    if outbox_id is not None and outbox.is_consumed(db.session(), outbox_id):
        return "skipped"
    store = ImportProgress.for_instance(
        current_app.config["SETTINGS"].redis_url, current_app.instance_path
    )
    result = StagedImports(db.session()).run(
        import_id, progress=lambda done, total: store.set(import_id, done, total)
    )
    if outbox_id is not None:
        outbox.claim(db.session(), outbox_id)
    if result is None:
        return "skipped"
    return "imported" if result.applied else "refused"
