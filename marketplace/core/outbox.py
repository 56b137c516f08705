"""The transactional outbox: write work in the caller's transaction, publish it after
the commit, and let consumers claim it exactly once by outbox id.

Publishing is at-least-once (a relay can die between `send_task` and its own
commit), so every consumer goes through `claim`/`is_consumed`; the Celery task id is
`outbox-<id>` so the broker side names the same unit of work too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Index, String, func, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.core.models import Base, utcnow

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any], str], None]


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_published_at_id", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    publish_attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None]

    @property
    def task_id(self) -> str:
        return f"outbox-{self.id}"


def enqueue(session: Session, task: str, **payload: Any) -> OutboxMessage:
    """Record that `task` must run with `payload` once this transaction commits."""
    message = OutboxMessage(task=task, payload=payload)
    session.add(message)
    session.flush()
    session.info["outbox_dirty"] = True
    return message


def enqueue_many(session: Session, task: str, payloads: Iterable[dict[str, Any]]) -> int:
    """`enqueue` for many payloads of one task, inserted in one batch (one
    executemany, no objects made: a match refresh notifies dozens of collectors).
    Returns how many."""
    rows = [{"task": task, "payload": payload} for payload in payloads]
    if rows:
        session.execute(insert(OutboxMessage), rows)
        session.info["outbox_dirty"] = True
    return len(rows)


def publish_pending(session: Session, publish: Publish, limit: int = 200) -> int:
    """Publish up to `limit` unpublished rows, oldest first. Concurrent relays on
    PostgreSQL skip each other's rows; SQLite serialises writers anyway."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.published_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    return _publish(session, rows, publish)


# Tasks whose rows are published together, up to a size, as one message to a task
# that takes them as `items` (each row's payload with its `outbox_id`) and claims
# each row itself: one broker message, one task start and one transaction for
# many rows (a match refresh notifies dozens of collectors, each then mailed).
BATCHES: dict[str, tuple[str, int]] = {
    "workers.tasks.notify_collector": ("workers.tasks.notify_collectors", 25),
    "workers.tasks.deliver_mail": ("workers.tasks.deliver_mail_batch", 50),
}


def _publish(session: Session, rows: Sequence[OutboxMessage], publish: Publish) -> int:
    """Hand each row to the broker under its outbox task id (rows of a batched
    task together, under the first one's), and record that."""
    waiting: dict[str, list[OutboxMessage]] = {}

    def publish_batch(task: str) -> None:
        group = waiting.pop(task, [])
        if group:
            items = [{**row.payload, "outbox_id": row.id} for row in group]
            publish(BATCHES[task][0], {"items": items}, f"{group[0].task_id}+{len(group)}")

    for row in rows:
        row.publish_attempts += 1
        if row.task in BATCHES:
            waiting.setdefault(row.task, []).append(row)
            if len(waiting[row.task]) >= BATCHES[row.task][1]:
                publish_batch(row.task)
        else:
            publish(row.task, {**row.payload, "outbox_id": row.id}, row.task_id)
        row.published_at = utcnow()
    for task in list(waiting):
        publish_batch(task)
    session.flush()
    return len(rows)


REPUBLISH_LIMIT = 5  # publications of one row in all, the first included


def republish_lost(
    session: Session, publish: Publish, older_than: timedelta, limit: int = 200
) -> int:
    """Publish again rows published more than `older_than` ago and never consumed.

    Redis can lose a task: a worker killed between taking a message off the queue
    and recording it as unacknowledged takes the message with it. Consumers claim
    by outbox id, so a second publication of a row that was only slow is skipped by
    whoever comes second. A row is published at most `REPUBLISH_LIMIT` times."""
    cutoff = utcnow() - older_than
    rows = session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.published_at < cutoff,
            OutboxMessage.consumed_at.is_(None),
            OutboxMessage.publish_attempts < REPUBLISH_LIMIT,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if rows:
        log.warning("publishing %d outbox rows again that no worker consumed", len(rows))
    return _publish(session, rows, publish)


def celery_publisher(celery: Any) -> Publish:
    def publish(task: str, kwargs: dict[str, Any], task_id: str) -> None:
        celery.send_task(task, kwargs=kwargs, task_id=task_id, retry=False)

    return publish


def relay_after_commit(session: Session, celery: Any) -> None:
    """Publish right after a commit so work starts at once; failures are left for
    the beat relay, which sweeps every few seconds."""
    try:
        publish_pending(session, celery_publisher(celery))
        session.commit()
    except Exception:
        session.rollback()
        log.warning("outbox relay deferred to the beat sweep", exc_info=True)


def is_consumed(session: Session, outbox_id: int) -> bool:
    consumed = session.scalar(
        select(OutboxMessage.consumed_at).where(OutboxMessage.id == outbox_id)
    )
    return consumed is not None


def consumed_of(session: Session, outbox_ids: Sequence[int]) -> set[int]:
    """Those of `outbox_ids` already consumed."""
    return set(
        session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.id.in_(sorted(outbox_ids)), OutboxMessage.consumed_at.is_not(None)
            )
        )
    )


def claim_many(session: Session, outbox_ids: Sequence[int]) -> set[int]:
    """Mark rows consumed in the caller's transaction; those that were not yet
    (the ones this consumer got)."""
    if not outbox_ids:
        return set()
    return set(
        session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(sorted(outbox_ids)), OutboxMessage.consumed_at.is_(None))
            .values(consumed_at=utcnow())
            .returning(OutboxMessage.id)
        )
    )


def claim(session: Session, outbox_id: int) -> bool:
    """Mark the row consumed in the caller's transaction; False if another
    delivery of the same row already did."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.consumed_at.is_(None))
        .values(consumed_at=utcnow())
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def stale_count(session: Session, older_than: timedelta) -> int:
    """Rows published more than `older_than` ago that no worker has consumed:
    work the broker may have lost (the relay publishes them again)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.published_at < utcnow() - older_than,
                OutboxMessage.consumed_at.is_(None),
            )
        )
        or 0
    )


def pending_summary(session: Session) -> dict[str, Any]:
    oldest = session.scalar(
        select(OutboxMessage.created_at)
        .where(OutboxMessage.published_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(1)
    )
    count = len(
        session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.published_at.is_(None)).limit(1000)
        ).all()
    )
    return {
        "unpublished": count,
        "oldest_unpublished_age_s": round((utcnow() - oldest).total_seconds(), 1)
        if oldest
        else None,
    }
