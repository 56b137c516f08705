"""Pure trade-matching engine for Znachki Exchange.

No Flask, no SQLAlchemy, no database: plain data in, plain data out.

* :mod:`~marketplace.matching.model` — Haves, Wants, conditions, the lookup
  protocol and an in-memory index.
* :mod:`~marketplace.matching.pairwise` — two-way swaps and one-way offers
  for one collector, from indexed lookups.
* :mod:`~marketplace.matching.exchange` — the exchange graph every global
  solve works on, its strongly connected components, cycles.
* :mod:`~marketplace.matching.circulation` — unbounded global solve
  (min-cost circulation, OR-Tools).
* :mod:`~marketplace.matching.capped` — cycle-length cap (CP-SAT).
* :mod:`~marketplace.matching.market` — the pin market's global solve.
* :mod:`~marketplace.matching.wantlist` and
  :mod:`~marketplace.matching.tmreport` — TradeMaximizer files in and out.

Submodules are imported on demand (OR-Tools is heavy); import from them.
"""
