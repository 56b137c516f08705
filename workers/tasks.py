"""Celery tasks. Each takes ids (never ORM objects), declares its retry policy,
and calls one service; the task wrapper (marketplace.extensions.init_celery)
provides the app context and commits or rolls back."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from marketplace.extensions import db
from marketplace.factory import notifier
from marketplace.models import utcnow
from marketplace.services import mail, outbox
from marketplace.services.orders import EventFailed, Orders

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


@db_task("run_list_import", max_retries=3, time_limit=600)
def run_list_import(import_id: int, outbox_id: int | None = None) -> str:
    """Import a collector's uploaded CSV (queued by the import pages); its
    progress is readable while the transaction is still open."""
    from marketplace.services.import_progress import ImportProgress
    from marketplace.services.lists_csv import StagedImports

    if not first_delivery(outbox_id):
        return "skipped"
    store = ImportProgress.for_instance(
        current_app.config["SETTINGS"].redis_url, current_app.instance_path
    )
    result = StagedImports(db.session()).run(
        import_id, progress=lambda done, total: store.set(import_id, done, total)
    )
    if result is None:
        return "skipped"
    return "imported" if result.applied else "refused"


@db_task("refresh_collector_matches", max_retries=5, time_limit=120)
def refresh_collector_matches(user_id: int, outbox_id: int | None = None, **changes: Any) -> str:
    """Refresh one collector's swaps and offers after a list change (queued by the
    list services); both sides of every swap are kept in step. An event that says
    what changed (`have_pins`, `want_pins`, `want_groups`) refreshes only that;
    one without (just the user id, or `full`) refreshes everything."""
    from marketplace.services import matches

    if not first_delivery(outbox_id):
        return "skipped"
    outcome = matches.refresh_after_change(db.session(), user_id, **changes)
    new, back, gone = len(outcome.new), len(outcome.reactivated), len(outcome.deactivated)
    return f"{new} new, {back} back, {gone} gone"


@db_task("global_solve", max_retries=3, time_limit=1800)
def global_solve() -> int:
    """Beat: start a global solve with the configured cycle cap; one
    `solve_component` task per strongly connected component follows the commit."""
    from marketplace.services import matches

    config = current_app.config
    planned = matches.run_global_solve(
        db.session(),
        cap=int(config.get("MATCH_CYCLE_CAP", 3)),
        time_limit=float(config.get("MATCH_SOLVE_SECONDS", matches.DEFAULT_TIME_LIMIT)),
    )
    return planned.run_id


@db_task("solve_component", max_retries=3, time_limit=1800, bind=True)
def solve_component(
    self: Task,
    run_id: int,
    component: int,
    collector_ids: list[int],
    outbox_id: int | None = None,
) -> str:
    """Solve one component of a run and store its cycles as proposals. A component
    that cannot be solved (past its soft time limit, a solver error, the database
    still failing after the last retry) is recorded as failed, so the run closes."""
    from marketplace.services import matches

    if not first_delivery(outbox_id):
        return "skipped"
    session = db.session()
    try:
        with session.begin_nested():  # on failure only the solve's writes are undone
            result = matches.solve_component(session, run_id, collector_ids)
    except Exception as exc:
        if isinstance(exc, OperationalError) and self.request.retries < self.max_retries:
            raise  # autoretry_for: the database may be back in a moment
        log.exception("solve run %s component %s failed", run_id, component)
        matches.component_failed(session, run_id, len(collector_ids), type(exc).__name__)
        return "failed"
    log.info(
        "solve run %s component %s: %d items, %d proposals, %s in %.1fs",
        run_id, component, result.items, result.proposals, result.status, result.seconds,
    )  # fmt: skip
    return result.status


@db_task("notify_collector", max_retries=5)
def notify_collector(user_id: int, outbox_id: int | None = None) -> int:
    """A collector has new matches: record notifications and mail the instant ones."""
    if not first_delivery(outbox_id):
        return 0
    return len(notifier().collect_matches(user_id))


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


# -- orders and Stripe events (marketplace.services.orders) ---------------------------


def _orders() -> Orders:
    return Orders.configured(
        db.session(), current_app.extensions["payments"], current_app.config["SETTINGS"]
    )


@db_task("process_stripe_event", bind=True, max_retries=6, time_limit=120)
def process_stripe_event(self: Task, event_row_id: int, outbox_id: int | None = None) -> str:
    """Act on one stored Stripe event. A redelivered task is skipped by its outbox
    row; a duplicate event never got a row; and every order transition is
    conditional, so running twice changes nothing the second time."""
    if outbox_id is not None and outbox.is_consumed(db.session(), outbox_id):
        return "skipped"
    try:
        outcome = _orders().process_event(event_row_id)
    except EventFailed as exc:
        if self.request.retries < (self.max_retries or 0):
            delay = min(600.0, 5.0 * 2**self.request.retries)
            log.warning("stripe event row %s: %s; retrying in %.0fs", event_row_id, exc, delay)
            raise self.retry(countdown=delay) from exc
        log.error("stripe event row %s failed %d times: %s", event_row_id, exc.attempts, exc)
        outcome = "failed; the sweeper will try again"
    if outbox_id is not None:
        outbox.claim(db.session(), outbox_id)
    return outcome


@db_task("sweep_stripe_events", max_retries=3)
def sweep_stripe_events() -> int:
    """Beat: queue again the stored events whose processing never finished."""
    orders = _orders()
    ids = orders.unprocessed_events()
    for event_row_id in ids:
        orders.requeue(event_row_id)
    if ids:
        log.info("re-queued %d unprocessed stripe events", len(ids))
    return len(ids)


@db_task("expire_reservations", max_retries=3, time_limit=300)
def expire_reservations() -> int:
    """Beat: hand back copies whose checkout lapsed without an expiry event."""
    return int(_orders().expire_reservations())
