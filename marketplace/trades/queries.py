"""Reading trades for the pages and the API: a collector's trades sorted into
"to act on", "open" and "finished", and one trade as a given party sees it — the
terms of every version, who has answered, which copies are no longer free, the
parcels, the actions open to them, and the address of each parcel they post (and
only those: an address is shown to whoever ships to it, for that trade, once it is
agreed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import get_locale
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import address_lines
from marketplace.catalogue.titles import display_title
from marketplace.core.pagination import Page
from marketplace.lists.models import Defect, Have
from marketplace.trades.models import LIVE_STATUSES, Trade, TradeItem, TradeParty

SHOWS_ADDRESSES = ("accepted", "disputed", "completed")
GROUPS = ("act", "open", "finished")
MAX_LISTED = 200


def needs_me(trade: Trade, user_id: int) -> bool:
    """Whether the trade waits on this collector."""
    party = trade.party(user_id)
    if party is None:
        return False
    if trade.status == "proposed":
        return party.accepted_version != trade.version
    if trade.status == "accepted":
        return any(
            (p.giver_id == user_id and p.shipped_at is None)
            or (p.receiver_id == user_id and p.received_at is None)
            for p in trade.parcels
        )
    return False


NEWEST = (Trade.updated_at.desc(), Trade.id.desc())
# What a trade card shows: its parties, its pins and its parcels.
_CARD = (
    selectinload(Trade.parties).selectinload(TradeParty.user),
    selectinload(Trade.items).selectinload(TradeItem.pin),
    selectinload(Trade.parcels),
)


def _mine(user_id: int) -> Select[Any]:
    return (
        select(Trade)
        .join(TradeParty, TradeParty.trade_id == Trade.id)
        .where(TradeParty.user_id == user_id)
    )


def my_trades(session: Session, user_id: int) -> dict[str, list[Trade]]:
    """The collector's trades, newest first, in GROUPS."""
    trades = session.scalars(
        _mine(user_id).order_by(*NEWEST).limit(MAX_LISTED).options(*_CARD)
    ).all()
    groups: dict[str, list[Trade]] = {g: [] for g in GROUPS}
    for trade in trades:
        if needs_me(trade, user_id):
            groups["act"].append(trade)
        elif trade.status in LIVE_STATUSES:
            groups["open"].append(trade)
        else:
            groups["finished"].append(trade)
    return groups


@dataclass
class ItemView:
    item: TradeItem
    giver: str
    receiver: str
    available: bool  # (while proposed) the copy is still there and free in that quantity


@dataclass
class VersionView:
    number: int
    author: str | None
    note: str
    created_at: datetime
    items: list[ItemView]


@dataclass
class ParcelView:
    giver_id: int
    receiver_id: int
    giver: str
    receiver: str
    tracking: str | None
    shipped_at: datetime | None
    received_at: datetime | None
    items: list[ItemView]
    address: list[str] = field(default_factory=list)  # only for its giver


@dataclass
class TradeView:
    trade: Trade
    viewer_id: int
    names: dict[int, str]
    versions: list[VersionView]
    parcels: list[ParcelView]
    actions: list[str]
    waiting_for: list[str]

    @property
    def current(self) -> VersionView:
        return self.versions[-1]

    @property
    def gone(self) -> list[ItemView]:
        return [i for i in self.current.items if not i.available]


def view(session: Session, trade: Trade, viewer_id: int) -> TradeView:
    names = {p.user_id: p.user.display_name for p in trade.parties}
    free = _free_copies(session, trade)

    def item_view(item: TradeItem) -> ItemView:
        ok = (
            item.reserved
            or trade.status != "proposed"
            or (item.have_id is not None and free.get(item.have_id, 0) >= item.quantity)
        )
        return ItemView(item, names.get(item.giver_id, "?"), names.get(item.receiver_id, "?"), ok)

    versions = [
        VersionView(
            v.number,
            names.get(v.author_id) if v.author_id else None,
            v.note,
            v.created_at,
            [item_view(i) for i in trade.items if i.version == v.number],
        )
        for v in trade.versions
    ]
    ship_to = {p.user_id: p.ship_to for p in trade.parties}
    parcels = []
    for parcel in trade.parcels:
        items = [
            item_view(i)
            for i in trade.current_items()
            if i.giver_id == parcel.giver_id and i.receiver_id == parcel.receiver_id
        ]
        shown = parcel.giver_id == viewer_id and trade.status in SHOWS_ADDRESSES
        parcels.append(
            ParcelView(
                parcel.giver_id, parcel.receiver_id, names.get(parcel.giver_id, "?"),
                names.get(parcel.receiver_id, "?"), parcel.tracking, parcel.shipped_at,
                parcel.received_at, items,
                address_lines(ship_to.get(parcel.receiver_id)) if shown else [],
            )
        )  # fmt: skip
    waiting = [names[p.user_id] for p in trade.parties if p.accepted_version != trade.version]
    return TradeView(
        trade, viewer_id, names, versions, parcels, actions_for(trade, viewer_id),
        waiting if trade.status == "proposed" else [],
    )  # fmt: skip


