"""Account work the worker would do, done in the test's own session: the reset
requests queued in the outbox, run as their task."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.accounts.operations import RESET_TASK
from marketplace.accounts.tasks import send_password_reset
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage


def run_reset_requests() -> list[str]:
    """Run every queued reset request not yet consumed; their outcomes in order."""
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.task == RESET_TASK, OutboxMessage.consumed_at.is_(None))
        .order_by(OutboxMessage.id)
    ).all()
    return [send_password_reset.run(**row.payload, outbox_id=row.id) for row in rows]
