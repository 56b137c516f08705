"""Buying one copy of a listing: the copies that can be bought now, the
reservation, the address the copy goes to and the Checkout Session opened for it,
and the buyer cancelling before paying. Buying takes only the `haves` row (and
inserts a new order), so it cannot wait on a lock held by something that waits on
it; the order becomes paid only by a Stripe event (orders.operations.stripe_events)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.core.models import utcnow
from marketplace.lists.models import Have
from marketplace.mail import delivery as mail
from marketplace.orders.models import Order, SellerAccount
from marketplace.orders.operations import reservations
from marketplace.orders.operations.base import state
from marketplace.orders.operations.money import platform_fee, to_minor
from marketplace.orders.operations.sellers import SellerAccounts
from marketplace.payments import CheckoutRequest

# The checkout's own lifetime is configured (CHECKOUT_MINUTES, 35 by default:
# Stripe needs at least 30, the rest is margin for clock skew).
RESERVATION_GRACE = timedelta(minutes=10)  # let Stripe's own expiry event arrive first


@dataclass(frozen=True)
class Offer:
    have: Have
    seller: User
    price: Decimal
    currency: str
    available: int


class Checkout(SellerAccounts):
    """Listings for sale, and buying one copy of one."""

    @property
    def price_hold(self) -> timedelta:
        """How long a copy is held for a buyer who started paying: what the
        listing page promises, from the same figures the reservation is written
        with."""
        return self.checkout_lifetime + RESERVATION_GRACE

    # -- listings -----------------------------------------------------------------------

    def _offer_query(self) -> Any:
        return (
            select(Have, User)
            .join(User, User.id == Have.user_id)
            .join(SellerAccount, SellerAccount.user_id == Have.user_id)
            .where(
                Have.price.is_not(None),
                Have.price > 0,
                Have.quantity - Have.reserved >= 1,
                SellerAccount.charges_enabled.is_(True),
                SellerAccount.payouts_enabled.is_(True),
            )
        )

    def offers(self, pin_id: int) -> list[Offer]:
        """Copies of a pin that can be bought now, cheapest first."""
        rows = self.session.execute(
            self._offer_query()
            .where(Have.pin_id == pin_id)
            .order_by(Have.currency, Have.price, Have.id)
            .options(selectinload(Have.photos))
        ).all()
        return [self._offer(h, u) for h, u in rows]

    def offer(self, have_id: int) -> Offer | None:
        row = self.session.execute(self._offer_query().where(Have.id == have_id)).first()
        return self._offer(row[0], row[1]) if row else None

    @staticmethod
    def _offer(have: Have, seller: User) -> Offer:
        assert have.price is not None and have.currency is not None
        return Offer(have, seller, have.price, have.currency, have.quantity - have.reserved)

    def listing(self, have_id: int) -> Have:
        have = self.session.scalar(
            select(Have).where(Have.id == have_id).options(selectinload(Have.photos))
        )
        if have is None or have.price is None:
            raise NotFound(gettext("That listing does not exist or is no longer for sale."))
        return have

    # -- buying ---------------------------------------------------------------------------

    def buy(self, buyer: User, have_id: int, address_id: int | None = None) -> Order:
        """Reserve one copy and open a Checkout Session for it. The caller sends the
        buyer to `order.checkout_url`; the order becomes paid only by webhook.

        The copy goes to the buyer's address `address_id`, else to their default
        one, copied onto the order. A buyer with no address at all can still buy
        where the provider's checkout asks for one (Stripe; the webhook keeps it),
        and is told to add one where it does not (the test provider)."""
        have = self.listing(have_id)
        if have.user_id == buyer.id:
            raise DomainError(gettext("This is your own listing."), field="have_id")
        existing = self.session.scalar(
            select(Order).where(
                Order.buyer_id == buyer.id,
                Order.have_id == have_id,
                Order.status == "pending",
                Order.holds_reservation.is_(True),
                Order.checkout_url.is_not(None),
            )
        )
        if existing is not None:
            # A second click on Buy: the same checkout, to the address chosen last.
            if address_id is not None:
                existing.ship_to = AddressBook(self.session).ship_to(buyer, address_id)
                self.session.flush()
            return existing
        seller = self.seller_account(have.user_id)
        if seller is None or not seller.can_be_paid:
            raise Conflict(gettext("This seller cannot take payments yet."), field="have_id")
        ship_to = self._ship_to(buyer, address_id)
        assert have.price is not None and have.currency is not None
        price, currency = have.price, have.currency
        amount = to_minor(price, currency)
        if amount <= 0:
            raise DomainError(
                gettext("A listing without a price cannot be bought."), field="have_id"
            )

        # The reservation: one statement that succeeds only while a copy is free
        # and the price is still the one the buyer saw.
        reserved = reservations.reserve_copy(self.session, have_id, price, currency)
        if not reserved:
            raise Conflict(
                gettext(
                    "The last free copy is being bought, was just sold or is promised in a trade."
                ),
                field="have_id",
            )
        now = utcnow()
        expires = now + self.checkout_lifetime
        order = Order(
            token=secrets.token_hex(8),
            buyer_id=buyer.id,
            seller_id=have.user_id,
            have_id=have.id,
            pin_id=have.pin_id,
            condition=have.condition,
            quantity=1,
            amount=amount,
            currency=currency,
            platform_fee=platform_fee(amount, self.fee_percent),
            status="pending",
            holds_reservation=True,
            reserved_until=now + self.price_hold,
            stripe_account_id=seller.stripe_account_id,
            ship_to=ship_to,
        )
        self.session.add(order)
        self.session.flush()
        pin = have.pin
        # Stripe's page shows this to the buyer: in their language.
        with mail.language(buyer.locale):
            description = gettext(
                "Condition: %(condition)s. One copy, sent by post.", condition=have.condition.label
            )
        session = self._provider(
            self.payments.create_checkout_session,
            CheckoutRequest(
                order_id=order.id,
                amount=amount,
                currency=currency,
                application_fee=order.platform_fee,
                destination=seller.stripe_account_id,
                product_name=f"{pin.title_en} ({pin.ref})"[:250],
                description=description,
                success_url=self.links.success(order.id),
                cancel_url=self.links.cancel(order.id),
                expires_at=int(expires.timestamp()),
                idempotency_key=self.idempotency_key(order, "checkout"),
                customer_email=buyer.email,
                collect_shipping=True,  # every copy goes by post
            ),
        )
        order.checkout_session_id = session.id
        order.checkout_url = self.links.absolute(session.url or "")
        self.session.flush()
        return order

    def _ship_to(self, buyer: User, address_id: int | None) -> dict[str, str] | None:
        """The snapshot of the address the copy goes to, or None when the buyer has
        none yet and the provider's checkout will ask for it."""
        book = AddressBook(self.session)
        if address_id is not None or not self.payments.collects_shipping:
            return book.ship_to(buyer, address_id)  # the chosen one, or say what to do
        default = book.default(buyer.id)
        return default.snapshot() if default is not None else None

    def cancel(self, buyer: User, order_id: int) -> Order:
        """The buyer gives up before paying: the session is expired at Stripe
        first, so it can no longer be paid, and the copy is released."""
        order = self._locked_for(buyer, order_id)
        if order.buyer_id != buyer.id:
            raise Forbidden(gettext("Only the buyer can cancel a checkout."))
        if order.status != "pending":
            raise Conflict(
                gettext("A %(status)s order cannot be cancelled.", status=state(order.status))
            )
        if order.checkout_session_id:
            session = self._provider(self.payments.retrieve_session, order.checkout_session_id)
            if session.status == "complete":
                raise Conflict(
                    gettext("The payment has already gone through; wait for it to settle.")
                )
            if session.status == "open":
                self._provider(self.payments.expire_session, order.checkout_session_id)
        reservations.close(self.session, order, "cancelled", "cancelled by the buyer")
        return order