def actions_for(trade: Trade, user_id: int) -> list[str]:
    """What this party may do now (the API's action names)."""
    party = trade.party(user_id)
    if party is None:
        return []
    if trade.status == "proposed":
        mine = party.accepted_version == trade.version
        if trade.kind == "ring":
            return ["decline"] if mine else ["accept", "decline"]
        return ["counter", "cancel"] if mine else ["accept", "counter", "decline"]
    if trade.status == "accepted":
        shipped = any(p.shipped_at is not None for p in trade.parcels)
        actions = []
        if any(p.giver_id == user_id and p.shipped_at is None for p in trade.parcels):
            actions.append("ship")
        if any(p.receiver_id == user_id and p.received_at is None for p in trade.parcels):
            actions.append("receive")
        actions.append("dispute" if shipped else "cancel")
        return actions
    return []


def _free_copies(session: Session, trade: Trade) -> dict[int, int]:
    ids = {i.have_id for i in trade.current_items() if i.have_id is not None}
    if not ids:
        return {}
    rows = session.execute(
        select(Have.id, Have.quantity - Have.reserved).where(Have.id.in_(ids))
    ).all()
    return {have_id: int(free) for have_id, free in rows}


def trades_page(
    session: Session, user_id: int, group: str, page: int, per_page: int
) -> Page[Trade]:
    """One page of the collector's trades in `group`, newest first. "act" and "open"
    are sorted among live trades as the trades page sorts them (queries.needs_me);
    "finished" and "all" are counted and paged by the database, however many."""
    mine = _mine(user_id)
    shape = (*_CARD, selectinload(Trade.versions))
    newest = NEWEST
    start = (page - 1) * per_page
    if group in ("act", "open"):
        live = session.scalars(
            mine.where(Trade.status.in_(LIVE_STATUSES)).order_by(*newest).options(*shape)
        ).all()
        wanted = group == "act"
        chosen = [t for t in live if needs_me(t, user_id) is wanted]
        return Page(chosen[start : start + per_page], len(chosen), page, per_page)
    if group == "finished":
        mine = mine.where(Trade.status.not_in(LIVE_STATUSES))
    total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    if start >= total:  # also keeps an absurd page number away from OFFSET
        return Page([], total, page, per_page)
    items = session.scalars(
        mine.order_by(*newest).offset(start).limit(per_page).options(*shape)
    ).all()
    return Page(items, total, page, per_page)


# -- the API's shapes ------------------------------------------------------------------


def item_dict(iv: ItemView) -> dict[str, Any]:
    item = iv.item
    return {
        "have_id": item.have_id,
        "pin_id": item.pin_id,
        "pin_ref": item.pin.ref if item.pin else None,
        "pin_title": display_title(item.pin, get_locale()) if item.pin else None,
        "condition": item.condition.slug,
        "defects": [d.slug for d in Defect if item.defects & d],
        "quantity": item.quantity,
        "giver_id": item.giver_id,
        "receiver_id": item.receiver_id,
        "reserved": item.reserved,
        "available": iv.available,
    }


def trade_dict(tv: TradeView, *, full: bool = True) -> dict[str, Any]:
    trade = tv.trade
    data: dict[str, Any] = {
        "id": trade.id,
        "kind": trade.kind,
        "status": trade.status,
        "version": trade.version,
        "created_at": trade.created_at,
        "expires_at": trade.expires_at,
        "accepted_at": trade.accepted_at,
        "completed_at": trade.completed_at,
        "close_reason": trade.close_reason,
        "parties": [
            {
                "user_id": p.user_id,
                "display_name": tv.names.get(p.user_id, "?"),
                "accepted": p.accepted_version == trade.version,
                "ships_first": p.ships_first,
            }
            for p in trade.parties
        ],
        "items": [item_dict(i) for i in tv.current.items],
        "waiting_for": tv.waiting_for,
        "actions": tv.actions,
    }
    if not full:
        return data
    data["versions"] = [
        {
            "number": v.number,
            "author": v.author,
            "note": v.note,
            "created_at": v.created_at,
            "items": [item_dict(i) for i in v.items],
        }
        for v in tv.versions
    ]
    data["parcels"] = [
        {
            "giver_id": p.giver_id,
            "receiver_id": p.receiver_id,
            "tracking": p.tracking,
            "shipped_at": p.shipped_at,
            "received_at": p.received_at,
            "ship_to": p.address or None,
        }
        for p in tv.parcels
    ]
    data["history"] = [
        {
            "action": e.action,
            "user": tv.names.get(e.user_id) if e.user_id else None,
            "version": e.version,
            "detail": e.detail,
            "at": e.created_at,
        }
        for e in trade.events
    ]
    return data


def shows_have(session: Session, viewer_id: int, have_id: int) -> bool:
    """Whether the copy is in a trade, in any version, that the collector is a
    party to (so its photos are theirs to see)."""
    found = session.scalar(
        select(TradeItem.id)
        .join(TradeParty, TradeParty.trade_id == TradeItem.trade_id)
        .where(TradeItem.have_id == have_id, TradeParty.user_id == viewer_id)
        .limit(1)
    )
    return found is not None
