"""Money going back: a full refund by the seller or a moderator (the transfer to
the seller and the platform fee reversed too), a payment that arrived after its
copy was sold, refunds made at Stripe (`charge.refunded`), and disputes opened by
the buyer's bank (`charge.dispute.created`), which moderators hear of too."""

from __future__ import annotations

import logging

from flask_babel import gettext
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, Forbidden
from marketplace.core.models import utcnow
from marketplace.orders.models import SOLD_STATUSES, Order, StripeEvent
from marketplace.orders.operations.base import OrderJobs, state
from marketplace.payments import PaymentError

log = logging.getLogger(__name__)


class Refunds(OrderJobs):
    """Refunds and disputes of paid orders."""

    def refund(self, actor: User, order_id: int, reason: str = "") -> Order:
        """A full refund by the seller or a moderator: the transfer to the seller
        and the platform fee are reversed too."""
        order = self._locked_for(actor, order_id)
        if actor.id != order.seller_id and not actor.is_moderator:
            raise Forbidden(gettext("Only the seller or a moderator can refund an order."))
        if order.status not in SOLD_STATUSES or not order.payment_intent_id:
            raise Conflict(
                gettext("A %(status)s order cannot be refunded.", status=state(order.status))
            )
        reason = (reason or "").strip()[:500] or "refunded by the seller"
        refund = self._provider(
            self.payments.refund,
            order.payment_intent_id,
            idempotency_key=self.idempotency_key(order, "refund"),
            reason=reason,
        )
        self._mark_refunded(order, refund.id, refund.amount, reason)
        self._mail(order.buyer, "order_refunded", order, reason=reason, to_buyer=True)
        self._mail(order.seller, "order_refunded", order, reason=reason, to_buyer=False)
        return order

    def _mark_refunded(self, order: Order, refund_id: str | None, amount: int, note: str) -> None:
        order.status = "refunded"
        order.refund_id = refund_id or order.refund_id
        order.refunded_amount = min(order.amount, max(order.refunded_amount, amount))
        order.refunded_at = order.refunded_at or utcnow()
        order.note = note
        self.session.flush()

    def _refund_late(self, order: Order) -> str:
        """Paid, but the copy went to someone else meanwhile: give the money back,
        transfer and platform fee included, and tell the buyer."""
        if not order.payment_intent_id:
            raise PaymentError(f"order {order.id} was paid without a payment intent")
        refund = self.payments.refund(
            order.payment_intent_id,
            idempotency_key=self.idempotency_key(order, "late-refund"),
            reason="the copy was sold before the payment arrived",
        )
        order.holds_reservation = False
        order.paid_at = order.paid_at or utcnow()
        self._mark_refunded(
            order, refund.id, refund.amount, "paid after the copy was sold: refunded"
        )
        self._mail(order.buyer, "order_late_refund", order)
        return "paid late, copy gone: refunded"

    def _order_for_intent(self, payment_intent_id: str | None) -> Order | None:
        if not payment_intent_id:
            return None
        found = self.session.scalar(
            select(Order.id).where(Order.payment_intent_id == payment_intent_id)
        )
        return self._locked(found) if found else None

    def _on_charge_refunded(self, row: StripeEvent) -> str:
        intent_id = row.payload.get("object", {}).get("payment_intent")
        order = self._order_for_intent(intent_id)
        if order is None:
            return "no order for this charge"
        intent = self.payments.retrieve_payment_intent(intent_id)
        if not intent.amount_refunded:
            return "nothing refunded"
        if order.status == "refunded":
            order.refunded_amount = min(order.amount, intent.amount_refunded)
            self.session.flush()
            return "already refunded"
        if intent.refunded and order.status in SOLD_STATUSES:
            self._mark_refunded(order, None, intent.amount_refunded, "refunded at Stripe")
            self._mail(order.buyer, "order_refunded", order, reason=order.note, to_buyer=True)
            self._mail(order.seller, "order_refunded", order, reason=order.note, to_buyer=False)
            return "refunded"
        order.refunded_amount = min(order.amount, intent.amount_refunded)
        self.session.flush()
        return "partly refunded"

    def _on_dispute(self, row: StripeEvent) -> str:
        intent_id = row.payload.get("object", {}).get("payment_intent")
        order = self._order_for_intent(intent_id)
        if order is None:
            return "no order for this dispute"
        intent = self.payments.retrieve_payment_intent(intent_id)
        if order.disputed_at is not None:
            return "dispute already recorded"
        order.disputed_at = utcnow()
        order.note = f"the buyer's bank opened a dispute (payment {intent.status})"
        self.session.flush()
        log.warning("order %s disputed (payment intent %s)", order.id, intent_id)
        self._mail(order.seller, "order_disputed", order)
        # Moderators hear of every dispute too: they decide refunds and bans.
        for moderator in self.session.scalars(select(User).where(User.is_moderator.is_(True))):
            if moderator.id != order.seller_id:
                self._mail(moderator, "order_disputed_moderator", order)
        return "dispute recorded"
