"""Payments switched off: outside development with no `STRIPE_SECRET_KEY`, every
call says so, and the rest of the site keeps working."""

from __future__ import annotations

from typing import Any

from marketplace.payments.provider import PaymentsDisabled, SignatureError, WebhookEvent


class DisabledPayments:
    """No provider configured outside development: every call says so."""

    is_test = False
    label = "Payments are switched off"
    collects_shipping = False

    def _off(self, *args: Any, **kwargs: Any) -> Any:
        raise PaymentsDisabled("Buying and selling are not available on this server yet.")

    create_account = create_account_link = retrieve_account = _off
    create_checkout_session = retrieve_session = expire_session = _off
    retrieve_payment_intent = refund = _off

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        raise SignatureError("payments are not configured")
