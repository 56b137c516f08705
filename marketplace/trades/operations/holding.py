"""A trade on the shared reservation ledger: holding every copy of the agreed
terms at once, or none (the last acceptance is one transaction), and handing them
back when the trade is cancelled."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.orm import Session

from marketplace.lists import reservations as ledger
from marketplace.lists.models import Have
from marketplace.trades.models import Trade, TradeItem


def hold_terms(session: Session, trade: Trade) -> TradeItem | None:
    """Hold every copy of the current terms, or none: returns None when all are
    held, else the item whose copy is gone (and nothing is held)."""
    items = trade.current_items()
    gone = next((i for i in items if i.have_id is None), None)
    if gone is not None:
        return gone
    units: dict[int, int] = defaultdict(int)
    for item in items:
        assert item.have_id is not None
        units[item.have_id] += item.quantity
    failed = ledger.hold_all(session, units)
    if failed is not None:
        return next(i for i in items if i.have_id == failed)
    for item in items:
        item.reserved = True
    session.flush()
    return None


def release_terms(session: Session, trade: Trade) -> None:
    """Hand back whatever this trade holds; safe to call twice. In ascending have
    id, the ledger's lock order: released in the terms' order, a cancellation
    deadlocked with an acceptance holding the same copies."""
    for item in sorted(trade.items, key=lambda i: i.have_id or 0):
        if item.reserved and item.have_id is not None:
            ledger.release(session, item.have_id, item.quantity)
        item.reserved = False
    session.flush()


def take_terms(session: Session, trade: Trade) -> None:
    """The held copies leave their givers' Haves (the trade is complete), in
    ascending have id, the ledger's lock order."""
    held = sorted((i.have_id or 0, i.quantity) for i in trade.current_items() if i.reserved)
    for item in trade.current_items():
        item.reserved = False
    session.flush()  # before the Haves may go (an item holding units names its Have)
    for have_id, quantity in held:
        if have_id:
            ledger.take_held(session, have_id, quantity)
            # The ledger changed (or deleted) the row behind the session's back:
            # forget any copy of it, so a new Have reusing the id is not confused.
            stale = session.identity_map.get(session.identity_key(Have, have_id))
            if stale is not None:
                session.expunge(stale)
