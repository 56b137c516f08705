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
# collector already holds (in any condition or status) are left out, each looked up
# (NOT IN read the whole collection: 11,000 Haves, 10-25 ms).
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
     WHERE NOT EXISTS (SELECT 1 FROM haves h WHERE h.user_id = :me AND h.pin_id = wanted.pin_id)
)"""

# Swap partners: collectors holding a tradeable copy (condition at or above my
# minimum) of a pin I want AND wanting, without holding it, a pin I hold tradeable
# in a condition they accept. Ranked by the upper bound of the engine's coverage
# (every want of mine they can fill, weighted 16 for 5 stars … 1 for 1 star), then
# by how many of my wants they fill.
# The holders are ranked first, and whether each wants a pin of mine is asked in
# rank order until :limit are found (`_TAKES_FROM_ME`: the holder's own wants,
# each probing my Haves): work bounded by the shortlist, where listing every
# (wanter, pin) pair of my pins first took 4.2 s for a collection of 11,000
# (427,509 pairs; its 100 partners in rank order: 24 ms). The subquery's order
# carries to the outer ORDER BY (PostgreSQL keeps its sort, and OFFSET 0 keeps it
# a subquery), so the holders are asked lazily, best first.
_PARTNERS = (
    "WITH"  # noqa: S608 (constant text; the values are bound parameters)
    + _WANTED_SQL
    + """,
filled AS (
    SELECT h.user_id AS partner, wn.want_id AS want_id, MAX(wn.stars) AS stars
      FROM wanted_new wn JOIN haves h ON h.pin_id = wn.pin_id
     WHERE h.user_id <> :me AND h.tradeable AND h.condition >= wn.mc
     GROUP BY h.user_id, wn.want_id
),
ranked AS (
    SELECT f.partner AS partner, SUM(1 << (f.stars - 1)) AS coverage, COUNT(*) AS filled
      FROM filled f GROUP BY f.partner
     ORDER BY coverage DESC, filled DESC, partner{offset}
)
SELECT r.partner FROM ranked r
 WHERE {takes_from_me}
 ORDER BY r.coverage DESC, r.filled DESC, r.partner
 LIMIT :limit"""
)
# r.partner wants a pin I hold tradeable in a condition they accept, and holds no
# copy of it: from their wants (exact, or any variant), each probing my Haves,
# then their copy of that pin. Scalar subqueries with LIMIT 1, so each is asked
# per holder, stopping at the first pin: as EXISTS, the planner hashed every
# (wanter, pin) pair of the variant groups of my pins (109,212 rows, 1.6 s) and
# read each holder's whole collection for the NOT EXISTS (2 ms a holder).
_TAKES_FROM_ME = """((
    SELECT 1 FROM wants t JOIN haves g ON g.pin_id = t.pin_id
     WHERE t.user_id = r.partner AND g.user_id = :me AND g.tradeable
       AND g.condition >= COALESCE(t.min_condition, 1)
       AND (SELECT 1 FROM haves x WHERE x.user_id = r.partner AND x.pin_id = g.pin_id
             LIMIT 1) IS NULL
     LIMIT 1) IS NOT NULL
 OR (
    SELECT 1 FROM wants t JOIN pins p ON p.variant_group = t.variant_group
      JOIN haves g ON g.pin_id = p.id
     WHERE t.user_id = r.partner AND g.user_id = :me AND g.tradeable
       AND g.condition >= COALESCE(t.min_condition, 1)
       AND (SELECT 1 FROM haves x WHERE x.user_id = r.partner AND x.pin_id = g.pin_id
             LIMIT 1) IS NULL
     LIMIT 1) IS NOT NULL)"""
_PARTNERS_SQL = {
    dialect: text(_PARTNERS.format(takes_from_me=_TAKES_FROM_ME, offset=offset))
    for dialect, offset in (("postgresql", " OFFSET 0"), ("sqlite", ""))
}

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
    statement = _PARTNERS_SQL[session.get_bind().dialect.name]
    return [int(p) for p in session.scalars(statement, {"me": user_id, "limit": limit})]


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
# :fresh compete for the shortlist (a popular pin), and then lazily: the holders
# come ranked without it (`_RANKED_HOLDERS`), and the first :fresh who want a pin
# of mine are taken in that order (`_PARTNER_HOLDERS`); only when fewer are
# found are the rest of the :fresh filled from the others, in order
# (`_OTHER_HOLDERS`). Asking every holder before ranking them read each one's
# wants: a pin held by tens of thousands, 100+ ms.
# On PostgreSQL my tradeable pins come as one array (:giving), and a holder's
# wants are read index-only and filtered against it as a hash (`+ 0` keeps it a
# filter, not one index probe per pin of mine); joining my Haves instead read
# them once per holder (1,000 holders: 19 → 8 ms). When I hold few pins, who
# wants them is listed once instead (`_FEW_HOLDERS`).
# Index-only on haves(pin_id, user_id, …) and wants(user_id, pin_id).
_GROUPED_HOLDERS = """
WITH wanted AS (
    SELECT w.id AS want_id, w.pin_id AS pin_id, w.priority AS stars,
           COALESCE(w.min_condition, 1) AS mc
      FROM wants w WHERE w.user_id = :me AND w.pin_id IN :pins
    UNION ALL
    SELECT w.id, p.id, w.priority, COALESCE(w.min_condition, 1)
      FROM pins p JOIN wants w ON w.variant_group = p.variant_group
     WHERE p.id IN :pins AND w.user_id = :me AND w.pin_id IS NULL
),{competing}
candidates AS (
    SELECT h.user_id AS c, h.tradeable AS tradeable, h.condition AS cond,
           wn.want_id AS want_id, wn.stars AS stars
      FROM haves h LEFT JOIN wanted wn ON wn.pin_id = h.pin_id AND h.condition >= wn.mc
     WHERE h.pin_id IN :pins AND h.user_id <> :me
       AND (h.tradeable OR h.price IS NOT NULL){among}
),
grouped AS (
    SELECT c, MAX(CASE WHEN c IN :existing THEN 1 ELSE 0 END) AS known,
           SUM(CASE WHEN tradeable AND want_id IS NOT NULL
                    THEN 1 << (stars - 1) ELSE 0 END) AS coverage,
           COUNT(want_id) AS pairs, MAX(cond) AS cond
      FROM candidates
     GROUP BY c
    HAVING COUNT(want_id) > 0 OR c IN :existing
)"""
_RANKED_HOLDERS = (
    _GROUPED_HOLDERS.format(competing="", among="")  # noqa: S608 (constant text)
    + """,
