"""Buying and selling listed pins, one module per job:

* `checkout` — the copies for sale, buying one through Checkout, cancelling;
* `reservations` — holding, releasing and taking a copy of a listing;
* `stripe_events` — verified Stripe events stored once and acted on, and the
  sweeps that stand in for lost events;
* `fulfilment` — shipping and delivery; `refunds` — refunds and disputes;
* `sellers` — sellers' Stripe Connect accounts and onboarding;
* `price_guide` — the price guide that completed sales feed; `money` — amounts;
* `service` — `Orders`, all of the order jobs on one session (`base` holds what
  they share).

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

This package's public names are re-exported here for the pages, API, tasks and
the app's registry.
"""

from __future__ import annotations

from marketplace.orders.operations.base import PaymentsUnavailable
from marketplace.orders.operations.checkout import Offer
from marketplace.orders.operations.money import (
    format_money,
    from_minor,
    platform_fee,
    to_minor,
)
from marketplace.orders.operations.price_guide import PriceGuide, price_guide
from marketplace.orders.operations.service import Orders
from marketplace.orders.operations.stripe_events import EventFailed

__all__ = [
    "EventFailed",
    "Offer",
    "Orders",
    "PaymentsUnavailable",
    "PriceGuide",
    "format_money",
    "from_minor",
    "platform_fee",
    "price_guide",
    "to_minor",
]
