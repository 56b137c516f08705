"""`Orders`, the order service: every order job on one session, with the
configured payment provider. The app's registry builds it (`Orders.configured`);
views, API resources, tasks and the command line ask the registry for it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.config import Settings
from marketplace.orders.operations.fulfilment import Fulfilment
from marketplace.orders.operations.stripe_events import StripeEvents
from marketplace.payments import PaymentProvider


class Orders(StripeEvents, Fulfilment):
    """Order operations on one session: sellers' accounts, checkout, fulfilment,
    refunds and disputes, and Stripe events (each job in its own module)."""

    @classmethod
    def configured(cls, session: Session, payments: PaymentProvider, settings: Settings) -> Orders:
        return cls(
            session,
            payments,
            base_url=settings.base_url,
            fee_percent=settings.platform_fee_percent,
            checkout_minutes=settings.checkout_minutes,
        )
