"""The pin catalogue: pins at variant level, the theme hierarchy, numbered series,
photos, the revision history of every pin, and members' submissions.

A pin's title in each reader's language beyond English is a `PinTitle` row
(`Pin.title_en` is the catalogue's own); which one a reader is shown is
`marketplace.catalogue.titles.display_title`.

`Pin.search_title` and `Pin.search_body` hold every spelling a pin can be found
under (see services.transliteration); the full-text indexes are built on them by
the migrations (PostgreSQL tsvector + trigram, SQLite FTS5).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import Base, utcnow

PIN_TYPES = ("award", "official", "souvenir", "jubilee", "corporate", "sport", "membership")
MATERIALS = (
    "aluminium", "tombac", "brass", "cupronickel", "silver", "gold", "bronze", "steel", "plastic",
)  # fmt: skip
FINISHES = ("gilding", "silvering")
TECHNIQUES = ("stamped", "hot_enamel", "cold_enamel", "paint", "overlay")
ATTACHMENTS = ("pin", "screw_post", "hanging_block")
REPUBLICS = (
    "USSR", "RSFSR", "Ukrainian SSR", "Byelorussian SSR", "Uzbek SSR", "Kazakh SSR",
    "Georgian SSR", "Azerbaijan SSR", "Lithuanian SSR", "Moldavian SSR", "Latvian SSR",
    "Kirghiz SSR", "Tajik SSR", "Armenian SSR", "Turkmen SSR", "Estonian SSR", "Mongolia",
)  # fmt: skip
FIRST_YEAR, LAST_YEAR = 1850, 2000
# The readers' languages a pin's title is kept in beside its English title: a
# language more is a code here (and a catalogue of messages), never a column.
TITLE_LANGUAGES = ("ru", "uk", "et")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IS NULL OR {column} IN ({quoted})"


class PinTheme(Base):
    __tablename__ = "pin_themes"

    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"), primary_key=True)
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True, index=True
    )


pin_themes = PinTheme.__table__


class Theme(Base):
    """A node of the theme tree; `path` is the full slash-separated name
    ("Sport/Olympics-80") so that a theme and all beneath it is one prefix match."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_ru: Mapped[str | None] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id"), index=True)

    @property
    def slug(self) -> str:
        return self.path.lower().replace(" ", "-").replace("/", "--")


class Series(Base):
    """A numbered set (a GUM-counter series): members carry `series_number`."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    set_size: Mapped[int | None]

    pins: Mapped[list[Pin]] = relationship(back_populates="series", order_by="Pin.series_number")


class Pin(Base):
    __tablename__ = "pins"
    __table_args__ = (
        CheckConstraint(_in("pin_type", PIN_TYPES), name="pin_type"),
        CheckConstraint(_in("material", MATERIALS), name="material"),
        CheckConstraint(_in("finish", FINISHES), name="finish"),
        CheckConstraint(_in("technique", TECHNIQUES), name="technique"),
        CheckConstraint(_in("attachment", ATTACHMENTS), name="attachment"),
        CheckConstraint(
            f"year_from IS NULL OR (year_from >= {FIRST_YEAR} AND year_from <= {LAST_YEAR})",
            name="year_from_range",
        ),
        CheckConstraint(
            "year_to IS NULL OR year_from IS NULL OR year_to >= year_from", name="year_order"
        ),
        CheckConstraint("series_number IS NULL OR series_number > 0", name="series_number"),
        Index("ix_pins_republic_city", "republic", "city"),
        Index("ix_pins_series_id_series_number", "series_id", "series_number"),
        Index("ix_pins_year_from_year_to", "year_from", "year_to"),
        # The order search candidates are taken in: real pins first, oldest first.
        Index("ix_pins_is_synthetic_year_from_ref", "is_synthetic", "year_from", "ref"),
        # The catalogue's own order, the front page's: real pins first, by number.
        Index("ix_pins_is_synthetic_ref", "is_synthetic", "ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    variant_group: Mapped[str] = mapped_column(String(40), index=True)
    printed_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    title_en: Mapped[str] = mapped_column(String(200))
    legend: Mapped[str | None] = mapped_column(Text)
    legend_lang: Mapped[str | None] = mapped_column(String(8))
    transliteration: Mapped[str | None] = mapped_column(Text)
    translation_en: Mapped[str | None] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(String(300))
    occasion: Mapped[str | None] = mapped_column(String(300))
    pin_type: Mapped[str | None] = mapped_column(String(20), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id", ondelete="SET NULL"))
    series_number: Mapped[int | None]
    year_from: Mapped[int | None]
    year_to: Mapped[int | None]
    city: Mapped[str | None] = mapped_column(String(100))
    republic: Mapped[str | None] = mapped_column(String(40))
    maker: Mapped[str | None] = mapped_column(String(200), index=True)
    maker_mark: Mapped[str | None] = mapped_column(String(200))
    material: Mapped[str | None] = mapped_column(String(20), index=True)
    finish: Mapped[str | None] = mapped_column(String(20))
    hallmark: Mapped[str | None] = mapped_column(String(100))
    technique: Mapped[str | None] = mapped_column(String(20))
    attachment: Mapped[str | None] = mapped_column(String(20))
    height_mm: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    width_mm: Mapped[Decimal | None] = mapped_column(Numeric(6, 1))
    thickness_mm: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    weight_g: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    reverse_markings: Mapped[str | None] = mapped_column(Text)
    awarded_with_document: Mapped[bool | None]
    authenticity_notes: Mapped[str | None] = mapped_column(Text)
    known_copies: Mapped[bool | None]
    notes_en: Mapped[str | None] = mapped_column(Text)
    is_synthetic: Mapped[bool] = mapped_column(default=False)
    search_title: Mapped[str] = mapped_column(Text, default="")
    search_body: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    themes: Mapped[list[Theme]] = relationship(secondary=pin_themes, order_by=Theme.path)
    series: Mapped[Series | None] = relationship(back_populates="pins")
    photos: Mapped[list[PinPhoto]] = relationship(
        back_populates="pin", cascade="all, delete-orphan", order_by="PinPhoto.id"
    )
    # Loaded with the pins (one query per batch): every page naming pins names
    # them in its reader's language, and a list page would otherwise ask per pin.
    titles: Mapped[list[PinTitle]] = relationship(
        cascade="all, delete-orphan", order_by="PinTitle.language", lazy="selectin"
    )

    def title_in(self, language: str) -> str | None:
        """The pin's title in `language` ("en", "ru"…), if the catalogue has it."""
        if language == "en":
            return self.title_en
        return next((t.title for t in self.titles if t.language == language), None)

    @property
    def years(self) -> str:
        if self.year_from is None:
            return ""
        if self.year_to in (None, self.year_from):
            return str(self.year_from)
        return f"{self.year_from}–{self.year_to}"

    def photo(self, side: str) -> PinPhoto | None:
        return next((p for p in self.photos if p.side == side), None)


