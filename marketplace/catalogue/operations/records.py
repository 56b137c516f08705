"""Catalogue records: reading pins, creating and editing them with a revision for
every change (and reverting to any of them), and each pin as a flat record. Every
write re-indexes the pin's search spellings."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.catalogue import transliteration as tr
from marketplace.catalogue.models import Pin, PinRevision, PinTitle, Series, Theme
from marketplace.catalogue.operations.pin_data import (
    BOOL_FIELDS,
    CHOICE_FIELDS,
    EXPORT_COLUMNS,
    NUMBER_FIELDS,
    TEXT_FIELDS,
    TITLE_FIELDS,
    clean_pin_data,
)
from marketplace.catalogue.operations.search_terms import index_pin
from marketplace.catalogue.operations.themes import ensure_themes
from marketplace.core.errors import Forbidden, InvalidInput, NotFound


class CatalogueRecords:
    """Catalogue records on one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- reading -------------------------------------------------------------------

    def get(self, pin_id: int) -> Pin:
        pin = self.session.scalar(
            select(Pin)
            .where(Pin.id == pin_id)
            .options(
                selectinload(Pin.themes),
                selectinload(Pin.photos),
                selectinload(Pin.series),
                selectinload(Pin.titles),
            )
        )
        if pin is None:
            raise NotFound(_("No pin with that number."))
        return pin

    def by_ref(self, ref: str) -> Pin | None:
        return self.session.scalar(select(Pin).where(func.lower(Pin.ref) == ref.strip().lower()))

    def variants(self, pin: Pin) -> list[Pin]:
        return list(
            self.session.scalars(
                select(Pin)
                .where(Pin.variant_group == pin.variant_group, Pin.id != pin.id)
                .order_by(Pin.ref)
                .options(selectinload(Pin.titles))
            )
        )

    def history(self, pin: Pin) -> list[PinRevision]:
        return list(
            self.session.scalars(
                select(PinRevision)
                .where(PinRevision.pin_id == pin.id)
                .order_by(PinRevision.number.desc())
            )
        )

    # -- writing -------------------------------------------------------------------

    def create(
        self, data: Mapping[str, Any], user: User | None, *, action: str = "create",
        comment: str | None = None,
    ) -> Pin:  # fmt: skip
        clean = clean_pin_data(data)
        if self.by_ref(clean["ref"]) is not None:
            raise InvalidInput({"ref": [_taken(clean["ref"])]})
        # A new pin has no titles yet: saying so spares a query for them.
        pin = Pin(ref=clean["ref"], variant_group=clean["variant_group"], title_en="", titles=[])
        self.session.add(pin)
        self._apply(pin, clean)
        self.session.flush()
        self._record(pin, action, user, {k: [None, v] for k, v in snapshot(pin).items()}, comment)
        return pin

    def update(
        self, pin: Pin, data: Mapping[str, Any], user: User | None, *,
        action: str = "edit", comment: str | None = None,
    ) -> Pin:  # fmt: skip
        clean = clean_pin_data(data, partial=True)
        renamed = "ref" in clean and clean["ref"].lower() != pin.ref.lower()
        if renamed and self.by_ref(clean["ref"]) is not None:
            raise InvalidInput({"ref": [_taken(clean["ref"])]})
        before = snapshot(pin)
        self._apply(pin, clean)
        self.session.flush()
        after = snapshot(pin)
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if changes:
            pin.version += 1
            self._record(pin, action, user, changes, comment)
        return pin

    def revert(self, pin: Pin, number: int, user: User) -> Pin:
        if not user.is_moderator:
            raise Forbidden(_("Only moderators can revert a pin."))
        revision = self.session.scalar(
            select(PinRevision).where(PinRevision.pin_id == pin.id, PinRevision.number == number)
        )
        if revision is None:
            raise NotFound(_("No such revision of this pin."))
        return self.update(
            pin, revision.snapshot, user, action="revert", comment=f"Reverted to revision {number}"
        )

    def _apply(self, pin: Pin, clean: Mapping[str, Any]) -> None:
        for field in (
            "ref", "variant_group", "printed_refs", "year_from", "year_to", "series_number",
            *TEXT_FIELDS, *CHOICE_FIELDS, *NUMBER_FIELDS, *BOOL_FIELDS,
        ):  # fmt: skip
            if field in clean:
                setattr(pin, field, clean[field])
        for field in TITLE_FIELDS:
            if field in clean:
                _set_title(pin, field.removeprefix("title_"), clean[field])
        if "themes" in clean:
            pin.themes = self._themes(clean["themes"])
        if "series_name" in clean:
            pin.series = self._series(clean["series_name"], clean.get("series_size"))
        elif clean.get("series_size") and pin.series is not None:
            pin.series.set_size = clean["series_size"]
        if pin.legend:
            pin.transliteration = (
                tr.transliterate(pin.legend, pin.legend_lang or "ru")
                if tr.has_cyrillic(pin.legend)
                else None
            )
        index_pin(self.session, pin)

    def _themes(self, paths: Iterable[str]) -> list[Theme]:
        ensure_themes(self.session)
        wanted = list(dict.fromkeys(paths))
        found = {
            t.path: t for t in self.session.scalars(select(Theme).where(Theme.path.in_(wanted)))
        }
        return [found[p] for p in wanted if p in found]

    def _series(self, name: str | None, size: int | None) -> Series | None:
        if not name:
            return None
        series = self.session.scalar(select(Series).where(Series.name == name))
        if series is None:
            series = Series(name=name, set_size=size)
            self.session.add(series)
        elif size:
            series.set_size = size
        return series

    def _record(
        self, pin: Pin, action: str, user: User | None, changes: dict[str, Any],
        comment: str | None,
    ) -> None:  # fmt: skip
        number = (
            self.session.scalar(
                select(func.max(PinRevision.number)).where(PinRevision.pin_id == pin.id)
            )
            or 0
        ) + 1
        self.session.add(
            PinRevision(
                pin_id=pin.id,
                number=number,
                action=action,
                user_id=user.id if user else None,
                snapshot=snapshot(pin),
                changes=_json_safe(changes),
                comment=comment,
            )
        )


def _taken(ref: str) -> str:
    return _("Catalogue number %(ref)s is already taken.", ref=ref)


def _set_title(pin: Pin, language: str, title: str | None) -> None:
    existing = next((t for t in pin.titles if t.language == language), None)
    if title is None:
        if existing is not None:
            pin.titles.remove(existing)
    elif existing is not None:
        existing.title = title
    else:
        pin.titles.append(PinTitle(language=language, title=title))


def record_of(pin: Pin) -> dict[str, Any]:
    """A pin as one flat record (the import/export format)."""
    record = {column: getattr(pin, column, None) for column in EXPORT_COLUMNS}
    for field in TITLE_FIELDS:
        record[field] = pin.title_in(field.removeprefix("title_"))
    record["themes"] = [t.path for t in pin.themes]
    record["series_name"] = pin.series.name if pin.series else None
    record["series_size"] = pin.series.set_size if pin.series else None
    return _json_safe(record)


def snapshot(pin: Pin) -> dict[str, Any]:
    return record_of(pin)


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
