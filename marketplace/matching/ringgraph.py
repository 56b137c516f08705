"""The short cycles of an item graph, with dummies collapsed into hops.

Owns the reduction every capped solve of a want-list file starts from. In an
item graph (one give-slot and one want-slot of capacity 1 per agent) a cycle
is a ring of items; its length, the cap, counts *real* items only: a dummy
(TradeMaximizer's ``%name``) is how its owner says "any one of these for any
one of those", not an item that travels. So every way for real item ``a`` to
receive real item ``x`` is a :class:`Hop` — the transfer ``x → a`` itself, or
``x → %D → … → a`` through the receiver's own dummies — and cycles are
enumerated on real items only, each hop still naming the dummies it occupies
(a dummy is used by one hop at most, which the program enforces).

A hop through dummies is kept only when no other way between the same two
items is at least as cheap while occupying a subset of its dummies; without
priorities a direct transfer therefore makes every detour redundant.

:func:`short_cycles` lists every simple cycle of at most ``cap`` real items
once (from its smallest item), on the strongly connected pieces of the
collapsed graph only. A vertex is extended only towards items that can still
reach the start within the remaining length, and the last item of a cycle is
found by one set intersection, so a dense graph costs about one step per
cycle. The enumeration stops at ``max_cycles`` cycles or at ``deadline``
(``time.monotonic()``) and then says it is incomplete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from marketplace.matching.exchange import ExchangeGraph, strongly_connected_components

__all__ = ["Hop", "RingGraph", "collapse", "is_item_graph", "short_cycles"]


@dataclass(frozen=True, slots=True)
class Hop:
    """One way for an item to receive another: ``transfers`` from the giver's
    item through ``dummies`` to the receiver's, and the priority cost that
    counts (that of the last transfer, into the real item)."""

    transfers: tuple[int, ...]
    dummies: tuple[int, ...]
    cost: int


@dataclass(slots=True)
class RingGraph:
    """Real items and the hops between them (agent ids of the parent graph)."""

    items: list[int]  # real agents
    hops: dict[tuple[int, int], list[Hop]]  # (giver, receiver) -> ways
    gives_to: dict[int, set[int]] = field(default_factory=dict)
    receives_from: dict[int, set[int]] = field(default_factory=dict)


def is_item_graph(graph: ExchangeGraph) -> bool:
    """One give-slot and one want-slot of capacity 1 per agent."""
    n = graph.num_agents
    return (
        sorted(graph.give_agent) == list(range(n))
        and sorted(graph.want_agent) == list(range(n))
        and all(c == 1 for c in graph.give_capacity)
        and all(c == 1 for c in graph.want_capacity)
    )


def collapse(graph: ExchangeGraph, max_dummies: int = 4) -> RingGraph:
    """Hops between real items; chains of more than ``max_dummies`` dummies
    (never seen in a real file) are left out."""
    counts = graph.agent_counts
    into: dict[int, list[int]] = {}  # agent -> transfers into it
    for t in range(graph.num_transfers):
        into.setdefault(graph.receiver(t), []).append(t)
    hops: dict[tuple[int, int], list[Hop]] = {}
    for a in range(graph.num_agents):
        if not counts[a]:
            continue
        for t in into.get(a, ()):
            cost = graph.transfer_cost[t]
            # Walk back through dummies: (transfers so far, dummies so far).
            stack: list[tuple[tuple[int, ...], tuple[int, ...]]] = [((t,), ())]
            while stack:
                path, dummies = stack.pop()
                giver = graph.giver(path[0])
                if counts[giver]:
                    _offer(hops, (giver, a), Hop(path, dummies, cost))
                    continue
                if giver in dummies or len(dummies) >= max_dummies:
                    continue
                stack.extend(((u, *path), (giver, *dummies)) for u in into.get(giver, ()))
    ring = RingGraph(items=[a for a in range(graph.num_agents) if counts[a]], hops=hops)
    _keep_cycles_only(ring)
    return ring


def _offer(hops: dict[tuple[int, int], list[Hop]], pair: tuple[int, int], hop: Hop) -> None:
    """Add ``hop`` unless an existing way dominates it; drop those it dominates."""
    ways = hops.setdefault(pair, [])
    mine = set(hop.dummies)
    for other in ways:
        if other.cost <= hop.cost and mine.issuperset(other.dummies):
            return
    ways[:] = [w for w in ways if not (hop.cost <= w.cost and mine.issubset(w.dummies))]
    ways.append(hop)
    ways.sort(key=lambda w: (w.cost, len(w.dummies), w.transfers))


def _keep_cycles_only(ring: RingGraph) -> None:
    """Drop hops between strongly connected pieces: they lie on no cycle."""
    index = {a: i for i, a in enumerate(ring.items)}
    adjacency: list[list[int]] = [[] for _ in ring.items]
    for g, r in ring.hops:
        adjacency[index[g]].append(index[r])
    label = strongly_connected_components(adjacency)
    ring.hops = {
        (g, r): ways for (g, r), ways in ring.hops.items() if label[index[g]] == label[index[r]]
    }
    for g, r in sorted(ring.hops):
        ring.gives_to.setdefault(g, set()).add(r)
        ring.receives_from.setdefault(r, set()).add(g)


@dataclass(slots=True)
class CycleList:
    """Cycles of real items (giver first: ``c[i]`` gives to ``c[i + 1]``)."""

    cycles: list[tuple[int, ...]]
    complete: bool
    reason: str | None = None


def short_cycles(
    ring: RingGraph, cap: int, *, max_cycles: int, deadline: float | None = None
) -> CycleList:
    """Every simple cycle of at most ``cap`` real items (see module docstring)."""
    gives_to, receives_from = ring.gives_to, ring.receives_from
    cycles: list[tuple[int, ...]] = []
    empty: set[int] = set()
    for count, s in enumerate(sorted(gives_to)):
        if deadline is not None and count % 64 == 0 and time.monotonic() > deadline:
            return CycleList(cycles, False, "the time limit ran out while listing cycles")
        closing = receives_from.get(s, empty)
        if not closing:
            continue
        # reach[j]: items that give to s within j + 1 steps (j < cap - 2).
        reach = [closing]
        for _ in range(cap - 3):
            wider = set(reach[-1])
            for y in reach[-1]:
                wider |= receives_from.get(y, empty)
            reach.append(wider)
        path = [s]
        on_path = {s}
        # Depth-first; frames hold the candidates still to try after path[-1].
        frames = [iter(sorted(v for v in gives_to[s] if v > s))]
        while frames:
            v = next(frames[-1], None)
            if v is None:
                frames.pop()
                on_path.discard(path.pop())
                continue
            path.append(v)
            on_path.add(v)
            if v in closing:
                cycles.append(tuple(path))
            left = cap - len(path)  # items still allowed after v
            if left >= 1:
                outs = gives_to.get(v, empty)
                if left == 1:
                    # The last item: gives to s and receives from v.
                    for u in sorted(outs & closing):
                        if u > s and u not in on_path:
                            cycles.append((*path, u))
                else:
                    near = reach[left - 1]
                    frames.append(
                        iter(sorted(u for u in outs if u > s and u not in on_path and u in near))
                    )
                    if len(cycles) > max_cycles:
                        return CycleList(
                            cycles[:max_cycles],
                            False,
                            f"more than {max_cycles:,} cycles of at most {cap} items",
                        )
                    continue
            path.pop()
            on_path.discard(v)
            if len(cycles) > max_cycles:
                return CycleList(
                    cycles[:max_cycles],
                    False,
                    f"more than {max_cycles:,} cycles of at most {cap} items",
                )
    return CycleList(cycles, True)
