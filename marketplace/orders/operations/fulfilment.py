"""After payment: the seller marks the order shipped with its tracking number, the
buyer confirms delivery (the copy joins their Haves and closes the Want it
filled), and each side is told by email. Each step is a
conditional transition on the locked order row."""

from __future__ import annotations

from flask_babel import gettext

from marketplace.accounts import reputation
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, DomainError, Forbidden
from marketplace.core.models import utcnow
from marketplace.lists.models import Have
from marketplace.lists.operations import receive_copies
from marketplace.orders.models import Order
from marketplace.orders.operations.base import OrderJobs, state

MAX_TRACKING = 100


class Fulfilment(OrderJobs):
    """Shipping and delivery of a paid order."""

    def ship(self, seller: User, order_id: int, tracking_number: str) -> Order:
        order = self._locked_for(seller, order_id)
        if order.seller_id != seller.id:
            raise Forbidden(gettext("Only the seller marks an order shipped."))
        tracking = " ".join((tracking_number or "").split())
        if not tracking or len(tracking) > MAX_TRACKING:
            raise DomainError(
                gettext("Give the tracking number (1 to %(most)d characters).", most=MAX_TRACKING),
                field="tracking_number",
            )
        if order.status != "paid":
            raise Conflict(
                gettext("A %(status)s order cannot be marked shipped.", status=state(order.status))
            )
        order.status = "shipped"
        order.tracking_number = tracking
        order.shipped_at = utcnow()
        self.session.flush()
        self._mail(order.buyer, "order_shipped", order)
        return order

    def confirm_delivery(self, buyer: User, order_id: int) -> Order:
        order = self._locked_for(buyer, order_id)
        if order.buyer_id != buyer.id:
            raise Forbidden(gettext("Only the buyer confirms delivery."))
        if order.status not in ("paid", "shipped"):
            raise Conflict(
                gettext(
                    "A %(status)s order cannot be marked delivered.", status=state(order.status)
                )
            )
        order.status = "delivered"
        order.delivered_at = utcnow()
        self.session.flush()
        # Both sides showed they deliver: counted with the delivery, atomically.
        parties = [i for i in (order.buyer_id, order.seller_id) if i is not None]
        reputation.add(self.session, parties, "delivered_orders")
        if order.pin_id is not None:
            # The copy is the buyer's now: it joins their Haves (not for trade)
            # and closes the Want it filled, as a completed trade does.
            bought = self.session.get(Have, order.have_id) if order.have_id else None
            receive_copies(
                self.session,
                buyer.id,
                order.pin_id,
                order.quantity,
                order.condition,
                defects=bought.defects if bought is not None else 0,
                note=f"Bought in order #{order.id}.",
            )
        self._mail(order.seller, "order_delivered", order)
        return order