ranked AS (
    SELECT c, known, coverage, pairs, cond FROM grouped
     ORDER BY known DESC, coverage DESC, pairs DESC, cond DESC, c{offset}
)"""
)
_ORDER = " ORDER BY known DESC, coverage DESC, pairs DESC, cond DESC, c"
# Everybody already matched, then the first :fresh new holders who want a pin of
# mine; and the count of new holders (past :fresh, the shortlist must choose).
_PARTNER_HOLDERS = (
    _RANKED_HOLDERS  # noqa: S608 (constant text; the values are bound parameters)
    + """
SELECT c, known, (SELECT COUNT(*) FROM grouped n WHERE n.known = 0) AS competing
  FROM ranked
 WHERE known = 1 OR (SELECT COUNT(*) FROM grouped n WHERE n.known = 0) <= :fresh
    OR {wants_a_pin_of_mine}"""
    + _ORDER
    + " LIMIT :limit"
)
# The first :limit new holders, in order (those found above among them).
_OTHER_HOLDERS = (
    _RANKED_HOLDERS + "\nSELECT c FROM ranked WHERE known = 0" + _ORDER + " LIMIT :limit"
)
_WANTS_A_PIN_OF_MINE = {
    "postgresql": "EXISTS (SELECT 1 FROM wants t"
    " WHERE t.user_id = ranked.c AND t.pin_id + 0 = ANY(:giving))",
    "sqlite": "EXISTS (SELECT 1 FROM wants t JOIN haves g ON g.pin_id = t.pin_id"
    " WHERE t.user_id = ranked.c AND g.user_id = :me AND g.tradeable)",
}
# PostgreSQL, when I hold at most FEW_PINS pins tradeable: the wanters of those
# pins are listed once and hashed (most collections are small, and most holders
# of a popular pin want none of their pins: asked one by one, all are asked), and
# only those holders, and the ones already matched, are grouped and ranked; the
# count of new holders stops past :fresh. Everybody is ranked only when few
# compete (or, by `_OTHER_HOLDERS`, when fewer than :fresh of them want a pin of
# mine). A pin with 25,002 offered copies, 58 holders already matched and 16
# pins of mine: 16 ms, against 38 ms grouping and ranking every holder. Hashing
# the wanters costs by how many there are (213,823 Wants for 112 pins of mine:
# 87 ms), so past FEW_TAKERS of them the holders are asked one by one instead,
# in rank order (`_PARTNER_HOLDERS`; that collector: 12 ms).
FEW_PINS = 200
FEW_TAKERS = 20_000
_FEW_HOLDERS = (
    _GROUPED_HOLDERS.format(  # noqa: S608 (constant text; the values are bound parameters)
        competing="""
