"""The payment provider interface the order services use, and the values that
cross it: Connect Express accounts and their onboarding links, Checkout Sessions
(destination charges) and the shipping address a buyer gave there, re-fetched
sessions, payment intents and accounts, refunds that reverse the transfer and the
platform fee, and verified webhook events.

Amounts cross this boundary as integer minor units and lower-case currency codes,
as Stripe takes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class PaymentError(Exception):
    """The provider refused the request (bad parameters, card declined…)."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PaymentUnavailable(PaymentError):
    """A transient failure (network, 5xx, rate limit): try again later."""


class PaymentsDisabled(PaymentError):
    """This deployment has no payment provider configured."""


class SignatureError(Exception):
    """A webhook whose signature, timestamp or body does not verify."""


@dataclass(frozen=True)
class ConnectedAccount:
    id: str
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool


@dataclass(frozen=True)
class CheckoutRequest:
    order_id: int
    amount: int
    currency: str
    application_fee: int
    destination: str
    product_name: str
    description: str
    success_url: str
    cancel_url: str
    expires_at: int
    idempotency_key: str
    customer_email: str | None = None
    # Every copy travels by post: a provider whose checkout can ask for the
    # shipping address (`PaymentProvider.collects_shipping`) does so.
    collect_shipping: bool = False


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    payment_intent_id: str | None
    client_reference_id: str | None
    metadata: dict[str, str]
    amount_total: int | None
    currency: str | None
    expires_at: int | None
    # The address the buyer gave at checkout, in the fields of an address book
    # snapshot (name, line1, line2, city, region, postal_code, country, phone).
    shipping: dict[str, str] | None = None


@dataclass(frozen=True)
class PaymentIntentInfo:
    id: str
    status: str
    amount: int
    currency: str
    latest_charge_id: str | None
    amount_refunded: int
    refunded: bool
    disputed: bool
    metadata: dict[str, str]


@dataclass(frozen=True)
class RefundInfo:
    id: str
    status: str
    amount: int


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    created: int
    livemode: bool
    object_id: str | None
    object: dict[str, Any] = field(default_factory=dict)


class PaymentProvider(Protocol):
    is_test: bool
    label: str
    # Whether its checkout page asks the buyer for a shipping address; when it
    # cannot, the buyer must give one from their address book before paying.
    collects_shipping: bool

    def create_account(self, *, user_id: int, email: str) -> ConnectedAccount: ...
    def create_account_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str: ...
    def retrieve_account(self, account_id: str) -> ConnectedAccount: ...
    def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession: ...
    def retrieve_session(self, session_id: str) -> CheckoutSession: ...
    def expire_session(self, session_id: str) -> CheckoutSession: ...
    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo: ...
    def refund(
        self, payment_intent_id: str, *, idempotency_key: str, reason: str
    ) -> RefundInfo: ...
    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent: ...
