"""Rings within a minute of a list change: after a collector's lists change, the
short rings (three collectors up to the cycle cap) through that collector, found
in a small market around them and stored as ring proposals and cycle matches —
shown and mailed like the nightly solve's, which still chooses the optimal set of
rings to propose (a fresh ring it does not choose again is superseded).

The neighbourhood: collectors who want a copy this collector can give (takers)
and collectors who hold a copy this collector wants (holders), those reached
through the pins that just changed first, and of them only the (taker, holder)
pairs where the holder wants something the taker has: the third side of a ring.
Every bound is a count, so the same lists give the same rings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, Select, select, true, union
from sqlalchemy.orm import Session

from marketplace.accounts.blocks import any_blocked, blocked_either_way
from marketplace.catalogue.models import Pin
from marketplace.core.models import utcnow
from marketplace.lists.models import Have, Want
from marketplace.matches.solve import cycle_rows, load_market, propose_ring
from marketplace.matches.store import Wanted, store
from marketplace.matching.market import build_market
from marketplace.matching.nearby import choose_rings, rings_through

NEIGHBOURS = 400  # takers and holders read around the collector, each
PAIRS = 60  # (taker, holder) pairs whose lists the search loads
KEEP = 3  # rings stored per search: a few good ones, never a flood of mail


@dataclass(frozen=True, slots=True)
class FreshRings:
    """What one search found and stored."""

    candidates: int  # collectors in the small market
    loops: int  # loops found through the collector
    stored: int  # rings stored (new or found again)
    complete: bool  # False if a bound cut the search short


def _free_copies(user_id: int) -> object:
    return select(Have.pin_id).where(
        Have.user_id == user_id, Have.tradeable, Have.quantity > Have.reserved
    )


def _wanted_pins(user_id: int) -> object:
    exact = select(Want.pin_id).where(Want.user_id == user_id, Want.pin_id.is_not(None))
    groups = select(Want.variant_group).where(
        Want.user_id == user_id, Want.variant_group.is_not(None)
    )
    return union(exact, select(Pin.id).where(Pin.variant_group.in_(groups)))


def _wanters(session: Session, me: int, pins: object, excluded: set[int]) -> list[int]:
    """Collectors wanting any of `pins` (exactly or as any variant), by id."""
    exact = select(Want.user_id).where(Want.pin_id.in_(pins))  # type: ignore[arg-type]
    by_group = (
        select(Want.user_id)
        .join(Pin, Pin.variant_group == Want.variant_group)
        .where(Pin.id.in_(pins))  # type: ignore[arg-type]
    )
    who = union(exact, by_group).subquery().c[0]
    query = select(who).distinct().order_by(who)
    found = [int(u) for u in session.scalars(query.limit(NEIGHBOURS + len(excluded) + 1))]
    return [u for u in found if u != me and u not in excluded][:NEIGHBOURS]


def _holders(session: Session, me: int, pins: object, excluded: set[int]) -> list[int]:
    """Collectors holding a free, tradeable copy of any of `pins`, by id."""
    limit = NEIGHBOURS + len(excluded) + 1
    free = (Have.tradeable, Have.quantity > Have.reserved)
    postgresql = session.get_bind().dialect.name == "postgresql"
    if postgresql and isinstance(pins, Select | CompoundSelect):
        # Per pin, only its first `limit` holders by id (an index walk that stops):
        # the first `limit` holders overall are among them, since each is among
        # the first of every pin it holds. Listing every holder of every pin a
        # collector wants instead: 173 → 122 ms a search (mean of 12, 100,000
        # collectors); SQLite has no LATERAL and keeps the plain query.
        wanted = pins.subquery()
        first = (
            select(Have.user_id)
            .where(Have.pin_id == wanted.c[0], *free)
            .distinct()
            .order_by(Have.user_id)
            .limit(limit)
            .lateral()
        )
        query = (
            select(first.c.user_id)
            .select_from(wanted.join(first, true()))
            .distinct()
            .order_by(first.c.user_id)
        )
    else:
        query = (
            select(Have.user_id)
            .where(Have.pin_id.in_(pins), *free)  # type: ignore[arg-type]
            .distinct()
            .order_by(Have.user_id)
        )
    found = [int(u) for u in session.scalars(query.limit(limit))]
    return [u for u in found if u != me and u not in excluded][:NEIGHBOURS]


def _first(changed: list[int], rest: list[int]) -> list[int]:
    seen = set(changed)
    return (changed + [u for u in rest if u not in seen])[:NEIGHBOURS]


def _closing_pairs(session: Session, takers: Sequence[int], holders: Sequence[int]) -> list[int]:
    """Collectors of the (taker, holder) pairs where the holder wants a free copy
    the taker has: each such pair closes a three-collector ring. In pair order:
    by the sum of the two's places in the neighbourhood, the first PAIRS pairs.

    The pairs are looked for among the first `k` places only, `k` doubling until
    PAIRS of them are known to come first: every pair whose places add up to
    less than `k` lies within the first `k` of both lists. A neighbourhood of big
    collections is dense with pairs, and joining all 400 × 400 lists at once read
    every Have and Want of theirs (2.1 s a search at 100,000 collectors)."""
    if not takers or not holders:
        return []
    rank = {u: n for n, u in enumerate(takers)} | {
        u: n for n, u in enumerate(holders) if u not in takers
    }
    k = 16
    while True:
        near_takers = list(takers[:k])
        near_holders = [h for h in holders if rank[h] < k]
        found = sorted(
            _pairs(session, near_takers, near_holders), key=lambda p: (rank[p[0]] + rank[p[1]], p)
        )
        settled = [p for p in found if rank[p[0]] + rank[p[1]] < k]
        if len(settled) >= PAIRS or k >= max(len(takers), len(holders)):
            break
        k *= 2
    members: list[int] = []
    for taker, holder in (settled if len(settled) >= PAIRS else found)[:PAIRS]:
        members.extend(u for u in (taker, holder) if u not in members and taker != holder)
    return members


def _pairs(session: Session, takers: Sequence[int], holders: Sequence[int]) -> set[tuple[int, int]]:
    """(taker, holder) pairs among these where the holder wants a free copy the
    taker has, exactly or as any variant."""
    if not takers or not holders:
        return set()
    gives = (
        select(Have.user_id.label("taker"), Want.user_id.label("holder"))
        .join(Want, Want.pin_id == Have.pin_id)
        .where(Have.user_id.in_(takers), Want.user_id.in_(holders))
    )
    gives_any = (
        select(Have.user_id.label("taker"), Want.user_id.label("holder"))
        .join(Pin, Pin.id == Have.pin_id)
        .join(Want, Want.variant_group == Pin.variant_group)
        .where(Have.user_id.in_(takers), Want.user_id.in_(holders))
    )
    free = (Have.tradeable, Have.quantity > Have.reserved)
    pairs = union(gives.where(*free), gives_any.where(*free)).subquery()
    return {(int(t), int(h)) for t, h in session.execute(select(pairs.c.taker, pairs.c.holder))}


def find_rings_through(
    session: Session,
    user_id: int,
    *,
    cap: int,
    ring_days: int,
    have_pins: Iterable[int] = (),
    want_pins: Iterable[int] = (),
) -> FreshRings:
    """Search for rings through `user_id` and store the best few (see module)."""
    if cap < 3:
        return FreshRings(0, 0, 0, True)
    excluded = blocked_either_way(session, user_id)
    changed_haves, changed_wants = sorted(set(have_pins)), sorted(set(want_pins))
    takers = _first(
        _wanters(session, user_id, changed_haves, excluded) if changed_haves else [],
        _wanters(session, user_id, _free_copies(user_id), excluded),
    )
    holders = _first(
        _holders(session, user_id, changed_wants, excluded) if changed_wants else [],
        _holders(session, user_id, _wanted_pins(user_id), excluded),
    )
    members = _closing_pairs(session, takers, holders)
    if not members:
        return FreshRings(0, 0, 0, True)
    everyone = sorted({user_id, *members})
    market = build_market(everyone, load_market(session, everyone))
    search = rings_through(market, everyone.index(user_id), cap)
    rings = [
        ring
        for ring in choose_rings(market, search.loops, len(search.loops))
        if not any_blocked(session, [int(c) for c in ring.collectors])
    ][:KEEP]
    now = utcnow()
    wanted: list[Wanted] = []
    for ring in rings:
        proposal = propose_ring(session, None, ring, now, ring_days)
        wanted.extend(cycle_rows(proposal, ring))
    store(session, wanted, now)
    return FreshRings(len(everyone), len(search.loops), len(rings), search.complete)
