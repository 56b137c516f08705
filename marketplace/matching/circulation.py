"""Unbounded global solve: a maximum circulation, by assignment or min-cost flow.

Owns the translation of an :class:`~marketplace.matching.exchange.ExchangeGraph`
into OR-Tools problems and the lexicographic objective

1. most items changing hands,
2. then the lowest total priority cost,
3. then the most owners (collectors) trading.

Tiers 1 and 2 are exact: they are folded into one integer cost per transfer
with weights large enough that a higher tier always dominates.

*Item graphs* (TradeMaximizer want lists: every agent has one give-slot and
one want-slot of capacity 1) are an assignment problem: every item goes to
the owner of one item whose want list names it, or stays with its owner at
cost 0. OR-Tools' ``SimpleLinearSumAssignment`` solves tiers 1 and 2 for
all components at once. Owners hold several items there, so tier 3 is not
an assignment objective; it is maximised over the *optimal face* only. Dual
prices of the optimal assignment (shortest distances in its residual graph)
mark the tight transfers; those on an alternating cycle of tight transfers
(a strongly connected component) are exactly the ones some optimal
assignment can switch to, everything else is the same in every optimal
assignment. That subproblem is small, its re-solves are cheap, and every
candidate keeps tiers 1 and 2 optimal by construction; :func:`solve_unbounded`
describes the Lagrangian rounds on it, which usually prove tier 3 optimal too.

Other graphs (the pin market) are solved as a min-cost flow per strongly
connected component by :func:`solve_component`, the unit of work a Celery task
can run. With one agent per owner tier 3 is exact there: the owner's first
unit given earns a bonus on a separate arc, a convex cost a flow solver
handles exactly; owners of several agents get a per-unit bonus, a relaxation.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import chain, compress, count, repeat
from operator import add, eq

from ortools.graph.python import linear_sum_assignment

from marketplace.matching.exchange import (
    Circulation,
    Component,
    ExchangeGraph,
    decompose_cycles,
    measure,
    strongly_connected_components,
)

__all__ = ["solve_component", "solve_unbounded"]

# OR-Tools' cost scaling multiplies costs by about the node count; stay well
# inside int64.
_COST_LIMIT = 1 << 61
# What one more owner trading is worth in tier 3: the market's bonus per
# owner, and the scale of the Lagrangian rewards (multipliers in [0, 1]).
_SPREAD_WEIGHT = 1 << 8
# Runs a map of solver calls without keeping the arc ids they return.
_exhaust = deque[object](maxlen=0).extend


def solve_component(
    graph: ExchangeGraph,
    owner_bonus: Mapping[int, int] | None = None,
    *,
    exact_owner_bonus: bool = False,
    anchors: Collection[int] = (),
) -> list[tuple[int, int]]:
    """Solve one component; return ``(transfer, units)`` for every used transfer.

    ``owner_bonus`` maps an owner to a small reward (at most 2**8) per unit
    received by that owner's counting agents; with ``exact_owner_bonus`` the
    reward is paid once per owner (first unit only), which is exact when each
    owner is one agent. ``anchors`` are agents with a single want-slot that
    must receive at least one unit (a lower bound).
    """
    # Only graphs other than item graphs need the flow solver; each OR-Tools
    # module takes milliseconds to load.
    from ortools.graph.python import min_cost_flow

    bonus = owner_bonus or {}
    n_agents = graph.num_agents
    counts = graph.agent_counts
    owner = graph.agent_owner
    want_agent = graph.want_agent
    tg, tw, tc = graph.transfer_give, graph.transfer_want, graph.transfer_cost
    n_give = len(graph.give_agent)
    n_want = len(want_agent)

    counted = [counts[want_agent[w]] for w in tw]
    costs = [c for c, k in zip(tc, counted, strict=True) if k]
    low = min(costs, default=0)
    spread = max(costs, default=0) - low
    # Most counted units any solution can have: bounded by counting want-slots.
    units = sum(cap for w, cap in enumerate(graph.want_capacity) if counts[want_agent[w]]) or 1
    max_bonus = max(bonus.values(), default=0)
    cost_weight = units * max_bonus + 1  # tier 2 beats any tier-3 difference
    item_value = units * (cost_weight * spread + max_bonus) + 1  # tier 1 beats all
    n_nodes = n_agents * (2 if exact_owner_bonus else 1) + n_give + n_want
    if item_value * (n_nodes + 2) > _COST_LIMIT:
        raise OverflowError("priority costs too large for an exact lexicographic solve")

    solver = min_cost_flow.SimpleMinCostFlow()
    add = solver.add_arc_with_capacity_and_unit_cost
    give_base = n_agents * (2 if exact_owner_bonus else 1)
    want_base = give_base + n_give
    # agent (or agent-out) -> give-slot
    out_base = n_agents if exact_owner_bonus else 0
    for g, (a, cap) in enumerate(zip(graph.give_agent, graph.give_capacity, strict=True)):
        add(out_base + a, give_base + g, cap, 0)
    if exact_owner_bonus:
        for a in range(n_agents):
            b = bonus.get(owner[a], 0)
            if b:
                add(a, n_agents + a, 1, -b)
            add(a, n_agents + a, 1 << 40, 0)
    # want-slot -> agent; an anchor's unit is moved into node supplies
    anchored = set(anchors)
    for w, (a, cap) in enumerate(zip(want_agent, graph.want_capacity, strict=True)):
        if a in anchored:
            anchored.discard(a)
            cap -= 1
            solver.set_node_supply(want_base + w, -1)
            solver.set_node_supply(a, 1)
        add(want_base + w, a, cap, 0)
    # transfers: give-slot -> want-slot
    first_transfer = solver.num_arcs()
    per_unit_bonus = not exact_owner_bonus
    for g, w, c, k in zip(tg, tw, tc, counted, strict=True):
        if k:
            cost = cost_weight * (c - low) - item_value
            if per_unit_bonus:
                cost -= bonus.get(owner[want_agent[w]], 0)
        else:
            cost = 0
        add(give_base + g, want_base + w, 1, cost)

    status = solver.solve()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    flows = map(solver.flow, range(first_transfer, first_transfer + len(tg)))
    return [(t, f) for t, f in enumerate(flows) if f]


def solve_unbounded(
    graph: ExchangeGraph,
    *,
    spread_owners: bool = True,
    max_rounds: int = 20,
    solve: Callable[..., list[tuple[int, int]]] = solve_component,
) -> Circulation:
    """Maximum circulation of ``graph`` with the lexicographic objective above.

    Item graphs whose owners hold several items take the assignment path and
    maximise tier 3 over the optimal face by Lagrangian relaxation: owner
    ``o`` counts as trading if at least one of its items receives, and that
    constraint is relaxed with a multiplier, a reward per item received. Each
    round re-solves the face for the current rewards; its assignment is a
    candidate (the one with the most owners trading wins) and its value an
    upper bound on owners trading. Subgradient steps (Polyak's rule) raise
    the reward of owners left out and lower it for owners receiving several
    items. The rounds stop when the best candidate meets the bound (tier 3 is
    then proven optimal) or after ``max_rounds``. The budget is counted in
    rounds, never in seconds, so the same input always gives the same answer
    however busy the machine is.

    Other graphs are solved per component by ``solve``, which is replaceable
    by one that fans out to workers.
    """
    exact = spread_owners and _one_agent_per_owner(graph)
    if not exact and _is_item_graph(graph):
        return _solve_items(graph, spread_owners=spread_owners, max_rounds=max_rounds)
    bonus = dict.fromkeys(set(graph.agent_owner), _SPREAD_WEIGHT) if spread_owners else {}
    flows: list[tuple[int, int]] = []
    for c in graph.components():
        flows.extend((c.transfers[t], f) for t, f in _solve_safely(solve, c, bonus, exact))
    return _evaluate(graph, flows)


def _solve_safely(
    solve: Callable[..., list[tuple[int, int]]],
    component: Component,
    bonus: Mapping[int, int],
    exact: bool,
) -> list[tuple[int, int]]:
    try:
        return solve(component.graph, bonus, exact_owner_bonus=exact)
    except OverflowError:
        # Priorities too spread for tier 3 on top: keep tiers 1 and 2 exact.
        return solve(component.graph, None, exact_owner_bonus=False)


def _evaluate(graph: ExchangeGraph, flows: list[tuple[int, int]]) -> Circulation:
    cycles = decompose_cycles(graph, flows)
    items, cost, owners = measure(graph, cycles)
    return Circulation(cycles=cycles, items=items, cost=cost, owners_trading=owners)


def _one_agent_per_owner(graph: ExchangeGraph) -> bool:
    return len(set(graph.agent_owner)) == graph.num_agents


def _is_item_graph(graph: ExchangeGraph) -> bool:
    n = graph.num_agents
    return (
        len(set(graph.give_agent)) == len(graph.give_agent) == n
        and len(set(graph.want_agent)) == len(graph.want_agent) == n
        and all(c == 1 for c in graph.give_capacity)
        and all(c == 1 for c in graph.want_capacity)
    )


def _assign(size: int, left: Iterable[int], right: Iterable[int], cost: Iterable[int]) -> list[int]:
    """Minimum-cost perfect assignment: the right node of each left node."""
    solver = linear_sum_assignment.SimpleLinearSumAssignment()
    _exhaust(map(solver.add_arc_with_cost, left, right, cost))
    status = solver.solve()
    if status == solver.POSSIBLE_OVERFLOW:
        raise OverflowError("priority costs too large for an exact lexicographic solve")
    if status != solver.OPTIMAL:
        raise RuntimeError(f"assignment failed: {status}")
    return list(map(solver.right_mate, range(size)))


def _solve_items(
    graph: ExchangeGraph,
    *,
    spread_owners: bool,
    max_rounds: int,
) -> Circulation:
    """The assignment path for item graphs (see the module docstring)."""
    n = graph.num_agents
    counts = graph.agent_counts
    # Per-transfer work goes through map() and compress(): it runs once per
    # want, and Python loops over all of them would dominate the solve.
    giver_of = list(map(graph.give_agent.__getitem__, graph.transfer_give))
    taker_of = list(map(graph.want_agent.__getitem__, graph.transfer_want))
    adjacency: list[list[int]] = [[] for _ in range(n)]
    _exhaust(map(list.append, map(adjacency.__getitem__, giver_of), taker_of))
    label = strongly_connected_components(adjacency)
    # Transfers between components are never on a cycle: leave them out.
    inside = list(map(eq, map(label.__getitem__, giver_of), map(label.__getitem__, taker_of)))
    kept = list(compress(count(), inside))
    givers = list(compress(giver_of, inside))
    takers = list(compress(taker_of, inside))
    priority = list(compress(graph.transfer_cost, inside))
    counted = [c for c, k in zip(priority, takers, strict=True) if counts[k]]
    low = min(counted, default=0)
    # Tier 1 beats any tier-2 difference: each counting item receives once.
    item_value = sum(counts) * (max(counted, default=0) - low) + 1
    if 2 * item_value * (n + 1) > _COST_LIMIT:
        raise OverflowError("priority costs too large for an exact lexicographic solve")
    base = low + item_value
    cost = [c - base if counts[k] else 0 for c, k in zip(priority, takers, strict=True)]
    # Left node j gives item j, right node k receives into item k; j -> j keeps it.
    sends = _assign(n, chain(range(n), givers), chain(range(n), takers), chain(repeat(0, n), cost))
    gets = [0] * n
    for j, k in enumerate(sends):
        gets[k] = j
    via = [-1] * n  # receiving item -> index (into kept) of the transfer it uses
    for i in compress(count(), map(eq, map(gets.__getitem__, takers), givers)):
        # The cheapest of parallel transfers, which is the one the solver used.
        k = takers[i]
        if via[k] < 0 or cost[i] < cost[via[k]]:
            via[k] = i
    if spread_owners:
        owner = graph.agent_owner
        trading = {owner[k] for k in range(n) if counts[k] and via[k] >= 0}
        # Unless every owner who could ever receive something already does:
        if len(trading) < len({owner[k] for k in set(takers) if counts[k]}):
            face = _Face(graph, kept, givers, takers, cost, gets, sends, via)
            best = face.most_owners(max_rounds=max_rounds)
            return _evaluate(graph, face.flows(best))
    return _evaluate(graph, [(kept[i], 1) for i in via if i >= 0])


class _Face:
    """The optimal face of an item assignment, as a small assignment problem.

    Built from one optimal assignment (``gets[k]`` gives to ``k``, and
    ``sends`` the other way round) and the kept transfers with their folded
    ``cost``. Left position ``p`` gives item ``lefts[p]``, right position
    ``r`` receives into item ``rights[r]`` (``lefts[r]`` gives to it at the
    start). An arc ``(arc_left[a], arc_right[a])`` is a transfer that some
    optimal assignment uses (``arc_transfer[a]``, an index into ``kept``) or
    an item its owner may keep (-1); every perfect assignment of these arcs,
    completed by the fixed part, is optimal.
    """

    def __init__(
        self,
        graph: ExchangeGraph,
        kept: list[int],
        givers: list[int],
        takers: list[int],
        cost: list[int],
        gets: list[int],
        sends: list[int],
        via: list[int],
    ) -> None:
        n = graph.num_agents
        counts, owner = graph.agent_counts, graph.agent_owner
        self.kept, self.via = kept, via
        price = _prices(gets, sends, givers, takers, cost, via)
        # What a giver pays to take over each item's receipt: tight transfers
        # cost exactly their giver's price.
        into = [price[gets[k]] - (cost[via[k]] if via[k] >= 0 else 0) for k in range(n)]
        paid = map(add, cost, map(into.__getitem__, takers))
        exact = compress(count(), map(eq, paid, map(price.__getitem__, givers)))
        tight = [i for i in exact if gets[takers[i]] != givers[i]]
        keepers = [k for k in range(n) if gets[k] != k and into[k] == price[k]]
        # Alternating cycles of tight arcs: from a giver to the current giver
        # of the item it could take over.
        adjacency: list[list[int]] = [[] for _ in range(n)]
        for i in tight:
            adjacency[givers[i]].append(gets[takers[i]])
        for k in keepers:
            adjacency[k].append(gets[k])
        label = strongly_connected_components(adjacency)
        size = [0] * n
        for c in label:
            size[c] += 1
        self.lefts = [j for j in range(n) if size[label[j]] > 1]
        position = [-1] * n
        for p, j in enumerate(self.lefts):
            position[j] = p
        self.rights = [sends[j] for j in self.lefts]

        # Arcs: the current assignment, then tight transfers and keepers
        # inside a component.
        self.arc_left = list(range(len(self.lefts)))
        self.arc_right = list(range(len(self.lefts)))
        self.arc_transfer = [via[k] for k in self.rights]
        for i in tight:
            j, x = givers[i], gets[takers[i]]
            if label[j] == label[x] and size[label[j]] > 1:
                self.arc_left.append(position[j])
                self.arc_right.append(position[x])
                self.arc_transfer.append(i)
        for k in keepers:
            if label[k] == label[gets[k]] and size[label[k]] > 1:
                self.arc_left.append(position[k])
                self.arc_right.append(position[gets[k]])
                self.arc_transfer.append(-1)
        # Owners who trade in every optimal assignment: an item of theirs
        # receives outside the face, or inside it without a way to keep.
        keeps = {
            self.rights[r]
            for p, r in zip(self.arc_left, self.arc_right, strict=True)
            if self.lefts[p] == self.rights[r]
        }
        variable = set(self.rights)
        always = {owner[k] for k in range(n) if counts[k] and gets[k] != k and k not in variable}
        always.update(owner[k] for k in self.rights if counts[k] and k not in keeps)
        # The contested owner each right position's item belongs to (None when
        # it does not count or its owner always trades), and the owner an arc
        # rewards: that one, for an item received from another.
        self.right_owner = [
            owner[k] if counts[k] and owner[k] not in always else None for k in self.rights
        ]
        self.arc_owner = [
            self.right_owner[r] if self.lefts[p] != self.rights[r] else None
            for p, r in zip(self.arc_left, self.arc_right, strict=True)
        ]
        self.contested = sorted({o for o in self.arc_owner if o is not None})

    def received(self, assignment: Sequence[int]) -> dict[int, int]:
        """Contested owner -> items of theirs receiving under ``assignment``."""
        lefts, rights, right_owner = self.lefts, self.rights, self.right_owner
        received: dict[int, int] = {}
        for p, r in enumerate(assignment):
            o = right_owner[r]
            if o is not None and lefts[p] != rights[r]:
                received[o] = received.get(o, 0) + 1
        return received

    def flows(self, assignment: Sequence[int]) -> list[tuple[int, int]]:
        """``(transfer, 1)`` for every transfer used by ``assignment``."""
        variable = set(self.rights)
        used = [i for k, i in enumerate(self.via) if i >= 0 and k not in variable]
        arc = {
            (p, r): i
            for p, r, i in zip(self.arc_left, self.arc_right, self.arc_transfer, strict=True)
        }
        used.extend(arc[p, r] for p, r in enumerate(assignment))
        return [(self.kept[i], 1) for i in used if i >= 0]

    def most_owners(self, *, max_rounds: int) -> list[int]:
        """The Lagrangian rounds of :func:`solve_unbounded`: the assignment
        with the most contested owners trading (right position per left)."""
        best = list(range(len(self.lefts)))
        best_count = len(self.received(best))
        bound = len(self.contested)
        multiplier = dict.fromkeys(self.contested, 1.0)
        for _ in range(max_rounds):
            if best_count >= bound:
                break
            reward = {o: round(_SPREAD_WEIGHT * m) for o, m in multiplier.items()}
            costs = [0 if o is None else -reward[o] for o in self.arc_owner]
            assignment = _assign(len(self.lefts), self.arc_left, self.arc_right, costs)
            received = self.received(assignment)
            if len(received) > best_count:
                best, best_count = assignment, len(received)
            # max over y in [0, 1] and assignments of sum(y_o) plus
            # reward_o * (items of o received - y_o), in units of the weight.
            value = sum(_SPREAD_WEIGHT + w * (received.get(o, 0) - 1) for o, w in reward.items())
            bound = min(bound, value // _SPREAD_WEIGHT)
            # A subgradient; at m == 1 the (1 - m) term is flat.
            slope = {o: received.get(o, 0) - (1 if m < 1 else 0) for o, m in multiplier.items()}
            norm = sum(g * g for g in slope.values())
            if not norm:
                break  # a fixed point: the multipliers would stay as they are
            step = (value / _SPREAD_WEIGHT - best_count) / norm
            for o, g in slope.items():
                multiplier[o] = min(1.0, max(0.0, multiplier[o] - step * g))
        return best


def _prices(
    gets: Sequence[int],
    sends: Sequence[int],
    givers: Sequence[int],
    takers: Sequence[int],
    cost: Sequence[int],
    via: Sequence[int],
) -> list[int]:
    """Dual prices of an optimal assignment: ``price[j]`` is the cheapest
    change giver ``j`` can start (give to another item, whose giver then
    gives elsewhere, ..., until one keeps its own item), 0 or less.
    Queue-based Bellman-Ford; optimality means there is no negative cycle."""
    n = len(gets)
    wanted: list[list[int]] = [[] for _ in range(n)]  # receiver -> kept indices
    _exhaust(map(list.append, map(wanted.__getitem__, takers), count()))
    price = [0] * n
    queued = [True] * n
    queue = deque(range(n))
    while queue:
        x = queue.popleft()
        queued[x] = False
        # x got cheaper: so did every giver that could take x's place at the
        # item x gives to (and that item itself, by keeping it).
        k = sends[x]
        base = price[x] - (cost[via[k]] if via[k] >= 0 else 0)
        for i in wanted[k]:
            j = givers[i]
            p = base + cost[i]
            if p < price[j]:
                price[j] = p
                if not queued[j]:
                    queued[j] = True
                    queue.append(j)
        if k != x and base < price[k]:
            price[k] = base
            if not queued[k]:
                queued[k] = True
                queue.append(k)
    return price