competing AS MATERIALIZED (
    SELECT COUNT(*) AS n FROM (
        SELECT DISTINCT h.user_id
          FROM haves h JOIN wanted wn ON wn.pin_id = h.pin_id AND h.condition >= wn.mc
         WHERE h.pin_id IN :pins AND h.user_id <> :me AND h.user_id NOT IN :existing
           AND (h.tradeable OR h.price IS NOT NULL)
         LIMIT :fresh + 1) AS x
),""",
        among="""
       AND (h.user_id IN :existing
            OR h.user_id IN (SELECT t.user_id FROM wants t WHERE t.pin_id = ANY(:giving))
            OR (SELECT n FROM competing) <= :fresh)""",
    )
    + """
SELECT c, known, (SELECT n FROM competing) AS competing FROM grouped"""
    + _ORDER
    + " LIMIT :limit"
)


def _pg_offset(dialect: str) -> str:
    return " OFFSET 0" if dialect == "postgresql" else ""


_CHANGED_WANTS_SQL = {
    (dialect, few): text(
        _FEW_HOLDERS
        if few
        else _PARTNER_HOLDERS.format(
            wants_a_pin_of_mine=_WANTS_A_PIN_OF_MINE[dialect], offset=_pg_offset(dialect)
        )
    ).bindparams(
        bindparam("pins", expanding=True),
        bindparam("existing", expanding=True),
        *([bindparam("giving", type_=IdArray())] if dialect == "postgresql" else []),
    )
    for dialect, few in (("postgresql", False), ("postgresql", True), ("sqlite", False))
}
_OTHER_HOLDERS_SQL = {
    dialect: text(_OTHER_HOLDERS.format(offset=_pg_offset(dialect))).bindparams(
        bindparam("pins", expanding=True), bindparam("existing", expanding=True)
    )
    for dialect in ("postgresql", "sqlite")
}

# How many Wants name a pin of mine (:giving), counted up to :cap + 1.
_TAKERS_SQL = text(
    "SELECT COUNT(*) FROM (SELECT 1 FROM wants t WHERE t.pin_id = ANY(:giving) LIMIT :cap + 1) AS n"
).bindparams(bindparam("giving", type_=IdArray()))

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
# What each wanter can fill comes from one of two directions: the holders of every
# pin I want, matched to the wanters (`_FILLS_BY_MY_WANTS`); or, when few want the
# pins (at most FEW_WANTERS Wants name them, PostgreSQL), each wanter's own copies
# matched to my wants (`_FILLS_BY_WANTER`). The planner cannot tell: it expects an
# average want list and average holders, and for a collector with 634 wants of
# popular pins it read 857,661 copies to serve 21 wanters (150 ms; from each
# wanter's copies, 5 ms). OFFSET 0 keeps the wanter's side a subquery run per
# wanter (flattened, it was planned as the first).
_CHANGED_HAVES = (
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
  {fills}
 GROUP BY wt.c
HAVING COUNT(f.want_id) > 0 OR wt.c IN :existing
 ORDER BY MAX(CASE WHEN wt.c IN :existing THEN 1 ELSE 0 END) DESC,
          SUM(CASE WHEN f.want_id IS NOT NULL THEN 1 << (f.stars - 1) ELSE 0 END) DESC,
          COUNT(f.want_id) DESC, wt.c
 LIMIT :limit"""
)
_FILLS_BY_MY_WANTS = """LEFT JOIN (
    SELECT h.user_id AS c, wn.want_id AS want_id, wn.stars AS stars
      FROM haves h JOIN wanted_new wn
        ON wn.pin_id = h.pin_id AND h.tradeable AND h.condition >= wn.mc
  ) f ON f.c = wt.c"""
