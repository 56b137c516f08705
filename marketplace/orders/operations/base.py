"""What every order job shares: the session and the configured payment provider,
absolute links for Stripe redirects and emails, provider refusals turned into
errors a user can read, reading and locking an order row, idempotency keys, and the
order emails."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.i18n import N_
from marketplace.mail import delivery as mail
from marketplace.orders.models import Order
from marketplace.orders.operations.money import format_money
from marketplace.payments import PaymentError, PaymentProvider, PaymentsDisabled, PaymentUnavailable


class PaymentsUnavailable(DomainError):
    status = 503
    code = "payments_unavailable"


# An order's state as a refusal names it ("A paid order cannot be cancelled.").
STATES = {
    "pending": N_("pending"),
    "paid": N_("paid"),
    "shipped": N_("shipped"),
    "delivered": N_("delivered"),
    "expired": N_("expired"),
    "refunded": N_("refunded"),
    "cancelled": N_("cancelled"),
}


def state(status: str) -> str:
    """An order's state in the reader's language."""
    return gettext(STATES[status]) if status in STATES else status


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


class OrderJobs:
    """The state every order job works with; the jobs are mixed into `Orders`."""

    def __init__(
        self,
        session: Session,
        payments: PaymentProvider,
        *,
        base_url: str,
        fee_percent: float,
        checkout_minutes: int = 35,
    ) -> None:
        self.session = session
        self.payments = payments
        self.links = Links(base_url)
        self.fee_percent = fee_percent
        self.checkout_lifetime = timedelta(minutes=checkout_minutes)

    def _provider(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the provider, turning its refusals into errors a user can read."""
        try:
            return call(*args, **kwargs)
        except PaymentsDisabled as exc:
            raise PaymentsUnavailable(exc.message) from exc
        except PaymentUnavailable as exc:
            raise PaymentsUnavailable(
                gettext("The payment service is not answering; please try again in a minute.")
            ) from exc
        except PaymentError as exc:
            raise DomainError(
                gettext("The payment service refused: %(reason)s", reason=exc.message)
            ) from exc

    @staticmethod
    def idempotency_key(order: Order, purpose: str) -> str:
        # The order id names the operation; the order's random token keeps the key
        # unique even if a rolled-back id is reused (SQLite reuses the highest id).
        return f"znachki-order-{order.id}-{order.token}-{purpose}"

    # -- reading orders -----------------------------------------------------------------

    def get(self, user: User, order_id: int) -> Order:
        order = self.session.get(Order, order_id)
        if order is None or not (user.id in (order.buyer_id, order.seller_id) or user.is_moderator):
            raise NotFound(gettext("There is no such order of yours."))
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

    # -- mail -----------------------------------------------------------------------------

    def _mail(self, user: User | None, template: str, order: Order, **context: Any) -> None:
        if user is None:
            return
        pin = order.pin or (self.session.get(Pin, order.pin_id) if order.pin_id else None)
        # The buyer's or seller's own language, the amounts written as they write money.
        with mail.language(user.locale) as locale:
            mail.queue(
                self.session,
                to=user.email,
                template=template,
                locale=locale,
                user_id=user.id,
                name=user.display_name,
                order=order,
                pin_title=pin.title_en if pin else gettext("a pin"),
                pin_ref=pin.ref if pin else "",
                amount=format_money(order.amount, order.currency),
                payout=format_money(order.amount - order.platform_fee, order.currency),
                url=self.links.order(order.id),
                **context,
            )
