"""The labelled test provider for development without `STRIPE_SECRET_KEY`:
clearly fake payments, no network and no money. Sessions and accounts are JSON
files under `instance/test-payments/` (so the web process and the worker see the
same), its checkout and onboarding pages are ours (web.orders), and it is labelled
"TEST PAYMENTS — no money moves" wherever it shows. Completing its checkout records
the same event a Stripe webhook would, so fulfilment runs the same code."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from marketplace.payments.provider import (
    CheckoutRequest,
    CheckoutSession,
    ConnectedAccount,
    PaymentError,
    PaymentIntentInfo,
    RefundInfo,
    SignatureError,
    WebhookEvent,
)
from marketplace.payments.webhooks import event_from_payload, verify_signature

TEST_LABEL = "TEST PAYMENTS — no money moves"


class TestPaymentProvider:
    """Clearly labelled fake payments for local work: no network, no money. State
    lives in JSON files so that the web process and the worker see the same."""

    __test__ = False  # not a pytest class
    is_test = True
    label = TEST_LABEL
    # Its checkout page has no address form: buyers choose one from their
    # address book before they are sent here.
    collects_shipping = False

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