_FILLS_BY_WANTER = """LEFT JOIN LATERAL (
    SELECT wn.want_id AS want_id, wn.stars AS stars
      FROM (SELECT h.pin_id, h.condition FROM haves h
             WHERE h.user_id = wt.c AND h.tradeable OFFSET 0) AS h
      JOIN wanted_new wn ON wn.pin_id = h.pin_id AND h.condition >= wn.mc
  ) f ON TRUE"""
_CHANGED_HAVES_SQL = {
    fills: text(_CHANGED_HAVES.format(fills=fills)).bindparams(
        bindparam("pins", expanding=True), bindparam("existing", expanding=True)
    )
    for fills in (_FILLS_BY_MY_WANTS, _FILLS_BY_WANTER)
}
FEW_WANTERS = 500
# How many Wants name these pins (exactly or any variant), counted up to :cap + 1.
_WANTERS_SQL = text(
    """
SELECT COUNT(*) FROM (
    (SELECT 1 FROM wants w WHERE w.pin_id IN :pins LIMIT :cap + 1)
    UNION ALL
    (SELECT 1 FROM pins p JOIN wants w ON w.variant_group = p.variant_group
      WHERE p.id IN :pins LIMIT :cap + 1)
) AS n"""
).bindparams(bindparam("pins", expanding=True))


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
        few = False
        if dialect == "postgresql":
            giving = conn.scalar(
                _GIVING_SQL, {"me": user_id, "pins": sorted(want_pins), "fresh": fresh}
            )
            params["giving"] = giving or []
            few = len(params["giving"]) <= FEW_PINS and (
                not giving
                or conn.scalar(_TAKERS_SQL, {"giving": giving, "cap": FEW_TAKERS}) <= FEW_TAKERS
            )
        for batch in chunks(sorted(want_pins)):
            statement = _CHANGED_WANTS_SQL[dialect, few]
            batch_params = {**params, "pins": batch, "fresh": fresh}
            rows = conn.execute(statement, batch_params).all()
            holders = [(int(c), known) for c, known, _ in rows]
            new = [c for c, known in holders if not known]
            competing = rows[0][2] if rows else None
            if len(new) < fresh and (competing is None or competing > fresh):
                # Fewer than :fresh new holders want a pin of mine (or fewer than
                # :fresh new holders at all): the first of the others, in order.
                batch_params["limit"] = fresh + len(new)
                others = conn.scalars(_OTHER_HOLDERS_SQL[dialect], batch_params).all()
                taken = set(new)
                new += [int(c) for c in others if c not in taken][: fresh - len(new)]
            affected.update(shortlist([c for c, known in holders if known] + new))
    for batch in chunks(sorted(have_pins)):
        fills = _FILLS_BY_MY_WANTS
        if conn.dialect.name == "postgresql":
            wanters = conn.scalar(_WANTERS_SQL, {"pins": batch, "cap": FEW_WANTERS})
            fills = _FILLS_BY_WANTER if wanters <= FEW_WANTERS else fills
        found = conn.scalars(_CHANGED_HAVES_SQL[fills], {**params, "pins": batch}).all()
        affected.update(shortlist(found))
    return affected
