"""Rings through one collector: the short loops (three collectors or more, up to a
cap) that pass through the collector whose lists just changed, found in a small
market around them — the counterpart of the two-way refresh for rings, so a Want
that closes a loop shows it within the minute instead of after the nightly solve.

Owns the search (a depth-first walk over collectors from the one who changed,
each hop the best transfer between two collectors, bounded by a count of steps,
never by time, so the same lists give the same rings) and the choice of a few
rings that never promise one copy or fill one want twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marketplace.matching.market import MarketGraph, TradeCycle, cycle_of

__all__ = ["RingSearch", "choose_rings", "rings_through"]


@dataclass(frozen=True, slots=True)
class RingSearch:
    """Loops found through one collector (graph transfer ids, from the collector's
    own gift), best first, and whether the step budget cut the walk short."""

    loops: tuple[tuple[int, ...], ...]
    complete: bool


def _best_hops(market: MarketGraph) -> dict[int, dict[int, int]]:
    """For each giver, each receiver and the one transfer a ring would use between
    them: the receiver's best-priority want, then the giver's best copy, then the
    lowest id (so the choice never depends on dict order)."""
    g = market.graph
    best: dict[int, dict[int, int]] = {}

    def key(t: int) -> tuple[int, int, int]:
        return (g.transfer_cost[t], -int(market.haves[g.transfer_give[t]].condition), t)

    for t in range(g.num_transfers):
        giver, receiver = g.giver(t), g.receiver(t)
        if giver == receiver:
            continue
        hops = best.setdefault(giver, {})
        current = hops.get(receiver)
        if current is None or key(t) < key(current):
            hops[receiver] = t
    return best


def rings_through(
    market: MarketGraph,
    agent: int,
    max_length: int,
    *,
    max_loops: int = 200,
    max_steps: int = 50_000,
) -> RingSearch:
    """Every loop of 3 to `max_length` collectors through `agent` (up to
    `max_loops`), each collector once, ranked by length, then the sum of want
    priorities, then the transfers' ids. Two-collector loops are swaps, which
    the pairwise refresh shows already."""
    if max_length < 3:
        return RingSearch((), True)
    g = market.graph
    hops = _best_hops(market)
    cost = g.transfer_cost
    # Cheapest hop first, so the best loops are found before any budget runs out.
    order = {
        a: sorted(r, key=lambda b: (cost[r[b]], r[b]))
        for a, r in hops.items()
    }
    loops: list[tuple[int, ...]] = []
    steps = 0
    path = [agent]
    on_path = {agent}
    used: list[int] = []

    def walk(at: int) -> bool:
        nonlocal steps
        for nxt in order.get(at, ()):
            steps += 1
            if steps > max_steps or len(loops) >= max_loops:
                return False
            t = hops[at][nxt]
            if nxt == agent:
                if len(path) >= 3:
                    loops.append((*used, t))
                continue
            if nxt in on_path or len(path) >= max_length:
                continue
            path.append(nxt)
            on_path.add(nxt)
            used.append(t)
            going = walk(nxt)
            path.pop()
            on_path.discard(nxt)
            used.pop()
            if not going:
                return False
        return True

    complete = walk(agent)
    loops.sort(key=lambda loop: (len(loop), sum(cost[t] for t in loop), loop))
    return RingSearch(tuple(loops), complete)


def choose_rings(
    market: MarketGraph, loops: Sequence[Sequence[int]], keep: int
) -> list[TradeCycle]:
    """Up to `keep` of the loops, best first, such that no copy is promised beyond
    its quantity and no want is filled twice among them."""
    g = market.graph
    given: dict[int, int] = {}
    filled: set[int] = set()
    chosen: list[TradeCycle] = []
    for loop in loops:
        if len(chosen) >= keep:
            break
        gives = [g.transfer_give[t] for t in loop]
        wants = [g.transfer_want[t] for t in loop]
        if any(given.get(s, 0) >= g.give_capacity[s] for s in gives) or filled & set(wants):
            continue
        for s in gives:
            given[s] = given.get(s, 0) + 1
        filled.update(wants)
        chosen.append(cycle_of(market, loop))
    return chosen
