"""The database: one engine per app, one session per app context (request or task),
and the engine settings each database needs (SQLite's transaction handling and
pragmas; JSON columns through orjson).

A request by GET, HEAD or OPTIONS only reads (`reads_only`), unless its view is
marked `writes_on_get` (a link in a mail that confirms something). On SQLite such
a request begins a plain deferred transaction, so pages are served from a
snapshot while a worker or another request holds the write lock; every other
unit of work takes the lock up front. A write in a request that should only read
is a defect: it fails under testing and is logged elsewhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from marketplace.core.models import Base, json_dumps

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
View = TypeVar("View", bound=Callable[..., Any])


def writes_on_get(view: View) -> View:
    """Mark a view that writes although it answers GET (a confirmation link
    opened from a mail): its unit of work takes the write lock like a POST's.
    Put it under the route decorator; `functools.wraps` carries the mark."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


def reads_only() -> bool:
    """Whether the current unit of work is a request that only reads: a safe
    method, to a view not marked `writes_on_get`, that has not asked for the
    write lock (`take_write_lock`)."""
    if not has_request_context() or request.method not in SAFE_METHODS:
        return False
    if g.get("takes_write_lock"):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, "writes_on_get", False)


def take_write_lock(session: Session) -> None:
    """From here on the request writes. A request that only read so far ends
    its read transaction (it wrote nothing) and its next one takes the write
    lock, as a POST's does. For a write that a GET makes only now and then
    (when a token was last used, a page made on first use): what it depends on
    is read again once the lock is held. A view that writes whenever it is
    opened is marked `writes_on_get` instead."""
    if reads_only():
        session.commit()
        g.takes_write_lock = True


class WriteInReadOnlyRequest(RuntimeError):
    """A request that should only read (`reads_only`) tried to write."""


# A statement that changes rows, alone or at the end of a WITH.
_WRITES = re.compile(
    r"^\s*(?:INSERT|UPDATE|DELETE|REPLACE)\b|\b(?:INSERT\s+INTO|DELETE\s+FROM)\b", re.I
)


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
        # Connections are pooled (SQLAlchemy's default for a file), so a unit of
        # work no longer opens the file and runs the pragmas: 22 → 39 mails/s on
        # benchmarks/mail_throughput.py (2,000, same busy machine, back to back).
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            **_JSON,
        )
        _configure_sqlite(engine)
        _guard_reads(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, **_JSON)
    _guard_reads(engine)
    return engine


def _guard_reads(engine: Engine) -> None:
    """Writes in a request that should only read fail under testing (so the
    suite finds every GET view that writes and is not marked) and are logged
    elsewhere; on SQLite such a write may find the snapshot stale and fail."""

    @event.listens_for(engine, "before_cursor_execute")
    def _check(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if not reads_only() or not _WRITES.search(statement):
            return
        where = f"{request.method} {request.path} ({request.endpoint})"
        if current_app.config["SETTINGS"].env == "testing":
            raise WriteInReadOnlyRequest(f"{where} writes; mark its view writes_on_get")
        log.warning("%s writes although it only reads: %s", where, statement[:80])


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
    # A request that only reads needs no lock: in WAL mode it reads a snapshot
    # and never waits for a writer.
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if reads_only() else "BEGIN IMMEDIATE")
