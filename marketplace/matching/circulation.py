"""Unbounded global solve: a maximum circulation by min-cost flow.

Owns the translation of an :class:`~marketplace.matching.exchange.ExchangeGraph`
into a flow network for OR-Tools' ``SimpleMinCostFlow`` and the lexicographic
objective

1. most items changing hands,
2. then the lowest total priority cost,
3. then the most owners (collectors) trading.

Tiers 1 and 2 are exact: they are folded into one integer cost per transfer
with weights large enough that a higher tier always dominates. Tier 3 is exact
when every owner is a single agent (the pin market): the owner's first unit
given earns a bonus on a separate arc, which is a convex cost a flow solver
handles exactly. When owners hold several agents (TradeMaximizer items) it is
not a flow objective, so :func:`solve_unbounded` re-solves a few times with
bonuses re-weighted towards owners who trade little (an iteratively reweighted
relaxation) and keeps the best solution; tiers 1 and 2 are unchanged by
construction, so every candidate is a maximum, minimum-cost solution.

Components are solved independently; :func:`solve_component` is the unit of
work a Celery task can run, and the cheap merge lives in :func:`solve_unbounded`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection, Mapping, Sequence

from ortools.graph.python import min_cost_flow

from marketplace.matching.exchange import (
    Circulation,
    Component,
    ExchangeGraph,
    decompose_cycles,
    measure,
)

__all__ = ["solve_component", "solve_unbounded"]

# OR-Tools' cost scaling multiplies costs by about the node count; stay well
# inside int64.
_COST_LIMIT = 1 << 61
_SPREAD_WEIGHT = 1 << 8
_RELEASED = 4


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
    must receive at least one unit (a lower bound, used to keep owners who
    already trade in the solution while others are drawn in).
    """
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
    flow = solver.flow
    result: list[tuple[int, int]] = []
    for t in range(len(tg)):
        f = flow(first_transfer + t)
        if f:
            result.append((t, f))
    return result


def _lift(component: Component, flows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(component.transfers[t], f) for t, f in flows]


def solve_unbounded(
    graph: ExchangeGraph,
    *,
    spread_owners: bool = True,
    max_rounds: int = 20,
    time_budget: float = 2.0,
    max_failures: tuple[int, int] = (2, 25),
    seed: int = 1,
    solve: Callable[..., list[tuple[int, int]]] = solve_component,
) -> Circulation:
    """Maximum circulation of ``graph`` with the lexicographic objective above.

    When owners hold several agents, tier 3 is improved in two phases, each
    round a full re-solve whose result is kept only if more owners trade:

    * re-weighting: reward units received by owners who trade at most once
      and much less for owners who trade a lot, pulling the solution towards
      spreading trades out;
    * anchoring: one receiving agent of every trading owner (chosen at random
      from ``seed``) must keep receiving, except for a few released owners;
      the released and the not-yet-trading owners are rewarded. An owner can
      only drop out if it is released, and then only for a net gain.

    ``max_rounds`` bounds the rounds, so a given input and seed always give the
    same answer however busy the machine is; ``time_budget`` (seconds) is only a
    safety net for huge inputs. Each phase also ends after its ``max_failures``
    entry of rounds in a row without progress. ``solve`` is the
    per-component solver, replaceable by one that fans out to workers.
    """
    components = graph.components()
    exact = spread_owners and _one_agent_per_owner(graph)
    bonus: dict[int, int] = dict.fromkeys(set(graph.agent_owner), _SPREAD_WEIGHT) if exact else {}
    started = time.perf_counter()
    flows = _solve_all(solve, components, bonus, exact, ())
    best = _evaluate(graph, flows)
    if not spread_owners or exact or not components:
        return best

    # No owner outside a component can ever trade; once every owner who could
    # does, no round can improve on the solution.
    could_trade = {
        c.graph.agent_owner[c.graph.receiver(t)]
        for c in components
        for t in range(c.graph.num_transfers)
        if c.graph.agent_counts[c.graph.receiver(t)]
    }
    if best.owners_trading >= len(could_trade):
        return best
    rng = random.Random(seed)  # noqa: S311 - exploration, not secrecy
    owners = sorted(set(graph.agent_owner))
    rounds = 0
    for phase, patience in zip(("reweight", "anchor"), max_failures, strict=True):
        failures = 0
        current = flows
        while (
            failures < patience
            and rounds < max_rounds
            and time.perf_counter() - started < time_budget
        ):
            rounds += 1
            receiving = _receiving(graph, current)
            anchors: list[int] = []
            if phase == "reweight":
                bonus = {
                    o: _SPREAD_WEIGHT // max(1, len(receiving.get(o, ())) ** 2) or 1 for o in owners
                }
            else:
                current = flows
                receiving = _receiving(graph, current)
                released = _release(graph, current, receiving, rng)
                anchors = [
                    rng.choice(agents) for o, agents in receiving.items() if o not in released
                ]
                bonus = {o: _SPREAD_WEIGHT for o in owners if o not in receiving or o in released}
            current = _solve_all(solve, components, bonus, False, anchors)
            candidate = _evaluate(graph, current)
            if (candidate.items, -candidate.cost, candidate.owners_trading) > (
                best.items,
                -best.cost,
                best.owners_trading,
            ):
                best, flows, failures = candidate, current, 0
                if best.owners_trading >= len(could_trade):
                    return best
            else:
                failures += 1
    return best


