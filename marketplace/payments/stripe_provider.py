"""The real provider, through the official `stripe` SDK: the only module that
imports it. `STRIPE_API_BASE` (the `api_base` argument) moves its API base URL so
the tests can point it at a local Stripe-compatible server."""

from __future__ import annotations

import json
from typing import Any

from marketplace.payments.provider import (
    CheckoutRequest,
    CheckoutSession,
    ConnectedAccount,
    PaymentError,
    PaymentIntentInfo,
    PaymentUnavailable,
    RefundInfo,
    SignatureError,
    WebhookEvent,
)
from marketplace.payments.webhooks import (
    WEBHOOK_TOLERANCE_S,
    event_from_payload,
    refuse_future_timestamp,
)

# Where Checkout lets a buyer send a parcel: the countries of the former USSR, where
# most of these pins are, the EU and the rest of Europe that posts reliably to
# them, and the countries with many collectors of Soviet memorabilia.
SHIPPING_COUNTRIES = (
    # former USSR
    "AM", "AZ", "BY", "EE", "GE", "KG", "KZ", "LT", "LV", "MD", "RU", "TJ", "TM", "UA", "UZ",
    # European Union
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LU", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    # rest of Europe
    "AL", "BA", "CH", "GB", "IS", "LI", "ME", "MK", "NO", "RS", "TR",
    # further afield
    "AU", "CA", "IL", "JP", "MN", "NZ", "US",
)  # fmt: skip


class StripeProvider:
    """The real thing, through the official SDK."""

    is_test = False
    label = "Stripe"
    collects_shipping = True

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
            shipping=StripeProvider._shipping(data),
        )

    @staticmethod
    def _shipping(data: dict[str, Any]) -> dict[str, str] | None:
        """The shipping address Checkout collected, in our snapshot's fields. API
        versions since 2025-03-31 keep it under `collected_information`; older
        ones at the top level as `shipping_details`. The phone number, when
        Checkout asked for one, is the customer's."""
        collected = data.get("collected_information") or {}
        details = collected.get("shipping_details") or data.get("shipping_details")
        if not details:
            return None
        address = details.get("address") or {}
        customer = data.get("customer_details") or {}
        return {
            "name": details.get("name") or "",
            "line1": address.get("line1") or "",
            "line2": address.get("line2") or "",
            "city": address.get("city") or "",
            "region": address.get("state") or "",
            "postal_code": address.get("postal_code") or "",
            "country": address.get("country") or "",
            "phone": customer.get("phone") or "",
        }

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
        if request.collect_shipping:
            # Checkout cannot be given an address to start from: it always asks.
            params["shipping_address_collection"] = {"allowed_countries": list(SHIPPING_COUNTRIES)}
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
        refuse_future_timestamp(signature)
        # Parsed only now that the bytes are known to be Stripe's.
        try:
            data = json.loads(payload)
        except ValueError as exc:
            raise SignatureError("the body is not JSON") from exc
        return event_from_payload(data)
