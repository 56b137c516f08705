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
                    # An item back to itself through its owner's dummy moves nothing.
                    if giver != a:
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
    """Every simple cycle of at most ``cap`` real items (see module docstring).

    Shorter cycles come first, all of them before any longer one, so a list
    cut at ``max_cycles`` still holds every ring of the lengths it finished
    (a cap-4 list that stops early is at least as good as the cap-3 one);
    within the length it stops in, the budget is shared out over the start
    items rather than spent on the first ones."""
    starts = sorted(ring.gives_to)
    cycles: list[tuple[int, ...]] = []
    for length in range(2, cap + 1):
        room = max_cycles - len(cycles)
        found: list[tuple[int, ...]] = []
        for count, s in enumerate(starts):
            if deadline is not None and count % 64 == 0 and time.monotonic() > deadline:
                cycles.extend(found)
                return CycleList(cycles, False, "the time limit ran out while listing cycles")
            found.extend(_cycles_from(ring, s, length, room + 1 - len(found)))
            if len(found) > room:
                break
        if len(found) <= room:
            cycles.extend(found)
            continue
        # Too many of this length: fair shares from every start item, in
        # rounds, until the room is used up.
        taken = dict.fromkeys(starts, 0)
        active = list(starts)
        late = False
        while active and len(cycles) < max_cycles and not late:
            quota = max(1, (max_cycles - len(cycles)) // len(active))
            still = []
            for s in active:
                want = min(quota, max_cycles - len(cycles))
                late = deadline is not None and time.monotonic() > deadline
                if want <= 0 or late:
                    break
                more = _cycles_from(ring, s, length, taken[s] + want)[taken[s] :]
                cycles.extend(more)
                taken[s] += len(more)
                if len(more) == want:
                    still.append(s)
            active = still
        if late:
            return CycleList(cycles, False, "the time limit ran out while listing cycles")
        return CycleList(
            cycles, False, f"more than {max_cycles:,} cycles of at most {length} items"
        )
    return CycleList(cycles, True)


def _cycles_from(ring: RingGraph, s: int, length: int, limit: int) -> list[tuple[int, ...]]:
    """Up to ``limit`` cycles of exactly ``length`` items whose smallest is ``s``."""
    gives_to, receives_from = ring.gives_to, ring.receives_from
    closing = receives_from.get(s, set())
    found: list[tuple[int, ...]] = []
    if not closing or limit <= 0:
        return found
    empty: set[int] = set()
    # reach[j]: items that give to s within j + 1 steps.
    reach = [closing]
    for _ in range(length - 3):
        wider = set(reach[-1])
        for y in reach[-1]:
            wider |= receives_from.get(y, empty)
        reach.append(wider)
    path = [s]
    on_path = {s}
    first = sorted(v for v in gives_to[s] if v > s)
    if length == 2:
        pairs: list[tuple[int, ...]] = [(s, v) for v in first if v in closing]
        return pairs[:limit]
    # Depth-first; frames hold the candidates still to try after path[-1].
    frames = [iter(first)]
    while frames:
        v = next(frames[-1], None)
        if v is None:
            frames.pop()
            on_path.discard(path.pop())
            continue
        left = length - len(path) - 1  # items still to add after v
        if left == 1:
            # The last item: receives from v and gives to s.
            for u in sorted(gives_to.get(v, empty) & closing):
                if u > s and u != v and u not in on_path:
                    found.append((*path, v, u))
            if len(found) >= limit:
                return found[:limit]
            continue
        path.append(v)
        on_path.add(v)
        near = reach[left - 1]
        frames.append(
            iter(
                sorted(
                    u for u in gives_to.get(v, empty) if u > s and u not in on_path and u in near
                )
            )
        )
    return found
