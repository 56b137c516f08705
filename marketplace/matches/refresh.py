"""Keeping one collector's two-way swaps and one-way offers up to date as lists
change, within the limits on how many are kept (`MatchLimits`; `caps` applies them).

* `refresh_collector` recomputes one collector's swaps and offers from the pins
  that collector's lists touch (never a scan of everybody), upserts both sides of
  every swap, turns vanished matches inactive and applies the caps again to me and
  to every partner;
* `refresh_changes` recomputes only what one list change can affect, then applies
  the caps again to everybody it touched;
* `refresh_after_change` is what the refresh task runs for one list-change event.

The limits (`MatchLimits`) come from the app's configuration: the best
`swap_limit` two-way swaps and `offer_limit` one-way offers are stored per
collector (the rest is noise, and a popular collector must not rewrite thousands
of rows on every list change); SQL shortlists `shortlist` times as many
candidates by an upper bound of the engine's rank, and the engine ranks those.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from marketplace.accounts.reputation import standings
from marketplace.catalogue.models import Pin
from marketplace.core.models import utcnow
from marketplace.matches.caps import apply_caps, partner_room
from marketplace.matches.market import DEFAULT_PROBES, RowHave, RowWant, SqlMarket, chunks
from marketplace.matches.models import Match
from marketplace.matches.scoring import Terms, offer_terms, swap_terms
from marketplace.matches.shortlists import (
    changed_candidates,
    offer_holders,
    plan_per_call,
    swap_partners,
)
from marketplace.matches.store import Outcome, Wanted, item_refs, store
from marketplace.matching import model as engine
from marketplace.matching.pairwise import (
    Offer,
    OneWayOffer,
    Swap,
    SwapItem,
    one_way_offers,
    score_swap,
    two_way_swaps,
)

T = TypeVar("T")
Reputations = dict[int, float]  # collector → `Standing.score`
Keep = Callable[[list[T], Callable[[T], float]], list[T]]  # (best first, its score) → kept


@dataclass(frozen=True, slots=True)
class MatchLimits:
    """How much a refresh keeps and reads; app config keys MATCH_SWAP_LIMIT,
    MATCH_OFFER_LIMIT, MATCH_SHORTLIST and MATCH_PROBES (see `SqlMarket`)."""

    swap_limit: int = 50
    offer_limit: int = 50
    shortlist: int = 2
    probes: int = DEFAULT_PROBES

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MatchLimits:
        default = cls()
        return cls(
            swap_limit=int(config.get("MATCH_SWAP_LIMIT", default.swap_limit)),
            offer_limit=int(config.get("MATCH_OFFER_LIMIT", default.offer_limit)),
            shortlist=int(config.get("MATCH_SHORTLIST", default.shortlist)),
            probes=int(config.get("MATCH_PROBES", default.probes)),
        )


_ACTIVE = select(
    Match.id, Match.user_id, Match.kind, Match.key, Match.counterpart_id, Match.score
).where(
    or_(
        (Match.user_id == bindparam("me")) & Match.kind.in_(("swap", "offer")),
        (Match.counterpart_id == bindparam("me")) & (Match.kind == "swap"),
    ),
    Match.active.is_(True),
)


def _active_matches(session: Session, user_id: int) -> list[Any]:
    """The active rows a refresh of `user_id` answers for: my swaps and offers, and
    the other side of my swaps (their rows naming me)."""
    return list(session.connection().execute(_ACTIVE, {"me": user_id}))


def refresh_collector(
    session: Session, user_id: int, limits: MatchLimits = MatchLimits()
) -> Outcome:
    """Recompute one collector's swaps (both sides) and offers, and store them.

    SQL shortlists the candidates (`swap_partners`, `offer_holders`); the engine
    reads only their rows for the pins concerned, ranks them exactly, and the best
    swaps and offers are stored. A swap no longer among the best turns inactive on
    both sides, like one that vanished; so does a partner's worst swap that a new
    one with me pushes past their cap. A swap the partner's cap would not keep is
    not stored, and does not count among my best."""
    now = utcnow()
    plan_per_call(session)
    partners = swap_partners(session, user_id, limits.shortlist * limits.swap_limit)
    holders = offer_holders(session, user_id, limits.offer_limit + len(partners))
    lookup = SqlMarket(session, user_id, limits.probes)
    lookup.restrict(holders={*partners, *holders}, wanters=partners)
    wanted = _wanted_rows(
        session, user_id, lookup, limits.swap_limit,
        lambda s, _: s[: limits.swap_limit], lambda o, _: o[: limits.offer_limit],
    )  # fmt: skip
    active = [(r.id, r.user_id, r.kind, r.key) for r in _active_matches(session, user_id)]
    outcome = store(session, wanted, now, active)
    _apply_caps(session, user_id, wanted, now, outcome, limits)
    return outcome


class _Copies:
    """The Have row behind each swap item (a SwapItem keeps the giver, pin and
    condition, not the row)."""

    def __init__(self, haves: Iterable[engine.Have]) -> None:
        self.haves: dict[tuple[Any, Any, Any], engine.Have] = {}
        for have in haves:
            if have.tradeable and have.quantity > 0:
                self.haves.setdefault((have.collector, have.pin, have.condition), have)

    def swap_item(self, item: SwapItem) -> tuple[int, int, int]:
        return rows_of(self.haves[(item.giver, item.pin, item.condition)], item.want)


def rows_of(have: engine.Have, want: engine.Want) -> tuple[int, int, int]:
    """(have, want, pin) row ids behind an engine pairing."""
    assert isinstance(have, RowHave) and isinstance(want, RowWant)
    return have.have_id, want.want_id, int(have.pin)


def _swap_rows(me: int, swap: Swap, copies: _Copies, reputation: Reputations) -> list[Wanted]:
    receive = [copies.swap_item(i) for i in swap.receive]
    give = [copies.swap_item(i) for i in swap.give]
    partner = int(swap.partner)
    mine = swap_terms(swap.score, reputation[partner])
    return [
        Wanted(me, "swap", f"swap:{partner}", partner, item_refs(receive, give), mine),
        Wanted(partner, "swap", f"swap:{me}", me, item_refs(give, receive),
               _their_terms(me, swap, reputation)),
    ]  # fmt: skip


def _their_terms(me: int, swap: Swap, reputation: Reputations) -> Terms:
    """The same swap seen from the partner's side, with my reputation."""
    return swap_terms(score_swap(swap.give, swap.receive), reputation[me])


