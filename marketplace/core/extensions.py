"""Extension objects shared by the app: the database session, login manager, CSRF,
rate limiter, migrations and the Celery binding.

They are created empty here and bound in `create_app`; nothing connects on import.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import orjson
from celery import Celery, Task
from celery.exceptions import Retry
from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker
from sqlalchemy.pool import NullPool

from marketplace.core.models import Base, json_dumps

if TYPE_CHECKING:
    from marketplace.config import Settings

F = TypeVar("F", bound=Callable[..., Any])


class AppSession(Session):
    """A session bound to the current app's engine, unless bound explicitly
    (tests bind it to a connection with an outer transaction)."""

    def get_bind(self, mapper: Any = None, clause: Any = None, **kwargs: Any) -> Any:
        if self.bind is not None:
            return self.bind
        return current_app.extensions["db_engine"]


class Database:
    """One engine per app and one session per app context (request or task).

    Only the boundaries commit: the request teardown in `create_app` and the task
    wrapper in `init_celery`. Services receive `db.session` and flush.
    """

    metadata = Base.metadata

    def __init__(self) -> None:
        self.session: scoped_session[Session] = scoped_session(
            sessionmaker(class_=AppSession, expire_on_commit=False)
        )

    @property
    def engine(self) -> Engine:
        engine: Engine = current_app.extensions["db_engine"]
        return engine

    def init_app(self, app: Flask, url: str) -> None:
        app.extensions["db_engine"] = make_engine(url)
        app.teardown_appcontext(self._remove)

    def _remove(self, exc: BaseException | None) -> None:
        self.session.remove()


# JSON columns are read and written with orjson (see `json_dumps`).
_JSON = {"json_serializer": json_dumps, "json_deserializer": orjson.loads}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=NullPool,
            **_JSON,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **_JSON)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and defers BEGIN;
    # SQLAlchemy's documented recipe hands transaction control back to us.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # IMMEDIATE takes the write lock up front: a deferred transaction that reads
    # and then writes fails at once ("database is locked") if another process
    # wrote in between, whereas IMMEDIATE simply waits its turn (busy_timeout).
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


db = Database()
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = None
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def _login_email_key() -> str:
    """Throttle key for one account: the address being tried, however it is spelled."""
    email = request.form.get("email") or (request.get_json(silent=True) or {}).get("email")
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


def init_celery(app: Flask, settings: Settings) -> Celery:
    """Bind a Celery app to the Flask app: every task body runs in an app context,
    commits on success and rolls back on failure."""

    class FlaskTask(Task):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                try:
                    result = self.run(*args, **kwargs)
                    db.session.commit()
                except Retry:
                    # A retry is a recorded outcome (attempts, last error), not a failure.
                    db.session.commit()
                    raise
                except BaseException:
                    db.session.rollback()
                    raise
                after_commit(app)
                return result

    celery = Celery(app.import_name, task_cls=FlaskTask)
    broker_options: dict[str, Any] = {}
    if settings.redis_url is None:
        folder = settings.broker_dir
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        broker_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # kombu's default is ./control: the exchange table would land in the checkout.
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    else:
        timeout = settings.broker_visibility_timeout
        broker_options = {
            "visibility_timeout": timeout,
            "socket_timeout": 5,
            # Sweep for tasks of dead workers about as often as they can expire
            # (kombu's default sweeps every ~100 s, fine only for hour-long timeouts).
            "unacked_restore_interval": max(1, min(10, timeout // 2)),
            "unacked_restore_throttle": 1 if timeout < 600 else 10,
        }
    celery.conf.update(
        broker_url=settings.broker_url,
        broker_transport_options=broker_options,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=300,
        task_soft_time_limit=240,
        task_default_queue="znachki",
        timezone="UTC",
        enable_utc=True,
        include=[
            "marketplace.core.tasks",
            "marketplace.mail.tasks",
            "marketplace.lists.tasks",
            "marketplace.matches.tasks",
            "marketplace.notifications.tasks",
            "marketplace.orders.tasks",
        ],
        beat_schedule={
            "relay-outbox": {"task": "workers.tasks.relay_outbox", "schedule": 5.0},
            "sweep-stripe-events": {"task": "workers.tasks.sweep_stripe_events", "schedule": 120.0},
            "expire-reservations": {"task": "workers.tasks.expire_reservations", "schedule": 60.0},
            "global-solve": {"task": "workers.tasks.global_solve", "schedule": 24 * 3600.0},
            "plan-digests": {"task": "workers.tasks.plan_digests", "schedule": 900.0},
        },
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery


def after_commit(app: Flask) -> None:
    """Publish what the committed unit of work put in the outbox.

    Runs only after a successful commit; if the broker is unreachable the rows stay
    unpublished and the beat relay picks them up.
    """
    if not db.session.info.pop("outbox_dirty", False) or not app.config["OUTBOX_RELAY"]:
        return
    from marketplace.core import outbox

    outbox.relay_after_commit(db.session(), app.extensions["celery"])
