"""The linear relaxation of a set packing by column generation, with a bound
that holds whenever it stops.

Owns the proof side of the capped solve of :mod:`~marketplace.matching.rings`
on large want-list files. There the cycle formulation has hundreds of
thousands of columns (every short ring, every way through dummies) over a
few thousand rows (items and dummies), and its relaxation is the tight one of
the kidney-exchange literature (Abraham, Blum & Sandholm 2007; Constantino
et al. 2013): its optimum bounds every packing, far below the unbounded
optimum when the cap bites.

Column generation: a restricted master program over a few thousand columns
(those of the incumbent first) is solved by HiGHS's interior point method
(no crossover: the master is degenerate, and simplex spends most of its
pivots standing still there); its row prices ``y`` price every column at
once, ``reduced = weight - Σ y`` over the column's rows, one numpy pass; the
best-priced column through each row joins the master, and the round repeats
until no column prices above zero or the round budget is spent.

Any prices make a bound once repaired (a Lagrangian argument): raise row
``i`` by ``m_i = max(reduced_c⁺ / |c|)`` over the columns ``c`` through it,
and every column then prices at most zero, so for every packing ``x``,
``Σ w x = Σ y (A x) + Σ reduced·x ≤ Σ y``. The bound is therefore right
even when the master's solve is approximate or the rounds ran out; it is only
weaker.

The repaired prices also fix columns (reduced-cost fixing): a packing of
weight at least ``target`` uses only columns whose reduced cost is at least
``target - bound``, so when the incumbent is near the bound, a branch and
bound over those few columns is exact.

A packing comes from diving on the relaxation (:func:`dive`): fix the
columns it all but chose, take their rows out, relax the rest again with
pricing, repeat; then fill greedily. On a dense market a gap stays (3,000
items and 280,000 wants, cap 3: the bound is 2,617 items, the dive packs
2,590). There the relaxation itself is far from whole: a vertex of the last
master has 2,095 fractional columns and 145 at one, and neither HiGHS's
branch and bound over the master (2,518 items after 300 s) nor CP-SAT (no
better packing in 60 s) closes it; the fixing keeps every column, and no
proof comes within a minute.

Deterministic: the rounds, the columns they add (ties by index) and HiGHS on
one thread with a fixed seed repeat run to run; the wall clock only cuts a run
short (and :class:`Relaxation` says so).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Packing", "Relaxation", "dive", "relax"]

_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Packing:
    """Columns as arrays: ``rows[j]`` lists the rows of column ``j``, padded
    with ``num_rows`` (a row that does not exist, priced 0)."""

    rows: np.ndarray  # (columns, width) int32
    weight: np.ndarray  # (columns,) float
    num_rows: int

    @classmethod
    def build(cls, rows: list[tuple[int, ...]], weight: list[int], num_rows: int) -> Packing:
        width = max((len(r) for r in rows), default=1)
        matrix = np.full((len(rows), width), num_rows, dtype=np.int32)
        for j, r in enumerate(rows):
            matrix[j, : len(r)] = r
        return cls(matrix, np.asarray(weight, dtype=float), num_rows)

    @property
    def size(self) -> np.ndarray:
        result: np.ndarray = (self.rows < self.num_rows).sum(axis=1)
        return result

    def reduced(self, prices: np.ndarray) -> np.ndarray:
        """Reduced weight of every column at ``prices`` (one per row, then 0)."""
        result: np.ndarray = self.weight - prices[self.rows].sum(axis=1)
        return result


@dataclass(frozen=True, slots=True)
class Relaxation:
    """A proven bound on the packing's weight, and what it came from."""

    bound: float  # no packing weighs more
    prices: np.ndarray  # repaired row prices: every column prices <= 0
    reduced: np.ndarray  # every column's reduced weight at ``prices``
    master: np.ndarray  # the columns of the last master program
    values: np.ndarray  # their values in its (approximate) optimum
    rounds: int
    converged: bool  # pricing found no column above zero
    seconds: float  # processor seconds, for reports

    def survivors(self, target: float) -> np.ndarray:
        """Columns that a packing of weight at least ``target`` may use."""
        result: np.ndarray = np.nonzero(self.reduced >= target - self.bound - _EPS)[0]
        return result


def relax(
    packing: Packing,
    start: list[int],
    *,
    max_rounds: int = 40,
    per_round: int = 6000,
    deadline: float | None = None,
) -> Relaxation:
    """Column generation from the columns ``start`` (an incumbent)."""
    began = time.process_time()
    n_rows = packing.num_rows
    highs = _master(n_rows, deadline)
    in_master = np.zeros(len(packing.weight), dtype=bool)
    order: list[int] = []
    prices = np.zeros(n_rows + 1)
    values = np.zeros(0)
    rounds = 0
    converged = False
    fresh = np.asarray(sorted(set(start)), dtype=np.int64)
    if not len(fresh):  # nothing to start from: the best columns at no price
        fresh = _entering(packing, packing.weight.copy(), per_round)
    while True:
        if len(fresh):
            _add(highs, packing, fresh)
            in_master[fresh] = True
            order.extend(fresh.tolist())
        if deadline is not None and time.monotonic() > deadline:
            break
        highs.run()
        solution = highs.getSolution()
        if not solution.dual_valid:
            break
        prices[:n_rows] = np.maximum(np.asarray(solution.row_dual), 0.0)
        values = np.asarray(solution.col_value)
        rounds += 1
        reduced = packing.reduced(prices)
        reduced[in_master] = 0.0
        fresh = _entering(packing, reduced, per_round)
        if not len(fresh):
            converged = True
            break
        if rounds >= max_rounds:
            break
    repaired = _repair(packing, prices)
    reduced = packing.reduced(repaired)
    return Relaxation(
        bound=float(repaired[:n_rows].sum()),
        prices=repaired,
        reduced=reduced,
        master=np.asarray(order, dtype=np.int64),
        values=values if len(values) == len(order) else np.zeros(len(order)),
        rounds=rounds,
        converged=converged,
        seconds=time.process_time() - began,
    )


