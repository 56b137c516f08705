"""The database: one engine per app, one session per app context (request or task),
and the engine settings each database needs (SQLite's transaction handling and
pragmas; JSON columns through orjson)."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Flask, current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from marketplace.core.models import Base, json_dumps


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
