"""A local Stripe-compatible HTTP server for tests, and Stripe's webhook signing.

The real `stripe` SDK talks to it through STRIPE_API_BASE. It implements the
endpoints the app uses (accounts, account links, Checkout Sessions and their
expiry, payment intents, refunds) with responses shaped like Stripe's documented
objects, and it *checks* what we send: form encoding, the bearer key, the
destination-charge parameters (application_fee_amount, transfer_data[destination]
of an enabled account), expires_at between 30 minutes and 24 hours ahead,
client_reference_id matching metadata[order_id], shipping_address_collection with
its allowed_countries (echoed on the session), refunds that reverse the transfer
and the fee, and Idempotency-Key replay (same key + same parameters → the first
response again; same key + other parameters → 400 idempotency_error).

Test helpers change the world the way Stripe would (a buyer pays, giving a
shipping address where the session asked for one; a session expires; an account
finishes onboarding) and build signed event payloads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_znachki_local"
WEBHOOK_SECRET = "whsec_test_znachki_local"
_KEY_PART = re.compile(r"([^\[\]]+)|\[([^\]]*)\]")


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """Stripe's scheme: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<payload>">."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        value = {k: _listify(v) for k, v in value.items()}
        if value and all(k.isdigit() for k in value):
            return [value[k] for k in sorted(value, key=int)]
    return value


def parse_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding: a[b][0][c]=v → {"a": {"b": [{"c": "v"}]}}."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = [m.group(1) or m.group(2) for m in _KEY_PART.finditer(key)]
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _listify(root)


class StripeError(Exception):
    def __init__(self, message: str, param: str | None = None, status: int = 400, **extra: Any):
        super().__init__(message)
        self.body = {
            "error": {"type": "invalid_request_error", "message": message, "param": param, **extra}
        }
        self.status = status


def _require(condition: bool, message: str, param: str) -> None:
    if not condition:
        raise StripeError(message, param)


def _int(value: Any, param: str) -> int:
    _require(isinstance(value, str) and value.lstrip("-").isdigit(), "Invalid integer", param)
    return int(value)


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


