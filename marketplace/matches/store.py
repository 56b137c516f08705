"""Storing matches: upserting the rows a refresh or a solve found (`store`), with
their pins as `MatchItem` rows, and turning the ones that no longer hold inactive
(`deactivate`). What changed comes back as an `Outcome`, and every collector with a
new or returning match gets one `notify_collector` event in the outbox.

One `INSERT … ON CONFLICT (user, kind, key) DO UPDATE` writes every row at once on
SQLite and on PostgreSQL alike; a row a concurrent refresh inserted first is simply
updated. Rows are written in (user, kind, key) order, so two refreshes touching the
same pair lock them in the same order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, false, insert, inspect, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from marketplace.core import outbox
from marketplace.matches.market import IdArray, chunks
from marketplace.matches.models import Match, MatchItem
from marketplace.matches.scoring import Terms

NOTIFY_TASK = "workers.tasks.notify_collector"


@dataclass(frozen=True, slots=True, order=True)
class ItemRef:
    """One pin of a match to store: which way, in what place, and its rows."""

    direction: str  # "receive" or "give"
    position: int
    have_id: int
    want_id: int
    pin_id: int


@dataclass(frozen=True, slots=True)
class Wanted:
    """A match as it should be stored."""

    user_id: int
    kind: str
    key: str
    counterpart_id: int | None
    items: tuple[ItemRef, ...]
    terms: Terms
    proposal_id: int | None = None


def item_refs(
    receive: Iterable[tuple[int, int, int]], give: Iterable[tuple[int, int, int]] = ()
) -> tuple[ItemRef, ...]:
    """(have, want, pin) each way as `ItemRef`s, in the order `stored_items` reads."""
    refs = [ItemRef("receive", n, *item) for n, item in enumerate(receive)]
    refs += [ItemRef("give", n, *item) for n, item in enumerate(give)]
    return tuple(sorted(refs))


def items_digest(items: Iterable[ItemRef]) -> str:
    """A fingerprint of a match's pins (kept as `Match.items_digest`): equal pins,
    in `item_refs` order, give equal digests."""
    text = ";".join(
        f"{i.direction[0]}{i.position},{i.have_id},{i.want_id},{i.pin_id}" for i in items
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass
class Outcome:
    """What a refresh changed: match ids by what happened to them."""

    new: list[int] = field(default_factory=list)
    reactivated: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    deactivated: list[int] = field(default_factory=list)
    notified: set[int] = field(default_factory=set)


Ident = tuple[int, str, str]  # (user_id, kind, key): how a Match is addressed


def _addressed(idents: Iterable[Ident]) -> Any:
    """One WHERE clause for exactly the Match rows at these addresses: a user with
    several rows read by user, the rest by (kind, key), OR-ed together (a refresh
    asks for many keys of one collector and one key of each of many others)."""
    by_user: dict[int, list[Ident]] = {}
    for ident in idents:
        by_user.setdefault(ident[0], []).append(ident)
    by_key: dict[tuple[str, str], list[int]] = {}
    clauses = []
    for user_id, own in by_user.items():
        if len(own) == 1:
            by_key.setdefault(own[0][1:], []).append(user_id)
            continue
        for kind in sorted({i[1] for i in own}):
            keys = sorted({i[2] for i in own if i[1] == kind})
            clauses.append((Match.user_id == user_id) & (Match.kind == kind) & Match.key.in_(keys))
    for (kind, key), users in sorted(by_key.items()):
        clauses.append((Match.kind == kind) & (Match.key == key) & Match.user_id.in_(sorted(users)))
    return or_(false(), *clauses)


def at_addresses(
    session: Session,
    idents: Iterable[Ident],
    *columns: Any,
    active_only: bool = False,
) -> Iterator[Any]:
    """`columns` of the Match rows at exactly these addresses (the active ones only,
    if asked)."""
    listed = sorted(set(idents))
    if not listed:
        return
    query = select(*columns).select_from(Match).where(_addressed(listed))
    if active_only:
        query = query.where(Match.active.is_(True))
    yield from session.connection().execute(query)


_ITEM_COLUMNS = (
    MatchItem.direction,
    MatchItem.position,
    MatchItem.have_id,
    MatchItem.want_id,
    MatchItem.pin_id,
)


def stored_items(session: Session, match_ids: Sequence[int]) -> dict[int, tuple[ItemRef, ...]]:
    """The stored pins of these matches, as `ItemRef`s in (direction, position) order."""
    found: dict[int, list[ItemRef]] = {}
    conn = session.connection()
    for batch in chunks(sorted(match_ids)):
        query = select(MatchItem.match_id, *_ITEM_COLUMNS).where(MatchItem.match_id.in_(batch))
        for row in conn.execute(query):
            ref = ItemRef(row.direction, row.position, row.have_id, row.want_id, row.pin_id)
            found.setdefault(row.match_id, []).append(ref)
    return {match_id: tuple(sorted(items)) for match_id, items in found.items()}


_DEACTIVATE = (
    update(Match)
    .where(Match.id.in_(bindparam("ids", expanding=True)), Match.active.is_(True))
    .values(active=False, changed_at=bindparam("now"))
)


def deactivate(session: Session, ids: Sequence[int], now: datetime) -> None:
    """Turn these Match rows inactive (those still active)."""
    if not ids:
        return
    conn = session.connection()
    for batch in chunks(ids):
        conn.execute(_DEACTIVATE, {"ids": batch, "now": now})
    _expire(session, set(ids))


def _expire(session: Session, ids: set[int]) -> None:
    """Written past the session: the Match objects it holds for these rows are
    stale, so they are read again on next use."""
    for obj in list(session.identity_map.values()):
        identity = inspect(obj).identity
        if isinstance(obj, Match) and identity and identity[0] in ids:
            session.expire(obj)


_WRITTEN = (
    Match.user_id,
    Match.kind,
    Match.key,
    Match.counterpart_id,
    Match.proposal_id,
    Match.score,
    Match.coverage,
    Match.balance,
    Match.condition,
    Match.reputation,
    Match.active,
    Match.first_seen_at,
    Match.last_seen_at,
    Match.changed_at,
    Match.items_digest,
)


# What an upsert replaces in a row found again: all but its address and when it
# was first seen.
_UPDATED = tuple(
    c.name for c in _WRITTEN if c.name not in ("user_id", "kind", "key", "first_seen_at")
)

# INSERT … ON CONFLICT (user, kind, key) DO UPDATE, RETURNING what tells a new
# row (first seen now) from one a concurrent refresh inserted first. Built once:
# making the statement cost more than a millisecond a refresh.
_SQLITE_INSERT = sqlite.insert(Match)
_UPSERT = _SQLITE_INSERT.on_conflict_do_update(
    index_elements=[Match.user_id, Match.kind, Match.key],
    set_={name: _SQLITE_INSERT.excluded[name] for name in _UPDATED},
).returning(Match.id, Match.user_id, Match.kind, Match.key, Match.first_seen_at)

# PostgreSQL: the same upsert from one array per column. As one VALUES list,
# the ~48 rows of a popular Want's refresh made a 65 KB statement of 720
# parameters that psycopg parsed afresh on every call (4.2 ms) and the server
# planned afresh; this text stays the same, so it is parsed once and prepared.
# The columns are `_WRITTEN`'s: the same for every row, or an array of this type.
_SAME = {"active": "true", "first_seen_at": ":now", "last_seen_at": ":now"}
_ARRAY_TYPES = {
    "user_id": "integer", "kind": "text", "key": "text", "counterpart_id": "integer",
    "proposal_id": "integer", "score": "float8", "coverage": "integer", "balance": "float8",
    "condition": "float8", "reputation": "float8", "changed_at": "timestamptz",
    "items_digest": "text",
}  # fmt: skip
_ARRAY_COLUMNS = tuple(c.name for c in _WRITTEN if c.name not in _SAME)
_PG_UPSERT = text(
    f"INSERT INTO matches ({', '.join([*_ARRAY_COLUMNS, *_SAME])})"  # noqa: S608 (constant text)
    f" SELECT {', '.join([*_ARRAY_COLUMNS, *_SAME.values()])} FROM unnest("
    + ", ".join(f"CAST(:{name} AS {_ARRAY_TYPES[name]}[])" for name in _ARRAY_COLUMNS)
    + f") WITH ORDINALITY AS given ({', '.join(_ARRAY_COLUMNS)}, n)"
    # In (user, kind, key) order, as on SQLite, so concurrent refreshes lock alike.
    " ORDER BY n ON CONFLICT (user_id, kind, key) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _UPDATED)
    + " RETURNING id, user_id, kind, key, first_seen_at"
)

_STORED = (
    Match.id,
    Match.user_id,
    Match.kind,
    Match.key,
    Match.active,
    Match.score,
    Match.coverage,
    Match.balance,
    Match.condition,
    Match.reputation,
    Match.changed_at,
    Match.items_digest,
)


def _terms(row: Any) -> Terms:
    return Terms(row.score, row.coverage, row.balance, row.condition, row.reputation)


def store(
    session: Session,
    wanted: Iterable[Wanted],
    now: datetime,
    active: Iterable[tuple[int, int, str, str]] = (),
) -> Outcome:
    """Upsert `wanted`; every row of `active` (id, user, kind, key: the active rows
    this computation is responsible for) that is not wanted becomes inactive.

    The rows at the wanted addresses are read first to tell new, returning and
    changed matches apart; their pins are compared by `items_digest`, never read.
    Only matches whose pins changed, and returning ones (a Have or Want deleted
    meanwhile may have taken some of their items), have their items rewritten."""
    session.flush()
    outcome = Outcome()
    unique = {(w.user_id, w.kind, w.key): w for w in wanted}
    existing = {(r.user_id, r.kind, r.key): r for r in at_addresses(session, unique, *_STORED)}
    fresh: set[int] = set()
    rows: list[dict[str, Any]] = []
    rewrite: set[Ident] = set()
    for ident in sorted(unique):
        w = unique[ident]
        row = existing.get(ident)
        digest = items_digest(w.items)
        changed_at = now
        if row is None:
            rewrite.add(ident)
        else:
            same_items = row.items_digest == digest
            same = same_items and _terms(row) == w.terms
            if not (same_items and row.active):
                rewrite.add(ident)
            if not row.active:
                outcome.reactivated.append(row.id)
                fresh.add(w.user_id)
            elif not same:
                outcome.changed.append(row.id)
            else:
                changed_at = row.changed_at
        rows.append(
            {
                "user_id": w.user_id,
                "kind": w.kind,
                "key": w.key,
                "counterpart_id": w.counterpart_id,
                "proposal_id": w.proposal_id,
                "score": w.terms.score,
                "coverage": w.terms.coverage,
                "balance": w.terms.balance,
                "condition": w.terms.condition,
                "reputation": w.terms.reputation,
                "active": True,
                "first_seen_at": now,
                "last_seen_at": now,
                "changed_at": changed_at,
                "items_digest": digest,
            }
        )
    if rows:
        conn = session.connection()
        if conn.dialect.name == "postgresql":
            arrays = {name: [row[name] for row in rows] for name in _ARRAY_COLUMNS}
            written = conn.execute(_PG_UPSERT, arrays | {"now": now}).all()
        else:
            written = conn.execute(_UPSERT, rows).all()
        ids = {(u, k, key): i for i, u, k, key, _ in written}
        # Rows that may hold pins already: those read above, and raced ones.
        held = {r.id for r in existing.values()}
        for match_id, user_id, kind, key, first_seen in written:
            if (user_id, kind, key) in existing:
                continue
            if first_seen == now:
                outcome.new.append(match_id)
                fresh.add(user_id)
            else:
                # A concurrent refresh of the counterpart inserted it first (an
                # active row): ours replaces what it wrote.
                outcome.changed.append(match_id)
                held.add(match_id)
        outcome.new.sort()
        _write_items(session, {ids[i]: unique[i].items for i in sorted(rewrite)}, held)
        _expire(session, set(ids.values()))
    gone = sorted((u, k, key, i) for i, u, k, key in active if (u, k, key) not in unique)
    outcome.deactivated = [i for *_, i in gone]
    deactivate(session, outcome.deactivated, now)
    outbox.enqueue_many(session, NOTIFY_TASK, ({"user_id": u} for u in sorted(fresh)))
    outcome.notified = fresh
    return outcome


def _write_items(session: Session, items: dict[int, tuple[ItemRef, ...]], held: set[int]) -> None:
    """Replace the pins of these matches; only those in `held` can have any yet."""
    conn = session.connection()
    held = held.intersection(items)
    rows = [
        {
            "match_id": match_id,
            "direction": ref.direction,
            "position": ref.position,
            "have_id": ref.have_id,
            "want_id": ref.want_id,
            "pin_id": ref.pin_id,
        }
        for match_id, refs in items.items()
        for ref in refs
    ]
    if conn.dialect.name == "postgresql":
        # From arrays, and only the items that differ: a pin kept is neither
        # deleted nor inserted (its Have and Want not checked again), one that
        # moved has its position updated in place (a popular Want's refresh at
        # 100k collectors: 7.9 ms, against 14.4 ms deleting and inserting again
        # every pin after the new one). One INSERT from arrays: 2.2 ms a store,
        # against 3.0 ms as an executemany.
        columns: dict[str, Any] = {name: [row[name] for row in rows] for name in _ITEM_NAMES}
        columns["direction"] = ",".join(columns["direction"])
        if held:
            conn.execute(_PG_STALE_ITEMS, columns | {"held": sorted(held)})
        if rows:
            conn.execute(_PG_ITEMS, columns)
        return
    for batch in chunks(sorted(held)):
        conn.execute(delete(MatchItem).where(MatchItem.match_id.in_(batch)))
    if rows:
        conn.execute(insert(MatchItem), rows)


_ITEM_NAMES = ("match_id", "direction", "position", "have_id", "want_id", "pin_id")


# PostgreSQL: the pins as six parallel arrays (ids as `IdArray` text; the
# directions, plain words, as one comma-separated text).
_ARRAYS = {name: bindparam(name, type_=IdArray()) for name in _ITEM_NAMES if name != "direction"}
_PG_ITEMS = text(
    "INSERT INTO match_items (match_id, direction, position, have_id, want_id, pin_id)"
    " SELECT * FROM unnest(:match_id, string_to_array(:direction, ','), :position,"
    " :have_id, :want_id, :pin_id)"
    " ON CONFLICT (match_id, direction, have_id, want_id)"
    " DO UPDATE SET position = excluded.position"
    " WHERE match_items.position <> excluded.position"
).bindparams(*_ARRAYS.values())
# The held matches' items whose (Have, Want) pairing is no longer wanted.
_PG_STALE_ITEMS = text(
    "DELETE FROM match_items WHERE match_id = ANY(:held)"
    " AND (match_id, direction, have_id, want_id) NOT IN ("
    " SELECT m, d, h, w FROM unnest(:match_id, string_to_array(:direction, ','),"
    " :have_id, :want_id) AS wanted (m, d, h, w))"
).bindparams(
    *(_ARRAYS[name] for name in ("match_id", "have_id", "want_id")),
    bindparam("held", type_=IdArray()),
)
