"""Small item graphs for the ring solver's tests: random TradeMaximizer-like
graphs (items, owners, dummies, priced wants), a check that cycles form a
feasible packing, and the brute-force optimum they are compared with."""

from __future__ import annotations

from itertools import product

from hypothesis import strategies as st

from marketplace.matching.exchange import ExchangeGraph


def check_feasible(graph: ExchangeGraph, cycles: list[list[int]]) -> None:
    """Each cycle closes, and no agent gives or receives twice."""
    gives: list[int] = []
    takes: list[int] = []
    for cycle in cycles:
        for k, t in enumerate(cycle):
            assert graph.receiver(t) == graph.giver(cycle[(k + 1) % len(cycle)])
            gives.append(graph.giver(t))
            takes.append(graph.receiver(t))
    assert len(gives) == len(set(gives)) and len(takes) == len(set(takes))


@st.composite
def item_trades(draw: st.DrawFn) -> ExchangeGraph:
    """Up to 7 items of up to 4 owners, some of them dummies, priced wants."""
    n = draw(st.integers(2, 7))
    owners = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    dummies = draw(st.sets(st.integers(0, n - 1), max_size=2))
    graph = ExchangeGraph(
        agent_owner=owners,
        agent_counts=[i not in dummies for i in range(n)],
        give_agent=list(range(n)),
        give_capacity=[1] * n,
        want_agent=list(range(n)),
        want_capacity=[1] * n,
    )
    for receiver in range(n):
        for giver in sorted(draw(st.sets(st.integers(0, n - 1), max_size=4)) - {receiver}):
            graph.transfer_give.append(giver)
            graph.transfer_want.append(receiver)
            graph.transfer_cost.append(draw(st.integers(1, 4)))
    return graph


def brute_force(graph: ExchangeGraph, cap: int) -> tuple[int, int, int]:
    """Best (items, -cost, owners) over every way each agent may receive,
    counting only the cycles' real items against the cap. (Want lists never
    hold a ring of one real item: a dummy cannot want its owner's items.)"""
    n = graph.num_agents
    into: list[list[int | None]] = [[None] for _ in range(n)]  # None: keeps its own
    for t in range(graph.num_transfers):
        into[graph.receiver(t)].append(t)
    best = (0, 0, 0)
    for choice in product(*into):
        givers = [i if t is None else graph.giver(t) for i, t in enumerate(choice)]
        if sorted(givers) != list(range(n)):
            continue
        seen: set[int] = set()
        items = cost = 0
        owners: set[int] = set()
        feasible = True
        for start in range(n):
            if start in seen or givers[start] == start:
                continue
            cycle, v = [], start
            while v not in seen:
                seen.add(v)
                cycle.append(v)
                v = givers[v]
            real = [v for v in cycle if graph.agent_counts[v]]
            if len(real) < 2:
                continue  # an item back to itself through a dummy: nothing moves
            if len(real) > cap:
                feasible = False
                break
            items += len(real)
            cost += sum(graph.transfer_cost[choice[v]] for v in real)  # type: ignore[index]
            owners.update(graph.agent_owner[v] for v in real)
        if feasible:
            best = max(best, (items, -cost, len(owners)))
    return best
