"""The relaxation by column generation: a bound that holds whenever it stops,
the same optimum as the whole formulation, and reduced-cost fixing that
keeps every packing as good as the incumbent."""

from __future__ import annotations

from itertools import combinations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.matching.colgen import Packing, dive, relax
from marketplace.matching.exchange import ExchangeGraph
from marketplace.matching.rings import RingLimits, _highs, _highspy, solve_rings
from tests.support.rings import brute_force, check_feasible, item_trades

PROFILE = settings.get_profile("matching")
# Every program goes through column generation and reduced-cost fixing.
NARROWED = RingLimits(direct_columns=0)


@st.composite
def packings(draw: st.DrawFn) -> Packing:
    """Up to 30 columns of 1 to 4 rows out of up to 8, weighing 1 to 4."""
    n_rows = draw(st.integers(1, 8))
    columns = draw(
        st.lists(
            st.sets(st.integers(0, n_rows - 1), min_size=1, max_size=4), min_size=1, max_size=30
        )
    )
    weights = draw(st.lists(st.integers(1, 4), min_size=len(columns), max_size=len(columns)))
    return Packing.build([tuple(sorted(c)) for c in columns], weights, n_rows)


def full_relaxation(packing: Packing) -> float:
    """The relaxation over every column at once, by simplex."""
    hs = _highspy()
    highs = _highs(float("inf"))
    n, rows = len(packing.weight), packing.num_rows
    highs.addRows(
        rows, np.full(rows, -hs.kHighsInf), np.ones(rows), 0,
        np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0),
    )  # fmt: skip
    for j in range(n):
        index = packing.rows[j][packing.rows[j] < rows].astype(np.int32)
        highs.addCol(packing.weight[j], 0.0, hs.kHighsInf, len(index), index, np.ones(len(index)))
    highs.changeObjectiveSense(hs.ObjSense.kMaximize)
    highs.run()
    return float(highs.getInfo().objective_function_value)


def best_packing(packing: Packing) -> int:
    n = len(packing.weight)
    rows = [set(r[r < packing.num_rows].tolist()) for r in packing.rows]
    best = 0
    for k in range(1, n + 1):
        found = False
        for chosen in combinations(range(n), k):
            used: list[int] = [x for j in chosen for x in rows[j]]
            if len(used) == len(set(used)):
                found = True
                best = max(best, int(sum(packing.weight[j] for j in chosen)))
        if not found:
            break
    return best


@settings(PROFILE, max_examples=80, derandomize=True)
@given(packings())
def test_column_generation_reaches_the_whole_relaxation(packing: Packing) -> None:
    relaxation = relax(packing, [0], per_round=2)
    assert relaxation.converged
    assert abs(relaxation.bound - full_relaxation(packing)) < 1e-4
    # The repaired prices prove the bound: no column prices above zero.
    assert (relaxation.reduced <= 1e-9).all()
    assert relaxation.bound >= best_packing(packing) - 1e-9


@settings(PROFILE, max_examples=80, derandomize=True)
@given(packings(), st.integers(0, 3))
def test_a_bound_holds_whenever_generation_stops(packing: Packing, rounds: int) -> None:
    relaxation = relax(packing, [], max_rounds=rounds, per_round=1)
    assert relaxation.bound >= best_packing(packing) - 1e-9
    # Every best packing survives fixing against its own weight.
    best = best_packing(packing)
    kept = set(relaxation.survivors(best).tolist())
    rows = [set(r[r < packing.num_rows].tolist()) for r in packing.rows]
    n = len(packing.weight)
    for k in range(1, min(n, 4) + 1):
        for chosen in combinations(range(n), k):
            used = [x for j in chosen for x in rows[j]]
            if len(used) == len(set(used)) and sum(packing.weight[j] for j in chosen) >= best:
                assert kept.issuperset(chosen)


@settings(PROFILE, max_examples=100, derandomize=True)
@given(item_trades(), st.integers(2, 4))
def test_narrowed_programs_keep_the_optimum_and_its_certificate(
    graph: ExchangeGraph, cap: int
) -> None:
    solution = solve_rings(graph, cap, limits=NARROWED)
    check_feasible(graph, solution.cycles)
    assert (solution.items, -solution.cost, solution.owners_trading) == brute_force(graph, cap)
    # Small programs keep few columns after fixing: the proof goes through.
    assert solution.status == "OPTIMAL"
    assert solution.bound == solution.items
    assert solution.cost_bound == solution.cost
    assert solution.owners_bound == solution.owners_trading


@settings(PROFILE, max_examples=80, derandomize=True)
@given(packings())
def test_a_dive_packs_within_the_bound_and_leaves_no_column_that_fits(packing: Packing) -> None:
    relaxation = relax(packing, [])
    chosen = dive(packing, relaxation)
    rows = [set(r[r < packing.num_rows].tolist()) for r in packing.rows]
    used = [x for j in chosen for x in rows[j]]
    assert len(used) == len(set(used))
    assert sum(packing.weight[j] for j in chosen) <= relaxation.bound + 1e-9
    assert all(rows[j] & set(used) for j in range(len(rows)) if j not in chosen)
