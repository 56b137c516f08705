"""The terms of a swap: which copies go each way, checked against the lists as
they are now. A proposal names copies (Haves), never just pins, so each side knows
the exact condition it will receive.

A copy you give must be yours (403 otherwise); a copy you ask for must be in the
other collector's Haves and offered for trade (404 / 409); neither may ask for more
copies than are free right now (409). Nothing is reserved until everyone accepts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.catalogue.titles import display_title
from marketplace.core.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.lists.grades import condition_name
from marketplace.lists.models import Have
from marketplace.trades.models import TradeItem

MAX_LINES = 100  # per side; a bigger swap is better split into parcels of its own
MAX_NOTE = 2000


@dataclass(frozen=True)
class Line:
    """`quantity` copies of Have `have_id`."""

    have_id: int
    quantity: int = 1


@dataclass(frozen=True)
class Term:
    have: Have
    quantity: int


def check_note(note: str | None) -> str:
    text = (note or "").strip()
    if len(text) > MAX_NOTE:
        raise DomainError(_("A note holds at most %(max)d characters.", max=MAX_NOTE), field="note")
    return text


def _lines(lines: Iterable[Line], field: str) -> list[Line]:
    result = list(lines)
    if len(result) > MAX_LINES:
        raise DomainError(_("At most %(max)d copies each way.", max=MAX_LINES), field=field)
    seen: set[int] = set()
    for line in result:
        if line.have_id in seen:
            raise DomainError(_("Copy #%(id)d is named twice.", id=line.have_id), field=field)
        seen.add(line.have_id)
        if not 1 <= line.quantity <= 10_000:
            raise DomainError(_("A quantity is a whole number from 1."), field=field)
    return result


def checked_terms(
    session: Session, owner: User, lines: Iterable[Line], *, asking: bool, field: str
) -> list[Term]:
    """`lines` as copies of `owner`'s, every one checked: owned, offered (when
    asked for) and free in that quantity."""
    wanted = _lines(lines, field)
    if not wanted:
        return []
    haves = {
        h.id: h
        for h in session.scalars(
            select(Have)
            .where(Have.id.in_([line.have_id for line in wanted]))
            .options(selectinload(Have.pin))
        )
    }
    terms = []
    for line in wanted:
        have = haves.get(line.have_id)
        if have is None or have.user_id != owner.id:
            if asking:
                raise NotFound(
                    _(
                        "Copy #%(id)d is not in %(name)s's Haves.",
                        id=line.have_id,
                        name=owner.display_name,
                    ),
                    field=field,
                )
            raise Forbidden(_("Copy #%(id)d is not in your Haves.", id=line.have_id), field=field)
        if asking and not have.tradeable:
            raise Conflict(
                _(
                    "%(name)s does not offer “%(pin)s” for trade.",
                    name=owner.display_name,
                    pin=display_title(have.pin, get_locale()),
                ),
                field=field,
            )
        free = have.quantity - have.reserved
        if line.quantity > free:
            values = {
                "free": free,
                "pin": display_title(have.pin, get_locale()),
                "grade": condition_name(have.condition),
                "asked": line.quantity,
            }
            if asking:
                message = _(
                    "Only %(free)d of “%(pin)s” (%(grade)s) %(name)s has free; %(asked)d asked.",
                    name=owner.display_name,
                    **values,
                )
            else:
                message = _(
                    "Only %(free)d of “%(pin)s” (%(grade)s) you have free; %(asked)d asked.",
                    **values,
                )
            raise Conflict(message, field=field)
        terms.append(Term(have, line.quantity))
    return terms


def items_of(version: int, giver: User, receiver: User, terms: Sequence[Term]) -> list[TradeItem]:
    return [
        TradeItem(
            version=version,
            giver_id=giver.id,
            receiver_id=receiver.id,
            have_id=t.have.id,
            pin_id=t.have.pin_id,
            condition=t.have.condition,
            defects=t.have.defects,
            quantity=t.quantity,
        )
        for t in terms
    ]
