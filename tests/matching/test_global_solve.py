"""Global solve: optimum against independent brute force, feasibility, caps."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.matching.capped import solve_capped
from marketplace.matching.circulation import solve_component, solve_unbounded
from marketplace.matching.exchange import ExchangeGraph, decompose_cycles, measure

PROFILE = settings.get_profile("matching")


def item_graph(
    wants: Sequence[Sequence[int]],
    owners: Sequence[int],
    dummies: Sequence[int] = (),
    cost: Sequence[int] = (1,),
) -> ExchangeGraph:
    """TradeMaximizer-shaped graph: item i would be given for any of wants[i];
    the k-th transfer costs cost[k % len(cost)]; ``dummies`` do not count."""
    n = len(wants)
    g = ExchangeGraph(
        agent_owner=list(owners),
        agent_counts=[i not in dummies for i in range(n)],
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
                g.transfer_cost.append(cost[len(g.transfer_cost) % len(cost)])
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


def brute_force_objective(graph: ExchangeGraph) -> tuple[int, int, int]:
    """(items, cost, owners trading) of the lexicographic optimum of an item
    graph: every way to pick, per item, the transfer it receives by (or none)
    with no item given twice."""
    n = graph.num_agents
    options: list[list[tuple[int, int | None]]] = [[(k, None)] for k in range(n)]
    for t in range(graph.num_transfers):
        options[graph.receiver(t)].append((graph.giver(t), t))
    best = (0, 0, 0)
    given: set[int] = set()
    received: list[tuple[int, int]] = []

    def search(k: int) -> None:
        nonlocal best
        if k == n:
            cost = sum(graph.transfer_cost[t] for _, t in received)
            owners = len({graph.agent_owner[r] for r, _ in received})
            best = max(best, (len(received), -cost, owners))
            return
        for giver, t in options[k]:
            if giver in given:
                continue
            given.add(giver)
            counted = t is not None and graph.agent_counts[k]
            if counted:
                received.append((k, t))
            search(k + 1)
            if counted:
                received.pop()
            given.discard(giver)

    search(0)
    return best[0], -best[1], best[2]


def flow_objective(graph: ExchangeGraph) -> tuple[int, int]:
    """(items, cost) by the general min-cost flow, component by component."""
    flows: list[tuple[int, int]] = []
    for c in graph.components():
        flows.extend((c.transfers[t], f) for t, f in solve_component(c.graph))
    items, cost, _ = measure(graph, decompose_cycles(graph, flows))
    return items, cost


@st.composite
def small_trades(draw: st.DrawFn) -> tuple[list[list[int]], list[int]]:
    n = draw(st.integers(2, 7))
    wants = [draw(st.lists(st.integers(0, n - 1), max_size=3)) for _ in range(n)]
    owners = [draw(st.integers(0, 3)) for _ in range(n)]
    return wants, owners


@st.composite
def priced_trades(draw: st.DrawFn) -> ExchangeGraph:
    """Item graphs with a few owners of several items each, dummies and
    priority costs: many optimal solutions that owners compete over."""
    n = draw(st.integers(3, 9))
    wants = [draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=4)) for _ in range(n)]
    owners = [draw(st.integers(0, 3)) for _ in range(n)]
    dummies = draw(st.lists(st.integers(0, n - 1), max_size=1))
    cost = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))
    return item_graph(wants, owners, dummies, cost)


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


@settings(PROFILE, max_examples=150)
@given(priced_trades(), st.booleans())
def test_assignment_path_matches_min_cost_flow(graph: ExchangeGraph, spread: bool) -> None:
    # Item graphs are solved as an assignment; the general network must agree
    # on tiers 1 and 2 with or without the owners tier.
    solution = solve_unbounded(graph, spread_owners=spread)
    check_feasible(graph, solution.cycles)
    assert (solution.items, solution.cost) == flow_objective(graph)
    assert measure(graph, solution.cycles) == (
        solution.items,
        solution.cost,
        solution.owners_trading,
    )


# Derandomized: the owners tier is exact only once the Lagrangian bound meets
# the best candidate, which it does on instances this small (and on the real
# files); a regression must then fail on every run, not on one in a thousand.
@settings(PROFILE, max_examples=400, derandomize=True)
@given(priced_trades())
def test_owners_tier_matches_brute_force(graph: ExchangeGraph) -> None:
    solution = solve_unbounded(graph)
    check_feasible(graph, solution.cycles)
    objective = (solution.items, solution.cost, solution.owners_trading)
    assert objective == brute_force_objective(graph)


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