class PinTitle(Base):
    """A pin's title in one reader's language other than English, as the catalogue
    gives it (the legend is what the pin says; this is what collectors call it).

    A row per language rather than a column each: a language more is data, not a
    migration, and a pin without a title in some language simply has no row (the
    reader is then shown the legend's transliteration)."""

    __tablename__ = "pin_titles"
    __table_args__ = (CheckConstraint("language <> 'en'", name="not_english"),)

    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))


class PinPhoto(Base):
    """A re-encoded image under a random name, with a thumbnail and a perceptual
    hash for spotting duplicates. Belongs to a pin or, until approved, a submission."""

    __tablename__ = "pin_photos"
    __table_args__ = (
        CheckConstraint("side IN ('obverse', 'reverse', 'other')", name="side"),
        CheckConstraint("pin_id IS NOT NULL OR submission_id IS NOT NULL", name="owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pin_id: Mapped[int | None] = mapped_column(
        ForeignKey("pins.id", ondelete="CASCADE"), index=True
    )
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    side: Mapped[str] = mapped_column(String(10))
    filename: Mapped[str] = mapped_column(String(80), unique=True)
    thumbnail: Mapped[str] = mapped_column(String(80), unique=True)
    width: Mapped[int]
    height: Mapped[int]
    phash: Mapped[str] = mapped_column(String(32), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    pin: Mapped[Pin | None] = relationship(back_populates="photos")


class PinRevision(Base):
    """The state of a pin after each change: who, when, what changed, and a full
    snapshot from which any earlier state can be restored."""

    __tablename__ = "pin_revisions"
    __table_args__ = (UniqueConstraint("pin_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"))
    number: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)

    user = relationship("User")


class Submission(Base):
    """A member's proposed new pin or correction, waiting for a moderator."""

    __tablename__ = "submissions"
    __table_args__ = (
        CheckConstraint("kind IN ('new', 'correction')", name="kind"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status"),
        Index("ix_submissions_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    pin_id: Mapped[int | None] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    pin: Mapped[Pin | None] = relationship()
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    photos: Mapped[list[PinPhoto]] = relationship(order_by="PinPhoto.id")


class SearchTerm(Base):
    """Every distinct indexed spelling: the vocabulary that typo-tolerant search
    corrects a query word against (pg_trgm on PostgreSQL, an FTS5 trigram table on
    SQLite)."""

    __tablename__ = "search_terms"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
