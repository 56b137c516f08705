"""The nightly solve's graph bounds: pruning to arcs on short cycles keeps every
cycle within the cap (against brute force), and the top-K rule caps each
collector's incoming transfers from their most wanted wants first."""

from __future__ import annotations

from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.matching.capped import enumerate_cycles, prune_to_short_cycles
from marketplace.matching.market import build_market, solve_market
from marketplace.matching.model import Have, MarketIndex, Want

PROFILE = settings.get_profile("matching")


@st.composite
def digraphs(draw: st.DrawFn) -> list[list[int]]:
    n = draw(st.integers(1, 7))
    arcs = draw(st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=20))
    adjacency: list[list[int]] = [[] for _ in range(n)]
    for u, v in sorted(arcs):
        if u != v:  # agents never trade with themselves
            adjacency[u].append(v)
    return adjacency


def brute_cycles(adjacency: list[list[int]], cap: int) -> set[tuple[int, ...]]:
    """Every simple cycle of at most `cap` vertices, as vertex tuples starting at
    their smallest vertex: all orderings of all vertex subsets, checked arc by arc."""
    n = len(adjacency)
    arcs = {(u, v) for u in range(n) for v in adjacency[u]}
    found = set()
    for length in range(2, cap + 1):
        for cycle in permutations(range(n), length):
            if cycle[0] != min(cycle):
                continue
            if all((cycle[i], cycle[(i + 1) % length]) in arcs for i in range(length)):
                found.add(cycle)
    return found


@settings(PROFILE, max_examples=150)
@given(digraphs(), st.integers(2, 4))
def test_pruning_keeps_exactly_the_arcs_of_short_cycles(
    adjacency: list[list[int]], cap: int
) -> None:
    pruned = prune_to_short_cycles(adjacency, cap)
    expected = brute_cycles(adjacency, cap)
    assert set(enumerate_cycles(pruned, cap)) == expected
    assert set(enumerate_cycles(adjacency, cap)) == expected
    # Nothing else survives: every kept arc lies on one of those cycles.
    on_cycles = {(c[i], c[(i + 1) % len(c)]) for c in expected for i in range(len(c))}
    assert {(u, v) for u, vs in enumerate(pruned) for v in vs} == on_cycles


def test_top_k_takes_most_wanted_first_and_caps_transfers() -> None:
    # Collector 0 wants pin 1 (priority 1) and pin 2 (priority 5); five holders
    # of pin 1 and one of pin 2, all wanting 0's pin 0.
    haves = [Have(0, 0, quantity=6)]
    wants = [Want(0, pin=1, priority=1), Want(0, pin=2, priority=5)]
    for c in range(1, 6):
        haves.append(Have(c, 1))
        wants.append(Want(c, pin=0))
    haves.append(Have(6, 2))
    wants.append(Want(6, pin=0))
    index = MarketIndex(haves, wants)
    collectors = list(range(7))
    full = build_market(collectors, index).graph
    bounded = build_market(collectors, index, top_k=3).graph
    into_0 = [t for t in range(bounded.num_transfers) if bounded.receiver(t) == 0]
    assert len(into_0) == 3
    assert all(index.haves[0] is not None for _ in into_0)
    # All three come from the priority-1 want (pin 1); the priority-5 holder is cut.
    market = build_market(collectors, index, top_k=3)
    assert {market.haves[bounded.transfer_give[t]].pin for t in into_0} == {1}
    assert sum(1 for t in range(full.num_transfers) if full.receiver(t) == 0) == 6
    # Other collectors' transfers are unaffected (each wants one pin, one holder).
    assert bounded.num_transfers == 3 + 6
    # Still exact on the bounded graph: three 2-cycles are impossible (0 gives 6
    # copies but receives one pin per want), so one swap with 0 plus nothing else.
    solution = solve_market(collectors, index, max_cycle_length=3, top_k=3)
    assert solution.status == "OPTIMAL" and solution.items == 2
