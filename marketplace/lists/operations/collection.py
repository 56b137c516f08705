"""What a collector's lists add up to: series completion (and wanting what is
missing), the collection by theme ("jars") and by republic, totals, the themes and
series to filter by, the opt-in public collection page, and how many collectors
have or want a pin."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import distinct, func, insert, or_, select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin, Series, Theme, pin_themes
from marketplace.core.db import take_write_lock
from marketplace.core.errors import DomainError, NotFound
from marketplace.lists.models import CollectionPage, Have, Want
from marketplace.lists.operations.changes import note_list_change


@dataclass
class SeriesProgress:
    series: Series
    size: int
    owned: list[int] = field(default_factory=list)
    wanted: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)
    addable: int = 0  # missing numbers that have a catalogue pin not yet wanted

    @property
    def percent(self) -> int:
        return round(100 * len(self.owned) / self.size) if self.size else 0


@dataclass
class Bar:
    label: str
    pins: int
    copies: int


class CollectionQueries:
    """Series, charts, the public page and photos, on one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def filter_options(self, user_id: int) -> tuple[list[str], list[Series]]:
        """Themes and series that occur in the collector's lists (for the filters)."""
        pin_ids = (
            select(Have.pin_id)
            .where(Have.user_id == user_id)
            .union(select(Want.pin_id).where(Want.user_id == user_id, Want.pin_id.is_not(None)))
        )
        themes = self.session.scalars(
            select(Theme.path)
            .join(pin_themes, pin_themes.c.theme_id == Theme.id)
            .where(pin_themes.c.pin_id.in_(pin_ids))
            .distinct()
            .order_by(Theme.path)
        ).all()
        series = self.session.scalars(
            select(Series)
            .where(Series.id.in_(select(Pin.series_id).where(Pin.id.in_(pin_ids))))
            .order_by(Series.name)
        ).all()
        return list(themes), list(series)

    # -- series completion ----------------------------------------------------------

    def series_completion(self, user_id: int) -> list[SeriesProgress]:
        """Every numbered series the collector touches (has or wants a member of)."""
        owned_ids = select(Have.pin_id).where(Have.user_id == user_id)
        wanted_ids = select(Want.pin_id).where(Want.user_id == user_id, Want.pin_id.is_not(None))
        touched = select(Pin.series_id).where(
            Pin.series_id.is_not(None), or_(Pin.id.in_(owned_ids), Pin.id.in_(wanted_ids))
        )
        series_list = self.session.scalars(
            select(Series).where(Series.id.in_(touched)).order_by(Series.name)
        ).all()
        if not series_list:
            return []
        members = self.session.execute(
            select(
                Pin.series_id,
                Pin.series_number,
                Pin.id.in_(owned_ids).label("owned"),
                Pin.id.in_(wanted_ids).label("wanted"),
            ).where(Pin.series_id.in_([s.id for s in series_list]), Pin.series_number.is_not(None))
        ).all()
        by_series: dict[int, dict[int, tuple[bool, bool, bool]]] = {}
        for series_id, number, owned, wanted in members:
            assert series_id is not None and number is not None  # filtered above
            slots = by_series.setdefault(series_id, {})
            was = slots.get(number, (False, False, False))
            # A number is owned if any of its variants is; addable if a pin exists.
            slots[number] = (was[0] or bool(owned), was[1] or bool(wanted), True)
        result = []
        for series in series_list:
            slots = by_series.get(series.id, {})
            size = max([series.set_size or 0, *slots])
            progress = SeriesProgress(series=series, size=size)
            for number in range(1, size + 1):
                owned, wanted, known = slots.get(number, (False, False, False))
                if owned:
                    progress.owned.append(number)
                    continue
                progress.missing.append(number)
                if wanted:
                    progress.wanted.append(number)
                elif known:
                    progress.addable += 1
            result.append(progress)
        return result

    def want_missing(self, user: User, series_id: int) -> int:
        """Add every catalogue pin of the series the collector neither has nor
        wants (any variant of the number counts as having it); returns how many."""
        if self.session.get(Series, series_id) is None:
            raise NotFound(_("No such series."))
        owned_numbers = select(Pin.series_number).where(
            Pin.series_id == series_id,
            Pin.id.in_(select(Have.pin_id).where(Have.user_id == user.id)),
        )
        wanted_numbers = select(Pin.series_number).where(
            Pin.series_id == series_id,
            or_(
                Pin.id.in_(
                    select(Want.pin_id).where(Want.user_id == user.id, Want.pin_id.is_not(None))
                ),
                Pin.variant_group.in_(
                    select(Want.variant_group).where(
                        Want.user_id == user.id, Want.variant_group.is_not(None)
                    )
                ),
            ),
        )
        candidates = self.session.execute(
            select(Pin.id, Pin.series_number)
            .where(
                Pin.series_id == series_id,
                Pin.series_number.is_not(None),
                Pin.series_number.not_in(owned_numbers),
                Pin.series_number.not_in(wanted_numbers),
            )
            .order_by(Pin.series_number, Pin.ref)
        ).all()
        seen: set[int] = set()
        rows = []
        for pin_id, number in candidates:
            assert number is not None  # filtered above
            if number in seen:
                continue  # one variant per missing number is enough to look for
            seen.add(number)
            rows.append({"user_id": user.id, "pin_id": pin_id, "priority": 3})
        if rows:
            self.session.execute(insert(Want), rows)
            note_list_change(self.session, user.id, want_pins=[r["pin_id"] for r in rows])
        return len(rows)

    # -- jars and charts ------------------------------------------------------------

    def jars(self, user_id: int) -> list[Bar]:
        """The collection by top-level theme ("Sport" holds "Sport/Olympics-80"):
        distinct pins and copies in each; a pin in two themes is in both jars."""
        rows = self.session.execute(
            select(Have.id, Have.pin_id, Have.quantity, Theme.path)
            .join(pin_themes, pin_themes.c.pin_id == Have.pin_id)
            .join(Theme, Theme.id == pin_themes.c.theme_id)
            .where(Have.user_id == user_id)
        ).all()
        pins: dict[str, set[int]] = {}
        copies: dict[str, dict[int, int]] = {}
        for have_id, pin_id, quantity, path in rows:
            top = path.split("/", 1)[0]
            pins.setdefault(top, set()).add(pin_id)
            copies.setdefault(top, {})[have_id] = quantity
        bars = [Bar(top, len(pins[top]), sum(copies[top].values())) for top in pins]
        return sorted(bars, key=lambda b: (-b.copies, b.label))

    def by_republic(self, user_id: int) -> list[Bar]:
        label = func.coalesce(Pin.republic, "Unknown")
        rows = self.session.execute(
            select(label, func.count(distinct(Have.pin_id)), func.sum(Have.quantity))
            .select_from(Have)
            .join(Pin, Pin.id == Have.pin_id)
            .where(Have.user_id == user_id)
            .group_by(label)
        ).all()
        bars = [Bar(str(name), int(n), int(c or 0)) for name, n, c in rows]
        return sorted(bars, key=lambda b: (-b.copies, b.label))

    def totals(self, user_id: int) -> tuple[int, int, int]:
        """(distinct pins, copies, wants)."""
        pins, copies = self.session.execute(
            select(
                func.count(distinct(Have.pin_id)), func.coalesce(func.sum(Have.quantity), 0)
            ).where(Have.user_id == user_id)
        ).one()
        wants = self.session.scalar(select(func.count(Want.id)).where(Want.user_id == user_id))
        return int(pins), int(copies), int(wants or 0)

    # -- public page ----------------------------------------------------------------

    def collection_page(self, user: User) -> CollectionPage:
        page = self.session.get(CollectionPage, user.id)
        if page is None:
            # Made on first use: only then does the request (a GET of the lists
            # overview) write, and take the write lock.
            take_write_lock(self.session)
            page = self.session.get(CollectionPage, user.id)  # made meanwhile?
        if page is None:
            page = CollectionPage(user_id=user.id, slug=secrets.token_urlsafe(12), shows="none")
            self.session.add(page)
            self.session.flush()
        return page

    def set_public(self, user: User, shows: str) -> CollectionPage:
        if shows not in ("none", "haves", "wants", "both"):
            raise DomainError(_("Choose none, haves, wants or both."), field="shows")
        page = self.collection_page(user)
        page.shows = shows
        self.session.flush()
        return page

    def public_page(self, slug: str) -> CollectionPage:
        page = self.session.scalar(select(CollectionPage).where(CollectionPage.slug == slug))
        if page is None or page.shows == "none":
            raise NotFound(_("This collection is not public."))
        return page


def pin_interest(session: Session, pin: Pin) -> dict[str, int]:
    """How many collectors have the pin, and want it (or any of its variants)."""
    haves = session.scalar(
        select(func.count(func.distinct(Have.user_id))).where(Have.pin_id == pin.id)
    )
    wants = session.scalar(
        select(func.count(func.distinct(Want.user_id))).where(
            or_(Want.pin_id == pin.id, Want.variant_group == pin.variant_group)
        )
    )
    return {"haves": int(haves or 0), "wants": int(wants or 0)}
