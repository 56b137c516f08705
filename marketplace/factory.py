"""Assembles the Flask app: settings, extensions, blueprints, the unit-of-work
boundary, security headers, and the mail transport and password hasher that
services are given."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from flask import Flask, Response, current_app, request
from flask_login import AnonymousUserMixin

from marketplace.config import Settings
from marketplace.extensions import (
    after_commit,
    csrf,
    db,
    init_celery,
    limiter,
    login_manager,
    migrate,
)
from marketplace.mailer import DevTransport, SmtpTransport, Transport
from marketplace.payments import make_payments
from marketplace.services.accounts import Accounts, Links
from marketplace.services.notifications import Links as NotifyLinks
from marketplace.services.notifications import Notifier

ROOT = Path(__file__).resolve().parent.parent


class Anonymous(AnonymousUserMixin):
    is_moderator = False
    display_name = ""


def build_app(settings: Settings | None, overrides: dict[str, Any]) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        "marketplace",
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "marketplace" / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.is_development,
        REMEMBER_COOKIE_SECURE=not settings.is_development,
        PERMANENT_SESSION_LIFETIME=timedelta(days=14),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        WTF_CSRF_TIME_LIMIT=None,
        OUTBOX_RELAY=True,
        MATCH_CYCLE_CAP=3,
        MAIL_RETRY_BASE_S=settings.mail_retry_base_s,
        DEV_MAIL_PAGE=settings.is_development,
        RATELIMIT_STORAGE_URI=settings.redis_url or "memory://",
        RATELIMIT_KEY_PREFIX="znachki",
        API_TITLE="Znachki Exchange API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {
                "description": "Trade lists, matches and orders for collectors of Soviet pins."
            },
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    if settings.env == "testing":
        # Cheap argon2id parameters keep the suite fast; the algorithm is the same.
        app.config["PASSWORD_HASHER"] = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    else:
        app.config["PASSWORD_HASHER"] = PasswordHasher()
    app.config.update(overrides)
    Path(app.instance_path).mkdir(exist_ok=True)
    logging.basicConfig(level=logging.INFO)

    db.init_app(app, settings.database_url)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    init_celery(app, settings)
    app.extensions["mail_transport"] = make_transport(settings)
    app.extensions["payments"] = make_payments(settings, app.instance_path)

    @login_manager.user_loader
    def load_user(secret: str) -> Any:
        return accounts_service().load_login_session(secret)

    from marketplace.api import init_api
    from marketplace.web import init_web

    init_web(app)
    init_api(app)

    @app.after_request
    def finish_unit_of_work(response: Response) -> Response:
        # The request is the unit of work: a successful response commits it,
        # anything else rolls it back. Effects (outbox) are published after.
        if response.status_code < 400:
            db.session.commit()
            after_commit(app)
        else:
            db.session.rollback()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    from marketplace import cli

    cli.register_app_commands(app)
    return app


def make_transport(settings: Settings) -> Transport:
    if settings.smtp_host:
        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout,
        )
    return DevTransport()


def accounts_service() -> Accounts:
    settings: Settings = current_app.config["SETTINGS"]
    return Accounts(db.session(), current_app.config["PASSWORD_HASHER"], Links(settings.base_url))


def notifier() -> Notifier:
    settings: Settings = current_app.config["SETTINGS"]
    return Notifier(db.session(), NotifyLinks(settings.base_url, settings.secret_key))


def catalogue_photo_dir() -> Path:
    """Catalogue and submission photos (served by the catalogue's media route)."""
    return Path(current_app.instance_path) / "photos"


def have_photo_dir() -> Path:
    """Collectors' photos of their own copies."""
    return catalogue_photo_dir() / "haves"


def remove_have_photo_files(names: list[str]) -> None:
    from marketplace.services.photos import remove_files

    remove_files(have_photo_dir(), *names)


def client_user_agent() -> str:
    return request.headers.get("User-Agent", "")[:200]
