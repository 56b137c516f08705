"""The exchange graph: the one shape every global solve works on.

Owns :class:`ExchangeGraph` (agents, give-slots, want-slots and the transfers
between them), its decomposition into strongly connected components, and the
:class:`Circulation` result type with its cycle decomposition and metrics.

Both front ends reduce to this shape:

* the pin market: an agent per collector, a give-slot per tradeable Have
  (capacity = quantity), a want-slot per Want (capacity 1);
* TradeMaximizer want lists: an agent per item, one give-slot and one
  want-slot of capacity 1 per item; the item's owner is the agent's *owner*.

A transfer moves one unit from a give-slot to a want-slot of another agent. A
feasible solution is a circulation: every agent receives exactly as many units
as it gives. Transfers into *non-counting* agents (TradeMaximizer's ``%dummy``
items) are free; they let a dummy pass a unit along without counting as an item
changing hands.

Everything here is plain Python on lists of ints so that a graph of a few
thousand agents and a few hundred thousand transfers stays cheap to build.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

__all__ = [
    "Circulation",
    "Component",
    "ExchangeGraph",
    "strongly_connected_components",
]


@dataclass(slots=True)
class ExchangeGraph:
    """Agents, slots and transfers, all addressed by dense integer ids.

    ``agent_owner[a]`` is the owner (collector) of agent ``a``; for the market
    the agent *is* the collector, for want lists it is the item's user.
    ``agent_counts[a]`` is False for agents whose incoming transfers are not
    items changing hands (dummies). ``transfer_cost`` is the priority cost of a
    transfer (lower is better); it only matters among maximum solutions.
    """

    agent_owner: list[int]
    agent_counts: list[bool]
    give_agent: list[int]
    give_capacity: list[int]
    want_agent: list[int]
    want_capacity: list[int]
    transfer_give: list[int] = field(default_factory=list)
    transfer_want: list[int] = field(default_factory=list)
    transfer_cost: list[int] = field(default_factory=list)

    @property
    def num_agents(self) -> int:
        return len(self.agent_owner)

    @property
    def num_transfers(self) -> int:
        return len(self.transfer_give)

    def giver(self, transfer: int) -> int:
        return self.give_agent[self.transfer_give[transfer]]

    def receiver(self, transfer: int) -> int:
        return self.want_agent[self.transfer_want[transfer]]

    def validate(self) -> None:
        """Raise ValueError if ids are out of range or lengths disagree."""
        n = self.num_agents
        if len(self.agent_counts) != n:
            raise ValueError("agent_counts and agent_owner differ in length")
        if len(self.give_capacity) != len(self.give_agent):
            raise ValueError("give_capacity and give_agent differ in length")
        if len(self.want_capacity) != len(self.want_agent):
            raise ValueError("want_capacity and want_agent differ in length")
        if not len(self.transfer_give) == len(self.transfer_want) == len(self.transfer_cost):
            raise ValueError("transfer arrays differ in length")
        if any(not 0 <= a < n for a in self.give_agent + self.want_agent):
            raise ValueError("slot refers to an unknown agent")
        if any(c < 0 for c in self.give_capacity + self.want_capacity):
            raise ValueError("negative slot capacity")
        if any(not 0 <= g < len(self.give_agent) for g in self.transfer_give):
            raise ValueError("transfer refers to an unknown give-slot")
        if any(not 0 <= w < len(self.want_agent) for w in self.transfer_want):
            raise ValueError("transfer refers to an unknown want-slot")
        for t in range(self.num_transfers):
            if self.giver(t) == self.receiver(t):
                raise ValueError(f"transfer {t} goes from an agent to itself")

    def components(self) -> list[Component]:
        """Split into independent subproblems, one per strongly connected
        component of the agent graph that can hold a cycle.

        Transfers between components can never lie on a cycle, so they are
        dropped; components without any internal transfer are dropped too.
        Each component is a self-contained :class:`ExchangeGraph` (local ids)
        plus the maps back to this graph, so it can be shipped to a worker.
        """
        n = self.num_agents
        give_agent, want_agent = self.give_agent, self.want_agent
        tg, tw = self.transfer_give, self.transfer_want
        adjacency: list[list[int]] = [[] for _ in range(n)]
        for g, w in zip(tg, tw, strict=True):
            adjacency[give_agent[g]].append(want_agent[w])
        label = strongly_connected_components(adjacency)

        by_component: dict[int, list[int]] = {}
        for t, (g, w) in enumerate(zip(tg, tw, strict=True)):
            c = label[give_agent[g]]
            if c == label[want_agent[w]]:
                by_component.setdefault(c, []).append(t)
        return [self._subgraph(ts) for _, ts in sorted(by_component.items())]

    def _subgraph(self, transfers: list[int]) -> Component:
        agent_map: dict[int, int] = {}
        give_map: dict[int, int] = {}
        want_map: dict[int, int] = {}
        agents: list[int] = []
        gives: list[int] = []
        wants: list[int] = []

        def local_agent(a: int) -> int:
            la = agent_map.get(a)
            if la is None:
                la = agent_map[a] = len(agents)
                agents.append(a)
            return la

        sub_tg: list[int] = []
        sub_tw: list[int] = []
        sub_cost: list[int] = []
        for t in transfers:
            g, w = self.transfer_give[t], self.transfer_want[t]
            lg = give_map.get(g)
            if lg is None:
                lg = give_map[g] = len(gives)
                gives.append(g)
            lw = want_map.get(w)
            if lw is None:
                lw = want_map[w] = len(wants)
                wants.append(w)
            sub_tg.append(lg)
            sub_tw.append(lw)
            sub_cost.append(self.transfer_cost[t])
        give_agents = [local_agent(self.give_agent[g]) for g in gives]
        want_agents = [local_agent(self.want_agent[w]) for w in wants]
        graph = ExchangeGraph(
            agent_owner=[self.agent_owner[a] for a in agents],
            agent_counts=[self.agent_counts[a] for a in agents],
            give_agent=give_agents,
            give_capacity=[self.give_capacity[g] for g in gives],
            want_agent=want_agents,
            want_capacity=[self.want_capacity[w] for w in wants],
            transfer_give=sub_tg,
            transfer_want=sub_tw,
            transfer_cost=sub_cost,
        )
        return Component(graph=graph, agents=agents, transfers=list(transfers))


@dataclass(frozen=True, slots=True)
class Component:
    """A strongly connected piece of a larger graph, with maps back to it."""

    graph: ExchangeGraph
    agents: list[int]  # local agent id -> parent agent id
    transfers: list[int]  # local transfer id -> parent transfer id


def strongly_connected_components(adjacency: Sequence[Sequence[int]]) -> list[int]:
    """Label each vertex with its strongly connected component (iterative
    Tarjan, so deep graphs do not hit the recursion limit)."""
    n = len(adjacency)
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    label = [-1] * n
    stack: list[int] = []
    counter = 0
    components = 0
    for root in range(n):
        if index[root] != -1:
            continue
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        # Each frame keeps its edge iterator, so a vertex resumes where it
        # left off after a descent.
        work: list[tuple[int, Iterator[int]]] = [(root, iter(adjacency[root]))]
        while work:
            v, edges = work[-1]
            for u in edges:
                if index[u] == -1:
                    index[u] = low[u] = counter
                    counter += 1
                    stack.append(u)
                    on_stack[u] = True
                    work.append((u, iter(adjacency[u])))
                    break
                if on_stack[u] and index[u] < low[v]:
                    low[v] = index[u]
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    if low[v] < low[parent]:
                        low[parent] = low[v]
                if low[v] == index[v]:
                    while True:
                        u = stack.pop()
                        on_stack[u] = False
                        label[u] = components
                        if u == v:
                            break
                    components += 1
    return label


@dataclass(frozen=True, slots=True)
class Circulation:
    """A solution: how many units move along each transfer, as cycles.

    ``cycles`` lists transfer ids in order around each cycle; the receiver of
    one transfer is the giver of the next, and no agent appears twice in a
    cycle. ``status`` is ``"OPTIMAL"`` or, for time-limited solves,
    ``"FEASIBLE"``; ``bound`` is then the best proven upper bound on items.
    Capped solves of want lists also give ``cost_bound`` (a proven lower bound
    on the cost at ``bound`` items) and ``owners_bound`` (a proven upper
    bound on owners trading at that item count and cost), each ``None`` when
    the tier above is not proven, and ``notes`` saying why a proof stopped.
    """

    cycles: list[list[int]]
    items: int
    cost: int
    owners_trading: int
    status: str = "OPTIMAL"
    bound: int | None = None
    cost_bound: int | None = None
    owners_bound: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def gap(self) -> float:
        """Relative optimality gap on the number of items (0.0 when optimal)."""
        if self.bound is None or self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.items) / self.bound)


def decompose_cycles(graph: ExchangeGraph, flows: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Split a circulation given as ``(transfer, units)`` pairs into simple
    cycles (no agent twice in one cycle), deterministically."""
    outgoing: dict[int, list[int]] = {}
    for t, units in sorted(flows):
        if units > 0:
            outgoing.setdefault(graph.giver(t), []).extend([t] * units)
    for ts in outgoing.values():
        ts.reverse()  # pop() then yields the lowest transfer id first
    cycles: list[list[int]] = []
    for start in sorted(outgoing):
        while outgoing.get(start):
            path: list[int] = []
            position: dict[int, int] = {start: 0}
            agent = start
            while True:
                t = outgoing[agent].pop()
                path.append(t)
                agent = graph.receiver(t)
                if agent in position:
                    cut = position[agent]
                    cycles.append(path[cut:])
                    for t2 in path[cut:]:
                        position.pop(graph.giver(t2), None)
                    del path[cut:]
                    position[agent] = cut
                    if not path:
                        break
                else:
                    position[agent] = len(path)
                if not outgoing.get(agent):
                    # Conservation guarantees flow out of every agent entered.
                    raise ValueError("flows do not form a circulation")
    return cycles


def measure(graph: ExchangeGraph, cycles: Sequence[Sequence[int]]) -> tuple[int, int, int]:
    """(items, cost, owners trading) of a set of cycles."""
    items = cost = 0
    owners: set[int] = set()
    for cycle in cycles:
        for t in cycle:
            r = graph.receiver(t)
            if graph.agent_counts[r]:
                items += 1
                cost += graph.transfer_cost[t]
                owners.add(graph.agent_owner[r])
    return items, cost, len(owners)