def _wanted_rows(
    session: Session,
    user_id: int,
    lookup: SqlMarket,
    swap_limit: int,
    keep_swaps: Keep[Swap],
    keep_offers: Keep[OneWayOffer],
) -> list[Wanted]:
    """The engine's swaps (both sides) and offers for `user_id` on `lookup`, best
    first by their score with the counterpart's reputation and as many as
    `keep_swaps` / `keep_offers` keep (given that score), as rows to store. Swaps
    the partner's cap (`swap_limit`) would turn away are left out before choosing.
    A kept swap partner's pins are shown in the swap; offers are the other holders
    (and priced copies within my maximum price)."""
    found = one_way_offers(user_id, lookup)
    limits = lookup.price_limits
    every = two_way_swaps(user_id, lookup)
    # Every counterpart's standing (and mine, for their side of a swap) in one query.
    reputation = {
        i: s.score
        for i, s in standings(
            session, [user_id, *(int(s.partner) for s in every), *(int(o.holder) for o in found)]
        ).items()
    }

    def swap_score(swap: Swap) -> float:
        return swap_terms(swap.score, reputation[int(swap.partner)]).score

    room = partner_room(session, user_id, [int(s.partner) for s in every], swap_limit)
    every = [
        s for s in every
        if (r := room.get(int(s.partner))) is None
        or r.admits(_their_terms(user_id, s, reputation).score, user_id)
    ]  # fmt: skip

    def offer_score(offer: OneWayOffer) -> float:
        return offer_terms(offer, reputation[int(offer.holder)]).score

    # Stable: the engine's order stays between equal scores.
    swaps = keep_swaps(sorted(every, key=lambda s: -swap_score(s)), swap_score)
    kept_partners = {swap.partner for swap in swaps}
    offers = []
    for o in found:
        kept = tuple(x for x in o.offers if _within(x, limits))
        if kept and o.holder not in kept_partners:
            offers.append(OneWayOffer(o.holder, kept))
    offers = keep_offers(sorted(offers, key=lambda o: -offer_score(o)), offer_score)
    wanted: list[Wanted] = []
    if swaps:
        copies = _Copies([*lookup.haves_of(user_id), *(x.have for o in found for x in o.offers)])
        for swap in swaps:
            wanted.extend(_swap_rows(user_id, swap, copies, reputation))
    for offer in offers:
        holder = int(offer.holder)
        items = item_refs(rows_of(x.have, x.want) for x in offer.offers)
        terms = offer_terms(offer, reputation[holder])
        wanted.append(Wanted(user_id, "offer", f"offer:{holder}", holder, items, terms))
    return wanted


def refresh_after_change(
    session: Session,
    user_id: int,
    *,
    limits: MatchLimits = MatchLimits(),
    have_pins: Sequence[int] | None = None,
    want_pins: Sequence[int] | None = None,
    want_groups: Sequence[str] | None = None,
    full: bool = False,
) -> Outcome:
    """What the refresh task runs for one list-change event, given the event's
    payload: the incremental `refresh_changes` when it says what changed
    (`have_pins`, `want_pins`, `want_groups`), else the full `refresh_collector`
    (`full`, or an event with just the user id)."""
    if full or (have_pins is None and want_pins is None and want_groups is None):
        return refresh_collector(session, user_id, limits)
    return refresh_changes(
        session, user_id, have_pins or (), want_pins or (), want_groups or (), limits=limits
    )


