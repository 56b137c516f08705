"""Webhook bodies: Stripe's signature scheme checked on the raw bytes, and the
fields we keep from a verified event body. Nothing here parses a body before its
signature is known to be good; the providers call these in that order."""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from marketplace.payments.provider import SignatureError, WebhookEvent

WEBHOOK_TOLERANCE_S = 300


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


def refuse_future_timestamp(header: str | None, *, now: float | None = None) -> None:
    """Stripe's SDK checks only how old a signature is; a timestamp far in the
    future (a replay kept for later, a skewed signer) is refused here too."""
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if (
            key == "t"
            and value.isdigit()
            and int(value) - (now or time.time()) > WEBHOOK_TOLERANCE_S
        ):
            raise SignatureError("the timestamp is in the future")
