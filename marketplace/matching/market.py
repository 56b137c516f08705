"""Global solve for the pin market: the whole population's trade cycles.

Owns the reduction of Haves and Wants to an
:class:`~marketplace.matching.exchange.ExchangeGraph` (an agent per collector,
a give-slot per tradeable Have with its quantity, a want-slot of capacity 1
per Want) and the translation of the solution back into
:class:`TradeCycle` s of :class:`Transfer` s.

Each collector's pin is governed by one want: if several of a collector's
wants name the same pin (an exact want and an "any variant" want, say), the
best-priority one (exact wants first on ties) decides the condition and the
priority cost for that pin. So a collector never receives the same pin twice
and never one they already have.

Objective, in order: most pins changing hands, then the lowest sum of want
priorities (1 = highest), then (given ``tie_break``) the lowest sum of the
givers' tie-break numbers — the app passes how little each collector has shown
others, so that among equally good solutions the one with more trusted members
wins — then the most collectors trading (exact here: one agent per collector).
``max_cycle_length`` switches to the exact CP-SAT integer program of
:mod:`marketplace.matching.capped`.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from marketplace.matching.exchange import Circulation, ExchangeGraph
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
    "MarketGraph",
    "MarketSolution",
    "TradeCycle",
    "Transfer",
    "build_market",
    "cycle_of",
    "solve_market",
]


@dataclass(frozen=True, slots=True)
class Transfer:
    """``giver`` sends one ``pin`` (in ``condition``) to ``receiver``,
    filling ``want``."""

    giver: CollectorId
    receiver: CollectorId
    pin: PinId
    condition: Condition
    have: Have
    want: Want


@dataclass(frozen=True, slots=True)
class TradeCycle:
    """A loop of transfers; each receiver is the next transfer's giver."""

    transfers: tuple[Transfer, ...]

    @property
    def collectors(self) -> tuple[CollectorId, ...]:
        return tuple(t.giver for t in self.transfers)


@dataclass(frozen=True, slots=True)
class MarketSolution:
    cycles: tuple[TradeCycle, ...]
    items: int
    priority_cost: int
    collectors_trading: int
    status: str
    gap: float


@dataclass(slots=True)
class MarketGraph:
    """The exchange graph plus what its ids stand for."""

    graph: ExchangeGraph
    collectors: list[CollectorId]
    haves: list[Have]  # give-slot -> Have
    wants: list[Want]  # want-slot -> Want
    # Transfer costs are priority * cost_scale + the giver's tie-break.
    cost_scale: int = 1


# How large tie-broken costs may make the solvers' folded integer objectives
# (priority x scale x want-slots squared x collectors): beyond it a market is
# solved without the tie-break, exactness first.
_TIE_BREAK_LIMIT = 1 << 58


def _tie_broken(
    costs: list[int],
    givers: Sequence[CollectorId],
    tie_break: Mapping[CollectorId, int],
    slots: int,
    collectors: int,
) -> tuple[list[int], int]:
    """Costs with each giver's tie-break folded in below the priorities: the
    scale exceeds the most any solution's tie-breaks can add up to (one per
    want-slot used), so priorities still decide first; (costs, scale)."""
    levels = max((max(0, int(v)) for v in tie_break.values()), default=0)
    if not costs or levels == 0:
        return costs, 1
    scale = levels * slots + 1
    if scale * max(costs) * (slots + 1) ** 2 * (collectors + 1) > _TIE_BREAK_LIMIT:
        return costs, 1
    ties = [max(0, int(tie_break.get(g, 0))) for g in givers]
    return [c * scale + t for c, t in zip(costs, ties, strict=True)], scale


def _rotation(collector: CollectorId, size: int) -> int:
    """Where ``collector`` starts reading a holder list: spread over the list, and
    the same on every run (no salted ``hash``)."""
    digest = zlib.crc32(repr(collector).encode())
    return digest % size if size else 0


