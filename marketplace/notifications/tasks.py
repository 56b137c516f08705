"""Match notifications: instant mail after a refresh, and the digests beat plans."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.exc import OperationalError

from marketplace.core import outbox
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.registry import find_service
from marketplace.core.tasks import db_task, first_delivery
from marketplace.notifications.operations import Notifier

log = logging.getLogger(__name__)


def notifier() -> Notifier:
    return find_service(Notifier)


@db_task("notify_collector", max_retries=5)
def notify_collector(user_id: int, outbox_id: int | None = None) -> int:
    """A collector has new matches: record notifications and mail the instant ones."""
    if not first_delivery(outbox_id):
        return 0
    return len(notifier().collect_matches(user_id))


@db_task("notify_collectors", max_retries=5)
def notify_collectors(items: list[dict[str, Any]]) -> int:
    """`notify_collector` for many collectors in one unit of work (the outbox
    relay publishes their events together), each query made once for all."""
    session = db.session()
    rows = {int(i["outbox_id"]): int(i["user_id"]) for i in items if i.get("outbox_id")}
    try:
        with session.begin_nested():
            fresh = outbox.claim_many(session, sorted(rows))
            users = [rows[o] for o in fresh] + [
                int(i["user_id"]) for i in items if not i.get("outbox_id")
            ]
            notes = notifier().collect_matches_many(users)
            return sum(len(n) for n in notes.values())
    except OperationalError:
        raise  # the database is busy: retry the whole batch
    except Exception:
        log.exception("notifying %d collectors together failed: one at a time", len(items))
    # One at a time, each in a savepoint: one that fails leaves its event
    # unconsumed for the relay to publish again, as its own task would, and the
    # others go ahead.
    told = 0
    for item in items:
        try:
            with session.begin_nested():
                if first_delivery(item.get("outbox_id")):
                    told += len(notifier().collect_matches(int(item["user_id"])))
        except OperationalError:
            raise
        except Exception:
            log.exception("notifying collector %s failed", item.get("user_id"))
    return told


@db_task("plan_digests", max_retries=3)
def plan_digests() -> int:
    """Beat: queue a digest for every collector whose local digest hour has come.
    Safe to run as often as wanted: a digest exists once per collector and period."""
    due = notifier().due_digests(utcnow())
    for user_id, period in due:
        outbox.enqueue(db.session(), "workers.tasks.send_digest", user_id=user_id, period=period)
    return len(due)


@db_task("send_digest", max_retries=5)
def send_digest(user_id: int, period: str, outbox_id: int | None = None) -> int:
    """Mail one collector's digest for one period (at most once)."""
    if not first_delivery(outbox_id):
        return 0
    digest = notifier().send_digest(user_id, period)
    return digest.items if digest else 0
