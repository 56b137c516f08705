"""Extension objects shared by the app: the database session, login manager, CSRF,
rate limiter and migrations, and the login throttle.

They are created empty here and bound in `create_app`; nothing connects on import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

from marketplace.core.db import Database

if TYPE_CHECKING:
    from marketplace.config import Settings

F = TypeVar("F", bound=Callable[..., Any])


db = Database()
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = None
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def _login_email_key() -> str:
    """Throttle key for one account: the address being tried, however it is spelled."""
    body = request.get_json(silent=True)
    email = request.form.get("email") or (body.get("email") if isinstance(body, dict) else None)
    return "login:" + str(email or "").strip().lower()


def login_limits(view: F) -> F:
    """Per-account and per-IP limits on login attempts (HTTP 429 beyond them)."""

    def settings() -> Settings:
        value: Settings = current_app.config["SETTINGS"]
        return value

    per_account = limiter.limit(
        lambda: settings().login_limit_account,
        key_func=_login_email_key,
        methods=["POST"],
        scope="login-account",
    )
    per_ip = limiter.limit(lambda: settings().login_limit_ip, methods=["POST"], scope="login-ip")
    return cast(F, per_ip(per_account(view)))