def build_market(
    collectors: Sequence[CollectorId],
    lookup: MarketLookup,
    *,
    top_k: int | None = None,
    tie_break: Mapping[CollectorId, int] | None = None,
) -> MarketGraph:
    """Build the exchange graph among ``collectors`` from indexed lookups.

    ``top_k`` bounds the graph (a product rule for the app's nightly solve): each
    collector receives at most ``top_k`` candidate transfers, from their most
    wanted wants first (best priority, exact wants before "any variant"), each
    want's acceptable holders read from a per-collector starting point so that
    popular holders are not everybody's first choice. ``None`` keeps every
    transfer (what TradeMaximizer compatibility needs). ``tie_break`` maps a
    collector to a small whole number (0 best) that a transfer they give costs
    below every priority difference (see :func:`_tie_broken`)."""
    agent_of = {c: i for i, c in enumerate(collectors)}
    haves: list[Have] = []
    give_of: dict[int, int] = {}  # id(Have) -> give-slot
    give_agent: list[int] = []
    give_capacity: list[int] = []
    for c in collectors:
        for have in lookup.haves_of(c):
            if have.tradeable and have.quantity > 0:
                give_of[id(have)] = len(haves)
                haves.append(have)
                give_agent.append(agent_of[c])
                give_capacity.append(have.quantity)

    wants: list[Want] = []
    want_agent: list[int] = []
    tg: list[int] = []
    tw: list[int] = []
    tc: list[int] = []
    for c in collectors:
        held = pins_held(c, lookup)
        # Governing want per pin: best priority, exact wants first.
        governing: dict[PinId, Want] = {}
        ordered = sorted(lookup.wants_of(c), key=lambda w: (w.priority, w.pin is None))
        for want in ordered:
            for pin in candidate_pins(want, lookup):
                if pin not in held:
                    governing.setdefault(pin, want)
        slot_of: dict[int, int] = {}
        taken = 0
        for pin, want in governing.items():
            if top_k is not None and taken >= top_k:
                break
            group = lookup.group_of(pin)
            holders = lookup.holders_of(pin)
            if top_k is not None and holders:
                start = _rotation(c, len(holders))
                holders = [*holders[start:], *holders[:start]]
            for have in holders:
                if top_k is not None and taken >= top_k:
                    break
                g = give_of.get(id(have))
                if g is None or not acceptable(want, have, group, held):
                    continue
                taken += 1
                w = slot_of.get(id(want))
                if w is None:
                    w = slot_of[id(want)] = len(wants)
                    wants.append(want)
                    want_agent.append(agent_of[c])
                tg.append(g)
                tw.append(w)
                tc.append(want.priority)
    scale = 1
    if tie_break:
        givers = [collectors[give_agent[g]] for g in tg]
        tc, scale = _tie_broken(tc, givers, tie_break, len(wants), len(collectors))
    graph = ExchangeGraph(
        agent_owner=list(range(len(collectors))),
        agent_counts=[True] * len(collectors),
        give_agent=give_agent,
        give_capacity=give_capacity,
        want_agent=want_agent,
        want_capacity=[1] * len(wants),
        transfer_give=tg,
        transfer_want=tw,
        transfer_cost=tc,
    )
    return MarketGraph(
        graph=graph, collectors=list(collectors), haves=haves, wants=wants, cost_scale=scale
    )


def solve_market(
    collectors: Sequence[CollectorId],
    lookup: MarketLookup,
    *,
    max_cycle_length: int | None = None,
    time_limit: float = 10.0,
    top_k: int | None = None,
    cycle_limit: int = 500_000,
    tie_break: Mapping[CollectorId, int] | None = None,
) -> MarketSolution:
    """Best set of trade cycles among ``collectors`` (see module docstring);
    ``top_k`` bounds the graph first and ``tie_break`` orders equal solutions
    (see :func:`build_market`)."""
    market = build_market(
        sorted(collectors, key=_sort_key), lookup, top_k=top_k, tie_break=tie_break
    )
    solution: Circulation
    if max_cycle_length is None:
        from marketplace.matching.circulation import solve_unbounded

        solution = solve_unbounded(market.graph)
    else:
        from marketplace.matching.capped import solve_capped

        solution = solve_capped(
            market.graph, max_cycle_length, time_limit=time_limit, cycle_limit=cycle_limit
        )
    return MarketSolution(
        cycles=tuple(cycle_of(market, c) for c in solution.cycles),
        items=solution.items,
        priority_cost=solution.cost // market.cost_scale,  # the tie-breaks sum below one
        collectors_trading=solution.owners_trading,
        status=solution.status,
        gap=solution.gap,
    )


def cycle_of(market: MarketGraph, transfers: Sequence[int]) -> TradeCycle:
    """The transfers (graph ids) of one loop as a `TradeCycle` of pins and collectors."""
    g = market.graph
    steps = []
    for t in transfers:
        have = market.haves[g.transfer_give[t]]
        want = market.wants[g.transfer_want[t]]
        steps.append(
            Transfer(
                giver=market.collectors[g.giver(t)],
                receiver=market.collectors[g.receiver(t)],
                pin=have.pin,
                condition=have.condition,
                have=have,
                want=want,
            )
        )
    return TradeCycle(tuple(steps))
