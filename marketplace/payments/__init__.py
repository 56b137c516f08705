"""Payments at the edge. `PaymentProvider` (payments.provider) is the small
interface the order services use; this package re-exports it with its values and
errors, and `make_payments` picks the implementation by configuration:

* `StripeProvider` (payments.stripe_provider) — the real SDK, the only module that
  imports `stripe`; `STRIPE_API_BASE` moves its API base URL.
* `TestPaymentProvider` (payments.development_provider) — development without
  `STRIPE_SECRET_KEY`, labelled "TEST PAYMENTS — no money moves" wherever it shows.
* `DisabledPayments` (payments.disabled_provider) — outside development with no
  key: buying says why it cannot, the rest of the site keeps working.

Webhook signatures and event bodies are read in payments.webhooks.
"""

from __future__ import annotations

import logging
from pathlib import Path

from marketplace.config import Settings
from marketplace.payments.development_provider import TestPaymentProvider
from marketplace.payments.disabled_provider import DisabledPayments
from marketplace.payments.provider import (
    CheckoutRequest,
    CheckoutSession,
    ConnectedAccount,
    PaymentError,
    PaymentIntentInfo,
    PaymentProvider,
    PaymentsDisabled,
    PaymentUnavailable,
    RefundInfo,
    SignatureError,
    WebhookEvent,
)
from marketplace.payments.stripe_provider import StripeProvider

__all__ = [
    "CheckoutRequest",
    "CheckoutSession",
    "ConnectedAccount",
    "PaymentError",
    "PaymentIntentInfo",
    "PaymentProvider",
    "PaymentUnavailable",
    "PaymentsDisabled",
    "RefundInfo",
    "SignatureError",
    "WebhookEvent",
    "make_payments",
]

log = logging.getLogger(__name__)


def make_payments(settings: Settings, instance_path: str) -> PaymentProvider:
    """The provider this configuration asks for (registered as app.extensions["payments"])."""
    if settings.stripe_secret_key:
        return StripeProvider(
            settings.stripe_secret_key,
            settings.stripe_webhook_secret,
            api_base=settings.stripe_api_base,
        )
    if settings.is_development:
        return TestPaymentProvider(
            Path(instance_path) / "test-payments", settings.stripe_webhook_secret
        )
    log.warning("STRIPE_SECRET_KEY is not set: buying and selling are switched off")
    return DisabledPayments()
