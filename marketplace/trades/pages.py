"""What the trade pages read beyond `queries`: how many trades wait on a collector
(the count in the header, one query), each trade as a card on "My trades", the
copies a collector can put into a swap (tradeable, with copies free), the pins
shown with their pictures, and the copies a swap match names, to start a
proposal from.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from marketplace.catalogue.models import Pin
from marketplace.lists.models import Have
from marketplace.matches.models import Match
from marketplace.trades.models import Trade, TradeItem, TradeParcel, TradeParty

# A swap's form lists this many copies a side; more are better found by narrowing
# the lists than by scrolling a phone through thousands of checkboxes.
MAX_OFFERED = 300


def to_act_count(session: Session, user_id: int) -> int:
    """How many trades wait on this collector (`queries.needs_me`, in SQL)."""
    my_parcel_waits = exists().where(
        TradeParcel.trade_id == Trade.id,
        or_(
            and_(TradeParcel.giver_id == user_id, TradeParcel.shipped_at.is_(None)),
            and_(TradeParcel.receiver_id == user_id, TradeParcel.received_at.is_(None)),
        ),
    )
    query = (
        select(func.count())
        .select_from(Trade)
        .join(TradeParty, and_(TradeParty.trade_id == Trade.id, TradeParty.user_id == user_id))
        .where(
            or_(
                and_(
                    Trade.status == "proposed",
                    or_(
                        TradeParty.accepted_version.is_(None),
                        TradeParty.accepted_version != Trade.version,
                    ),
                ),
                and_(Trade.status == "accepted", my_parcel_waits),
            )
        )
    )
    return session.scalar(query) or 0


@dataclass(frozen=True)
class TradeCard:
    """A trade as a card on "My trades", seen by `viewer_id`."""

    trade: Trade
    others: list[str]
    give: list[TradeItem]
    receive: list[TradeItem]

    @property
    def pin_ids(self) -> set[int]:
        return {i.pin_id for i in (*self.give, *self.receive)}


def cards(trades: Iterable[Trade], viewer_id: int) -> list[TradeCard]:
    result = []
    for trade in trades:
        current = trade.current_items()
        result.append(
            TradeCard(
                trade,
                [p.user.display_name for p in trade.parties if p.user_id != viewer_id],
                [i for i in current if i.giver_id == viewer_id],
                [i for i in current if i.receiver_id == viewer_id],
            )
        )
    return result


def pictures(session: Session, pin_ids: Collection[int]) -> dict[int, Pin]:
    """These pins with their photos, from one query (for `pin_image`)."""
    if not pin_ids:
        return {}
    query = select(Pin).where(Pin.id.in_(sorted(pin_ids))).options(selectinload(Pin.photos))
    return {p.id: p for p in session.scalars(query)}


def offered_copies(
    session: Session, user_id: int, *, include: Collection[int] = ()
) -> tuple[list[Have], bool]:
    """The collector's copies a swap can name: tradeable with a copy free, by
    catalogue reference, and any of `include` (what a form already chose, even if
    it is no longer free, so the page can say so). The flag says the list was cut
    at MAX_OFFERED."""
    offered = and_(Have.tradeable.is_(True), Have.quantity > Have.reserved)
    chosen = Have.id.in_(sorted(include)) if include else None
    query = (
        select(Have)
        .join(Pin, Pin.id == Have.pin_id)
        .where(Have.user_id == user_id, offered if chosen is None else or_(offered, chosen))
        .options(selectinload(Have.pin).selectinload(Pin.photos))
        .order_by(Pin.ref, Have.condition.desc(), Have.id)
    )
    found = list(session.scalars(query.limit(MAX_OFFERED + 1)))
    cut = len(found) > MAX_OFFERED
    if cut:
        found = found[:MAX_OFFERED]
        missing = set(include) - {h.id for h in found}
        if missing:
            found += session.scalars(query.where(Have.id.in_(sorted(missing)))).all()
    return found, cut


def swap_match_copies(
    session: Session, user_id: int, match_id: int, counterpart_id: int
) -> tuple[list[int], list[int]] | None:
    """The copies a swap match of this collector's with `counterpart_id` names: my
    Haves it gives and the counterpart's it receives; None if there is no such
    match of theirs."""
    match = session.scalar(
        select(Match)
        .where(
            Match.id == match_id,
            Match.user_id == user_id,
            Match.kind == "swap",
            Match.counterpart_id == counterpart_id,
        )
        .options(selectinload(Match.items))
    )
    if match is None:
        return None
    give = [i.have_id for i in match.items if i.direction == "give"]
    receive = [i.have_id for i in match.items if i.direction == "receive"]
    return give, receive
