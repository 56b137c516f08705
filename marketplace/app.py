"""Assembles the Flask app: settings, extensions, every feature's blueprints and
services (in the registry), the unit-of-work boundary, security headers, and the
mail transport and password hasher that services are given.

This is the one module that knows every feature; nothing imports it but the
package's `create_app`, the worker and the command line.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from flask import Flask, Response, current_app
from flask_login import AnonymousUserMixin

from marketplace.accounts import api as accounts_api
from marketplace.accounts import web as accounts_web
from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.operations import Accounts, Links
from marketplace.catalogue import api as catalogue_api
from marketplace.catalogue import caching as catalogue_caching
from marketplace.catalogue import web as catalogue_web
from marketplace.catalogue.web import PinInterest, PriceGuide
from marketplace.config import Settings
from marketplace.core.api import BearerTokens, init_api
from marketplace.core.cache import init_cache
from marketplace.core.celery_app import after_commit, init_celery
from marketplace.core.extensions import csrf, db, limiter, login_manager, migrate
from marketplace.core.i18n import init_i18n
from marketplace.core.input_guard import init_input_guard
from marketplace.core.registry import find_service, register_service
from marketplace.core.security_headers import init_security_headers
from marketplace.core.web import init_web
from marketplace.feedback import api as feedback_api
from marketplace.feedback import models as feedback_models
from marketplace.feedback import web as feedback_web
from marketplace.feedback.operations import FeedbackService
from marketplace.home import web as home_web
from marketplace.lists import api as lists_api
from marketplace.lists import web as lists_web
from marketplace.lists.operations import pin_interest
from marketplace.lists.photos import HaveShownTo
from marketplace.mail import web as mail_web
from marketplace.mail.transport import DevTransport, SmtpTransport, Transport
from marketplace.matches import api as matches_api
from marketplace.matches import queries as match_queries
from marketplace.matches import web as matches_web
from marketplace.messages import api as messages_api
from marketplace.messages import models as messages_models
from marketplace.messages import web as messages_web
from marketplace.messages.operations import Messages, MessageSettings
from marketplace.notifications import api as notifications_api
from marketplace.notifications import web as notifications_web
from marketplace.notifications.operations import Links as NotifyLinks
from marketplace.notifications.operations import Notifier
from marketplace.orders import api as orders_api
from marketplace.orders import web as orders_web
from marketplace.orders.operations import Orders, price_guide
from marketplace.payments import make_payments
from marketplace.reports import api as reports_api
from marketplace.reports import blocks_api, blocks_web
from marketplace.reports import models as reports_models
from marketplace.reports import web as reports_web
from marketplace.reports.operations import Reports
from marketplace.trades import api as trades_api
from marketplace.trades import queries as trade_queries
from marketplace.trades import web as trades_web
from marketplace.trades.operations import Trades

ROOT = Path(__file__).resolve().parent.parent
# Every table belongs to the schema the app maps, whether or not a page uses it yet.
SCHEMA_ONLY = (feedback_models, messages_models, reports_models)


class Anonymous(AnonymousUserMixin):
    is_moderator = False
    display_name = ""


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """Build the app from `settings` (default: the environment). `overrides` set
    Flask config keys, for tests and tools."""
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
        LANGUAGES=settings.languages,
        TRADE_PROPOSAL_DAYS=settings.trade_proposal_days,
        RING_DEADLINE_DAYS=settings.ring_deadline_days,
        TRADE_REMINDER_DAYS=settings.trade_reminder_days,
        ESTABLISHED_AFTER_TRADES=settings.established_after_trades,
        NEW_MEMBER_OPEN_TRADES=settings.new_member_open_trades,
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

    init_input_guard(app)  # before any route is added: it bounds `<int:…>`
    db.init_app(app, settings.database_url)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    init_cache(app, settings.redis_url, ROOT)
    catalogue_caching.watch_catalogue()
    # The pin page shows who has and wants a pin and its sales (PinInterest,
    # PriceGuide below); deleting an account deletes its lists in cascade.
    catalogue_caching.watch_pin_activity(
        {"haves": "pin_id", "wants": "pin_id", "orders": "pin_id"}, deletes=("users",)
    )
    login_manager.init_app(app)
    login_manager.anonymous_user = Anonymous
    init_i18n(app, str(ROOT / "translations"))
    init_celery(app, settings)
    app.extensions["mail_transport"] = make_transport(settings)
    app.extensions["payments"] = make_payments(settings, app.instance_path)

    @login_manager.user_loader
    def load_user(secret: str) -> Any:
        return find_service(Accounts).load_login_session(secret)

    register_services(app)
    for bp in (
        home_web.bp,
        mail_web.bp,
        accounts_web.bp,
        catalogue_web.bp,
        lists_web.bp,
        matches_web.bp,
        notifications_web.bp,
        orders_web.bp,
        trades_web.bp,
        messages_web.bp,
        reports_web.bp,
        blocks_web.bp,
        feedback_web.bp,
    ):
        app.register_blueprint(bp)
    app.context_processor(messages_web.unread_in_header)
    app.context_processor(reports_web.moderator_helpers)
    init_web(app)
    init_security_headers(app, hsts=not settings.is_development)
    init_api(
        app,
        (
            accounts_api.blp,
            catalogue_api.blp,
            lists_api.blp,
            notifications_api.blp,
            matches_api.blp,
            orders_api.blp,
            trades_api.blp,
            messages_api.blp,
            reports_api.blp,
            blocks_api.blp,
            feedback_api.blp,
        ),
    )

    @app.after_request
    def finish_unit_of_work(response: Response) -> Response:
        # The request is the unit of work: a successful response commits it,
        # anything else rolls it back. Effects (outbox) are published after.
        if response.status_code < 400:
            db.session.commit()
            after_commit(app)
        else:
            db.session.rollback()
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


def register_services(app: Flask) -> None:
    """The services views, API resources and tasks ask the registry for."""

    def settings() -> Settings:
        value: Settings = current_app.config["SETTINGS"]
        return value

    def accounts_service() -> Accounts:
        return Accounts(
            db.session(), current_app.config["PASSWORD_HASHER"], Links(settings().base_url)
        )

    def notifier() -> Notifier:
        return Notifier(db.session(), NotifyLinks(settings().base_url, settings().secret_key))

    def trades_service() -> Trades:
        return Trades.configured(db.session(), notifier(), current_app.config, settings().base_url)

    def messages_service() -> Messages:
        return Messages(db.session(), notifier(), MessageSettings(settings().base_url))

    def feedback_service() -> FeedbackService:
        return FeedbackService(
            db.session(), notifier(), edit_days=settings().feedback_edit_days,
            base_url=settings().base_url,
        )  # fmt: skip

    def orders_service() -> Orders:
        return Orders.configured(db.session(), current_app.extensions["payments"], settings())

    def have_shown_to(viewer_id: int, have_id: int) -> bool:
        session = db.session()
        return match_queries.shows_have(session, viewer_id, have_id) or trade_queries.shows_have(
            session, viewer_id, have_id
        )

    register_service(app, Accounts, accounts_service)
    register_service(app, BearerTokens, accounts_service)  # type: ignore[type-abstract]
    register_service(app, AddressBook, lambda: AddressBook(db.session()))
    register_service(app, Notifier, notifier)
    register_service(app, Orders, orders_service)
    register_service(app, Trades, trades_service)
    register_service(app, Messages, messages_service)
    register_service(app, FeedbackService, feedback_service)
    register_service(app, PriceGuide, lambda: lambda pin_id: price_guide(db.session(), pin_id))  # type: ignore[type-abstract]
    register_service(app, PinInterest, lambda: lambda pin: pin_interest(db.session(), pin))  # type: ignore[type-abstract]
    register_service(app, HaveShownTo, lambda: have_shown_to)  # type: ignore[type-abstract]
    register_service(app, Reports, lambda: Reports(db.session(), settings().base_url))
