"""Pairwise matching for one collector: two-way swaps and one-way offers.

Owns :func:`two_way_swaps` and :func:`one_way_offers` and their result types.
Both read only through a :class:`~marketplace.matching.model.MarketLookup`
and only what concerns ``me``: my wants → holders of those pins, my tradeable
haves → wants for those pins. So the app can recompute one collector's
matches incrementally from indexed queries when their lists change.

Swaps are ranked lexicographically by

1. coverage — how much of my want list, weighted towards high priority, the
   other collector can fill (priority 1 counts 16, 2 counts 8, … 5 counts 1);
2. balance — min/max of the item counts each way (1.0 is an even swap);
3. condition — mean grade of what I would receive, 0.0 (Poor) … 1.0 (Mint);

and each comes with a :class:`SwapScore` that says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from marketplace.matching.model import (
    CollectorId,
    Condition,
    Have,
    MarketLookup,
    PinId,
    Want,
    _sort_key,
    acceptable,
    candidate_pins,
    pins_held,
)

__all__ = [
    "Offer",
    "OneWayOffer",
    "Swap",
    "SwapItem",
    "SwapScore",
    "one_way_offers",
    "priority_weight",
    "two_way_swaps",
]


def priority_weight(priority: int) -> int:
    """Coverage weight of a want: each priority step doubles it."""
    return 1 << (5 - priority)


@dataclass(frozen=True, slots=True)
class SwapItem:
    """One pin changing hands in a swap, and the want it fills."""

    pin: PinId
    condition: Condition
    giver: CollectorId
    receiver: CollectorId
    want: Want


@dataclass(frozen=True, slots=True)
class SwapScore:
    """Why a swap ranks where it does (plain data for the UI)."""

    coverage: int  # sum of priority weights of my wants filled
    covered_priorities: tuple[int, ...]  # priorities of those wants, best first
    balance: float  # min(in, out) / max(in, out)
    condition: float  # mean grade of pins I receive, 0.0 .. 1.0

    @property
    def rank_key(self) -> tuple[float, float, float]:
        return (-self.coverage, -self.balance, -self.condition)


@dataclass(frozen=True, slots=True)
class Swap:
    """A two-way swap with ``partner``: what I receive and what I give."""

    partner: CollectorId
    receive: tuple[SwapItem, ...]
    give: tuple[SwapItem, ...]
    score: SwapScore


@dataclass(frozen=True, slots=True)
class Offer:
    """A Have of another collector that fills one of my wants."""

    have: Have
    want: Want


@dataclass(frozen=True, slots=True)
class OneWayOffer:
    """Everything one holder has that I want (tradeable or for sale)."""

    holder: CollectorId
    offers: tuple[Offer, ...]

    @property
    def best_priority(self) -> int:
        return min(o.want.priority for o in self.offers)


def _wanted_from_others(
    collector: CollectorId, lookup: MarketLookup, *, tradeable_only: bool
) -> dict[CollectorId, list[Offer]]:
    """For each other collector, the (have, want) pairs that fill
    ``collector``'s wants."""
    mine = pins_held(collector, lookup)
    found: dict[CollectorId, list[Offer]] = {}
    for want in lookup.wants_of(collector):
        for pin in candidate_pins(want, lookup):
            if pin in mine:
                continue
            group = lookup.group_of(pin)
            for have in lookup.holders_of(pin):
                if have.quantity <= 0:
                    continue
                if not (have.tradeable or (have.for_sale and not tradeable_only)):
                    continue
                if acceptable(want, have, group, mine):
                    found.setdefault(have.collector, []).append(Offer(have, want))
    return found


def _assign(
    offers: Iterable[Offer], giver: CollectorId, receiver: CollectorId
) -> tuple[SwapItem, ...]:
    """Pick at most one pin per want and never the same pin twice: best
    priority first, then best condition."""
    ordered = sorted(
        offers,
        key=lambda o: (o.want.priority, -o.have.condition, str(o.have.pin), str(o.want.pin)),
    )
    used_pins: set[PinId] = set()
    used_wants: set[int] = set()
    items: list[SwapItem] = []
    for offer in ordered:
        if offer.have.pin in used_pins or id(offer.want) in used_wants:
            continue
        used_pins.add(offer.have.pin)
        used_wants.add(id(offer.want))
        items.append(SwapItem(offer.have.pin, offer.have.condition, giver, receiver, offer.want))
    return tuple(items)


def score_swap(receive: Sequence[SwapItem], give: Sequence[SwapItem]) -> SwapScore:
    priorities = tuple(sorted(item.want.priority for item in receive))
    n_in, n_out = len(receive), len(give)
    balance = min(n_in, n_out) / max(n_in, n_out) if max(n_in, n_out) else 0.0
    condition = (
        sum(int(item.condition) for item in receive) / (n_in * int(Condition.MINT)) if n_in else 0.0
    )
    return SwapScore(
        coverage=sum(priority_weight(p) for p in priorities),
        covered_priorities=priorities,
        balance=round(balance, 6),
        condition=round(condition, 6),
    )


def two_way_swaps(me: CollectorId, lookup: MarketLookup) -> list[Swap]:
    """Every other collector with whom a two-way swap exists, best first.

    Only tradeable Haves are considered both ways. For each partner the swap
    lists what I would receive (one pin per want of mine, never a pin I
    have) and what I would give (likewise for their wants), ranked by
    :class:`SwapScore`.
    """
    receive_from = _wanted_from_others(me, lookup, tradeable_only=True)
    if not receive_from:
        return []
    # Who wants my tradeable pins: walk my haves to the wants for those pins.
    give_to: dict[CollectorId, list[Offer]] = {}
    held_cache: dict[CollectorId, set[PinId]] = {}
    for have in lookup.haves_of(me):
        if not have.tradeable or have.quantity <= 0:
            continue
        group = lookup.group_of(have.pin)
        for want in lookup.wants_for(have.pin):
            partner = want.collector
            if partner not in receive_from:
                continue
            theirs = held_cache.get(partner)
            if theirs is None:
                theirs = held_cache[partner] = pins_held(partner, lookup)
            if acceptable(want, have, group, theirs):
                give_to.setdefault(partner, []).append(Offer(have, want))

    swaps: list[Swap] = []
    for partner, offers_in in receive_from.items():
        offers_out = give_to.get(partner)
        if not offers_out:
            continue
        receive = _assign(offers_in, partner, me)
        give = _assign(offers_out, me, partner)
        swaps.append(Swap(partner, receive, give, score_swap(receive, give)))
    swaps.sort(key=lambda s: (s.score.rank_key, _sort_key(s.partner)))
    return swaps


def one_way_offers(me: CollectorId, lookup: MarketLookup) -> list[OneWayOffer]:
    """Who holds what I want, tradeable or for sale, best priority first
    (then most offers, then the best condition)."""
    result = []
    for holder, offers in _wanted_from_others(me, lookup, tradeable_only=False).items():
        offers.sort(key=lambda o: (o.want.priority, -o.have.condition, str(o.have.pin)))
        result.append(OneWayOffer(holder, tuple(offers)))
    result.sort(
        key=lambda o: (
            o.best_priority,
            -len(o.offers),
            -max(int(x.have.condition) for x in o.offers),
            _sort_key(o.holder),
        )
    )
    return result
