"""The declarative base every feature's models derive from, and the column types
and helpers they share (UTC timestamps, JSON encoding, constraint names)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, MetaData
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def json_dumps(value: Any) -> str:
    """How JSON columns are written (the engine's serialiser). orjson also writes
    dates, times and non-string keys, which outbox payloads and revision documents
    carry."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on every database
    (SQLite keeps no zone, so values are normalised on the way in and out)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Search indexes the migrations create by hand (FTS5 tables, expression indexes);
# autogenerate must not mistake them for drift.
HAND_MADE = (
    "pins_fts",
    "search_terms_fts",
    "search_tsv",
    "ix_pins_search_tsv",
    "ix_search_terms_trgm",
)


def include_in_autogenerate(name: str | None, type_: str, parent_names: Any) -> bool:
    return not (name or "").startswith(HAND_MADE)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy reads it once
