"""The verbs on list entries, written once for both kinds: add (or top up), read,
change, remove, browse with filters, sorting and pages, remove all; and moving a Want
that arrived to the Haves. Each verb takes the kind (`HAVES` or `WANTS`) and records
the matching refresh for what it changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, delete, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin, Theme, pin_themes
from marketplace.core.errors import Conflict, DomainError, NotFound
from marketplace.core.pagination import Page
from marketplace.lists.models import CollectionPage, Condition, Have, HavePhoto
from marketplace.lists.operations.changes import note_list_change
from marketplace.lists.operations.kinds import (
    HAVES,
    WANTS,
    ListKind,
    catalogue_pin,
    catalogue_variant_group,
    list_kind,
)

PER_PAGE = 50
MAX_PHOTOS = 6


@dataclass
class ListFilters:
    theme: str | None = None
    series_id: int | None = None
    condition: Condition | None = None
    sort: str = "added"
    page: int = 1
    per_page: int = PER_PAGE


class EntryOperations:
    """Entries of either list, on one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _noted(self, kind: ListKind, user_id: int, *entries: Any) -> None:
        note_list_change(self.session, user_id, **kind.pins_changed(entries))

    def add(self, kind: ListKind, user: User, *, merge: bool = False, **fields: Any) -> Any:
        """Add an entry. With `merge`, one already listed with the same key (pin,
        condition and defects for Haves; pin or group for Wants) takes the new copies
        instead (the one-click button); without, such a duplicate is a Conflict."""
        values = kind.new_values(self.session, fields)
        same = kind.same_entry(user.id, values)
        if merge:
            merged = kind.merged_values(values)
            found = True
            if merged:
                result = self.session.execute(
                    update(kind.model)
                    .where(*same)
                    .values(**merged)
                    .execution_options(synchronize_session=False)
                )
                found = bool(result.rowcount)  # type: ignore[attr-defined]
            entry = self.session.scalars(select(kind.model).where(*same)).one_or_none()
            if found and entry is not None:
                self.session.refresh(entry)
                self._noted(kind, user.id, entry)
                return entry
        entry = kind.model(user_id=user.id, **values)
        try:
            with self.session.begin_nested():
                self.session.add(entry)
                self.session.flush()
        except IntegrityError:
            raise Conflict(str(kind.duplicate_message), field="pin_id") from None
        self._noted(kind, user.id, entry)
        return entry

    def get(self, kind: ListKind, user: User, entry_id: int) -> Any:
        entry = self.session.scalar(
            select(kind.model)
            .where(kind.model.id == entry_id, kind.model.user_id == user.id)
            .options(*kind.detail_options())
        )
        if entry is None:
            raise NotFound(kind.not_found_message)
        return entry

    def update(self, kind: ListKind, user: User, entry_id: int, **changes: Any) -> Any:
        """Change an entry; every value is checked before any is applied."""
        entry = self.get(kind, user, entry_id)
        values = kind.changed_values(entry, changes)
        try:
            with self.session.begin_nested():
                for name, value in values.items():
                    setattr(entry, name, value)
                self.session.flush()
        except IntegrityError:
            raise Conflict(str(kind.conflict_message), field=kind.conflict_field) from None
        self._noted(kind, user.id, entry)
        return entry

    def remove(self, kind: ListKind, user: User, entry_id: int) -> list[str]:
        """Delete an entry; returns the stored files the caller should remove."""
        entry = self.get(kind, user, entry_id)
        # Re-read under a row lock (PostgreSQL) so no hold slips in between the
        # check and the delete; SQLite writers are serialised anyway.
        self.session.scalar(
            select(kind.model.id)
            .where(kind.model.id == entry.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        self.session.refresh(entry)
        kind.check_removable(entry)
        files = kind.files_of(entry)
        self.session.delete(entry)
        self.session.flush()
        self._noted(kind, user.id, entry)
        return files

    def remove_all(self, kind: ListKind | str, user: User) -> int:
        kind = list_kind(kind)
        query = delete(kind.model).where(kind.model.user_id == user.id)
        removable = kind.removable()
        if removable is not None:
            query = query.where(removable)  # promised copies stay until settled
        result = self.session.execute(query)
        note_list_change(self.session, user.id, full=True)
        return int(result.rowcount)  # type: ignore[attr-defined]

    def browse(self, kind: ListKind, user_id: int, filters: ListFilters) -> Page[Any]:
        """One page of the collector's entries, filtered and sorted."""
        query = kind.listing(user_id)
        if filters.theme:
            query = query.where(
                exists()
                .where(pin_themes.c.pin_id == Pin.id, pin_themes.c.theme_id == Theme.id)
                .where(or_(Theme.path == filters.theme, Theme.path.startswith(filters.theme + "/")))
            )
        if filters.series_id:
            query = query.where(Pin.series_id == filters.series_id)
        if filters.condition is not None:
            query = query.where(kind.condition_clause(filters.condition))
        order = kind.sorts.get(filters.sort, kind.sorts["added"])
        return self._page(query.order_by(*order).options(*kind.listing_options()), filters)

    def _page(self, query: Select[Any], filters: ListFilters) -> Page[Any]:
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = max(1, filters.page)
        items = self.session.scalars(
            query.offset((page - 1) * filters.per_page).limit(filters.per_page)
        ).all()
        return Page(items=items, total=total, page=page, per_page=filters.per_page)

    def move_to_haves(
        self,
        user: User,
        want_id: int,
        *,
        pin_id: int | None = None,
        condition: Any = Condition.FINE,
        quantity: Any = 1,
    ) -> Have:
        """The wanted pin arrived: drop the Want and add (or top up) the Have."""
        want = self.get(WANTS, user, want_id)
        target = want.pin_id
        if target is None:
            if pin_id is None:
                raise DomainError(_("Choose which variant arrived."), field="pin_id")
            pin = catalogue_pin(self.session, pin_id)
            if pin.variant_group != want.variant_group:
                raise DomainError(
                    _("That pin is not a variant of %(ref)s.", ref=want.variant_group),
                    field="pin_id",
                )
            target = pin.id
        self.remove(WANTS, user, want_id)
        have: Have = self.add(
            HAVES, user, pin_id=target, quantity=quantity, condition=condition, merge=True
        )
        return have

    def variant_group(self, text: str) -> str:
        return catalogue_variant_group(self.session, text)

    def variants(self, variant_group: str) -> list[Pin]:
        return list(
            self.session.scalars(
                select(Pin).where(Pin.variant_group == variant_group).order_by(Pin.ref)
            )
        )

    # -- photos ---------------------------------------------------------------------

    def add_photo(self, user: User, have_id: int, data: bytes, storage_dir: Path) -> HavePhoto:
        from marketplace.core.photos import store_photo

        have = self.get(HAVES, user, have_id)
        if len(have.photos) >= MAX_PHOTOS:
            raise DomainError(_("At most %(num)d photos per entry.", num=MAX_PHOTOS), field="photo")
        stored = store_photo(data, storage_dir=storage_dir)
        photo = HavePhoto(
            have_id=have.id,
            filename=stored.filename,
            thumbnail=stored.thumbnail,
            width=stored.width,
            height=stored.height,
            phash=stored.phash,
        )
        self.session.add(photo)
        self.session.flush()
        return photo

    def delete_photo(self, user: User, photo_id: int) -> list[str]:
        photo = self.session.scalar(
            select(HavePhoto)
            .join(Have, Have.id == HavePhoto.have_id)
            .where(HavePhoto.id == photo_id, Have.user_id == user.id)
        )
        if photo is None:
            raise NotFound(_("No such photo."))
        self.session.delete(photo)
        self.session.flush()
        return [photo.filename, photo.thumbnail]

    def visible_photo(
        self,
        filename: str,
        viewer: User | None,
        shown_to: Callable[[int, int], bool] | None = None,
    ) -> HavePhoto | None:
        """The photo stored as `filename` (either size) if `viewer` (None: a visitor)
        may see it, else None — also when no photo has that name.

        Its owner always may. Anyone may when the copy is on sale (its listing page
        shows the photo) or the owner's public page shows their Haves. Another
        collector may when `shown_to(viewer id, have id)` says a match or a trade
        shows them the copy. Nobody else: a private collection stays private to
        whoever learns a file name."""
        photo = self.session.scalar(
            select(HavePhoto)
            .where(or_(HavePhoto.filename == filename, HavePhoto.thumbnail == filename))
            .options(joinedload(HavePhoto.have))
        )
        if photo is None:
            return None
        have = photo.have
        if viewer is not None and viewer.id == have.user_id:
            return photo
        if have.price is not None:
            return photo
        shows = self.session.scalar(
            select(CollectionPage.shows).where(CollectionPage.user_id == have.user_id)
        )
        if shows in ("haves", "both"):
            return photo
        if viewer is not None and shown_to is not None and shown_to(viewer.id, have.id):
            return photo
        return None
