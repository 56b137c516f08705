"""The reservation ledger on a listing (a priced Have): holding one copy for an
open checkout, handing it back, and taking it out of the seller's Haves once paid.

Every change is one conditional statement (`quantity - reserved >= 1`, never
read-then-write), so the last copy is sold once on every database; SQLite ignores
`FOR UPDATE`, and these need no lock to be right.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from marketplace.core.models import utcnow
from marketplace.lists.models import Have
from marketplace.orders.models import Order


def reserve_copy(session: Session, have_id: int, price: Decimal, currency: str) -> bool:
    """Hold one copy, only while a copy is free and the price is still the one the
    buyer saw."""
    reserved = session.execute(
        update(Have)
        .where(
            Have.id == have_id,
            Have.quantity - Have.reserved >= 1,
            Have.price == price,
            Have.currency == currency,
        )
        .values(reserved=Have.reserved + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(reserved.rowcount)  # type: ignore[attr-defined]


def close(session: Session, order: Order, status: str, note: str) -> None:
    """pending → expired/cancelled, handing the reserved copy back."""
    if order.holds_reservation and order.have_id is not None:
        session.execute(
            update(Have)
            .where(Have.id == order.have_id, Have.reserved >= 1)
            .values(reserved=Have.reserved - 1)
            .execution_options(synchronize_session=False)
        )
    order.holds_reservation = False
    order.status = status
    order.closed_at = utcnow()
    order.note = note
    session.flush()


def take_reserved_copy(session: Session, order: Order) -> bool:
    """The paid order's reserved copy leaves the seller's Haves."""
    order.holds_reservation = False
    if order.have_id is None:
        return False  # the seller deleted the listing meanwhile
    taken = session.execute(
        update(Have)
        .where(Have.id == order.have_id, Have.reserved >= 1, Have.quantity > 1)
        .values(quantity=Have.quantity - 1, reserved=Have.reserved - 1)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        taken = session.execute(
            delete(Have)
            .where(Have.id == order.have_id, Have.quantity == 1, Have.reserved == 1)
            .execution_options(synchronize_session=False)
        )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def take_free_copy(session: Session, order: Order) -> bool:
    """A payment that arrived after its reservation lapsed: it gets a copy only
    if one is still free."""
    if order.have_id is None:
        return False
    taken = session.execute(
        update(Have)
        .where(Have.id == order.have_id, Have.quantity - Have.reserved >= 1, Have.quantity > 1)
        .values(quantity=Have.quantity - 1)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        taken = session.execute(
            delete(Have)
            .where(Have.id == order.have_id, Have.quantity == 1, Have.reserved == 0)
            .execution_options(synchronize_session=False)
        )
    return bool(taken.rowcount)  # type: ignore[attr-defined]