def _release(
    graph: ExchangeGraph,
    flows: Sequence[tuple[int, int]],
    receiving: Mapping[int, list[int]],
    rng: random.Random,
) -> set[int]:
    """Trading owners to release for one anchoring round: those currently
    receiving items that agents of a random non-trading owner want (the way
    to add two owners is sometimes to move one), else a random few."""
    received_by: dict[int, int] = {}  # giver agent -> receiving agent
    for t, f in flows:
        if f:
            received_by[graph.giver(t)] = graph.receiver(t)
    idle_agents: dict[int, list[int]] = {}
    for t in range(graph.num_transfers):
        r = graph.receiver(t)
        o = graph.agent_owner[r]
        if graph.agent_counts[r] and o not in receiving:
            idle_agents.setdefault(o, []).append(t)
    released: set[int] = set()
    if idle_agents:
        target = rng.choice(sorted(idle_agents))
        for t in idle_agents[target]:
            holder = received_by.get(graph.giver(t))
            if holder is not None and graph.agent_owner[holder] in receiving:
                released.add(graph.agent_owner[holder])
    pool = sorted(released) if released else sorted(receiving)
    return set(rng.sample(pool, min(rng.randint(1, _RELEASED), len(pool))))


def _solve_all(
    solve: Callable[..., list[tuple[int, int]]],
    components: Sequence[Component],
    bonus: Mapping[int, int],
    exact: bool,
    anchors: Collection[int],
) -> list[tuple[int, int]]:
    anchored = set(anchors)
    flows: list[tuple[int, int]] = []
    for c in components:
        mine = [i for i, a in enumerate(c.agents) if a in anchored]
        flows.extend(_lift(c, _solve_safely(solve, c, bonus, exact, mine)))
    return flows


def _evaluate(graph: ExchangeGraph, flows: list[tuple[int, int]]) -> Circulation:
    cycles = decompose_cycles(graph, flows)
    items, cost, owners = measure(graph, cycles)
    return Circulation(cycles=cycles, items=items, cost=cost, owners_trading=owners)


def _receiving(graph: ExchangeGraph, flows: Sequence[tuple[int, int]]) -> dict[int, list[int]]:
    """Owner -> its counting agents that receive a unit, sorted."""
    receiving: dict[int, list[int]] = {}
    for t, f in flows:
        r = graph.receiver(t)
        if f and graph.agent_counts[r]:
            receiving.setdefault(graph.agent_owner[r], []).append(r)
    for agents in receiving.values():
        agents.sort()
    return receiving


def _solve_safely(
    solve: Callable[..., list[tuple[int, int]]],
    component: Component,
    bonus: Mapping[int, int],
    exact: bool,
    anchors: Collection[int] = (),
) -> list[tuple[int, int]]:
    try:
        return solve(component.graph, bonus, exact_owner_bonus=exact, anchors=anchors)
    except OverflowError:
        # Priorities too spread for tier 3 on top: keep tiers 1 and 2 exact.
        return solve(component.graph, None, exact_owner_bonus=False, anchors=anchors)


def _one_agent_per_owner(graph: ExchangeGraph) -> bool:
    return len(set(graph.agent_owner)) == graph.num_agents
