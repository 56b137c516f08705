"""Candidate shortlists: the SQL that picks whom a refresh asks the engine about.

A full refresh shortlists swap partners (`swap_partners`) and holders of what the
collector wants (`offer_holders`) by an upper bound of the engine's rank; a refresh
after one list change shortlists the holders of the pins whose Wants changed
(`changed_wants_candidates`) and the wanters of the pins whose Haves changed
(`changed_haves_candidates`), collectors already matched first. The engine then
ranks the shortlist exactly. `plan_per_call` sets how PostgreSQL plans them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from marketplace.matches.market import IdArray, chunks

# The pins a collector wants, one row per (want, candidate pin): exact wants name
# their pin, "any variant" wants every pin of their variant group; pins the
# collector already holds (in any condition or status) are left out.
_WANTED_SQL = """
wanted AS (
    SELECT w.id AS want_id, w.pin_id AS pin_id, w.priority AS stars,
           COALESCE(w.min_condition, 1) AS mc, w.max_price AS max_price,
           w.currency AS currency
      FROM wants w WHERE w.user_id = :me AND w.pin_id IS NOT NULL
    UNION ALL
    SELECT w.id, p.id, w.priority, COALESCE(w.min_condition, 1), w.max_price, w.currency
      FROM wants w JOIN pins p ON p.variant_group = w.variant_group
     WHERE w.user_id = :me AND w.pin_id IS NULL
),
wanted_new AS MATERIALIZED (
    SELECT * FROM wanted
     WHERE pin_id NOT IN (SELECT h.pin_id FROM haves h WHERE h.user_id = :me)
)"""

# Swap partners: collectors holding a tradeable copy (condition at or above my
# minimum) of a pin I want AND wanting, without holding it, a pin I hold tradeable
# in a condition they accept. Ranked by the upper bound of the engine's coverage
# (every want of mine they can fill, weighted 16 for 5 stars … 1 for 1 star), then
# by how many of my wants they fill. Index-only on haves(pin_id, condition, …) and
# wants(pin_id, user_id, …) / wants(variant_group, user_id, …).
_PARTNERS_SQL = text(
    "WITH"  # noqa: S608 (constant text; the values are bound parameters)
    + _WANTED_SQL
    + """,
giving AS (
    SELECT h.pin_id AS pin_id, MAX(h.condition) AS cond
      FROM haves h WHERE h.user_id = :me AND h.tradeable
     GROUP BY h.pin_id
),
takers AS (
    SELECT w.user_id AS partner, g.pin_id AS pin_id
      FROM giving g JOIN wants w ON w.pin_id = g.pin_id
     WHERE w.user_id <> :me AND g.cond >= COALESCE(w.min_condition, 1)
    UNION
    SELECT w.user_id, g.pin_id
      FROM giving g JOIN pins p ON p.id = g.pin_id
      JOIN wants w ON w.variant_group = p.variant_group
     WHERE w.user_id <> :me AND g.cond >= COALESCE(w.min_condition, 1)
),
partners AS MATERIALIZED (
    SELECT DISTINCT t.partner FROM takers t
     WHERE NOT EXISTS (
        SELECT 1 FROM haves x WHERE x.user_id = t.partner AND x.pin_id = t.pin_id
     )
),
filled AS (
    SELECT h.user_id AS partner, wn.want_id AS want_id, MAX(wn.stars) AS stars
      FROM wanted_new wn JOIN haves h ON h.pin_id = wn.pin_id
     WHERE h.user_id <> :me AND h.tradeable AND h.condition >= wn.mc
     GROUP BY h.user_id, wn.want_id
)
SELECT f.partner FROM filled f JOIN partners p ON p.partner = f.partner
 GROUP BY f.partner
 ORDER BY SUM(1 << (f.stars - 1)) DESC, COUNT(*) DESC, f.partner
 LIMIT :limit"""
)

# One-way offers: holders of a copy (tradeable, or for sale within my maximum
# price) of a pin I want, ranked as the engine ranks them: most stars, then most
# (copy, want) pairs, then best condition.
_HOLDERS_SQL = text(
    "WITH"
    + _WANTED_SQL
    + """
