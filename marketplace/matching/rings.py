"""Short rings on item graphs, proven optimal: the cycle formulation on HiGHS.

Owns the capped solve of want-list files. With a cap of ``k`` real items per
ring (dummies do not count, :mod:`~marketplace.matching.ringgraph`), the
problem is a set packing over the short cycles: ``x_c = 1`` when cycle ``c``
(one way of realising it through dummies) is used, and every item and every
dummy lies on one chosen cycle at most. Its linear relaxation is the tight
one of the kidney-exchange literature: on real want-list files branch and
bound closes at the root. A large program (a dense market of 3,000 items
and 280,000 wants has 300,000 cycles of three) is first relaxed by column
generation (:mod:`~marketplace.matching.colgen`): the relaxation bounds items
well below the unbounded optimum, a dive on it finds the incumbent, and
reduced-cost fixing against it keeps the columns a packing as good may use.
When they are few, branch and bound over them proves every tier; otherwise it
searches the relaxation's columns and the answer states the relaxation's
bound and the gap.

The objective is lexicographic and solved tier by tier, each tier keeping the
optimum of the one before as a constraint:

1. most items changing hands;
2. then the lowest total priority cost;
3. then the most owners (collectors) trading, ``z_o ≤ Σ x_c`` over the
   cycles in which one of ``o``'s items receives.

Each tier reports a proven bound, which makes a certificate: ``OPTIMAL``
when every tier met its bound, otherwise the best bound on items and the
gap. The unbounded optimum (an assignment, solved first) is also an upper
bound on items, so a capped solution that trades as many items is proven on
that tier without branching.

Deterministic: HiGHS runs on one thread with a fixed seed, and the budgets
that shape the answer are counted in work (cycles listed, branch-and-bound
nodes). The wall-clock ``time_limit`` bounds the whole run as a safety net;
an answer cut by it says so, since it may differ on a busier machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import product
from typing import Any

from marketplace.matching.exchange import Circulation, ExchangeGraph, measure
from marketplace.matching.ringgraph import CycleList, Hop, collapse, short_cycles

__all__ = ["RingLimits", "solve_rings"]

_SEED = 20_240_521  # any fixed value: HiGHS's choices then repeat run to run
_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class RingLimits:
    """How much work a capped solve may do."""

    time_limit: float = 30.0  # seconds for the whole run (a safety net)
    max_cycles: int = 400_000  # candidate cycles in the program
    max_nodes: int = 5_000  # branch-and-bound nodes per tier
    # Programs with more columns than this are first relaxed and narrowed
    # (:mod:`~marketplace.matching.colgen`) before any branch and bound.
    direct_columns: int = 20_000
    max_rounds: int = 40  # column-generation rounds
    dive_steps: int = 150  # relaxations solved again while diving for a packing
    dive_columns_per_fix: int = 12_000  # program columns per column a dive step fixes
    max_fixed: int = 60_000  # columns a proof by reduced-cost fixing may keep


@dataclass(slots=True)
class _Column:
    hops: tuple[Hop, ...]
    rows: tuple[int, ...]  # items and dummies it occupies (agent ids)
    items: int
    cost: int
    owners: frozenset[int]


def solve_rings(
    graph: ExchangeGraph,
    cap: int,
    *,
    spread_owners: bool = True,
    limits: RingLimits | None = None,
) -> Circulation:
    """Best set of rings of at most ``cap`` real items, with its certificate."""
    from marketplace.matching.circulation import solve_unbounded

    if cap < 2:
        raise ValueError("a ring has at least 2 items")
    limits = limits or RingLimits()
    deadline = time.monotonic() + limits.time_limit
    # The unbounded optimum bounds every capped one: no more items, and at
    # that many items no lower cost.
    unbounded = solve_unbounded(graph, spread_owners=False)
    ring = collapse(graph)
    # Listing and expanding cycles run in pure Python and answer no
    # interrupt: they stop at a quarter and at under half of the time, so
    # the program is left the rest (a cap-8 list of 400,000 cycles would
    # otherwise eat 8 seconds on its own).
    began = deadline - limits.time_limit
    listed = short_cycles(
        ring, cap, max_cycles=limits.max_cycles, deadline=began + 0.25 * limits.time_limit
    )
    columns, expanded = _columns(graph, ring.hops, listed.cycles, began + 0.45 * limits.time_limit)
    if not expanded:
        listed = CycleList(listed.cycles, False, "the time limit ran out while listing cycles")
    notes = [] if listed.complete else [listed.reason or "the cycle list is incomplete"]
    # Nobody trades without receiving along some hop.
    owner, counts = graph.agent_owner, graph.agent_counts
    receivers = {r for _, r in ring.hops} if not listed.complete else set()
    receivers.update(r for c in listed.cycles for r in c)
    owners_bound = len({owner[r] for r in receivers if counts[r]})
    if not columns:
        return _result(graph, [], 0 if listed.complete else unbounded.items, 0, 0, notes)

    # HiGHS answers an interrupt only between steps, up to a second or so
    # later inside a large root node: keep that margin inside the limit.
    margin = min(1.5, 0.15 * limits.time_limit)
    start = _greedy(columns)
    exact = listed.complete  # the program holds every packing that may be optimal
    relaxed: int | None = None
    if len(columns) > limits.direct_columns:
        columns, start, narrowed, bound, said = _narrow(columns, start, deadline - margin, limits)
        # Over a cut list of cycles the relaxation proves nothing, but its
        # dive still finds the packing to start from.
        if listed.complete:
            exact, relaxed = narrowed, bound
            notes += said
    program = _Program(columns, deadline - margin, limits.max_nodes)
    chosen, _, bound = program.solve_tier("items", start)
    items = program.score("items", chosen)
    items_bound = min(unbounded.items, bound) if exact else unbounded.items
    if relaxed is not None:
        # No packing beats the relaxation (and, when the program holds
        # every column a packing as good as the incumbent may use, none beats
        # the program's bound either).
        items_bound = min(items_bound, relaxed)
    if items < items_bound:
        return _result(graph, program.pick(chosen), items_bound, None, None, notes + program.notes)
    # Tiers 2 and 3 keep the tier above at its proven optimum.
    program.fix("items", items)
    if program.flat_cost():
        # Every item costs the same (no priorities): the cost is settled.
        bound = cost = -program.score("cost", chosen)
    else:
        chosen, _, bound = program.solve_tier("cost", chosen)
        cost = -program.score("cost", chosen)
    cost_bound = unbounded.cost if items == unbounded.items else 0
    if exact:
        cost_bound = max(cost_bound, bound)
    if cost > cost_bound or not spread_owners:
        if not spread_owners:
            owners_bound = program.score("owners", chosen)
        return _result(
            graph,
            program.pick(chosen),
            items_bound,
            cost_bound,
            owners_bound,
            notes + program.notes,
        )
    program.fix("cost", cost)
    if program.score("owners", chosen) < owners_bound:
        chosen, _, bound = program.solve_tier("owners", chosen)
    else:
        bound = owners_bound
    if exact:
        owners_bound = min(owners_bound, bound)
    return _result(
        graph, program.pick(chosen), items_bound, cost_bound, owners_bound, notes + program.notes
    )


def _greedy(columns: list[_Column]) -> list[int]:
    """A greedy packing, an incumbent from the first second on: longest
    cycles first, among them those through items that few cycles reach
    (they are the easiest to strand), then the cheapest."""
    reach: dict[int, int] = {}
    for column in columns:
        for r in column.rows:
            reach[r] = reach.get(r, 0) + 1
    order = sorted(
        range(len(columns)),
        key=lambda j: (
            -columns[j].items,
            sum(reach[r] for r in columns[j].rows),
            columns[j].cost,
            j,
        ),
    )
    return _pack(columns, order)


def _pack(columns: list[_Column], order: Iterable[int]) -> list[int]:
    """Columns taken in ``order`` while they fit."""
    used: set[int] = set()
    chosen = []
    for j in order:
        rows = columns[j].rows
        if used.isdisjoint(rows):
            used.update(rows)
            chosen.append(j)
    return sorted(chosen)


def _narrow(
    columns: list[_Column], start: list[int], deadline: float, limits: RingLimits
) -> tuple[list[_Column], list[int], bool, int, list[str]]:
    """A large program cut down to the columns worth branching over.

    Returns the columns kept, the incumbent among them, whether they hold
    every packing at least as good as it (so a branch and bound over them
    proves every tier), the relaxation's bound on items, and notes. The
    relaxation is solved by column generation and a dive on it finds the
    incumbent; reduced-cost fixing against it then keeps only the columns
    a packing as good may use, when they are few enough; otherwise the
    branch and bound searches the relaxation's columns, for a better
    packing but no proof."""
    import numpy as np

    from marketplace.matching.colgen import Packing, dive, relax

    num_rows = 1 + max(max(c.rows) for c in columns)
    packing = Packing.build([c.rows for c in columns], [c.items for c in columns], num_rows)
    relaxation = relax(packing, start, max_rounds=limits.max_rounds, deadline=deadline)
    bound = int(np.floor(relaxation.bound + _EPS))
    notes = []
    if not relaxation.converged:
        notes.append(f"column generation stopped after {relaxation.rounds} rounds")
    # A step costs about the program's size, and the steps a dive takes about
    # the items over the columns fixed per step: fixing more per step on a
    # larger program keeps the dive's work near the same (3,000 items: 296,647
    # columns at cap 3, 25 a step, 2,590 items; 400,000 at cap 4, 34, 2,612).
    per_step = max(10, -(-len(columns) // limits.dive_columns_per_fix))
    incumbent = dive(
        packing, relaxation, max_steps=limits.dive_steps, per_step=per_step, deadline=deadline
    )
    if time.monotonic() > deadline:
        notes.append("the time limit cut the dive for a packing short")
    if sum(columns[j].items for j in start) > sum(columns[j].items for j in incumbent):
        incumbent = start
    items = sum(columns[j].items for j in incumbent)
    kept = relaxation.survivors(items)
    exact = len(kept) <= limits.max_fixed
    if exact:
        pool = sorted(set(kept.tolist()) | set(incumbent))
    else:
        notes.append(
            f"reduced-cost fixing at {items} items against the bound {bound}"
            f" keeps {len(kept):,} columns, more than {limits.max_fixed:,}"
        )
        pool = sorted(set(relaxation.master.tolist()) | set(incumbent))
    local = {j: i for i, j in enumerate(pool)}
    return [columns[j] for j in pool], [local[j] for j in incumbent], exact, bound, notes


def _columns(
    graph: ExchangeGraph,
    hops: dict[tuple[int, int], list[Hop]],
    cycles: list[tuple[int, ...]],
    deadline: float,
) -> tuple[list[_Column], bool]:
    """Every realisation of every cycle whose hops share no dummy, and
    whether every cycle was expanded before ``deadline``."""
    owner, counts = graph.agent_owner, graph.agent_counts
    columns: list[_Column] = []
    for count, cycle in enumerate(cycles):
        if count % 1024 == 0 and time.monotonic() > deadline:
            return columns, False
        pairs = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
        owners = frozenset(owner[r] for _, r in pairs if counts[r])
        for ways in product(*(hops[p] for p in pairs)):
            dummies = [d for hop in ways for d in hop.dummies]
            if len(dummies) != len(set(dummies)):
                continue
            columns.append(
                _Column(
                    hops=ways,
                    rows=(*cycle, *dummies),
                    items=len(cycle),
                    cost=sum(hop.cost for hop in ways),
                    owners=owners,
                )
            )
    return columns, True


class _Program:
    """The set-packing program on HiGHS, one tier after another."""

    def __init__(self, columns: list[_Column], deadline: float, max_nodes: int) -> None:
        import numpy as np

        self.np = np
        self.columns = columns
        self.deadline = deadline
        self.max_nodes = max_nodes
        self.notes: list[str] = []
        rows: dict[int, int] = {}
        index: list[int] = []
        starts = [0]
        for column in columns:
            index.extend(rows.setdefault(r, len(rows)) for r in column.rows)
            starts.append(len(index))
        self.highs = _highs(deadline)
        hs = self._hs = _highspy()
        n = len(columns)
        self.highs.addRows(
            len(rows),
            np.full(len(rows), -hs.kHighsInf),
            np.ones(len(rows)),
            0,
            np.zeros(0, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0),
        )
        self.highs.addCols(
            n,
            np.zeros(n),
            np.zeros(n),
            np.ones(n),
            len(index),
            np.array(starts[:-1], dtype=np.int32),
            np.array(index, dtype=np.int32),
            np.ones(len(index)),
        )
        self.highs.changeColsIntegrality(
            n, np.arange(n, dtype=np.int32), np.array([hs.HighsVarType.kInteger] * n)
        )
        self.width = n  # columns that are cycles (owner columns come after)

    def _values(self, tier: str) -> list[float]:
        if tier == "items":
            return [float(c.items) for c in self.columns]
        if tier == "cost":
            return [float(c.cost) for c in self.columns]
        return [0.0] * len(self.columns)

    def fix(self, tier: str, value: int) -> None:
        """Keep tier ``tier`` at ``value`` from now on."""
        np, hs = self.np, self._hs
        values = np.array(self._values(tier))
        nz = np.nonzero(values)[0].astype(np.int32)
        low, high = (value, hs.kHighsInf) if tier == "items" else (-hs.kHighsInf, value)
        self.highs.addRow(low, high, len(nz), nz, values[nz])

    def solve_tier(self, tier: str, chosen: list[int]) -> tuple[list[int], bool, int]:
        """Optimise ``tier`` from the incumbent ``chosen``: (chosen, proven, bound)."""
        np, hs = self.np, self._hs
        highs = self.highs
        n = self.width
        if tier == "owners":
            self._add_owner_columns()
        total = highs.getNumCol()
        costs = np.zeros(total)
        if tier == "owners":
            costs[n:] = 1.0
        else:
            costs[:n] = self._values(tier)
        highs.changeColsCost(total, np.arange(total, dtype=np.int32), costs)
        sense = hs.ObjSense.kMinimize if tier == "cost" else hs.ObjSense.kMaximize
        highs.changeObjectiveSense(sense)
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.notes.append(f"the time limit ran out before the {tier} tier")
            return chosen, False, self._incumbent_bound(tier, chosen)
        highs.setOptionValue("time_limit", left)
        highs.setOptionValue("mip_max_nodes", self.max_nodes)
        start = np.zeros(total)
        start[chosen] = 1.0
        if tier == "owners":
            start[n:] = self._owner_values(chosen)
        highs.setSolution(total, np.arange(total, dtype=np.int32), start)
        highs.run()
        status = highs.getModelStatus()
        info = highs.getInfo()
        value = highs.getSolution().col_value
        found = [j for j in range(n) if value[j] > 0.5] if info.primal_solution_status else chosen
        if self.score(tier, found) < self.score(tier, chosen):
            found = chosen
        if status == hs.HighsModelStatus.kOptimal:
            return found, True, self._incumbent_bound(tier, found)
        bound = info.mip_dual_bound
        timed_out = (hs.HighsModelStatus.kTimeLimit, hs.HighsModelStatus.kInterrupt)
        why = "time limit" if status in timed_out else "node limit"
        self.notes.append(f"the {tier} tier stopped on the {why}")
        if not np.isfinite(bound):  # no relaxation solved: nothing proven here
            return found, False, 0 if tier == "cost" else 1 << 62
        if tier == "cost":
            return found, False, int(np.ceil(bound - _EPS))
        return found, False, int(np.floor(bound + _EPS))

    def flat_cost(self) -> bool:
        """Whether every column costs the same per item."""
        first = self.columns[0]
        return all(c.cost * first.items == first.cost * c.items for c in self.columns)

    def pick(self, chosen: list[int]) -> list[_Column]:
        return [self.columns[j] for j in chosen]

    def score(self, tier: str, chosen: list[int]) -> int:
        """Tier value of ``chosen``, larger is better (cost negated)."""
        cols = [self.columns[j] for j in chosen]
        if tier == "items":
            return sum(c.items for c in cols)
        if tier == "cost":
            return -sum(c.cost for c in cols)
        return len(set().union(*(c.owners for c in cols)))

    def _incumbent_bound(self, tier: str, chosen: list[int]) -> int:
        score = self.score(tier, chosen)
        return -score if tier == "cost" else score

    def _add_owner_columns(self) -> None:
        np, hs = self.np, self._hs
        owners = sorted(set().union(*(c.owners for c in self.columns)))
        self.owners = owners
        k = len(owners)
        base = self.highs.getNumCol()
        self.highs.addCols(
            k,
            np.zeros(k),
            np.zeros(k),
            np.ones(k),
            0,
            np.zeros(k, dtype=np.int32),
            np.zeros(0, dtype=np.int32),
            np.zeros(0),
        )
        # z_o - sum of the cycles where o receives <= 0
        position = {o: i for i, o in enumerate(owners)}
        members: list[list[int]] = [[] for _ in owners]
        for j, column in enumerate(self.columns):
            for o in column.owners:
                members[position[o]].append(j)
        for i, js in enumerate(members):
            idx = np.array([base + i, *js], dtype=np.int32)
            vals = np.array([1.0] + [-1.0] * len(js))
            self.highs.addRow(-hs.kHighsInf, 0.0, len(idx), idx, vals)

    def _owner_values(self, chosen: list[int]) -> Any:
        trading = set().union(*(self.columns[j].owners for j in chosen))
        return self.np.array([1.0 if o in trading else 0.0 for o in self.owners])


def _result(
    graph: ExchangeGraph,
    columns: list[_Column],
    items_bound: int,
    cost_bound: int | None,
    owners_bound: int | None,
    notes: list[str],
) -> Circulation:
    cycles = [[t for hop in c.hops for t in hop.transfers] for c in columns]
    cycles.sort()
    items, cost, owners = measure(graph, cycles)
    proven = (
        items >= items_bound
        and cost_bound is not None
        and cost <= cost_bound
        and owners_bound is not None
        and owners >= owners_bound
    )
    return Circulation(
        cycles=cycles,
        items=items,
        cost=cost,
        owners_trading=owners,
        status="OPTIMAL" if proven else "FEASIBLE",
        bound=max(items_bound, items),
        cost_bound=cost_bound,
        owners_bound=owners_bound,
        notes=tuple(dict.fromkeys(notes)),
    )


def _highspy() -> Any:
    import highspy

    return highspy


def _highs(deadline: float) -> Any:
    """A silent HiGHS on one thread with a fixed seed, interrupted at
    ``deadline`` (``time.monotonic()``).

    Built from the core class: the package's wrapper prints its banner to the
    process's standard output on construction, before any option can be
    set, and the result file may be going there. HiGHS's own time limit is
    checked too rarely inside a large root node to bound the run, so the
    simplex, interior-point and branch-and-bound interrupt callbacks check
    the deadline as well."""
    from highspy._core import _Highs, cb

    highs = _Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", 1)
    highs.setOptionValue("random_seed", _SEED % 2_147_483_647)
    highs.setOptionValue("mip_rel_gap", 0.0)
    # Objectives are whole numbers: within 1 of the bound is optimal.
    highs.setOptionValue("mip_abs_gap", 0.99)
    # Presolve cannot be interrupted (seconds on a large packing) and finds
    # little to remove from one.
    highs.setOptionValue("presolve", "off")

    def interrupt(kind: Any, message: str, data_out: Any, data_in: Any, user: Any) -> None:
        if data_in is not None and time.monotonic() > deadline:
            data_in.user_interrupt = True

    highs.setCallback(interrupt, None)
    for kind in ("Simplex", "Ipm", "Mip"):
        highs.startCallback(getattr(cb.HighsCallbackType, f"kCallback{kind}Interrupt"))
    return highs
