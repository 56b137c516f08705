"""Login throttling that a guesser cannot turn against the owner.

Only wrong passwords count (a view calls `count_failure`), in three buckets:

* per account and client address (LOGIN_LIMIT_ACCOUNT): someone guessing one
  account from one address is stopped, while the owner elsewhere is not;
* per client address (LOGIN_LIMIT_IP): one address guessing across accounts;
* per known device (LOGIN_LIMIT_ACCOUNT): a browser that logged in to the account
  before carries a signed cookie naming it (`remember_device`), and is counted
  on its own instead of in the two buckets above — so the owner's own browser
  gets in even from an address where someone is guessing, and a stolen cookie
  buys no more guesses than an address has.

Counts live in the rate limiter's storage (Redis in production). A request is
refused with 429 once a bucket it falls in is full; a correct password that
arrives after that is refused too, or the throttle would be an oracle.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from marketplace.accounts.operations import normalise_email
from marketplace.core.errors import DomainError
from marketplace.core.extensions import limiter

if TYPE_CHECKING:
    from marketplace.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

DEVICE_COOKIE = "znachki_device"
DEVICE_TTL = timedelta(days=365)
DEVICE_ACCOUNTS = 5  # accounts one browser is remembered for (a family computer)
_SALT = "znachki.known-device"


def _settings() -> Settings:
    value: Settings = current_app.config["SETTINGS"]
    return value


def _attempted_email() -> str:
    """The address being tried, however it is spelled."""
    email = request.form.get("email")
    if email is None:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    return _canonical(str(email or ""))


def _canonical(email: str) -> str:
    try:
        return normalise_email(email)
    except DomainError:
        return email.strip().lower()


def _account_tag(email: str) -> str:
    """Names an account in keys and cookies without writing the address down."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:32]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _device() -> tuple[str, list[str]] | None:
    """The browser's device id and the accounts it logged in to, if its cookie is
    ours and not too old."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=int(DEVICE_TTL.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    device, accounts = data.get("d"), data.get("a")
    if not isinstance(device, str) or not isinstance(accounts, list):
        return None
    return device, [a for a in accounts if isinstance(a, str)]


def _known_device() -> str | None:
    """The device id if this browser logged in to the attempted account before
    (worked out once per request: every bucket asks)."""
    if "login_device" not in g:
        device = _device()
        email = _attempted_email()
        g.login_device = (
            device[0] if device is not None and email and _account_tag(email) in device[1] else None
        )
    device_id: str | None = g.login_device
    return device_id


def _account_address_key() -> str:
    return f"login:{_account_tag(_attempted_email())}:{get_remote_address()}"


def _device_key() -> str:
    return f"login-device:{_known_device() or '-'}"


def _failed(response: Response) -> bool:
    return bool(g.get("login_failed"))


def count_failure() -> None:
    """Count this request's attempt: the password was wrong, or the account unknown."""
    g.login_failed = True


def login_limits(view: F) -> F:
    """Apply the three buckets to a view that checks passwords (HTTP 429 beyond
    them); only requests that `count_failure` are counted."""
    common: dict[str, Any] = {"methods": ["POST"], "deduct_when": _failed}
    per_account_address = limiter.limit(
        lambda: _settings().login_limit_account,
        key_func=_account_address_key,
        exempt_when=lambda: _known_device() is not None,
        scope="login-account-address",
        **common,
    )
    per_address = limiter.limit(
        lambda: _settings().login_limit_ip,
        key_func=get_remote_address,
        exempt_when=lambda: _known_device() is not None,
        scope="login-address",
        **common,
    )
    per_device = limiter.limit(
        lambda: _settings().login_limit_account,
        key_func=_device_key,
        exempt_when=lambda: _known_device() is None,
        scope="login-device",
        **common,
    )
    return cast(F, per_address(per_account_address(per_device(view))))


def remember_device(response: Response, email: str) -> None:
    """After a successful login: mark this browser as known to the account (a
    signed cookie, kept a year), adding to the accounts it already knew."""
    device = _device()
    device_id, accounts = device if device else (secrets.token_urlsafe(16), [])
    tag = _account_tag(_canonical(email))
    accounts = [tag, *(a for a in accounts if a != tag)][:DEVICE_ACCOUNTS]
    response.set_cookie(
        DEVICE_COOKIE,
        _serializer().dumps({"d": device_id, "a": accounts}),
        max_age=int(DEVICE_TTL.total_seconds()),
        httponly=True,
        secure=not _settings().is_development,
        samesite="Lax",
    )