@dataclass
class FakeStripe:
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    server: ThreadingHTTPServer | None = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def _answer(self, status: int, body: dict[str, Any], replayed: bool = False) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(8))
                if replayed:
                    self.send_header("Idempotent-Replayed", "true")
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                    self._answer(
                        401,
                        {
                            "error": {
                                "type": "invalid_request_error",
                                "message": "Invalid API Key provided",
                            }
                        },
                    )
                    return
                params = parse_form(body if method == "POST" else url.query)
                key = self.headers.get("Idempotency-Key")
                status, answer, replayed = fake.dispatch(method, url.path, params, key)
                self._answer(status, answer, replayed)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reset(self) -> None:
        with self.lock:
            for store in (self.accounts, self.sessions, self.intents, self.charges, self.refunds):
                store.clear()
            self.idempotency.clear()
            self.requests.clear()

    # -- dispatch -----------------------------------------------------------------------

    ROUTES: tuple[tuple[str, str, str], ...] = (
        ("POST", r"/v1/accounts", "create_account"),
        ("GET", r"/v1/accounts/(?P<id>acct_\w+)", "get_account"),
        ("POST", r"/v1/account_links", "create_account_link"),
        ("POST", r"/v1/checkout/sessions", "create_session"),
        ("GET", r"/v1/checkout/sessions/(?P<id>cs_\w+)", "get_session"),
        ("POST", r"/v1/checkout/sessions/(?P<id>cs_\w+)/expire", "expire_session_api"),
        ("GET", r"/v1/payment_intents/(?P<id>pi_\w+)", "get_intent"),
        ("POST", r"/v1/refunds", "create_refund"),
    )

    def dispatch(
        self, method: str, path: str, params: dict[str, Any], key: str | None
    ) -> tuple[int, dict[str, Any], bool]:
        with self.lock:
            self.requests.append(Recorded(method, path, params, key))
            fingerprint = json.dumps([method, path, params], sort_keys=True)
            if method == "POST" and key and key in self.idempotency:
                seen, status, body = self.idempotency[key]
                if seen != fingerprint:
                    return (
                        400,
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with the "
                                "same parameters they were first used with.",
                            }
                        },
                        False,
                    )
                return status, body, True
            for route_method, pattern, name in self.ROUTES:
                match = re.fullmatch(pattern, path)
                if route_method == method and match:
                    try:
                        status, body = 200, getattr(self, name)(params, **match.groupdict())
                    except StripeError as exc:
                        status, body = exc.status, exc.body
                    break
            else:
                status, body = (
                    404,
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": f"Unrecognized request URL ({method}: {path})",
                        }
                    },
                )
            if method == "POST" and key:
                self.idempotency[key] = (fingerprint, status, body)
            return status, body, False

    def calls(self, path_prefix: str, method: str = "POST") -> list[Recorded]:
        with self.lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    # -- accounts -------------------------------------------------------------------------

    def create_account(self, p: dict[str, Any]) -> dict[str, Any]:
        _require(p.get("type") == "express", "Only Express accounts are expected", "type")
        caps = p.get("capabilities", {})
        _require(
            caps.get("transfers", {}).get("requested") == "true",
            "Destination charges need the transfers capability",
            "capabilities",
        )
        account = {
            "id": "acct_" + secrets.token_hex(8),
            "object": "account",
            "type": "express",
            "email": p.get("email"),
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "metadata": p.get("metadata", {}),
            "created": int(time.time()),
        }
        self.accounts[account["id"]] = account
        return account

    def get_account(self, p: dict[str, Any], id: str) -> dict[str, Any]:
        if id not in self.accounts:
            raise StripeError(f"No such account: '{id}'", "account", 404, code="resource_missing")
        return self.accounts[id]

    def create_account_link(self, p: dict[str, Any]) -> dict[str, Any]:
        _require(p.get("account") in self.accounts, "No such account", "account")
        _require(p.get("type") == "account_onboarding", "Invalid type", "type")
        for name in ("refresh_url", "return_url"):
            _require(str(p.get(name, "")).startswith(("http://", "https://")), "Not a URL", name)
        now = int(time.time())
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + 300,
            "url": f"https://connect.stripe.com/setup/e/{p['account']}/{secrets.token_hex(6)}",
        }

    # -- checkout -------------------------------------------------------------------------

    def create_session(self, p: dict[str, Any]) -> dict[str, Any]:
        now = int(time.time())
        _require(p.get("mode") == "payment", "mode must be payment", "mode")
        items = p.get("line_items")
        _require(isinstance(items, list) and len(items) == 1, "One line item", "line_items")
        item = items[0]
        _require(item.get("quantity") == "1", "Quantity 1", "line_items[0][quantity]")
        price = item.get("price_data", {})
        currency = price.get("currency", "")
        _require(
            bool(re.fullmatch(r"[a-z]{3}", currency)),
            "Invalid currency",
            "line_items[0][price_data][currency]",
        )
        amount = _int(price.get("unit_amount"), "line_items[0][price_data][unit_amount]")
        _require(
            amount > 0, "unit_amount must be positive", "line_items[0][price_data][unit_amount]"
        )
        _require(
            bool(price.get("product_data", {}).get("name")),
            "Product name required",
            "line_items[0][price_data][product_data][name]",
        )
        intent_data = p.get("payment_intent_data", {})
        fee = _int(
            intent_data.get("application_fee_amount"), "payment_intent_data[application_fee_amount]"
        )
        _require(
            0 <= fee < amount,
            "application_fee_amount must be below the amount",
            "payment_intent_data[application_fee_amount]",
        )
        destination = intent_data.get("transfer_data", {}).get("destination")
        account = self.accounts.get(destination or "")
        _require(
            account is not None,
            "No such destination account",
            "payment_intent_data[transfer_data][destination]",
        )
        assert account is not None
        _require(
            account["charges_enabled"],
            "The destination account cannot take charges",
            "payment_intent_data[transfer_data][destination]",
        )
        expires_at = _int(p.get("expires_at"), "expires_at")
        _require(
            now + 30 * 60 <= expires_at <= now + 24 * 3600,
            "expires_at must be 30 minutes to 24 hours ahead",
            "expires_at",
        )
        reference = p.get("client_reference_id")
        _require(bool(reference), "client_reference_id is required here", "client_reference_id")
        _require(
            p.get("metadata", {}).get("order_id") == reference,
            "metadata[order_id] must equal client_reference_id",
            "metadata",
        )
        _require(
            intent_data.get("metadata", {}).get("order_id") == reference,
            "payment_intent_data[metadata][order_id] must be set",
            "payment_intent_data",
        )
        for name in ("success_url", "cancel_url"):
            _require(str(p.get(name, "")).startswith(("http://", "https://")), "Not a URL", name)
        shipping = p.get("shipping_address_collection")
        if shipping is not None:
            countries = shipping.get("allowed_countries") if isinstance(shipping, dict) else None
            _require(
                isinstance(countries, list)
                and bool(countries)
                and all(isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in countries),
                "allowed_countries must be a list of two-letter country codes",
                "shipping_address_collection[allowed_countries]",
            )
            shipping = {"allowed_countries": countries}
        session_id = "cs_test_" + secrets.token_hex(12)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "cancel_url": p["cancel_url"],
            "client_reference_id": reference,
            "collected_information": None,
            "created": now,
            "currency": currency,
            "customer_details": None,
            "customer_email": p.get("customer_email"),
            "expires_at": expires_at,
            "livemode": False,
            "metadata": p.get("metadata", {}),
            "mode": "payment",
            "payment_intent": None,
            "payment_status": "unpaid",
            "shipping_address_collection": shipping,
            "status": "open",
            "success_url": p["success_url"],
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            "_fee": fee,
            "_destination": destination,
        }
        self.sessions[session_id] = session
        return self._public(session)

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def get_session(self, p: dict[str, Any], id: str) -> dict[str, Any]:
        if id not in self.sessions:
            raise StripeError(f"No such checkout.session: '{id}'", "session", 404)
        return self._public(self.sessions[id])

    def expire_session_api(self, p: dict[str, Any], id: str) -> dict[str, Any]:
        session = self.sessions.get(id)
        if session is None:
            raise StripeError(f"No such checkout.session: '{id}'", "session", 404)
        if session["status"] != "open":
            raise StripeError(f"This Checkout Session is {session['status']}.", "session")
        session["status"] = "expired"
        return self._public(session)

    def get_intent(self, p: dict[str, Any], id: str) -> dict[str, Any]:
        if id not in self.intents:
            raise StripeError(f"No such payment_intent: '{id}'", "intent", 404)
        intent = dict(self.intents[id])
        if "latest_charge" in (p.get("expand") or []) and intent["latest_charge"]:
            intent["latest_charge"] = self.charges[intent["latest_charge"]]
        return intent

    def create_refund(self, p: dict[str, Any]) -> dict[str, Any]:
        intent = self.intents.get(p.get("payment_intent") or "")
        _require(intent is not None, "No such payment_intent", "payment_intent")
        assert intent is not None
        _require(
            p.get("reverse_transfer") == "true",
            "A destination charge refund must reverse the transfer",
            "reverse_transfer",
        )
        _require(
            p.get("refund_application_fee") == "true",
            "The platform fee must be refunded too",
            "refund_application_fee",
        )
        charge = self.charges[intent["latest_charge"]]
        if charge["refunded"]:
            raise StripeError(
                "Charge has already been refunded.", None, code="charge_already_refunded"
            )
        charge["refunded"] = True
        charge["amount_refunded"] = charge["amount"]
        refund = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": charge["amount"],
            "charge": charge["id"],
            "currency": charge["currency"],
            "payment_intent": intent["id"],
            "status": "succeeded",
            "metadata": p.get("metadata", {}),
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return refund

    # -- what Stripe does on its own (test helpers) ---------------------------------------

    def enable_account(self, account_id: str) -> dict[str, Any]:
        with self.lock:
            account = self.accounts[account_id]
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True)
            return dict(account)

    def complete_session(
        self,
        session_id: str,
        *,
        payment_status: str = "paid",
        even_if_expired: bool = False,
        shipping: dict[str, Any] | None = None,
        phone: str | None = None,
    ) -> dict[str, Any]:
        """The buyer paid (or, with `payment_status="unpaid"`, started a bank debit).
        `shipping` is what they entered where the session asked for an address, in
        Stripe's shape: {"name": …, "address": {"line1", "line2", "city", "state",
        "postal_code", "country"}}; `phone` what they gave as their number."""
        with self.lock:
            session = self.sessions[session_id]
            assert session["status"] == "open" or even_if_expired, session["status"]
            if shipping is not None:
                asked = session["shipping_address_collection"]
                assert asked, "this session did not ask for a shipping address"
                assert shipping["address"]["country"] in asked["allowed_countries"]
                address = {
                    key: shipping["address"].get(key)
                    for key in ("city", "country", "line1", "line2", "postal_code", "state")
                }
                session["collected_information"] = {
                    "business_name": None,
                    "individual_name": None,
                    "shipping_details": {"name": shipping["name"], "address": address},
                }
            session["customer_details"] = {
                "email": session["customer_email"],
                "name": shipping["name"] if shipping else None,
                "phone": phone,
                "address": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
            charge_id = "ch_" + secrets.token_hex(12)
            intent_id = "pi_" + secrets.token_hex(12)
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": session["amount_total"],
                "amount_refunded": 0,
                "currency": session["currency"],
                "disputed": False,
                "paid": payment_status == "paid",
                "payment_intent": intent_id,
                "refunded": False,
                "transfer_data": {"destination": session["_destination"]},
                "application_fee_amount": session["_fee"],
            }
            self.intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": session["amount_total"],
                "currency": session["currency"],
                "latest_charge": charge_id,
                "status": "succeeded" if payment_status == "paid" else "processing",
                "application_fee_amount": session["_fee"],
                "transfer_data": {"destination": session["_destination"]},
                "metadata": dict(session["metadata"]),
            }
            session.update(
                status="complete", payment_status=payment_status, payment_intent=intent_id
            )
            return self._public(session)

    def fail_async_payment(self, session_id: str) -> None:
        with self.lock:
            intent = self.intents[self.sessions[session_id]["payment_intent"]]
            intent["status"] = "requires_payment_method"

    def expire_session(self, session_id: str) -> dict[str, Any]:
        with self.lock:
            self.sessions[session_id]["status"] = "expired"
            return self._public(self.sessions[session_id])

    def refund_at_dashboard(self, intent_id: str) -> dict[str, Any]:
        with self.lock:
            charge = self.charges[self.intents[intent_id]["latest_charge"]]
            charge.update(refunded=True, amount_refunded=charge["amount"])
            return dict(charge)

    def refunds_for(self, intent_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.refunds.values() if r["payment_intent"] == intent_id]

    @staticmethod
    def event(type_: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
        """An event body as Stripe sends it (compact JSON, as Stripe's are not)."""
        body = {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type_,
        }
        return json.dumps(body, indent=2).encode()
