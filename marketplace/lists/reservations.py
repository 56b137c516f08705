"""The one reservation ledger on copies: `haves.reserved` units of a Have's
`quantity` are promised — to an open checkout (orders) or to an accepted trade
(trades) — and only `quantity - reserved` are free. Nothing else holds copies, so
a copy can never be promised twice, sold while a trade holds it, or reserved by a
trade while a checkout holds it.

Every change is one conditional `UPDATE … WHERE quantity - reserved >= n` (never
read-then-write): SQLite ignores `FOR UPDATE`, and these need no lock to be right.
Holding several copies at once (`hold_all`) updates them in ascending have id, the
one documented lock order: two transactions holding overlapping copies queue on the
lowest shared id instead of deadlocking. Callers that also lock their own rows
(a trade, an order) lock those first, then copies; a change that touches several
copies in statements of its own (a trade completing) locks them all first (`lock`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from marketplace.lists.models import Condition, Have


def _changed(result: Any) -> bool:
    return bool(result.rowcount)


def hold(
    session: Session,
    have_id: int,
    units: int = 1,
    *,
    price: Decimal | None = None,
    currency: str | None = None,
) -> bool:
    """Hold `units` copies while that many are free (and, for a purchase, while
    the price is still the one the buyer saw)."""
    conditions = [Have.id == have_id, Have.quantity - Have.reserved >= units]
    if price is not None:
        conditions += [Have.price == price, Have.currency == currency]
    result = session.execute(
        update(Have)
        .where(*conditions)
        .values(reserved=Have.reserved + units)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def hold_all(session: Session, units_by_have: Mapping[int, int]) -> int | None:
    """Hold every copy asked for, or none: returns None when all are held, else
    the id of the first Have that could not give its units (and nothing is held).
    Copies are taken in ascending have id (the lock order)."""
    savepoint = session.begin_nested()
    for have_id in sorted(units_by_have):
        if not hold(session, have_id, units_by_have[have_id]):
            savepoint.rollback()
            return have_id
    savepoint.commit()
    return None


def release(session: Session, have_id: int, units: int = 1) -> bool:
    """Hand held copies back (a closed checkout, a cancelled trade)."""
    result = session.execute(
        update(Have)
        .where(Have.id == have_id, Have.reserved >= units)
        .values(reserved=Have.reserved - units)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def take_held(session: Session, have_id: int, units: int = 1) -> bool:
    """Held copies leave their owner's Haves (sold and paid, or traded away); the
    Have goes when its last copy does."""
    result = session.execute(
        update(Have)
        .where(Have.id == have_id, Have.reserved >= units, Have.quantity > units)
        .values(quantity=Have.quantity - units, reserved=Have.reserved - units)
        .execution_options(synchronize_session=False)
    )
    if _changed(result):
        return True
    result = session.execute(
        delete(Have)
        .where(Have.id == have_id, Have.quantity == units, Have.reserved == units)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def take_free(session: Session, have_id: int, units: int = 1) -> bool:
    """Free copies leave their owner's Haves (a payment that arrived after its
    hold lapsed), only if that many are still free."""
    result = session.execute(
        update(Have)
        .where(Have.id == have_id, Have.quantity - Have.reserved >= units, Have.quantity > units)
        .values(quantity=Have.quantity - units)
        .execution_options(synchronize_session=False)
    )
    if _changed(result):
        return True
    result = session.execute(
        delete(Have)
        .where(Have.id == have_id, Have.quantity == units, Have.reserved == 0)
        .execution_options(synchronize_session=False)
    )
    return _changed(result)


def lock(session: Session, have_ids: Iterable[int]) -> None:
    """Lock these copies in the ledger's order (ascending id) before a change that
    touches several of them one statement at a time (PostgreSQL; SQLite
    serialises writers anyway)."""
    ids = sorted(set(have_ids))
    if ids:
        session.execute(
            select(Have.id).where(Have.id.in_(ids)).order_by(Have.id).with_for_update()
        ).all()


def add_copies(
    session: Session, user_id: int, pin_id: int, condition: Condition, defects: int, units: int
) -> bool:
    """Copies join the collector's Have of that pin, condition and defects, if
    there is one (False otherwise): one statement, so that two trades completing
    into the same Have at once both count."""
    result = session.execute(
        update(Have)
        .where(
            Have.user_id == user_id,
            Have.pin_id == pin_id,
            Have.condition == condition,
            Have.defects == defects,
        )
        .values(quantity=Have.quantity + units)
        .execution_options(synchronize_session="fetch")
    )
    return _changed(result)
