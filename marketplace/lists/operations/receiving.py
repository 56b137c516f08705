"""Copies a collector received — bought and delivered, or traded — join their
Haves, not for trade (they were wanted), and the Wants they fill close."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.catalogue.models import Pin
from marketplace.lists import reservations as ledger
from marketplace.lists.models import Condition, Have, Want
from marketplace.lists.operations.changes import note_list_change


def receive_copies(
    session: Session,
    user_id: int,
    pin_id: int,
    quantity: int,
    condition: Condition,
    *,
    defects: int = 0,
    note: str | None = None,
) -> None:
    """Add the copies to the collector's Have of that pin in that condition (a new
    Have, not for trade, if there is none), close each Want of the pin or of its
    variant group whose lowest acceptable condition they meet, and tell matching."""
    # Added in one statement, never read and written back: two trades or orders
    # completing into one Have at once must each count.
    if not ledger.add_copies(session, user_id, pin_id, condition, defects, quantity):
        try:
            with session.begin_nested():
                session.add(
                    Have(user_id=user_id, pin_id=pin_id, quantity=quantity, condition=condition,
                         defects=defects, tradeable=False, notes=note)
                )  # fmt: skip
        except IntegrityError:
            # Another completion made that Have at the same moment: join it.
            if not ledger.add_copies(session, user_id, pin_id, condition, defects, quantity):
                raise
    pin = session.get(Pin, pin_id)
    filled = Want.pin_id == pin_id
    if pin is not None and pin.variant_group:
        filled = or_(Want.pin_id == pin_id, Want.variant_group == pin.variant_group)
    closed_groups = []
    for want in session.scalars(select(Want).where(Want.user_id == user_id, filled)):
        if want.min_condition is None or condition >= want.min_condition:
            if want.variant_group:
                closed_groups.append(want.variant_group)
            session.delete(want)
    session.flush()
    note_list_change(
        session, user_id, have_pins=[pin_id], want_pins=[pin_id], want_groups=closed_groups
    )
