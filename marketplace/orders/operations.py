"""Buying and selling listed pins: seller onboarding (Stripe Connect), buying one
copy through Checkout, Stripe events, the order's life after payment, and the
price guide that completed sales feed.

Rules that keep money right:

* A copy is reserved with a conditional UPDATE (`quantity - reserved >= 1`), never
  read-then-write, so the last copy is sold once on every database.
* Fulfilment happens only when a Stripe event says so, and only after the object
  is re-fetched from Stripe: events arrive twice and out of order.
* Every state change is a conditional transition on a locked order row, so a
  second delivery of the same event finds nothing to do.
* Lock order, everywhere: `stripe_events` row → `orders` row → `haves` row.
  Buying takes only the `haves` row (and inserts a new order), so it cannot wait
  on a lock held by something that waits on it.
* Money is integer minor units beside its currency.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin
from marketplace.config import Settings
from marketplace.core import outbox
from marketplace.core.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.core.models import utcnow
from marketplace.lists.models import Have
from marketplace.mail import delivery as mail
from marketplace.orders.models import SOLD_STATUSES, Order, SellerAccount, StripeEvent
from marketplace.payments import (
    CheckoutRequest,
    CheckoutSession,
    PaymentError,
    PaymentProvider,
    PaymentsDisabled,
    PaymentUnavailable,
    WebhookEvent,
)

log = logging.getLogger(__name__)

PROCESS_TASK = "workers.tasks.process_stripe_event"
CHECKOUT_LIFETIME = timedelta(minutes=35)  # Stripe needs at least 30; margin for clock skew
RESERVATION_GRACE = timedelta(minutes=10)  # let Stripe's own expiry event arrive first
STALE_EVENT_AFTER = timedelta(minutes=2)
MAX_EVENT_ATTEMPTS = 8
MAX_TRACKING = 100

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

# Stripe's currencies without minor units, and those with three decimals.
ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())


class PaymentsUnavailable(DomainError):
    status = 503
    code = "payments_unavailable"


class EventFailed(Exception):
    """Processing a stored event failed; its attempts and error are recorded."""

    def __init__(self, attempts: int, error: Exception) -> None:
        super().__init__(str(error))
        self.attempts = attempts
        self.error = error
        self.transient = isinstance(error, PaymentUnavailable)


# -- money ----------------------------------------------------------------------------


def exponent(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_minor(amount: Decimal, currency: str) -> int:
    """An exact amount in minor units; refuses what the currency cannot express."""
    scaled = amount.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise DomainError(
            f"{amount} {currency} cannot be charged: {currency} has "
            f"{exponent(currency)} decimal places.",
            field="price",
        )
    return int(scaled)


def from_minor(minor: int | Decimal, currency: str) -> Decimal:
    places = exponent(currency)
    return (Decimal(minor).scaleb(-places)).quantize(Decimal(1).scaleb(-places))


def format_money(minor: int | Decimal, currency: str) -> str:
    return f"{from_minor(minor, currency):,} {currency.upper()}".replace(",", " ")


def platform_fee(amount: int, percent: float) -> int:
    """The platform's share, rounded half up to a whole minor unit. The setting is
    a float only because the environment is text; it is taken as written."""
    fee = (Decimal(amount) * Decimal(str(percent)) / 100).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return max(0, min(amount, int(fee)))


# -- price guide ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sale:
    at: datetime
    amount: Decimal


@dataclass(frozen=True)
class CurrencyGuide:
    currency: str
    count: int
    median: Decimal
    low: Decimal
    high: Decimal
    sales: list[Sale]

    @property
    def chart(self) -> Markup:
        return price_chart(self)


@dataclass(frozen=True)
class PriceGuide:
    pin_id: int
    currencies: list[CurrencyGuide] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(c.count for c in self.currencies)


def _median(values: Sequence[int]) -> Decimal:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return Decimal(ordered[middle])
    return (Decimal(ordered[middle - 1]) + Decimal(ordered[middle])) / 2


def price_guide(session: Session, pin_id: int) -> PriceGuide:
    """Completed sales of one pin (paid, shipped or delivered; refunds excluded),
    per currency, the most traded currency first. The pin page includes
    `templates/orders/_price_guide.html` with this as `guide`."""
    rows = session.execute(
        select(Order.currency, Order.amount, func.coalesce(Order.paid_at, Order.created_at))
        .where(Order.pin_id == pin_id, Order.status.in_(SOLD_STATUSES))
        .order_by(Order.paid_at, Order.id)
    ).all()
    by_currency: dict[str, list[tuple[int, datetime]]] = {}
    for currency, amount, paid_at in rows:
        by_currency.setdefault(currency, []).append((amount, paid_at))
    guides = []
    for currency, sales in by_currency.items():
        amounts = [a for a, _ in sales]
        median = _median(amounts).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        guides.append(
            CurrencyGuide(
                currency=currency,
                count=len(sales),
                median=from_minor(median, currency),
                low=from_minor(min(amounts), currency),
                high=from_minor(max(amounts), currency),
                sales=[Sale(at, from_minor(a, currency)) for a, at in sales],
            )
        )
    guides.sort(key=lambda g: (-g.count, g.currency))
    return PriceGuide(pin_id, guides)


def price_chart(guide: CurrencyGuide, width: int = 360, height: int = 140) -> Markup:
    """Prices over time as an inline SVG drawn here: points joined by a line, the
    median dashed, the range and the dates on the axes. Every value written into
    the markup is a number or a date we format, so nothing needs escaping."""
    left, right, top, bottom = 56, 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    times = [s.at.timestamp() for s in guide.sales]
    t0, t1 = min(times), max(times)
    low, high = guide.low, guide.high
    span = (high - low) or Decimal(1)

    def x(t: float) -> float:
        return left + (plot_w / 2 if t1 == t0 else (t - t0) / (t1 - t0) * plot_w)

    def y(v: Decimal) -> float:
        if high == low:
            return top + plot_h / 2
        return top + float((high - v) / span) * plot_h

    points = [(x(t), y(s.amount)) for t, s in zip(times, guide.sales, strict=True)]
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    dots = "".join(
        f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3"><title>{s.at:%Y-%m-%d}: '
        f"{s.amount} {guide.currency}</title></circle>"
        for (px, py), s in zip(points, guide.sales, strict=True)
    )
    median_y = y(guide.median)
    first, last = guide.sales[0].at, guide.sales[-1].at
    svg = (
        f'<svg class="price-chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Sale prices over time in {guide.currency}">'
        f'<g font-size="10" fill="#5f6368" font-family="system-ui, sans-serif">'
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{high}</text>'
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end">{low}</text>'
        f'<text x="{left}" y="{height - 6}">{first:%Y-%m-%d}</text>'
        f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end">{last:%Y-%m-%d}</text>'
        "</g>"
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#ddd"/>'
        f'<line x1="{left}" x2="{left + plot_w}" y1="{median_y:.1f}" y2="{median_y:.1f}" '
        'stroke="#888" stroke-dasharray="4 3"><title>median</title></line>'
        f'<polyline points="{path}" fill="none" stroke="#b22222" stroke-width="1.5"/>'
        f'<g fill="#b22222">{dots}</g></svg>'
    )
    return Markup(svg)  # noqa: S704 - built above from numbers and dates only


# -- the service ----------------------------------------------------------------------


@dataclass(frozen=True)
class Links:
    """Absolute URLs for Stripe redirects and emails (services have no request)."""

    base_url: str

    def order(self, order_id: int) -> str:
        return f"{self.base_url}/orders/{order_id}"

    def success(self, order_id: int) -> str:
        return f"{self.base_url}/orders/{order_id}/success?session_id={{CHECKOUT_SESSION_ID}}"

    def cancel(self, order_id: int) -> str:
        return f"{self.base_url}/orders/{order_id}/cancelled"

    def payouts_return(self) -> str:
        return f"{self.base_url}/sell/payouts/return"

    def payouts_refresh(self) -> str:
        return f"{self.base_url}/sell/payouts/refresh"

    def absolute(self, url: str) -> str:
        return url if "://" in url else self.base_url + url


@dataclass(frozen=True)
class Offer:
    have: Have
    seller: User
    price: Decimal
    currency: str
    available: int


class Orders:
    """Order operations on one session, with the configured payment provider."""

    def __init__(
        self, session: Session, payments: PaymentProvider, *, base_url: str, fee_percent: float
    ) -> None:
        self.session = session
        self.payments = payments
        self.links = Links(base_url)
        self.fee_percent = fee_percent

    @classmethod
    def configured(cls, session: Session, payments: PaymentProvider, settings: Settings) -> Orders:
        return cls(
            session, payments, base_url=settings.base_url, fee_percent=settings.platform_fee_percent
        )

    def _provider(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the provider, turning its refusals into errors a user can read."""
        try:
            return call(*args, **kwargs)
        except PaymentsDisabled as exc:
            raise PaymentsUnavailable(exc.message) from exc
        except PaymentUnavailable as exc:
            raise PaymentsUnavailable(
                "The payment service is not answering; please try again in a minute."
            ) from exc
        except PaymentError as exc:
            raise DomainError(f"The payment service refused: {exc.message}") from exc

    # -- sellers ------------------------------------------------------------------------

    def seller_account(self, user_id: int) -> SellerAccount | None:
        return self.session.get(SellerAccount, user_id)

    def start_onboarding(self, user: User) -> tuple[SellerAccount, str]:
        """A Connect Express account for the seller (created once) and a fresh link
        to Stripe's onboarding for it."""
        account = self.seller_account(user.id)
        if account is None:
            remote = self._provider(self.payments.create_account, user_id=user.id, email=user.email)
            account = SellerAccount(
                user_id=user.id,
                stripe_account_id=remote.id,
                charges_enabled=remote.charges_enabled,
                payouts_enabled=remote.payouts_enabled,
                details_submitted=remote.details_submitted,
            )
            try:
                with self.session.begin_nested():
                    self.session.add(account)
                    self.session.flush()
            except IntegrityError:
                # A second click got here first; the provider's idempotency key
                # gave both the same account.
                account = self.session.get(SellerAccount, user.id)
                if account is None:
                    raise
        url = self._provider(
            self.payments.create_account_link,
            account.stripe_account_id,
            refresh_url=self.links.payouts_refresh(),
            return_url=self.links.payouts_return(),
        )
        return account, self.links.absolute(url)

    def refresh_account(self, stripe_account_id: str) -> SellerAccount | None:
        """Re-read an account from Stripe (after onboarding or `account.updated`)."""
        account = self.session.scalar(
            select(SellerAccount)
            .where(SellerAccount.stripe_account_id == stripe_account_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if account is None:
            return None
        remote = self._provider(self.payments.retrieve_account, stripe_account_id)
        account.charges_enabled = remote.charges_enabled
        account.payouts_enabled = remote.payouts_enabled
        account.details_submitted = remote.details_submitted
        account.updated_at = utcnow()
        self.session.flush()
        return account

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
            raise NotFound("That listing does not exist or is no longer for sale.")
        return have

    # -- buying ---------------------------------------------------------------------------

    def buy(self, buyer: User, have_id: int) -> Order:
        """Reserve one copy and open a Checkout Session for it. The caller sends the
        buyer to `order.checkout_url`; the order becomes paid only by webhook."""
        have = self.listing(have_id)
        if have.user_id == buyer.id:
            raise DomainError("This is your own listing.", field="have_id")
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
            return existing  # a second click on Buy: the same checkout
        seller = self.seller_account(have.user_id)
        if seller is None or not seller.can_be_paid:
            raise Conflict("This seller cannot take payments yet.", field="have_id")
        assert have.price is not None and have.currency is not None
        price, currency = have.price, have.currency
        amount = to_minor(price, currency)
        if amount <= 0:
            raise DomainError("A listing without a price cannot be bought.", field="have_id")

        # The reservation: one statement that succeeds only while a copy is free
        # and the price is still the one the buyer saw.
        reserved = self.session.execute(
            update(Have)
            .where(
                Have.id == have_id,
                Have.quantity - Have.reserved >= 1,
                Have.price == price,
                Have.currency == currency,
            )
            .values(reserved=Have.reserved + 1)
            .execution_options(synchronize_session=False)
        )
        if not reserved.rowcount:  # type: ignore[attr-defined]
            raise Conflict(
                "Someone else is buying or has just bought the last copy.", field="have_id"
            )
        now = utcnow()
        expires = now + CHECKOUT_LIFETIME
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
            reserved_until=expires + RESERVATION_GRACE,
            stripe_account_id=seller.stripe_account_id,
        )
        self.session.add(order)
        self.session.flush()
        pin = have.pin
        session = self._provider(
            self.payments.create_checkout_session,
            CheckoutRequest(
                order_id=order.id,
                amount=amount,
                currency=currency,
                application_fee=order.platform_fee,
                destination=seller.stripe_account_id,
                product_name=f"{pin.title_en} ({pin.ref})"[:250],
                description=f"Condition: {have.condition.label}. One copy, sent by post.",
                success_url=self.links.success(order.id),
                cancel_url=self.links.cancel(order.id),
                expires_at=int(expires.timestamp()),
                idempotency_key=self.idempotency_key(order, "checkout"),
                customer_email=buyer.email,
            ),
        )
        order.checkout_session_id = session.id
        order.checkout_url = self.links.absolute(session.url or "")
        self.session.flush()
        return order

    @staticmethod
    def idempotency_key(order: Order, purpose: str) -> str:
        # The order id names the operation; the order's random token keeps the key
        # unique even if a rolled-back id is reused (SQLite reuses the highest id).
        return f"znachki-order-{order.id}-{order.token}-{purpose}"

    # -- reading orders -----------------------------------------------------------------

    def get(self, user: User, order_id: int) -> Order:
        order = self.session.get(Order, order_id)
        if order is None or not (user.id in (order.buyer_id, order.seller_id) or user.is_moderator):
            raise NotFound("There is no such order of yours.")
        return order

    def for_user(self, user: User, role: str = "all", limit: int = 200) -> list[Order]:
        query = select(Order).options(selectinload(Order.pin))
        if role == "buying":
            query = query.where(Order.buyer_id == user.id)
        elif role == "selling":
            query = query.where(Order.seller_id == user.id)
        else:
            query = query.where(or_(Order.buyer_id == user.id, Order.seller_id == user.id))
        return list(self.session.scalars(query.order_by(Order.id.desc()).limit(limit)))

    def _locked(self, order_id: int) -> Order | None:
        return self.session.scalar(
            select(Order)
            .where(Order.id == order_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    def _locked_for(self, user: User, order_id: int) -> Order:
        self.get(user, order_id)
        order = self._locked(order_id)
        assert order is not None
        return order

    # -- after payment --------------------------------------------------------------------

    def ship(self, seller: User, order_id: int, tracking_number: str) -> Order:
        order = self._locked_for(seller, order_id)
        if order.seller_id != seller.id:
            raise Forbidden("Only the seller marks an order shipped.")
        tracking = " ".join((tracking_number or "").split())
        if not tracking or len(tracking) > MAX_TRACKING:
            raise DomainError(
                f"Give the tracking number (1 to {MAX_TRACKING} characters).",
                field="tracking_number",
            )
        if order.status != "paid":
            raise Conflict(f"A {order.status} order cannot be marked shipped.")
        order.status = "shipped"
        order.tracking_number = tracking
        order.shipped_at = utcnow()
        self.session.flush()
        self._mail(order.buyer, "order_shipped", order)
        return order

    def confirm_delivery(self, buyer: User, order_id: int) -> Order:
        order = self._locked_for(buyer, order_id)
        if order.buyer_id != buyer.id:
            raise Forbidden("Only the buyer confirms delivery.")
        if order.status not in ("paid", "shipped"):
            raise Conflict(f"A {order.status} order cannot be marked delivered.")
        order.status = "delivered"
        order.delivered_at = utcnow()
        self.session.flush()
        self._mail(order.seller, "order_delivered", order)
        return order

    def refund(self, actor: User, order_id: int, reason: str = "") -> Order:
        """A full refund by the seller or a moderator: the transfer to the seller
        and the platform fee are reversed too."""
        order = self._locked_for(actor, order_id)
        if actor.id != order.seller_id and not actor.is_moderator:
            raise Forbidden("Only the seller or a moderator can refund an order.")
        if order.status not in SOLD_STATUSES or not order.payment_intent_id:
            raise Conflict(f"A {order.status} order cannot be refunded.")
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

    def cancel(self, buyer: User, order_id: int) -> Order:
        """The buyer gives up before paying: the session is expired at Stripe
        first, so it can no longer be paid, and the copy is released."""
        order = self._locked_for(buyer, order_id)
        if order.buyer_id != buyer.id:
            raise Forbidden("Only the buyer can cancel a checkout.")
        if order.status != "pending":
            raise Conflict(f"A {order.status} order cannot be cancelled.")
        if order.checkout_session_id:
            session = self._provider(self.payments.retrieve_session, order.checkout_session_id)
            if session.status == "complete":
                raise Conflict("The payment has already gone through; wait for it to settle.")
            if session.status == "open":
                self._provider(self.payments.expire_session, order.checkout_session_id)
        self._close(order, "cancelled", "cancelled by the buyer")
        return order

    def _mark_refunded(self, order: Order, refund_id: str | None, amount: int, note: str) -> None:
        order.status = "refunded"
        order.refund_id = refund_id or order.refund_id
        order.refunded_amount = min(order.amount, max(order.refunded_amount, amount))
        order.refunded_at = order.refunded_at or utcnow()
        order.note = note
        self.session.flush()

    # -- reservations ---------------------------------------------------------------------

    def _close(self, order: Order, status: str, note: str) -> None:
        """pending → expired/cancelled, handing the reserved copy back."""
        if order.holds_reservation and order.have_id is not None:
            self.session.execute(
                update(Have)
                .where(Have.id == order.have_id, Have.reserved >= 1)
                .values(reserved=Have.reserved - 1)
                .execution_options(synchronize_session=False)
            )
        order.holds_reservation = False
        order.status = status
        order.closed_at = utcnow()
        order.note = note
        self.session.flush()

    def _take_reserved_copy(self, order: Order) -> bool:
        """The paid order's reserved copy leaves the seller's Haves."""
        order.holds_reservation = False
        if order.have_id is None:
            return False  # the seller deleted the listing meanwhile
        taken = self.session.execute(
            update(Have)
            .where(Have.id == order.have_id, Have.reserved >= 1, Have.quantity > 1)
            .values(quantity=Have.quantity - 1, reserved=Have.reserved - 1)
            .execution_options(synchronize_session=False)
        )
        if not taken.rowcount:  # type: ignore[attr-defined]
            taken = self.session.execute(
                delete(Have)
                .where(Have.id == order.have_id, Have.quantity == 1, Have.reserved == 1)
                .execution_options(synchronize_session=False)
            )
        return bool(taken.rowcount)  # type: ignore[attr-defined]

    def _take_free_copy(self, order: Order) -> bool:
        """A payment that arrived after its reservation lapsed: it gets a copy only
        if one is still free."""
        if order.have_id is None:
            return False
        taken = self.session.execute(
            update(Have)
            .where(Have.id == order.have_id, Have.quantity - Have.reserved >= 1, Have.quantity > 1)
            .values(quantity=Have.quantity - 1)
            .execution_options(synchronize_session=False)
        )
        if not taken.rowcount:  # type: ignore[attr-defined]
            taken = self.session.execute(
                delete(Have)
                .where(Have.id == order.have_id, Have.quantity == 1, Have.reserved == 0)
                .execution_options(synchronize_session=False)
            )
        return bool(taken.rowcount)  # type: ignore[attr-defined]

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
        self._close(order, "expired", "the checkout expired")
        return 1

    # -- Stripe events --------------------------------------------------------------------

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
                    self._close(order, "cancelled", "the payment failed")
                    self._mail(order.buyer, "order_payment_failed", order)
                    return "payment failed: order cancelled"
            if order.status == "pending":
                order.reserved_until = None  # held until the payment settles
                self.session.flush()
            return "payment processing"
        if session.status == "expired":
            if order.status != "pending":
                return f"session expired; order already {order.status}"
            self._close(order, "expired", "the checkout expired")
            return "expired: copy released"
        return "session still open"

    def _settle_paid(self, order: Order, session: CheckoutSession) -> str:
        if order.status in SOLD_STATUSES or order.status == "refunded":
            return f"already {order.status}"
        order.payment_intent_id = session.payment_intent_id or order.payment_intent_id
        was_reserved = order.holds_reservation and order.status == "pending"
        got_copy = self._take_reserved_copy(order) if was_reserved else self._take_free_copy(order)
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

    def _on_account(self, row: StripeEvent) -> str:
        if not row.object_id:
            return "no account id"
        account = self.refresh_account(row.object_id)
        if account is None:
            return "unknown account"
        return "can be paid" if account.can_be_paid else "cannot be paid yet"

    # -- mail -----------------------------------------------------------------------------

    def _mail(self, user: User | None, template: str, order: Order, **context: Any) -> None:
        if user is None:
            return
        pin = order.pin or (self.session.get(Pin, order.pin_id) if order.pin_id else None)
        mail.queue(
            self.session,
            to=user.email,
            template=template,
            user_id=user.id,
            name=user.display_name,
            order=order,
            pin_title=pin.title_en if pin else "a pin",
            pin_ref=pin.ref if pin else "",
            amount=format_money(order.amount, order.currency),
            payout=format_money(order.amount - order.platform_fee, order.currency),
            url=self.links.order(order.id),
            **context,
        )


def sold_count(session: Session, pin_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(Order.id)).where(
                Order.pin_id == pin_id, Order.status.in_(SOLD_STATUSES)
            )
        )
        or 0
    )
