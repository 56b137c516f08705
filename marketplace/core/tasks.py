"""What every feature's Celery tasks share: the declared retry policy for tasks
that touch the database, the exactly-once claim of a task's outbox row, and the
relay that publishes outbox rows a request could not.

Tasks take ids (never ORM objects) and call one operation; the task wrapper
(`marketplace.core.extensions.init_celery`) provides the app context and commits
or rolls back. Task names keep the `workers.tasks.` prefix they were queued under.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from celery import shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from marketplace.core import outbox
from marketplace.core.extensions import db

log = logging.getLogger(__name__)


def db_task(name: str, *, max_retries: int = 3, time_limit: int = 300, bind: bool = False) -> Any:
    """A task that runs after a commit and may meet a busy database: acknowledged
    only when done, retried with exponential backoff on operational errors, and
    given a soft time limit a little before the hard one."""
    return shared_task(
        name=f"workers.tasks.{name}",
        bind=bind,
        acks_late=True,
        autoretry_for=(OperationalError,),
        retry_backoff=True,
        max_retries=max_retries,
        time_limit=time_limit,
        soft_time_limit=int(time_limit * 0.9),
    )


def first_delivery(outbox_id: int | None) -> bool:
    """Claim the task's outbox row in the task's own transaction: a second
    delivery of the same row waits on the claim and then skips. If the task
    fails, its rollback releases the claim for the retry."""
    return outbox_id is None or outbox.claim(db.session(), outbox_id)


@shared_task(
    name="workers.tasks.relay_outbox",
    acks_late=True,
    autoretry_for=(ConnectionError, OSError),
    retry_backoff=True,
    max_retries=5,
)
def relay_outbox() -> int:
    """Publish outbox rows that no request managed to publish, and again those the
    broker lost (beat, every few seconds)."""
    celery = current_app.extensions["celery"]
    publisher = outbox.celery_publisher(celery)
    published = outbox.publish_pending(db.session(), publisher)
    if published:
        log.info("relayed %d outbox messages", published)
    after = timedelta(seconds=current_app.config["SETTINGS"].outbox_republish_after_s)
    return published + outbox.republish_lost(db.session(), publisher, after)
