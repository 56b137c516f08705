"""Global solve with a cap on cycle length: an exact integer program.

Owns the cycle formulation on OR-Tools CP-SAT. Long postal loops are fragile,
so a moderator may cap the number of transfers per loop; the problem is then
NP-hard and a flow no longer suffices.

Formulation, per strongly connected component (components are enumerated
separately, so each can be built by a separate worker):

* ``x_c`` — how many times agent cycle ``c`` (a simple cycle of at most
  ``max_length`` agents, enumerated from its smallest agent) is used;
* ``f_t`` — units on transfer ``t``;
* for every ordered agent pair ``(a, b)``: the cycles using hop ``a → b``
  carry exactly the units of the transfers from ``a`` to ``b``;
* give-slot and want-slot capacities bound the transfers;
* objective, lexicographic through weights: items, then priority cost, then
  owners trading (``z_o ≤ Σ x_c`` over cycles through ``o``'s agents).

The budget that shapes the answer is CP-SAT's deterministic time on one
worker with a fixed seed, so the same market gives the same cycles however
busy the machine is; ``time_limit`` seconds of wall clock (a few times the
deterministic budget) and the listing of cycles bound the run as a safety
net. The result reports CP-SAT's status and the proven bound on items, hence
the optimality gap. (Want-list files take the item-graph program of
:mod:`~marketplace.matching.rings` instead.)
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from marketplace.matching.exchange import Circulation, ExchangeGraph, measure

__all__ = ["CycleLimitExceeded", "enumerate_cycles", "prune_to_short_cycles", "solve_capped"]


class CycleLimitExceeded(ValueError):
    """Too many candidate cycles for the cycle formulation."""


def enumerate_cycles(
    adjacency: Sequence[Sequence[int]],
    max_length: int,
    limit: int = 500_000,
    deadline: float | None = None,
) -> list[tuple[int, ...]]:
    """All simple cycles with at most ``max_length`` vertices, each once,
    starting from its smallest vertex; :class:`CycleLimitExceeded` past
    ``limit`` cycles or ``deadline`` (``time.monotonic()``)."""
    cycles: list[tuple[int, ...]] = []
    n = len(adjacency)
    for start in range(n):
        if deadline is not None and time.monotonic() > deadline:
            raise CycleLimitExceeded(f"time ran out listing cycles of length <= {max_length}")
        path = [start]
        on_path = {start}
        stack = [iter(adjacency[start])]
        while stack:
            advanced = False
            for v in stack[-1]:
                if v == start:
                    cycles.append(tuple(path))
                    if len(cycles) > limit:
                        raise CycleLimitExceeded(
                            f"more than {limit} cycles of length <= {max_length}"
                        )
                elif v > start and v not in on_path and len(path) < max_length:
                    path.append(v)
                    on_path.add(v)
                    stack.append(iter(adjacency[v]))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                on_path.discard(path.pop())
    return cycles


def prune_to_short_cycles(adjacency: Sequence[Sequence[int]], max_length: int) -> list[list[int]]:
    """The arcs that lie on some simple cycle of at most ``max_length`` vertices.

    Arc ``u → v`` is on such a cycle exactly when ``u`` is reachable from ``v``
    in at most ``max_length - 1`` steps (a shortest path from ``v`` to ``u`` is
    simple and meets ``u`` and ``v`` only at its ends). So every cycle of length
    ≤ ``max_length`` survives and nothing else is needed to find them: for cap 3,
    ``u → v`` stays only if ``v → u`` or ``v → w → u``. Each vertex costs one
    backward search of depth ``max_length - 1``."""
    n = len(adjacency)
    reverse: list[list[int]] = [[] for _ in range(n)]
    for u, outs in enumerate(adjacency):
        for v in outs:
            if v != u:
                reverse[v].append(u)
    kept: list[list[int]] = [[] for _ in range(n)]
    for u in range(n):
        if not adjacency[u] or not reverse[u]:
            continue
        # Vertices that reach u within max_length - 1 steps.
        reach = {u}
        frontier = [u]
        for _ in range(max_length - 1):
            nxt = []
            for x in frontier:
                for y in reverse[x]:
                    if y not in reach:
                        reach.add(y)
                        nxt.append(y)
            frontier = nxt
            if not frontier:
                break
        kept[u] = [v for v in adjacency[u] if v != u and v in reach]
    return kept


def solve_capped(
    graph: ExchangeGraph,
    max_length: int,
    *,
    time_limit: float = 10.0,
    spread_owners: bool = True,
    cycle_limit: int = 500_000,
) -> Circulation:
    """Best circulation whose cycles have at most ``max_length`` agents."""
    if max_length < 2:
        raise ValueError("max_length must be at least 2")
    deadline = time.monotonic() + time_limit
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    flow_vars: dict[int, cp_model.IntVar] = {}
    # (agent cycle as parent transfers per hop, its x variable)
    cycle_vars: list[tuple[list[list[int]], cp_model.IntVar]] = []
    owner_terms: dict[int, list[cp_model.IntVar]] = {}
    item_terms = []
    cost_terms = []
    max_cost = 0
    for component in graph.components():
        sub = component.graph
        pairs: dict[tuple[int, int], list[int]] = {}
        for t in range(sub.num_transfers):
            pairs.setdefault((sub.giver(t), sub.receiver(t)), []).append(t)
        adjacency: list[list[int]] = [[] for _ in range(sub.num_agents)]
        for a, b in sorted(pairs):
            adjacency[a].append(b)
        adjacency = prune_to_short_cycles(adjacency, max_length)
        agent_cycles = enumerate_cycles(adjacency, max_length, cycle_limit, deadline)
        if not agent_cycles:
            continue
        cap = [
            min(sub.give_capacity[g], sub.want_capacity[w])
            for g, w in zip(sub.transfer_give, sub.transfer_want, strict=True)
        ]
        pair_cap = {p: sum(cap[t] for t in ts) for p, ts in pairs.items()}
        by_pair: dict[tuple[int, int], list[cp_model.IntVar]] = {}
        for agent_cycle in agent_cycles:
            hops = [
                (agent_cycle[i], agent_cycle[(i + 1) % len(agent_cycle)])
                for i in range(len(agent_cycle))
            ]
            x = model.new_int_var(0, min(pair_cap[h] for h in hops), "")
            cycle_vars.append(([[component.transfers[t] for t in pairs[h]] for h in hops], x))
            for h in hops:
                by_pair.setdefault(h, []).append(x)
            for a in agent_cycle:
                if sub.agent_counts[a]:
                    owner_terms.setdefault(sub.agent_owner[a], []).append(x)
        give_terms: dict[int, list[cp_model.IntVar]] = {}
        want_terms: dict[int, list[cp_model.IntVar]] = {}
        for pair, xs in by_pair.items():
            fs = []
            for t in pairs[pair]:
                g, w = sub.transfer_give[t], sub.transfer_want[t]
                f = model.new_int_var(0, min(sub.give_capacity[g], sub.want_capacity[w]), "")
                flow_vars[component.transfers[t]] = f
                give_terms.setdefault(g, []).append(f)
                want_terms.setdefault(w, []).append(f)
                fs.append(f)
                if sub.agent_counts[pair[1]]:
                    item_terms.append(f)
                    cost_terms.append((sub.transfer_cost[t], f))
                    max_cost = max(max_cost, sub.transfer_cost[t])
            model.add(sum(xs) == sum(fs))
        for g, fs in give_terms.items():
            model.add(sum(fs) <= sub.give_capacity[g])
        for w, fs in want_terms.items():
            model.add(sum(fs) <= sub.want_capacity[w])

    if not flow_vars:
        return Circulation(cycles=[], items=0, cost=0, owners_trading=0)

    owners_weight = 1 if spread_owners else 0
    z_vars = []
    if spread_owners:
        for xs in owner_terms.values():
            z = model.new_bool_var("")
            model.add(z <= sum(xs))
            z_vars.append(z)
    max_items = len(item_terms)
    cost_weight = owners_weight * len(z_vars) + 1
    item_weight = cost_weight * (max_cost * max_items + 1)
    model.maximize(
        item_weight * sum(item_terms)
        - cost_weight * sum(c * f for c, f in cost_terms)
        + sum(z_vars)
    )
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = time_limit
    solver.parameters.max_time_in_seconds = max(0.1, 4 * (deadline - time.monotonic()))
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 20_240_521
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Circulation(
            cycles=[],
            items=0,
            cost=0,
            owners_trading=0,
            status="FEASIBLE",
            bound=len(item_terms),
            notes=(f"CP-SAT found no solution within its budget ({solver.status_name(status)})",),
        )
    # Rebuild cycles from the chosen agent cycles (decomposing the flow
    # instead could splice two short cycles into one over the cap).
    pool = {t: solver.value(f) for t, f in flow_vars.items()}
    cycles: list[list[int]] = []
    for hop_transfers, x in cycle_vars:
        for _ in range(solver.value(x)):
            cycle = []
            for candidates in hop_transfers:
                t = next(t for t in candidates if pool[t] > 0)
                pool[t] -= 1
                cycle.append(t)
            cycles.append(cycle)
    items, cost, owners = measure(graph, cycles)
    bound = int((solver.best_objective_bound + item_weight - 1) // item_weight)
    return Circulation(
        cycles=cycles,
        items=items,
        cost=cost,
        owners_trading=owners,
        status="OPTIMAL" if status == cp_model.OPTIMAL else "FEASIBLE",
        bound=max(bound, items),
    )