def refresh_changes(
    session: Session,
    user_id: int,
    have_pins: Iterable[int] = (),
    want_pins: Iterable[int] = (),
    want_groups: Iterable[str] = (),
    *,
    limits: MatchLimits = MatchLimits(),
) -> Outcome:
    """Refresh only what one list change of `user_id` can affect.

    * Changed Wants (pins, variant groups; and changed Haves of pins I want,
      since nobody receives a pin they have): the holders of those pins;
    * changed Haves: the wanters of those pins.

    Each such counterpart's swap with me is recomputed exactly for the pair (the
    engine on my rows and theirs for the pins concerned), and my offer from them;
    both sides are upserted, pairs that no longer match turn inactive, and the caps
    (`limits`) are applied again to me and to every counterpart touched: a match
    pushed out turns inactive (both sides of a swap). Popular pins: at most
    shortlist * swap_limit new counterparts per change kind, best first by the
    shortlist's ranking (`changed_candidates`); those already matched with me
    always count.

    As with `refresh_collector`, other collectors' offers are recomputed only when
    their own lists change: my new Have does not add an offer to a wanter's list.
    """
    now = utcnow()
    plan_per_call(session)
    haves = sorted({int(p) for p in have_pins})
    lookup = SqlMarket(session, user_id, limits.probes)
    groups = sorted({str(g) for g in want_groups})
    changed_wants = {int(p) for p in want_pins}
    for names in chunks(groups):
        changed_wants.update(session.scalars(select(Pin.id).where(Pin.variant_group.in_(names))))
    # A Have of a pin I want changes what others can give me too.
    changed_wants.update(lookup.wanted_pins().intersection(haves))

    current = _active_matches(session, user_id)
    existing = sorted(
        {int(r.counterpart_id) for r in current if r.user_id == user_id and r.counterpart_id}
        | {int(r.user_id) for r in current if r.user_id != user_id}
    )
    fresh = limits.shortlist * limits.swap_limit
    affected = changed_candidates(session, user_id, haves, sorted(changed_wants), existing, fresh)
    if not affected:
        return Outcome()
    lookup.restrict(holders=affected, wanters=affected)
    # Store only what makes my best swaps / offers beside the matches the change
    # does not touch (a popular pin must not write hundreds of rows).
    kept: dict[str, list[tuple[float, int]]] = {"swap": [], "offer": []}
    for r in current:
        if r.user_id == user_id and r.counterpart_id not in affected:
            kept[r.kind].append((float(r.score), int(r.counterpart_id or 0)))

    def best(kind: str, limit: int, found: list[T], score: Callable[[T], float]) -> list[T]:
        ranked = sorted(
            [(-v, c, None) for v, c in kept[kind]]
            + [(-score(x), n, x) for n, x in enumerate(found)],
            key=lambda r: (r[0], r[2] is None, r[1]),
        )
        return [x for *_, x in ranked[:limit] if x is not None]

    def keep_swaps(swaps: list[Swap], score: Callable[[Swap], float]) -> list[Swap]:
        return best("swap", limits.swap_limit, swaps, score)

    def keep_offers(
        offers: list[OneWayOffer], score: Callable[[OneWayOffer], float]
    ) -> list[OneWayOffer]:
        return best("offer", limits.offer_limit, offers, score)

    wanted = _wanted_rows(session, user_id, lookup, limits.swap_limit, keep_swaps, keep_offers)
    active = [
        (r.id, r.user_id, r.kind, r.key)
        for r in current
        if (r.counterpart_id in affected if r.user_id == user_id else r.user_id in affected)
    ]
    outcome = store(session, wanted, now, active)
    _apply_caps(session, user_id, wanted, now, outcome, limits)
    return outcome


def _apply_caps(
    session: Session,
    user_id: int,
    wanted: Iterable[Wanted],
    now: datetime,
    outcome: Outcome,
    limits: MatchLimits,
) -> None:
    """The caps again for `user_id` and every partner a swap was stored with."""
    partners = sorted({w.user_id for w in wanted if w.kind == "swap" and w.user_id != user_id})
    apply_caps(
        session, user_id, partners, now, outcome,
        swap_limit=limits.swap_limit, offer_limit=limits.offer_limit,
    )  # fmt: skip


def _within(offer: Offer, limits: dict[int, tuple[Any, Any]]) -> bool:
    have, want = offer.have, offer.want
    if have.tradeable or not isinstance(have, RowHave) or have.price is None:
        return True
    assert isinstance(want, RowWant)
    limit = limits.get(want.want_id)
    if limit is None or limit[1] != have.currency:
        return True
    return Decimal(have.price) <= Decimal(limit[0])