SELECT h.user_id FROM wanted_new wn JOIN haves h ON h.pin_id = wn.pin_id
 WHERE h.user_id <> :me AND h.condition >= wn.mc
   AND (h.tradeable OR (h.price IS NOT NULL AND (
        wn.max_price IS NULL OR wn.currency <> h.currency OR h.price <= wn.max_price)))
 GROUP BY h.user_id
 ORDER BY MAX(wn.stars) DESC, COUNT(*) DESC, MAX(h.condition) DESC, h.user_id
 LIMIT :limit"""
)


def plan_per_call(session: Session) -> None:
    """PostgreSQL settings for the rest of a refresh's transaction.

    The lookups take a few milliseconds, but their best plans depend on how many
    ids an array holds and how popular a pin is. Statements the driver has
    prepared would drift to one generic plan (measured: 4 ms became 17 ms a
    refresh at 100k collectors), and a popular pin pushes the estimate over
    jit_above_cost, where compiling took 20-250 ms. Both off for this transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(_PLAN_PER_CALL)


_PLAN_PER_CALL = text(
    "SELECT set_config('jit', 'off', true),"
    " set_config('plan_cache_mode', 'force_custom_plan', true)"
)


def swap_partners(session: Session, user_id: int, limit: int) -> list[int]:
    """The best `limit` two-way partners of `user_id`, by coverage (upper bound)."""
    return [int(p) for p in session.scalars(_PARTNERS_SQL, {"me": user_id, "limit": limit})]


def offer_holders(session: Session, user_id: int, limit: int) -> list[int]:
    """The best `limit` holders of what `user_id` wants, as offers rank."""
    return [int(p) for p in session.scalars(_HOLDERS_SQL, {"me": user_id, "limit": limit})]


# Holders of the pins whose Wants changed (tradeable, or for sale), one row each,
# ranked like the swap shortlist: collectors already matched with me first (their
# rows must be recomputed or turned inactive), then those who want a pin I hold
# tradeable (possible swap partners), then by the upper bound of the coverage they
# bring on the changed pins (my wants they fill: 16 for 5 stars … 1 for 1 star),
# then how many (copy, want) pairs, then their best condition.
# Whether a holder wants a pin of mine is asked only when more new holders than
# :fresh compete for the shortlist (a popular pin); then per holder, as a scalar
# subquery with LIMIT 1: as EXISTS, the planner hashed everyone who wants any pin
# I hold instead (100k+ rows for popular pins, 30-40 ms). On PostgreSQL my
# tradeable pins come as one array (:giving), and each holder's wants are read
# index-only and filtered against it as a hash (`+ 0` keeps it a filter, not one
# index probe per pin of mine); joining my Haves instead read them once per holder
# (1,000 holders: 19 → 8 ms).
# Index-only on haves(pin_id, user_id, …) and wants(user_id, pin_id).
_CHANGED_WANTS = """
WITH wanted AS (
    SELECT w.id AS want_id, w.pin_id AS pin_id, w.priority AS stars,
           COALESCE(w.min_condition, 1) AS mc
      FROM wants w WHERE w.user_id = :me AND w.pin_id IN :pins
    UNION ALL
    SELECT w.id, p.id, w.priority, COALESCE(w.min_condition, 1)
      FROM pins p JOIN wants w ON w.variant_group = p.variant_group
     WHERE p.id IN :pins AND w.user_id = :me AND w.pin_id IS NULL
),
candidates AS (
    SELECT h.user_id AS c, h.tradeable AS tradeable, h.condition AS cond,
           wn.want_id AS want_id, wn.stars AS stars
      FROM haves h LEFT JOIN wanted wn ON wn.pin_id = h.pin_id AND h.condition >= wn.mc
     WHERE h.pin_id IN :pins AND h.user_id <> :me
       AND (h.tradeable OR h.price IS NOT NULL)
),
grouped AS (
    SELECT c, MAX(CASE WHEN c IN :existing THEN 1 ELSE 0 END) AS known,
           SUM(CASE WHEN tradeable AND want_id IS NOT NULL
                    THEN 1 << (stars - 1) ELSE 0 END) AS coverage,
           COUNT(want_id) AS pairs, MAX(cond) AS cond
      FROM candidates
     GROUP BY c
    HAVING COUNT(want_id) > 0 OR c IN :existing
)
SELECT c FROM grouped
 ORDER BY known DESC,
          CASE WHEN (SELECT COUNT(*) FROM grouped n WHERE n.known = 0) > :fresh THEN
               ({wants_a_pin_of_mine} LIMIT 1) IS NOT NULL
          END DESC,
          coverage DESC, pairs DESC, cond DESC, c
 LIMIT :limit"""
