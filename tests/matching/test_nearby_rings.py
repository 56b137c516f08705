"""Rings through one collector (`marketplace.matching.nearby`): every short loop
through the collector is found, nothing else is, and the rings chosen never
promise a copy twice nor fill a want twice."""

from __future__ import annotations

from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.matching.market import MarketGraph, build_market
from marketplace.matching.model import Have, MarketIndex, Want
from marketplace.matching.nearby import choose_rings, rings_through


@st.composite
def markets(draw: st.DrawFn) -> MarketGraph:
    people = draw(st.integers(3, 6))
    pins = draw(st.integers(2, 7))
    haves = [
        Have(collector=c, pin=p, quantity=draw(st.integers(1, 2)))
        for c in range(people)
        for p in range(pins)
        if draw(st.booleans())
    ]
    held = {(h.collector, h.pin) for h in haves}
    wants = [
        Want(collector=c, pin=p, priority=draw(st.integers(1, 5)))
        for c in range(people)
        for p in range(pins)
        if (c, p) not in held and draw(st.integers(0, 2)) == 0
    ]
    return build_market(list(range(people)), MarketIndex(haves, wants))


def agent_loops(market: MarketGraph, start: int, cap: int) -> set[tuple[int, ...]]:
    """Brute force: every sequence of distinct collectors from `start`, 3 to `cap`
    long, where each gives the next something it wants and the last gives `start`."""
    g = market.graph
    edges = {(g.giver(t), g.receiver(t)) for t in range(g.num_transfers)}
    others = [a for a in range(g.num_agents) if a != start]
    found = set()
    for length in range(3, cap + 1):
        for rest in permutations(others, length - 1):
            loop = (start, *rest)
            if all((loop[i], loop[(i + 1) % length]) in edges for i in range(length)):
                found.add(loop)
    return found


@settings(max_examples=150, deadline=None, derandomize=True)
@given(market=markets(), cap=st.integers(3, 5))
def test_every_short_loop_through_the_collector_is_found(market: MarketGraph, cap: int) -> None:
    g = market.graph
    search = rings_through(market, 0, cap)
    assert search.complete
    seen = set()
    for loop in search.loops:
        agents = tuple(g.giver(t) for t in loop)
        assert agents[0] == 0 and 3 <= len(loop) <= cap
        assert len(set(agents)) == len(agents)
        for i, t in enumerate(loop):  # each receiver gives next, back to the start
            assert g.receiver(t) == g.giver(loop[(i + 1) % len(loop)])
        seen.add(agents)
    assert seen == agent_loops(market, 0, cap)
    assert len(seen) == len(search.loops)  # one loop per sequence of collectors


@settings(max_examples=150, deadline=None, derandomize=True)
@given(market=markets(), keep=st.integers(1, 4))
def test_chosen_rings_never_promise_a_copy_or_fill_a_want_twice(
    market: MarketGraph, keep: int
) -> None:
    search = rings_through(market, 0, 4)
    rings = choose_rings(market, search.loops, keep)
    assert len(rings) <= keep
    copies: dict[int, int] = {}
    filled: list[int] = []
    for ring in rings:
        assert ring.collectors[0] == 0 and len(set(ring.collectors)) >= 3
        for transfer in ring.transfers:
            copies[id(transfer.have)] = copies.get(id(transfer.have), 0) + 1
            assert copies[id(transfer.have)] <= transfer.have.quantity
            filled.append(id(transfer.want))
    assert len(filled) == len(set(filled))
    if search.loops:
        assert rings  # the best loop is always possible on its own


def test_the_step_budget_cuts_the_walk_and_says_so() -> None:
    # Ten collectors who all want what everyone else has: thousands of loops.
    haves = [Have(collector=c, pin=c) for c in range(10)]
    wants = [Want(collector=c, pin=p) for c in range(10) for p in range(10) if p != c]
    market = build_market(list(range(10)), MarketIndex(haves, wants))
    cut = rings_through(market, 0, 6, max_steps=500)
    whole = rings_through(market, 0, 4, max_loops=1000)
    assert not cut.complete and whole.complete
    assert len(whole.loops) == 9 * 8 + 9 * 8 * 7  # rings of 3 and of 4 through collector 0
    assert rings_through(market, 0, 6, max_steps=500) == cut  # counted in work: the same again
