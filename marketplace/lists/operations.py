"""Have and Want lists: adding, editing, deleting and moving entries, browsing them
(filters, sorting, pages), series completion, collection by theme ("jars") and by
republic, the opt-in public collection page, and collectors' own photos.

Every change to a collector's lists records one outbox event per transaction,
`workers.tasks.refresh_collector_matches(user_id=…)`, so that matching refreshes
just that collector once the change is committed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, delete, distinct, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin, Series, Theme, pin_themes
from marketplace.core import outbox
from marketplace.core.errors import Conflict, DomainError, NotFound
from marketplace.core.pagination import Page
from marketplace.lists.models import (
    ALL_DEFECTS,
    DEFECTS,
    CollectionPage,
    Condition,
    Defect,
    Have,
    HavePhoto,
    Want,
)

REFRESH_TASK = "workers.tasks.refresh_collector_matches"
MAX_QUANTITY = 100_000
MAX_PRICE = Decimal("99999999.99")
MAX_NOTES = 2000
PER_PAGE = 50
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_UNSET: Any = object()

T = TypeVar("T")

# What a collector may type for each grade (English, common abbreviations, Russian).
_CONDITION_NAMES: dict[str, Condition] = {}
for _c, _aliases in {
    Condition.MINT: ("mint", "m", "unc", "uncirculated", "отличное", "идеальное", "новый", "mint"),
    Condition.EXCELLENT: ("excellent", "ex", "ef", "xf", "extremely fine", "отл", "прекрасное"),
    Condition.VERY_FINE: ("very fine", "very_fine", "vf", "оч. хор", "очень хорошее"),
    Condition.FINE: ("fine", "f", "хорошее", "хор"),
    Condition.GOOD: ("good", "g", "удовлетворительное", "удовл"),
    Condition.POOR: ("poor", "p", "плохое"),
}.items():
    for _alias in (_c.slug, _c.label, *_aliases):
        _CONDITION_NAMES[re.sub(r"[\s_\-.]+", " ", _alias.lower()).strip()] = _c

_DEFECT_NAMES: dict[str, Defect] = {}
for _d in DEFECTS:
    for _alias in (_d.slug, _d.label, _d.slug.replace("_", "-")):
        _DEFECT_NAMES[re.sub(r"[\s_\-]+", " ", _alias.lower()).strip()] = _d
_DEFECT_NAMES.update(
    {"chips": Defect.ENAMEL_CHIPS, "chipped": Defect.ENAMEL_CHIPS, "no pin": Defect.MISSING_PIN}
)
_DEFECT_NAMES.update({"no nut": Defect.MISSING_NUT, "repair": Defect.REPAIRED})


def condition_choices() -> list[tuple[str, str]]:
    return [(c.slug, c.label) for c in sorted(Condition, reverse=True)]


def parse_condition(value: str | Condition | None, field: str = "condition") -> Condition:
    if isinstance(value, Condition):
        return value
    key = re.sub(r"[\s_\-.]+", " ", (value or "").lower()).strip()
    if key.isdigit() and int(key) in {int(c) for c in Condition}:
        return Condition(int(key))
    if key not in _CONDITION_NAMES:
        names = ", ".join(c.label for c in sorted(Condition, reverse=True))
        raise DomainError(f"Unknown condition '{value}'; use one of {names}.", field=field)
    return _CONDITION_NAMES[key]


def parse_defects(value: str | Iterable[str] | int | None, field: str = "defects") -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, int):
        if not 0 <= value <= ALL_DEFECTS:
            raise DomainError("Unknown defect flags.", field=field)
        return value
    parts = re.split(r"[|,;/+]", value) if isinstance(value, str) else list(value)
    mask = 0
    for part in parts:
        key = re.sub(r"[\s_\-]+", " ", part.lower()).strip()
        if not key:
            continue
        if key not in _DEFECT_NAMES:
            names = ", ".join(d.slug for d in DEFECTS)
            raise DomainError(f"Unknown defect '{part.strip()}'; use {names}.", field=field)
        mask |= _DEFECT_NAMES[key]
    return mask


def defect_slugs(mask: int) -> list[str]:
    return [d.slug for d in DEFECTS if mask & d]


def parse_money(
    amount: Any, currency: Any, *, field: str = "price"
) -> tuple[Decimal | None, str | None]:
    """An amount with its currency, or neither."""
    if amount is None or (isinstance(amount, str) and not amount.strip()):
        if currency not in (None, ""):
            raise DomainError("A currency needs an amount beside it.", field=field)
        return None, None
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount).strip())
    except InvalidOperation:
        raise DomainError(f"'{amount}' is not an amount of money.", field=field) from None
    if not value.is_finite() or value < 0 or value > MAX_PRICE:
        raise DomainError(f"The amount must be between 0 and {MAX_PRICE}.", field=field)
    if value != value.quantize(Decimal("0.01")):
        raise DomainError("Use at most two decimal places.", field=field)
    code = str(currency or "").strip().upper()
    if not _CURRENCY.match(code):
        raise DomainError(
            "Give the currency as a three-letter code such as EUR, USD or RUB.", field="currency"
        )
    return value.quantize(Decimal("0.01")), code


def check_quantity(value: Any, field: str = "quantity") -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise DomainError(f"'{value}' is not a whole number.", field=field) from None
    if number < 1:
        raise DomainError(f"The quantity must be at least 1 (got {number}).", field=field)
    if number > MAX_QUANTITY:
        raise DomainError(f"The quantity can be at most {MAX_QUANTITY}.", field=field)
    return number


def check_priority(value: Any, field: str = "priority") -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise DomainError(f"'{value}' is not a priority from 1 to 5.", field=field) from None
    if not 1 <= number <= 5:
        raise DomainError(f"The priority must be from 1 to 5 (got {number}).", field=field)
    return number


def check_notes(value: str | None, field: str = "notes") -> str | None:
    value = (value or "").strip()
    if len(value) > MAX_NOTES:
        raise DomainError(f"Use at most {MAX_NOTES} characters.", field=field)
    return value or None


# A change touching more pins than this (a CSV import, "delete all") asks for a
# full refresh instead of listing them: the event payload stays small.
MAX_CHANGED_PINS = 500


def note_list_change(
    session: Session,
    user_id: int,
    *,
    have_pins: Iterable[int] = (),
    want_pins: Iterable[int] = (),
    want_groups: Iterable[str] = (),
    full: bool = False,
) -> None:
    """One refresh event per collector per transaction, however many rows changed.

    The event says what changed, so matching can refresh only that: the pins whose
    Haves changed (`have_pins`), the pins of exact Wants (`want_pins`) and the
    variant groups of "any variant" Wants (`want_groups`), accumulated over the
    transaction. A caller that names nothing (or `full`), or more than
    MAX_CHANGED_PINS pins in all, makes it `{"user_id": …, "full": true}`."""
    transaction = session.get_transaction()
    seen: tuple[Any, dict[int, Any]] | None = session.info.get("lists_refresh")
    if seen is None or seen[0] is not transaction:
        seen = (transaction, {})
        session.info["lists_refresh"] = seen
    haves, wants, groups = set(have_pins), set(want_pins), set(want_groups)
    full = full or not (haves or wants or groups)
    message = seen[1].get(user_id)
    if message is None or message not in session:  # (or its savepoint rolled back)
        message = seen[1][user_id] = outbox.enqueue(session, REFRESH_TASK, user_id=user_id)
        payload: dict[str, Any] = {"user_id": user_id, "have_pins": [], "want_pins": []}
        payload["want_groups"] = []
    else:
        payload = dict(message.payload)
    if not payload.get("full"):
        haves.update(payload["have_pins"])
        wants.update(payload["want_pins"])
        groups.update(payload["want_groups"])
        if full or len(haves) + len(wants) + len(groups) > MAX_CHANGED_PINS:
            payload = {"user_id": user_id, "full": True}
        else:
            payload.update(
                have_pins=sorted(haves), want_pins=sorted(wants), want_groups=sorted(groups)
            )
    if payload != message.payload:
        message.payload = payload
        session.flush()


@dataclass
class ListFilters:
    theme: str | None = None
    series_id: int | None = None
    condition: Condition | None = None
    sort: str = "added"
    page: int = 1
    per_page: int = PER_PAGE


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


HAVE_SORTS: dict[str, tuple[Any, ...]] = {
    "added": (Have.id.desc(),),
    "ref": (Pin.ref,),
    "title": (Pin.title_en, Pin.ref),
    "condition": (Have.condition.desc(), Pin.ref),
    "quantity": (Have.quantity.desc(), Pin.ref),
    "price": (Have.price.desc(), Pin.ref),
}
WANT_SORTS: dict[str, tuple[Any, ...]] = {
    "added": (Want.id.desc(),),
    "priority": (Want.priority.desc(), Want.id.desc()),
    "ref": (func.coalesce(Pin.ref, Want.variant_group),),
    "title": (Pin.title_en, Want.variant_group),
}


class Lists:
    """List operations for collectors, on one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- haves ----------------------------------------------------------------------

    def _pin(self, pin_id: int) -> Pin:
        pin = self.session.get(Pin, pin_id)
        if pin is None:
            raise NotFound(f"There is no pin {pin_id} in the catalogue.", field="pin_id")
        return pin

    def add_have(
        self,
        user: User,
        pin_id: int,
        *,
        quantity: Any = 1,
        condition: Any = Condition.FINE,
        defects: Any = 0,
        tradeable: bool = True,
        price: Any = None,
        currency: Any = None,
        notes: str | None = None,
        merge: bool = False,
    ) -> Have:
        """Add copies of a pin. With `merge`, copies in the same condition and with
        the same defects are added to the existing entry (the one-click button);
        without, such a duplicate is refused."""
        self._pin(pin_id)
        quantity = check_quantity(quantity)
        grade = parse_condition(condition)
        mask = parse_defects(defects)
        amount, code = parse_money(price, currency)
        same = (
            Have.user_id == user.id,
            Have.pin_id == pin_id,
            Have.condition == grade,
            Have.defects == mask,
        )
        if merge:
            result = self.session.execute(
                update(Have)
                .where(*same)
                .values(quantity=Have.quantity + quantity)
                .execution_options(synchronize_session=False)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                note_list_change(self.session, user.id, have_pins=[pin_id])
                have = self.session.scalars(select(Have).where(*same)).one()
                self.session.refresh(have)
                return have
        have = Have(
            user_id=user.id,
            pin_id=pin_id,
            quantity=quantity,
            condition=grade,
            defects=mask,
            tradeable=tradeable,
            price=amount,
            currency=code,
            notes=check_notes(notes),
        )
        self._insert(have, "You already list this pin in this condition; change that entry.")
        note_list_change(self.session, user.id, have_pins=[pin_id])
        return have

    def _insert(self, row: Have | Want, duplicate: str) -> None:
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            raise Conflict(duplicate, field="pin_id") from None

    def get_have(self, user: User, have_id: int) -> Have:
        have = self.session.scalar(
            select(Have)
            .where(Have.id == have_id, Have.user_id == user.id)
            .options(selectinload(Have.photos))
        )
        if have is None:
            raise NotFound("That entry is not in your Haves.")
        return have

    def update_have(self, user: User, have_id: int, **changes: Any) -> Have:
        """Change an entry; every value is checked before any is applied."""
        have = self.get_have(user, have_id)
        values: dict[str, Any] = {}
        if "quantity" in changes:
            values["quantity"] = check_quantity(changes["quantity"])
        if "condition" in changes:
            values["condition"] = parse_condition(changes["condition"])
        if "defects" in changes:
            values["defects"] = parse_defects(changes["defects"])
        if "tradeable" in changes:
            values["tradeable"] = bool(changes["tradeable"])
        if "price" in changes or "currency" in changes:
            values["price"], values["currency"] = parse_money(
                changes.get("price", have.price),
                changes.get("currency", have.currency if "price" not in changes else None),
            )
        if "notes" in changes:
            values["notes"] = check_notes(changes["notes"])
        try:
            with self.session.begin_nested():
                for name, value in values.items():
                    setattr(have, name, value)
                self.session.flush()
        except IntegrityError:
            raise Conflict(
                "You already list this pin in that condition with those defects.",
                field="condition",
            ) from None
        note_list_change(self.session, user.id, have_pins=[have.pin_id])
        return have

    def delete_have(self, user: User, have_id: int) -> list[str]:
        """Delete an entry; returns the photo files the caller should remove."""
        have = self.get_have(user, have_id)
        files = [name for p in have.photos for name in (p.filename, p.thumbnail)]
        self.session.delete(have)
        self.session.flush()
        note_list_change(self.session, user.id, have_pins=[have.pin_id])
        return files

    # -- wants ----------------------------------------------------------------------

    def add_want(
        self,
        user: User,
        *,
        pin_id: int | None = None,
        variant_group: str | None = None,
        priority: Any = 3,
        min_condition: Any = None,
        max_price: Any = None,
        currency: Any = None,
        notes: str | None = None,
    ) -> Want:
        if (pin_id is None) == (not variant_group):
            raise DomainError(
                "Want either one pin or any variant of a catalogue number.", field="pin_id"
            )
        group = None
        if pin_id is not None:
            self._pin(pin_id)
        else:
            group = self.variant_group(str(variant_group))
        amount, code = parse_money(max_price, currency, field="max_price")
        want = Want(
            user_id=user.id,
            pin_id=pin_id,
            variant_group=group,
            priority=check_priority(priority),
            min_condition=None
            if min_condition in (None, "")
            else parse_condition(min_condition, "min_condition"),
            max_price=amount,
            currency=code,
            notes=check_notes(notes),
        )
        self._insert(want, "That pin is already in your Wants.")
        note_list_change(
            self.session,
            user.id,
            want_pins=[want.pin_id] if want.pin_id is not None else [],
            want_groups=[want.variant_group] if want.variant_group else [],
        )
        return want

    def variant_group(self, text: str) -> str:
        """The catalogue's spelling of a variant group, matched case-insensitively."""
        group = self.session.scalar(
            select(Pin.variant_group)
            .where(func.lower(Pin.variant_group) == text.strip().lower())
            .limit(1)
        )
        if group is None:
            raise NotFound(f"No catalogue number '{text}'.", field="variant_group")
        return group

    def get_want(self, user: User, want_id: int) -> Want:
        want = self.session.scalar(select(Want).where(Want.id == want_id, Want.user_id == user.id))
        if want is None:
            raise NotFound("That entry is not in your Wants.")
        return want

    def update_want(self, user: User, want_id: int, **changes: Any) -> Want:
        want = self.get_want(user, want_id)
        values: dict[str, Any] = {}
        if "priority" in changes:
            values["priority"] = check_priority(changes["priority"])
        if "min_condition" in changes:
            value = changes["min_condition"]
            values["min_condition"] = (
                None if value in (None, "") else parse_condition(value, "min_condition")
            )
        if "max_price" in changes or "currency" in changes:
            values["max_price"], values["currency"] = parse_money(
                changes.get("max_price", want.max_price),
                changes.get("currency", want.currency if "max_price" not in changes else None),
                field="max_price",
            )
        if "notes" in changes:
            values["notes"] = check_notes(changes["notes"])
        for name, value in values.items():
            setattr(want, name, value)
        self.session.flush()
        note_list_change(
            self.session,
            user.id,
            want_pins=[want.pin_id] if want.pin_id is not None else [],
            want_groups=[want.variant_group] if want.variant_group else [],
        )
        return want

    def delete_want(self, user: User, want_id: int) -> None:
        want = self.get_want(user, want_id)
        self.session.delete(want)
        self.session.flush()
        note_list_change(
            self.session,
            user.id,
            want_pins=[want.pin_id] if want.pin_id is not None else [],
            want_groups=[want.variant_group] if want.variant_group else [],
        )

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
        want = self.get_want(user, want_id)
        target = want.pin_id
        if target is None:
            if pin_id is None:
                raise DomainError("Choose which variant arrived.", field="pin_id")
            pin = self._pin(pin_id)
            if pin.variant_group != want.variant_group:
                raise DomainError(
                    f"That pin is not a variant of {want.variant_group}.", field="pin_id"
                )
            target = pin.id
        self.session.delete(want)
        self.session.flush()
        note_list_change(
            self.session,
            user.id,
            want_pins=[want.pin_id] if want.pin_id is not None else [],
            want_groups=[want.variant_group] if want.variant_group else [],
        )
        return self.add_have(user, target, quantity=quantity, condition=condition, merge=True)

    # -- browsing -------------------------------------------------------------------

    def _filtered(self, query: Select[Any], filters: ListFilters) -> Select[Any]:
        if filters.theme:
            query = query.where(
                exists()
                .where(pin_themes.c.pin_id == Pin.id, pin_themes.c.theme_id == Theme.id)
                .where(or_(Theme.path == filters.theme, Theme.path.startswith(filters.theme + "/")))
            )
        if filters.series_id:
            query = query.where(Pin.series_id == filters.series_id)
        return query

    def haves(self, user_id: int, filters: ListFilters) -> Page[Have]:
        query = select(Have).join(Pin, Pin.id == Have.pin_id).where(Have.user_id == user_id)
        query = self._filtered(query, filters)
        if filters.condition is not None:
            query = query.where(Have.condition >= filters.condition)
        order = HAVE_SORTS.get(filters.sort, HAVE_SORTS["added"])
        return self._page(
            query.order_by(*order).options(selectinload(Have.photos), selectinload(Have.pin)),
            filters,
        )

    def wants(self, user_id: int, filters: ListFilters) -> Page[Want]:
        query = select(Want).outerjoin(Pin, Pin.id == Want.pin_id).where(Want.user_id == user_id)
        query = self._filtered(query, filters)
        if filters.condition is not None:
            query = query.where(Want.min_condition == filters.condition)
        order = WANT_SORTS.get(filters.sort, WANT_SORTS["added"])
        return self._page(query.order_by(*order).options(selectinload(Want.pin)), filters)

    def _page(self, query: Select[Any], filters: ListFilters) -> Page[Any]:
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = max(1, filters.page)
        items = self.session.scalars(
            query.offset((page - 1) * filters.per_page).limit(filters.per_page)
        ).all()
        return Page(items=items, total=total, page=page, per_page=filters.per_page)

    def variants(self, variant_group: str) -> list[Pin]:
        return list(
            self.session.scalars(
                select(Pin).where(Pin.variant_group == variant_group).order_by(Pin.ref)
            )
        )

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
            raise NotFound("No such series.")
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
            page = CollectionPage(user_id=user.id, slug=secrets.token_urlsafe(12), shows="none")
            self.session.add(page)
            self.session.flush()
        return page

    def set_public(self, user: User, shows: str) -> CollectionPage:
        if shows not in ("none", "haves", "wants", "both"):
            raise DomainError("Choose none, haves, wants or both.", field="shows")
        page = self.collection_page(user)
        page.shows = shows
        self.session.flush()
        return page

    def public_page(self, slug: str) -> CollectionPage:
        page = self.session.scalar(select(CollectionPage).where(CollectionPage.slug == slug))
        if page is None or page.shows == "none":
            raise NotFound("This collection is not public.")
        return page

    # -- photos ---------------------------------------------------------------------

    def add_photo(self, user: User, have_id: int, data: bytes, storage_dir: Path) -> HavePhoto:
        from marketplace.core.photos import store_photo

        have = self.get_have(user, have_id)
        if len(have.photos) >= 6:
            raise DomainError("At most 6 photos per entry.", field="photo")
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
            raise NotFound("No such photo.")
        self.session.delete(photo)
        self.session.flush()
        return [photo.filename, photo.thumbnail]

    def photo_is_public(self, filename: str) -> bool:
        return bool(
            self.session.scalar(
                select(func.count(HavePhoto.id)).where(
                    or_(HavePhoto.filename == filename, HavePhoto.thumbnail == filename)
                )
            )
        )

    def delete_all(self, user: User, kind: str) -> int:
        model = Have if kind == "haves" else Want
        result = self.session.execute(delete(model).where(model.user_id == user.id))
        note_list_change(self.session, user.id, full=True)
        return int(result.rowcount)  # type: ignore[attr-defined]


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
