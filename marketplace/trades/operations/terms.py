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

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, DomainError, Forbidden, NotFound
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
        raise DomainError(f"A note holds at most {MAX_NOTE} characters.", field="note")
    return text


def _lines(lines: Iterable[Line], field: str) -> list[Line]:
    result = list(lines)
    if len(result) > MAX_LINES:
        raise DomainError(f"At most {MAX_LINES} copies each way.", field=field)
    seen: set[int] = set()
    for line in result:
        if line.have_id in seen:
            raise DomainError(f"Copy #{line.have_id} is named twice.", field=field)
        seen.add(line.have_id)
        if not 1 <= line.quantity <= 10_000:
            raise DomainError("A quantity is a whole number from 1.", field=field)
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
                    f"Copy #{line.have_id} is not in {owner.display_name}'s Haves.", field=field
                )
            raise Forbidden(f"Copy #{line.have_id} is not in your Haves.", field=field)
        if asking and not have.tradeable:
            raise Conflict(
                f"{owner.display_name} does not offer “{have.pin.title_en}” for trade.",
                field=field,
            )
        free = have.quantity - have.reserved
        if line.quantity > free:
            whose = f"{owner.display_name} has" if asking else "you have"
            raise Conflict(
                f"Only {free} of “{have.pin.title_en}” ({have.condition.label}) {whose} "
                f"free; {line.quantity} asked.",
                field=field,
            )
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
