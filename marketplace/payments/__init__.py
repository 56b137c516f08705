"""Payments at the edge: the only module that imports `stripe`.

`PaymentProvider` is the small interface the order services use: Connect Express
accounts and their onboarding links, Checkout Sessions (destination charges),
re-fetching sessions, payment intents and accounts, refunds that reverse the
transfer and the platform fee, and webhook verification on the raw body.

Two implementations, chosen by configuration (`make_payments`):

* `StripeProvider` — the real SDK. `STRIPE_API_BASE` moves its API base URL so the
  tests can point it at a local Stripe-compatible server.
* `TestPaymentProvider` — development without `STRIPE_SECRET_KEY`: sessions and
  accounts are JSON files under `instance/test-payments/`, its checkout and
  onboarding pages are ours (web.orders), and it is labelled "TEST PAYMENTS — no
  money moves" wherever it shows. Completing its checkout records the same event a
  Stripe webhook would, so fulfilment runs the same code.

Outside development with no key, payments are switched off (`DisabledPayments`):
the rest of the site keeps working and buying says why it cannot.

Amounts cross this boundary as integer minor units and lower-case currency codes,
as Stripe takes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from marketplace.config import Settings

log = logging.getLogger(__name__)

WEBHOOK_TOLERANCE_S = 300
TEST_LABEL = "TEST PAYMENTS — no money moves"


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


def event_from_payload(data: Any) -> WebhookEvent:
    """The fields we keep from a Stripe event body (already verified)."""
    if not isinstance(data, dict) or data.get("object") != "event":
        raise SignatureError("the body is not a Stripe event")
    obj = (data.get("data") or {}).get("object") or {}
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise SignatureError("the event has no id or type")
    return WebhookEvent(
        id=data["id"],
        type=data["type"],
        created=int(data.get("created") or 0),
        livemode=bool(data.get("livemode")),
        object_id=obj.get("id") if isinstance(obj, dict) else None,
        object=obj if isinstance(obj, dict) else {},
    )


def verify_signature(
    payload: bytes, header: str | None, secret: str | None, *, now: float | None = None
) -> None:
    """Stripe's scheme: `t=<unix time>,v1=<hex HMAC-SHA256 of "t.payload">`, any
    of several v1 values may match, and t must be within the tolerance."""
    if not secret:
        raise SignatureError("no webhook secret is configured")
    if not header:
        raise SignatureError("no Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("the Stripe-Signature header has no timestamp or v1 signature")
    signed = str(timestamp).encode() + b"." + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise SignatureError("no signature matches the body")
    if abs((now or time.time()) - timestamp) > WEBHOOK_TOLERANCE_S:
        raise SignatureError("the timestamp is outside the tolerance")


# -- Stripe ---------------------------------------------------------------------------


class StripeProvider:
    """The real thing, through the official SDK."""

    is_test = False
    label = "Stripe"

    def __init__(
        self, api_key: str, webhook_secret: str | None, *, api_base: str | None = None
    ) -> None:
        import stripe

        self._stripe = stripe
        self.webhook_secret = webhook_secret
        base = api_base.rstrip("/") if api_base else None
        addresses: Any = {"api": base, "connect": base} if base else None
        self.client = stripe.StripeClient(api_key, base_addresses=addresses, max_network_retries=2)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        stripe = self._stripe
        try:
            return fn(*args, **kwargs)
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise PaymentUnavailable(str(exc.user_message or exc)) from exc
        except stripe.StripeError as exc:
            status = exc.http_status or 0
            error_class = PaymentUnavailable if status >= 500 else PaymentError
            raise error_class(str(exc.user_message or exc), code=exc.code) from exc

    @staticmethod
    def _account(obj: Any) -> ConnectedAccount:
        obj = obj.to_dict()
        return ConnectedAccount(
            id=obj["id"],
            charges_enabled=bool(obj.get("charges_enabled")),
            payouts_enabled=bool(obj.get("payouts_enabled")),
            details_submitted=bool(obj.get("details_submitted")),
        )

    @staticmethod
    def _session(obj: Any) -> CheckoutSession:
        data = obj.to_dict()
        intent = data.get("payment_intent")
        return CheckoutSession(
            id=data["id"],
            url=data.get("url"),
            status=data.get("status") or "open",
            payment_status=data.get("payment_status") or "unpaid",
            payment_intent_id=intent["id"] if isinstance(intent, dict) else intent,
            client_reference_id=data.get("client_reference_id"),
            metadata=dict(data.get("metadata") or {}),
            amount_total=data.get("amount_total"),
            currency=data.get("currency"),
            expires_at=data.get("expires_at"),
        )

    def create_account(self, *, user_id: int, email: str) -> ConnectedAccount:
        params: Any = {
            "type": "express",
            "email": email,
            "capabilities": {
                "card_payments": {"requested": True},
                "transfers": {"requested": True},
            },
            "metadata": {"user_id": str(user_id)},
        }
        obj = self._call(
            self.client.v1.accounts.create,
            params,
            {"idempotency_key": f"znachki-seller-{user_id}"},
        )
        return self._account(obj)

    def create_account_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        params: Any = {
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        }
        obj = self._call(self.client.v1.account_links.create, params)
        return str(obj["url"])

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        return self._account(self._call(self.client.v1.accounts.retrieve, account_id))

    def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        metadata = {"order_id": str(request.order_id)}
        params: Any = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount,
                        "product_data": {
                            "name": request.product_name,
                            "description": request.description,
                        },
                    },
                }
            ],
            "payment_intent_data": {
                "application_fee_amount": request.application_fee,
                "transfer_data": {"destination": request.destination},
                "metadata": metadata,
            },
            "client_reference_id": str(request.order_id),
            "metadata": metadata,
            "expires_at": request.expires_at,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        obj = self._call(
            self.client.v1.checkout.sessions.create,
            params,
            {"idempotency_key": request.idempotency_key},
        )
        return self._session(obj)

    def retrieve_session(self, session_id: str) -> CheckoutSession:
        return self._session(self._call(self.client.v1.checkout.sessions.retrieve, session_id))

    def expire_session(self, session_id: str) -> CheckoutSession:
        return self._session(self._call(self.client.v1.checkout.sessions.expire, session_id))

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo:
        params: Any = {"expand": ["latest_charge"]}
        data = self._call(
            self.client.v1.payment_intents.retrieve, payment_intent_id, params
        ).to_dict()
        charge = data.get("latest_charge")
        charge = charge if isinstance(charge, dict) else {"id": charge} if charge else {}
        return PaymentIntentInfo(
            id=data["id"],
            status=data.get("status") or "",
            amount=int(data.get("amount") or 0),
            currency=data.get("currency") or "",
            latest_charge_id=charge.get("id"),
            amount_refunded=int(charge.get("amount_refunded") or 0),
            refunded=bool(charge.get("refunded")),
            disputed=bool(charge.get("disputed")),
            metadata=dict(data.get("metadata") or {}),
        )

    def refund(self, payment_intent_id: str, *, idempotency_key: str, reason: str) -> RefundInfo:
        params: Any = {
            "payment_intent": payment_intent_id,
            "reverse_transfer": True,
            "refund_application_fee": True,
            "metadata": {"reason": reason[:500]},
        }
        obj = self._call(
            self.client.v1.refunds.create, params, {"idempotency_key": idempotency_key}
        )
        data = obj.to_dict()
        return RefundInfo(id=data["id"], status=data.get("status") or "", amount=data["amount"])

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        stripe = self._stripe
        if not self.webhook_secret:
            raise SignatureError("STRIPE_WEBHOOK_SECRET is not set")
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self.webhook_secret, WEBHOOK_TOLERANCE_S
            )
        except (stripe.SignatureVerificationError, ValueError, IndexError) as exc:
            raise SignatureError(str(exc)) from exc
        # Parsed only now that the bytes are known to be Stripe's.
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise SignatureError("the body is not JSON") from exc
        return event_from_payload(data)


# -- development ----------------------------------------------------------------------


class TestPaymentProvider:
    """Clearly labelled fake payments for local work: no network, no money. State
    lives in JSON files so that the web process and the worker see the same."""

    __test__ = False  # not a pytest class
    is_test = True
    label = TEST_LABEL

    def __init__(self, folder: Path, webhook_secret: str | None = None) -> None:
        self.folder = folder
        self.webhook_secret = webhook_secret
        self._lock = threading.Lock()

    # storage
    def _path(self, object_id: str) -> Path:
        if not object_id.replace("_", "").isalnum():
            raise PaymentError(f"No such object: {object_id}")
        return self.folder / f"{object_id}.json"

    def _load(self, object_id: str) -> dict[str, Any]:
        path = self._path(object_id)
        if not path.exists():
            raise PaymentError(f"No such object: {object_id}", code="resource_missing")
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def _save(self, data: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(data["id"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.replace(path)

    def _find_key(self, key: str) -> dict[str, Any] | None:
        index = self.folder / "idempotency" / hashlib.sha256(key.encode()).hexdigest()
        return json.loads(index.read_text()) if index.exists() else None

    def _remember_key(self, key: str, data: dict[str, Any]) -> None:
        index = self.folder / "idempotency"
        index.mkdir(parents=True, exist_ok=True)
        (index / hashlib.sha256(key.encode()).hexdigest()).write_text(json.dumps(data))

    # accounts
    def create_account(self, *, user_id: int, email: str) -> ConnectedAccount:
        with self._lock:
            known = self._find_key(f"seller-{user_id}")
            if known:
                return ConnectedAccount(**self._load(known["id"])["account"])
            account = ConnectedAccount(f"acct_test_{secrets.token_hex(8)}", False, False, False)
            self._save({"id": account.id, "account": asdict(account), "email": email})
            self._remember_key(f"seller-{user_id}", {"id": account.id})
            return account

    def create_account_link(self, account_id: str, *, refresh_url: str, return_url: str) -> str:
        data = self._load(account_id)
        data["return_url"] = return_url
        self._save(data)
        return f"/test-payments/onboard/{account_id}"

    def retrieve_account(self, account_id: str) -> ConnectedAccount:
        return ConnectedAccount(**self._load(account_id)["account"])

    def complete_onboarding(self, account_id: str) -> tuple[str, dict[str, Any]]:
        """The fake onboarding form was submitted: the account can now be paid."""
        data = self._load(account_id)
        data["account"] = asdict(ConnectedAccount(account_id, True, True, True))
        self._save(data)
        return data.get("return_url") or "/", self._event("account.updated", data["account"])

    # checkout
    def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        with self._lock:
            known = self._find_key(request.idempotency_key)
            if known:
                return self.retrieve_session(known["id"])
            session_id = f"cs_test_{secrets.token_hex(12)}"
            session = CheckoutSession(
                id=session_id,
                url=f"/test-payments/checkout/{session_id}",
                status="open",
                payment_status="unpaid",
                payment_intent_id=None,
                client_reference_id=str(request.order_id),
                metadata={"order_id": str(request.order_id)},
                amount_total=request.amount,
                currency=request.currency.lower(),
                expires_at=request.expires_at,
            )
            self._save(
                {
                    "id": session_id,
                    "session": asdict(session),
                    "request": asdict(request),
                }
            )
            self._remember_key(request.idempotency_key, {"id": session_id})
            return session

    def retrieve_session(self, session_id: str) -> CheckoutSession:
        data = self._load(session_id)
        session = CheckoutSession(**data["session"])
        if session.status == "open" and (session.expires_at or 0) < time.time():
            session = self._update_session(session_id, status="expired")
        return session

    def checkout_details(self, session_id: str) -> dict[str, Any]:
        """What the fake checkout page shows."""
        data = self._load(session_id)
        return {**data["request"], "session": self.retrieve_session(session_id)}

    def _update_session(self, session_id: str, **changes: Any) -> CheckoutSession:
        data = self._load(session_id)
        data["session"].update(changes)
        self._save(data)
        return CheckoutSession(**data["session"])

    def expire_session(self, session_id: str) -> CheckoutSession:
        session = self.retrieve_session(session_id)
        if session.status == "complete":
            raise PaymentError("This Checkout Session is already complete.")
        return self._update_session(session_id, status="expired")

    def pay(self, session_id: str) -> tuple[CheckoutSession, dict[str, Any]]:
        """The buyer pressed Pay on the fake checkout page."""
        session = self.retrieve_session(session_id)
        if session.status != "open":
            raise PaymentError(f"This checkout is {session.status}.")
        request = self._load(session_id)["request"]
        intent_id = f"pi_test_{secrets.token_hex(12)}"
        self._save(
            {
                "id": intent_id,
                "intent": asdict(
                    PaymentIntentInfo(
                        id=intent_id,
                        status="succeeded",
                        amount=request["amount"],
                        currency=request["currency"].lower(),
                        latest_charge_id=f"ch_test_{secrets.token_hex(12)}",
                        amount_refunded=0,
                        refunded=False,
                        disputed=False,
                        metadata={"order_id": str(request["order_id"])},
                    )
                ),
            }
        )
        session = self._update_session(
            session_id, status="complete", payment_status="paid", payment_intent_id=intent_id
        )
        return session, self._event("checkout.session.completed", asdict(session))

    def _event(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"evt_test_{secrets.token_hex(12)}",
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }

    def retrieve_payment_intent(self, payment_intent_id: str) -> PaymentIntentInfo:
        return PaymentIntentInfo(**self._load(payment_intent_id)["intent"])

    def refund(self, payment_intent_id: str, *, idempotency_key: str, reason: str) -> RefundInfo:
        with self._lock:
            known = self._find_key(idempotency_key)
            if known:
                return RefundInfo(**known)
            data = self._load(payment_intent_id)
            data["intent"].update(refunded=True, amount_refunded=data["intent"]["amount"])
            self._save(data)
            refund = RefundInfo(
                f"re_test_{secrets.token_hex(12)}", "succeeded", data["intent"]["amount"]
            )
            self._remember_key(idempotency_key, asdict(refund))
            return refund

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        verify_signature(payload, signature, self.webhook_secret)
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise SignatureError("the body is not JSON") from exc
        return event_from_payload(data)


class DisabledPayments:
    """No provider configured outside development: every call says so."""

    is_test = False
    label = "Payments are switched off"

    def _off(self, *args: Any, **kwargs: Any) -> Any:
        raise PaymentsDisabled("Buying and selling are not available on this server yet.")

    create_account = create_account_link = retrieve_account = _off
    create_checkout_session = retrieve_session = expire_session = _off
    retrieve_payment_intent = refund = _off

    def parse_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent:
        raise SignatureError("payments are not configured")
