"""Stripe's word turned into order state. A verified event is stored once and its
processing queued through the outbox; the worker acts on it once, re-fetching the
object from Stripe first (events arrive twice and out of order), with failures
recorded on the event row; a completed session also gives the shipping address
the buyer entered there. The sweeps stand in for lost events: stored events whose
task never finished are queued again, and reservations whose checkout lapsed are
settled from the session Stripe has now.

Lock order, everywhere: `stripe_events` row → `orders` row → `haves` row.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.addresses import snapshot_as_given
from marketplace.core import outbox
from marketplace.core.models import utcnow
from marketplace.orders.models import SOLD_STATUSES, Order, StripeEvent
from marketplace.orders.operations import reservations
from marketplace.orders.operations.checkout import Checkout
from marketplace.orders.operations.refunds import Refunds
from marketplace.payments import CheckoutSession, PaymentError, PaymentUnavailable, WebhookEvent

log = logging.getLogger(__name__)

PROCESS_TASK = "workers.tasks.process_stripe_event"
STALE_EVENT_AFTER = timedelta(minutes=2)
MAX_EVENT_ATTEMPTS = 8

HANDLED_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
        "charge.dispute.created",
        "account.updated",
    }
)


class EventFailed(Exception):
    """Processing a stored event failed; its attempts and error are recorded."""

    def __init__(self, attempts: int, error: Exception) -> None:
        super().__init__(str(error))
        self.attempts = attempts
        self.error = error
        self.transient = isinstance(error, PaymentUnavailable)


class StripeEvents(Checkout, Refunds):
    """Stored Stripe events, their processing, and the sweeps for lost ones."""

    def record_event(self, event: WebhookEvent) -> StripeEvent | None:
        """Store a verified event once and queue its processing; a redelivery of
        the same event id (or an unknown type) stores nothing."""
        if event.type not in HANDLED_EVENTS:
            log.info("stripe event %s of type %s ignored", event.id, event.type)
            return None
        row = StripeEvent(
            event_id=event.id,
            type=event.type,
            object_id=event.object_id,
            livemode=event.livemode,
            payload={"created": event.created, "object": event.object},
        )
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            log.info("stripe event %s already received", event.id)
            return None
        outbox.enqueue(self.session, PROCESS_TASK, event_row_id=row.id)
        return row

    def process_event(self, event_row_id: int) -> str:
        """Act on one stored event, once. Failures are recorded on the row (the
        handler's own writes roll back) and raised as `EventFailed`."""
        row = self.session.scalar(
            select(StripeEvent)
            .where(StripeEvent.id == event_row_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if row is None:
            return "missing"
        if row.processed_at is not None:
            return "already processed"
        row.attempts += 1
        self.session.flush()
        handler = {
            "checkout.session.completed": self._on_session,
            "checkout.session.async_payment_succeeded": self._on_session,
            "checkout.session.async_payment_failed": self._on_session,
            "checkout.session.expired": self._on_session,
            "charge.refunded": self._on_charge_refunded,
            "charge.dispute.created": self._on_dispute,
            "account.updated": self._on_account,
        }.get(row.type)
        try:
            with self.session.begin_nested():
                outcome = handler(row) if handler else "ignored"
        except Exception as exc:
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            self.session.flush()
            raise EventFailed(row.attempts, exc) from exc
        row.processed_at = utcnow()
        row.outcome = outcome[:100]
        row.last_error = None
        self.session.flush()
        log.info("stripe event %s (%s): %s", row.event_id, row.type, outcome)
        return outcome

    def unprocessed_events(self, now: datetime | None = None, limit: int = 100) -> list[int]:
        """Events whose task never finished (lost, or failed for good): for the sweeper."""
        cutoff = (now or utcnow()) - STALE_EVENT_AFTER
        return list(
            self.session.scalars(
                select(StripeEvent.id)
                .where(
                    StripeEvent.processed_at.is_(None),
                    StripeEvent.received_at < cutoff,
                    StripeEvent.attempts < MAX_EVENT_ATTEMPTS,
                )
                .order_by(StripeEvent.id)
                .limit(limit)
            )
        )

    def requeue(self, event_row_id: int) -> None:
        outbox.enqueue(self.session, PROCESS_TASK, event_row_id=event_row_id)

    # handlers: each re-fetches its object from Stripe and acts on what it says now

    def _order_for_session(self, session: CheckoutSession) -> Order | None:
        order_id = session.client_reference_id or session.metadata.get("order_id")
        order = self._locked(int(order_id)) if order_id and order_id.isdigit() else None
        if order is None or order.checkout_session_id != session.id:
            found = self.session.scalar(
                select(Order.id).where(Order.checkout_session_id == session.id)
            )
            order = self._locked(found) if found else None
        return order

    def _on_session(self, row: StripeEvent) -> str:
        if not row.object_id:
            return "no session id"
        session = self.payments.retrieve_session(row.object_id)
        order = self._order_for_session(session)
        if order is None:
            return "no order for this session"
        return self._apply_session(order, session, row.type)

    def _apply_session(self, order: Order, session: CheckoutSession, why: str) -> str:
        if session.amount_total is not None and (
            session.amount_total != order.amount
            or (session.currency or "").upper() != order.currency.upper()
        ):
            log.error(
                "session %s is for %s %s but order %s is for %s %s; not acting on it",
                session.id, session.amount_total, session.currency,
                order.id, order.amount, order.currency,
            )  # fmt: skip
            return "amount mismatch: left for a person to check"
        if session.status == "complete":
            self._keep_shipping(order, session)
        if session.status == "complete" and session.payment_status in (
            "paid",
            "no_payment_required",
        ):
            return self._settle_paid(order, session)
        if session.status == "complete":
            # An asynchronous method (bank debit…) is still settling, or failed.
            if session.payment_intent_id:
                order.payment_intent_id = session.payment_intent_id
                intent = self.payments.retrieve_payment_intent(session.payment_intent_id)
                if intent.status in ("canceled", "requires_payment_method"):
                    if order.status != "pending":
                        return f"payment failed; order already {order.status}"
                    reservations.close(self.session, order, "cancelled", "the payment failed")
                    self._mail(order.buyer, "order_payment_failed", order)
                    return "payment failed: order cancelled"
            if order.status == "pending":
                order.reserved_until = None  # held until the payment settles
                self.session.flush()
            return "payment processing"
        if session.status == "expired":
            if order.status != "pending":
                return f"session expired; order already {order.status}"
            reservations.close(self.session, order, "expired", "the checkout expired")
            return "expired: copy released"
        return "session still open"

    def _keep_shipping(self, order: Order, session: CheckoutSession) -> None:
        """The address the buyer gave Checkout, for an order that has none. One
        chosen from their address book when they pressed Buy stays: that is the
        one they saw on our page."""
        if order.ship_to is None and session.shipping:
            order.ship_to = snapshot_as_given(session.shipping)
            self.session.flush()

    def _settle_paid(self, order: Order, session: CheckoutSession) -> str:
        if order.status in SOLD_STATUSES or order.status == "refunded":
            return f"already {order.status}"
        order.payment_intent_id = session.payment_intent_id or order.payment_intent_id
        was_reserved = order.holds_reservation and order.status == "pending"
        got_copy = (
            reservations.take_reserved_copy(self.session, order)
            if was_reserved
            else reservations.take_free_copy(self.session, order)
        )
        if not got_copy:
            return self._refund_late(order)
        order.status = "paid"
        order.paid_at = utcnow()
        order.reserved_until = None
        order.closed_at = None
        self.session.flush()
        if order.seller_id is not None:
            from marketplace.lists.operations import note_list_change

            note_list_change(self.session, order.seller_id)
        self._mail(order.buyer, "order_paid", order)
        self._mail(order.seller, "order_sold", order)
        return "paid" if was_reserved else "paid late: a copy was still free"

    # -- lapsed reservations -----------------------------------------------------------

    def expire_reservations(self, now: datetime | None = None, limit: int = 100) -> int:
        """Hand back copies whose checkout lapsed without Stripe telling us (the
        `checkout.session.expired` event normally does it). The session is
        re-fetched first: a completed one is settled instead."""
        now = now or utcnow()
        ids = self.session.scalars(
            select(Order.id)
            .where(
                Order.status == "pending",
                Order.holds_reservation.is_(True),
                Order.reserved_until < now,
            )
            .order_by(Order.id)
            .limit(limit)
        ).all()
        done = 0
        for order_id in ids:
            try:
                with self.session.begin_nested():
                    done += self._expire_one(order_id)
            except PaymentError as exc:
                log.warning("order %s: reservation left for the next sweep: %s", order_id, exc)
        return done

    def _expire_one(self, order_id: int) -> int:
        order = self._locked(order_id)
        if order is None or order.status != "pending" or not order.holds_reservation:
            return 0
        if order.checkout_session_id:
            session = self.payments.retrieve_session(order.checkout_session_id)
            if session.status == "open":
                session = self.payments.expire_session(order.checkout_session_id)
            if session.status == "complete":
                self._apply_session(order, session, "sweep")
                return 0
        reservations.close(self.session, order, "expired", "the checkout expired")
        return 1
