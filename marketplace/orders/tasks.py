"""Stripe events and lapsed reservations, processed by the worker."""

from __future__ import annotations

import logging

from celery import Task

from marketplace.core import outbox
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.core.tasks import db_task
from marketplace.orders.operations import EventFailed, Orders

log = logging.getLogger(__name__)


def _orders() -> Orders:
    return find_service(Orders)


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