_CHANGED_WANTS_SQL = {
    "postgresql": text(
        _CHANGED_WANTS.format(
            wants_a_pin_of_mine="SELECT 1 FROM wants t"
            " WHERE t.user_id = grouped.c AND t.pin_id + 0 = ANY(:giving)"
        )
    ).bindparams(
        bindparam("pins", expanding=True),
        bindparam("existing", expanding=True),
        bindparam("giving", type_=IdArray()),
    ),
    "sqlite": text(
        _CHANGED_WANTS.format(
            wants_a_pin_of_mine="SELECT 1 FROM wants t JOIN haves g ON g.pin_id = t.pin_id"
            " WHERE t.user_id = grouped.c AND g.user_id = :me AND g.tradeable"
        )
    ).bindparams(bindparam("pins", expanding=True), bindparam("existing", expanding=True)),
}

# PostgreSQL: the pins I hold tradeable, as one array (`:giving` above), but only
# when the changed pins have more holders than the shortlist takes, the only time
# the shortlist asks; a big collection costs more to read than most refreshes.
_GIVING_SQL = text(
    """
SELECT CASE WHEN (SELECT COUNT(*)
                    FROM (SELECT 1 FROM haves h WHERE h.pin_id IN :pins LIMIT :fresh + 1) AS n)
                 > :fresh
            THEN ARRAY(SELECT DISTINCT g.pin_id FROM haves g
                        WHERE g.user_id = :me AND g.tradeable ORDER BY 1)
       END"""
).bindparams(bindparam("pins", expanding=True))

# Wanters of the pins whose Haves changed (exactly, or any variant of them), one
# row each, ranked like the swap shortlist: already matched with me first, then by
# the upper bound of the coverage of my wants they can fill with tradeable copies.
_CHANGED_HAVES_SQL = text(
    "WITH"  # noqa: S608 (constant text; the values are bound parameters)
    + _WANTED_SQL
    + """,
wanters AS (
    SELECT w.user_id AS c FROM wants w
     WHERE w.pin_id IN :pins AND w.user_id <> :me
    UNION
    SELECT w.user_id FROM pins p JOIN wants w ON w.variant_group = p.variant_group
     WHERE p.id IN :pins AND w.user_id <> :me
)
SELECT wt.c FROM wanters wt
  LEFT JOIN (haves h JOIN wanted_new wn
             ON wn.pin_id = h.pin_id AND h.tradeable AND h.condition >= wn.mc)
    ON h.user_id = wt.c
 GROUP BY wt.c
HAVING COUNT(wn.want_id) > 0 OR wt.c IN :existing
 ORDER BY MAX(CASE WHEN wt.c IN :existing THEN 1 ELSE 0 END) DESC,
          SUM(CASE WHEN wn.want_id IS NOT NULL THEN 1 << (wn.stars - 1) ELSE 0 END) DESC,
          COUNT(wn.want_id) DESC, wt.c
 LIMIT :limit"""
).bindparams(bindparam("pins", expanding=True), bindparam("existing", expanding=True))


def changed_candidates(
    session: Session,
    user_id: int,
    have_pins: Sequence[int],
    want_pins: Sequence[int],
    existing: Sequence[int],
    fresh: int,
) -> set[int]:
    """The counterparts one list change of `user_id` can affect: holders of the
    `want_pins` (pins whose Wants changed) and wanters of the `have_pins`. Each
    query ranks the collectors already matched with me (`existing`) first; past
    those, at most `fresh` new ones per query count."""

    conn = session.connection()
    params: dict[str, Any] = {"me": user_id, "existing": existing, "limit": fresh + len(existing)}
    known = set(existing)

    def shortlist(found: Sequence[int]) -> list[int]:
        new = [int(c) for c in found if c not in known]
        return [int(c) for c in found if c in known] + new[:fresh]

    affected: set[int] = set()
    if want_pins:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            giving = conn.scalar(
                _GIVING_SQL, {"me": user_id, "pins": sorted(want_pins), "fresh": fresh}
            )
            params["giving"] = giving or []
        for batch in chunks(sorted(want_pins)):
            statement = _CHANGED_WANTS_SQL[dialect]
            found = conn.scalars(statement, {**params, "pins": batch, "fresh": fresh}).all()
            affected.update(shortlist(found))
    for batch in chunks(sorted(have_pins)):
        found = conn.scalars(_CHANGED_HAVES_SQL, {**params, "pins": batch}).all()
        affected.update(shortlist(found))
    return affected
