"""Global solve: optimum against independent brute force, feasibility, caps."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.matching.capped import solve_capped
from marketplace.matching.circulation import solve_unbounded
from marketplace.matching.exchange import ExchangeGraph

PROFILE = settings.get_profile("matching")


def item_graph(wants: Sequence[Sequence[int]], owners: Sequence[int]) -> ExchangeGraph:
    """TradeMaximizer-shaped graph: item i would be given for any of wants[i]."""
    n = len(wants)
    g = ExchangeGraph(
        agent_owner=list(owners),
        agent_counts=[True] * n,
        give_agent=list(range(n)),
        give_capacity=[1] * n,
        want_agent=list(range(n)),
        want_capacity=[1] * n,
    )
    for i, ws in enumerate(wants):
        for j in sorted(set(ws)):
            if j != i:
                g.transfer_give.append(j)
                g.transfer_want.append(i)
                g.transfer_cost.append(1)
    return g


def brute_force(wants: Sequence[Sequence[int]], cap: int | None = None) -> int:
    """Most items in disjoint cycles: try every assignment i -> (item it
    receives or itself), keep the permutations, measure their cycles."""
    n = len(wants)
    options = [sorted({i} | {j for j in ws if j != i}) for i, ws in enumerate(wants)]
    best = 0

    def search(i: int, chosen: list[int], used: set[int]) -> None:
        nonlocal best
        if i == n:
            seen: set[int] = set()
            total = 0
            for s in range(n):
                if s in seen or chosen[s] == s:
                    continue
                length, v = 0, s
                while v not in seen:
                    seen.add(v)
                    length += 1
                    v = chosen[v]
                if cap is not None and length > cap:
                    return
                total += length
            best = max(best, total)
            return
        for j in options[i]:
            if j not in used:
                used.add(j)
                chosen.append(j)
                search(i + 1, chosen, used)
                chosen.pop()
                used.discard(j)

    search(0, [], set())
    return best


@st.composite
def small_trades(draw: st.DrawFn) -> tuple[list[list[int]], list[int]]:
    n = draw(st.integers(2, 7))
    wants = [draw(st.lists(st.integers(0, n - 1), max_size=3)) for _ in range(n)]
    owners = [draw(st.integers(0, 3)) for _ in range(n)]
    return wants, owners


def check_feasible(graph: ExchangeGraph, cycles: Sequence[Sequence[int]]) -> None:
    gives: dict[int, int] = {}
    takes: dict[int, int] = {}
    for cycle in cycles:
        agents = [graph.giver(t) for t in cycle]
        assert len(set(agents)) == len(agents), "an agent twice in one cycle"
        for k, t in enumerate(cycle):
            # the receiver of each transfer gives the next one
            assert graph.receiver(t) == graph.giver(cycle[(k + 1) % len(cycle)])
            gives[graph.transfer_give[t]] = gives.get(graph.transfer_give[t], 0) + 1
            takes[graph.transfer_want[t]] = takes.get(graph.transfer_want[t], 0) + 1
    for g, used in gives.items():
        assert used <= graph.give_capacity[g]
    for w, used in takes.items():
        assert used <= graph.want_capacity[w]


@PROFILE
@given(small_trades())
def test_unbounded_optimum_matches_brute_force(case: tuple[list[list[int]], list[int]]) -> None:
    wants, owners = case
    graph = item_graph(wants, owners)
    solution = solve_unbounded(graph)
    check_feasible(graph, solution.cycles)
    assert solution.items == brute_force(wants)


@settings(PROFILE, max_examples=40)
@given(small_trades(), st.integers(2, 4))
def test_capped_optimum_matches_brute_force(
    case: tuple[list[list[int]], list[int]], cap: int
) -> None:
    wants, owners = case
    graph = item_graph(wants, owners)
    solution = solve_capped(graph, cap, time_limit=5)
    check_feasible(graph, solution.cycles)
    assert all(len(c) <= cap for c in solution.cycles)
    assert solution.status == "OPTIMAL"
    assert solution.items == brute_force(wants, cap)


def test_spreading_prefers_more_owners() -> None:
    # Owner 0 trades item 0 with owner 3 either way. Item 2 (owner 1) can
    # then swap with owner 0's second item or with owner 2's item: the same
    # four items, but the second brings in one more owner.
    wants = [[4], [2], [1, 3], [2], [0]]
    graph = item_graph(wants, [0, 0, 1, 2, 3])
    solution = solve_unbounded(graph)
    assert solution.items == brute_force(wants) == 4
    assert solution.owners_trading == 4


def test_priorities_break_ties() -> None:
    # 0 wants 1 (cost 5) or 2 (cost 1); both 2-cycles trade two items.
    g = item_graph([[], [0], [0]], [0, 1, 2])
    g.transfer_give[:] = [0, 0, 1, 2]
    g.transfer_want[:] = [1, 2, 0, 0]
    g.transfer_cost[:] = [1, 1, 5, 1]
    solution = solve_unbounded(g)
    assert solution.items == 2
    assert solution.cost == 2
