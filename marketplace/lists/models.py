"""Collectors' trade lists: Haves (copies they own, with condition, quantity and an
optional asking price) and Wants (a pin, or any variant of a catalogue number),
their photos, list imports in progress, remembered CSV column mappings, and the
opt-in public collection page.

Condition is an ordered scale stored as a small integer (higher is better) so that
"at least Very fine" is one comparison; defects are independent flags in a bitmask.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from marketplace.core.models import Base, utcnow


class Condition(enum.IntEnum):
    """The documented grading scale, best first: Mint > Excellent > Very fine >
    Fine > Good > Poor. The integer is what the database stores and compares."""

    MINT = 6
    EXCELLENT = 5
    VERY_FINE = 4
    FINE = 3
    GOOD = 2
    POOR = 1

    @property
    def slug(self) -> str:
        return self.name.lower()

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()


CONDITION_HELP = {
    Condition.MINT: "As issued: no wear, full gilding and enamel, original pin or nut.",
    Condition.EXCELLENT: "Barely handled: tiny marks only under a loupe.",
    Condition.VERY_FINE: "Light wear on high points; enamel complete.",
    Condition.FINE: "Visible wear or rubbing of gilding; still displays well.",
    Condition.GOOD: "Heavy wear, small enamel losses.",
    Condition.POOR: "Damaged: large losses, corrosion; a space-filler.",
}


class Defect(enum.IntFlag):
    """Faults recorded beside the grade (a Mint pin can still have lost its nut)."""

    ENAMEL_CHIPS = 1
    MISSING_PIN = 2
    MISSING_NUT = 4
    BENT = 8
    REPAIRED = 16
    WORN_GILDING = 32
    CORROSION = 64

    @property
    def slug(self) -> str:
        return (self.name or "").lower()

    @property
    def label(self) -> str:
        return (self.name or "").replace("_", " ").capitalize()


DEFECTS: tuple[Defect, ...] = tuple(Defect)
ALL_DEFECTS = sum(int(d) for d in DEFECTS)
CONDITION_CHECK = f"BETWEEN {min(Condition)} AND {max(Condition)}"


class ConditionType(TypeDecorator[Condition]):
    """`Condition` in Python, its integer in the database."""

    impl = SmallInteger()
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(Condition(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Condition | None:
        return None if value is None else Condition(value)


class Have(Base):
    """Copies of one pin a collector owns in one condition; a price makes it a listing."""

    __tablename__ = "haves"
    __table_args__ = (
        UniqueConstraint("user_id", "pin_id", "condition", "defects"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("reserved >= 0 AND reserved <= quantity", name="reserved"),
        CheckConstraint(f"condition {CONDITION_CHECK}", name="condition"),
        CheckConstraint(f"defects >= 0 AND defects <= {ALL_DEFECTS}", name="defects"),
        CheckConstraint(
            "(price IS NULL AND currency IS NULL) OR "
            "(price IS NOT NULL AND currency IS NOT NULL AND price >= 0)",
            name="price",
        ),
        # Holders of a pin who offer it, and in what condition, from the index
        # alone (PostgreSQL): the first read of a refresh after a Want changes.
        Index(
            "ix_haves_pin_id_user_id",
            "pin_id",
            "user_id",
            postgresql_include=["condition", "tradeable", "price"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(default=1)
    reserved: Mapped[int] = mapped_column(default=0, server_default="0")  # held by open orders
    condition: Mapped[Condition] = mapped_column(ConditionType())
    defects: Mapped[int] = mapped_column(default=0)
    tradeable: Mapped[bool] = mapped_column(default=True)
    price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    pin = relationship("Pin")
    photos: Mapped[list[HavePhoto]] = relationship(
        back_populates="have", cascade="all, delete-orphan", order_by="HavePhoto.id"
    )

    @property
    def defect_list(self) -> list[Defect]:
        return [d for d in DEFECTS if self.defects & d]


class HavePhoto(Base):
    """A collector's own photo of their copy (stored by services.photos)."""

    __tablename__ = "have_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    have_id: Mapped[int] = mapped_column(ForeignKey("haves.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(80), unique=True)
    thumbnail: Mapped[str] = mapped_column(String(80), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    phash: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    have: Mapped[Have] = relationship(back_populates="photos")


class Want(Base):
    """A pin the collector is looking for: one exact pin, or any variant sharing a
    catalogue number (`variant_group`)."""

    __tablename__ = "wants"
    __table_args__ = (
        UniqueConstraint("user_id", "pin_id"),
        UniqueConstraint("user_id", "variant_group"),
        CheckConstraint("(pin_id IS NULL) <> (variant_group IS NULL)", name="target"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority"),
        CheckConstraint(
            f"min_condition IS NULL OR min_condition {CONDITION_CHECK}", name="min_condition"
        ),
        CheckConstraint(
            "(max_price IS NULL AND currency IS NULL) OR "
            "(max_price IS NOT NULL AND currency IS NOT NULL AND max_price >= 0)",
            name="max_price",
        ),
        Index("ix_wants_pin_id_user_id", "pin_id", "user_id"),
        Index("ix_wants_variant_group_user_id", "variant_group", "user_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    pin_id: Mapped[int | None] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"))
    variant_group: Mapped[str | None] = mapped_column(String(40))
    priority: Mapped[int] = mapped_column(SmallInteger, default=3)
    min_condition: Mapped[Condition | None] = mapped_column(ConditionType())
    max_price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    pin = relationship("Pin")


class ListImport(Base):
    """One CSV import: the decoded file, the chosen mapping and answers, and the
    outcome (counts, per-row report). Runs as a task for the pages."""

    __tablename__ = "list_imports"
    __table_args__ = (
        CheckConstraint("kind IN ('haves', 'wants')", name="kind"),
        CheckConstraint("mode IN ('all_or_nothing', 'good_rows')", name="mode"),
        CheckConstraint(
            "status IN ('uploaded', 'queued', 'running', 'done', 'refused', 'failed')",
            name="status",
        ),
        Index("ix_list_imports_user_id_id", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    mode: Mapped[str] = mapped_column(String(20), default="all_or_nothing")
    status: Mapped[str] = mapped_column(String(10), default="uploaded")
    filename: Mapped[str] = mapped_column(String(200), default="")
    encoding: Mapped[str] = mapped_column(String(20))
    delimiter: Mapped[str] = mapped_column(String(1))
    content: Mapped[str] = mapped_column(Text)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    choices: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    total_rows: Mapped[int] = mapped_column(default=0)
    created_rows: Mapped[int] = mapped_column(default=0)
    updated_rows: Mapped[int] = mapped_column(default=0)
    error_rows: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    report: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ImportMapping(Base):
    """The column mapping a collector last used, per list kind."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CollectionPage(Base):
    """A collector's opt-in public page: what it shows and its unguessable link."""

    __tablename__ = "collection_pages"
    __table_args__ = (CheckConstraint("shows IN ('none', 'haves', 'wants', 'both')", name="shows"),)

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    shows: Mapped[str] = mapped_column(String(5), default="none")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user = relationship("User")
