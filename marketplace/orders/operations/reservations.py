"""Orders on the shared reservation ledger (`marketplace.lists.reservations`):
holding one copy of a listing for an open checkout, handing it back, and taking it
out of the seller's Haves once paid. The ledger is the same one trades use, so a
copy held by a trade cannot be bought, nor one held by a checkout traded.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from marketplace.core.models import utcnow
from marketplace.lists import reservations as ledger
from marketplace.orders.models import Order


def reserve_copy(session: Session, have_id: int, price: Decimal, currency: str) -> bool:
    """Hold one copy, only while a copy is free and the price is still the one the
    buyer saw."""
    return ledger.hold(session, have_id, 1, price=price, currency=currency)


def close(session: Session, order: Order, status: str, note: str) -> None:
    """pending → expired/cancelled, handing the reserved copy back."""
    if order.holds_reservation and order.have_id is not None:
        ledger.release(session, order.have_id, 1)
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
    return ledger.take_held(session, order.have_id, 1)


def take_free_copy(session: Session, order: Order) -> bool:
    """A payment that arrived after its reservation lapsed: it gets a copy only
    if one is still free."""
    if order.have_id is None:
        return False
    return ledger.take_free(session, order.have_id, 1)