def dive(
    packing: Packing,
    relaxation: Relaxation,
    *,
    max_steps: int = 100,
    per_step: int = 10,
    threshold: float = 0.99,
    deadline: float | None = None,
) -> list[int]:
    """A packing by diving on the relaxation: fix the columns the relaxation
    all but chose (at ``threshold`` or more: at most one through a row, so
    they fit together; when none is, the ``per_step`` largest that fit), take
    their rows out, relax what is left again, until nothing is left to gain
    or ``max_steps`` relaxations were solved; then fill greedily by reduced
    weight.

    Small steps pay: on a dense market (3,000 items, 280,000 wants, cap 3)
    fixing every column at one half or more, twelve times, packs 2,554 items;
    those at 0.99, or else the 25 largest, a step at a time, 2,590. Each
    relaxation starts from the columns of the one before that still fit
    (and prices more: the columns the dive needs next were seldom worth
    generating before)."""
    n_rows = packing.num_rows
    chosen: list[int] = []
    used = np.zeros(n_rows + 1, dtype=bool)
    here = np.arange(len(packing.weight))  # the current sub-packing's columns
    master, values = relaxation.master, relaxation.values
    for _ in range(max_steps):
        ranked = np.lexsort((master, -values))
        ranked = ranked[values[ranked] > _EPS]
        if not len(ranked):
            break
        half = ranked[values[ranked] >= threshold - _EPS]
        for i in (half if len(half) else ranked[:per_step]).tolist():
            j = int(here[master[i]])
            rows = packing.rows[j]
            rows = rows[rows < n_rows]
            if not used[rows].any():
                used[rows] = True
                chosen.append(j)
        previous = here[master]
        here = np.nonzero(~used[packing.rows].any(axis=1))[0]
        if not len(here) or (deadline is not None and time.monotonic() > deadline):
            break
        position = np.full(len(packing.weight), -1)
        position[here] = np.arange(len(here))
        warm = position[previous]
        sub = Packing(packing.rows[here], packing.weight[here], n_rows)
        step = relax(sub, warm[warm >= 0].tolist(), deadline=deadline)
        if step.bound < 1 - _EPS:
            break
        master, values = step.master, step.values
    # Fill: every column by reduced weight (near zero: fits the relaxation).
    for j in np.argsort(-relaxation.reduced, kind="stable").tolist():
        rows = packing.rows[j]
        rows = rows[rows < n_rows]
        if not used[rows].any():
            used[rows] = True
            chosen.append(j)
    return sorted(chosen)


def _entering(packing: Packing, reduced: np.ndarray, per_round: int) -> np.ndarray:
    """The best-priced column through each row (positive ones only), the
    best ``per_round`` of them: spread over the rows, so one round does not
    fill the master with columns that all compete for the same items."""
    positive = np.nonzero(reduced > _EPS)[0]
    if not len(positive):
        return positive
    ranked = positive[np.argsort(-reduced[positive], kind="stable")]
    picked: set[int] = set()
    for k in range(packing.rows.shape[1]):
        rows, first = np.unique(packing.rows[ranked, k], return_index=True)
        picked.update(ranked[first[rows < packing.num_rows]].tolist())
    chosen = np.asarray(sorted(picked), dtype=np.int64)
    if len(chosen) > per_round:
        best = np.argsort(-reduced[chosen], kind="stable")[:per_round]
        chosen = np.sort(chosen[best])
    return chosen


def _repair(packing: Packing, prices: np.ndarray) -> np.ndarray:
    """Prices raised just enough that no column prices above zero."""
    reduced = packing.reduced(prices)
    share = np.maximum(reduced, 0.0) / np.maximum(packing.size, 1)
    lift = np.zeros(packing.num_rows + 1)
    for k in range(packing.rows.shape[1]):
        np.maximum.at(lift, packing.rows[:, k], share)
    lift[packing.num_rows] = 0.0
    repaired: np.ndarray = prices + lift
    return repaired


def _master(n_rows: int, deadline: float | None) -> Any:
    from marketplace.matching.rings import _highs, _highspy

    hs = _highspy()
    highs = _highs(deadline if deadline is not None else float("inf"))
    highs.setOptionValue("solver", "ipm")
    highs.setOptionValue("run_crossover", "off")
    highs.changeObjectiveSense(hs.ObjSense.kMaximize)
    highs.addRows(
        n_rows,
        np.full(n_rows, -hs.kHighsInf),
        np.ones(n_rows),
        0,
        np.zeros(0, dtype=np.int32),
        np.zeros(0, dtype=np.int32),
        np.zeros(0),
    )
    return highs


def _add(highs: Any, packing: Packing, columns: np.ndarray) -> None:
    """Columns into the master, without upper bounds (the rows imply them,
    and a bound would carry part of the price)."""
    rows = packing.rows[columns]
    present = rows < packing.num_rows
    count = present.sum(axis=1)
    starts = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int32)
    index = rows[present].astype(np.int32)
    n = len(columns)
    highs.addCols(
        n,
        packing.weight[columns],
        np.zeros(n),
        np.full(n, _highspy_inf()),
        len(index),
        starts,
        index,
        np.ones(len(index)),
    )


def _highspy_inf() -> float:
    return float(_highspy().kHighsInf)


def _highspy() -> Any:
    from marketplace.matching.rings import _highspy

    return _highspy()
