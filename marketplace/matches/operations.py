"""Matches in the app: keeping each collector's two-way swaps and one-way offers up
to date as lists change, running the global solve that proposes multi-party cycles,
and reading matches back for the pages and the API.

The rules and the ranking live in the pure engine (`marketplace.matching`); this
module feeds it through :class:`SqlMarket`, a `MarketLookup` on indexed queries, and
stores what it finds as `Match` rows:

* `refresh_collector` recomputes one collector's swaps and offers from the pins that
  collector's lists touch (never a scan of everybody), upserts both sides of every
  swap, turns vanished matches inactive, and asks for `notify_collector` once per
  collector who got a new or returning match;
* `run_global_solve` splits the market into strongly connected components and
  queues one `solve_component` task per component; each stores its cycles as
  `TradeProposal`s and the members' `cycle` matches; the last one closes the run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

import psycopg
from sqlalchemy import (
    JSON,
    String,
    any_,
    bindparam,
    case,
    false,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.types import UserDefinedType

from marketplace.accounts.models import User
from marketplace.catalogue.models import Pin
from marketplace.core import outbox
from marketplace.core.models import json_dumps, utcnow
from marketplace.core.pagination import Page
from marketplace.lists.models import Condition, Have, Want
from marketplace.matches.models import MATCH_KINDS, Match, SolveRun, TradeLeg, TradeProposal
from marketplace.matching import model as engine
from marketplace.matching.market import TradeCycle
from marketplace.matching.pairwise import (
    Offer,
    OneWayOffer,
    Swap,
    SwapItem,
    one_way_offers,
    priority_weight,
    score_swap,
    two_way_swaps,
)

log = logging.getLogger(__name__)

NOTIFY_TASK = "workers.tasks.notify_collector"
COMPONENT_TASK = "workers.tasks.solve_component"
# Stored per collector and refresh: the best SWAP_LIMIT two-way swaps and the best
# OFFER_LIMIT one-way offers (the rest is noise, and a popular collector must not
# rewrite thousands of rows on every list change). SQL shortlists SHORTLIST times as
# many candidates by an upper bound of the engine's rank; the engine ranks those.
SWAP_LIMIT = 50
OFFER_LIMIT = 50
SHORTLIST = 2
PROPOSAL_DAYS = 7
DEFAULT_TIME_LIMIT = 60.0
# The nightly solve's graph bound (a product rule): each collector receives at most
# DEFAULT_TOP_K candidate transfers, from their most wanted wants first (see
# `marketplace.matching.market.build_market`). The solve is exact on that graph.
DEFAULT_TOP_K = 20
PER_PAGE = 20
_CHUNK = 500  # ids per IN (...) list: well inside SQLite's and PostgreSQL's limits
# (holder, pin) combinations up to which the holders' copies are probed one by one
# (see `SqlMarket._load`): about 1 µs a probe at 100k collectors, so at most ~20 ms.
_PROBES = 20_000

T = TypeVar("T")


def _chunks(values: Iterable[T], size: int = _CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


# -- the engine's view of the database ----------------------------------------------


@dataclass(frozen=True, slots=True)
class RowHave(engine.Have):
    """An engine Have that remembers its row (and asking price)."""

    have_id: int = 0
    price: str | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class RowWant(engine.Want):
    """An engine Want that remembers its row."""

    want_id: int = 0


_ENGINE_CONDITIONS = (engine.Condition.POOR, *engine.Condition)  # by app grade


def to_engine(condition: Condition | None) -> engine.Condition:
    """The app grades Poor=1 … Mint=6; the engine Poor=0 … Mint=5. (A lookup:
    a refresh converts thousands of copies.)"""
    return _ENGINE_CONDITIONS[condition or 0]


def from_engine(condition: engine.Condition) -> Condition:
    return Condition(int(condition) + 1)


_HAVE_COLUMNS = (
    Have.id,
    Have.user_id,
    Have.pin_id,
    Have.quantity,
    Have.condition,
    Have.tradeable,
    Have.price,
    Have.currency,
)
_WANT_COLUMNS = (
    Want.id,
    Want.user_id,
    Want.pin_id,
    Want.variant_group,
    Want.priority,
    Want.min_condition,
)


def _have(row: Any) -> RowHave:
    have_id, user_id, pin_id, quantity, condition, tradeable, price, currency = row
    return RowHave(
        collector=user_id,
        pin=pin_id,
        quantity=quantity,
        condition=to_engine(condition),
        tradeable=bool(tradeable),
        for_sale=price is not None,
        have_id=have_id,
        price=None if price is None else str(Decimal(price).quantize(Decimal("0.01"))),
        currency=currency,
    )


def to_engine_priority(stars: int) -> int:
    """Collectors give a want 1 to 5 stars, 5 the most wanted (the lists pages sort
    and draw it so); the engine ranks 1 first, as TradeMaximizer does."""
    return 6 - stars


def _want(row: Any) -> RowWant:
    want_id, user_id, pin_id, group, priority, min_condition = row
    return RowWant(
        collector=user_id,
        pin=pin_id,
        group=group if pin_id is None else None,
        priority=to_engine_priority(priority),
        min_condition=to_engine(min_condition),
        want_id=want_id,
    )


class _IdArray(UserDefinedType[Sequence[int] | str]):
    """PostgreSQL `integer[]` parameter sent as the array's text (`{1,2,3}`; a
    `str` is taken as the elements' text, comma-separated, already made).
    psycopg adapts a Python list element by element, in Python; for the thousands
    of ids a refresh can send that cost more than the query (two lists of 20,000:
    17 ms of CPU, against 3 ms joined here). The cast is rendered on the
    parameter, so the planner still sees the array's values."""

    cache_ok = True
    render_bind_cast = True

    def get_col_spec(self, **kw: Any) -> str:
        return "INTEGER[]"

    def bind_processor(self, dialect: Any) -> Callable[[Sequence[int] | str | None], str | None]:
        def process(values: Sequence[int] | str | None) -> str | None:
            if values is None:
                return None
            if isinstance(values, str):
                return "{" + values + "}"
            return "{" + ",".join(map(str, map(int, values))) + "}"

        return process


# -- statements built once ----------------------------------------------------------
# A refresh runs about twenty statements. Building one (and its cache key) cost
# more CPU than running it: the wanters' wants, 1.1 ms built each time against
# 0.2 ms reused. So the hot ones are built on first use with named parameters,
# arrays as `_IdArray` on PostgreSQL.

_OFFERED = or_(Have.tradeable.is_(True), Have.price.is_not(None))


def _ids_named(name: str) -> Any:
    return bindparam(name, type_=_IdArray())


def _any_of(column: Any, name: str, pg: bool) -> Any:
    """`column` among the ids of parameter `name`: one array on PostgreSQL, an
    expanding IN list (of up to _CHUNK) elsewhere."""
    return column == any_(_ids_named(name)) if pg else column.in_(bindparam(name, expanding=True))


def _table_of(name: str, alias: str) -> Any:
    """PostgreSQL: the ids of array parameter `name` as a table `alias(id)`."""
    return func.unnest(_ids_named(name)).table_valued("id").render_derived(name=alias)


@cache
def _my_wants() -> Any:
    return (
        select(*_WANT_COLUMNS, Pin.variant_group, Want.max_price, Want.currency)
        .outerjoin(Pin, Pin.id == Want.pin_id)
        .where(Want.user_id == bindparam("me"))
        .order_by(Want.id)
    )


@cache
def _my_group_pins() -> Any:
    wanted_groups = select(Want.variant_group).where(
        Want.user_id == bindparam("me"), Want.pin_id.is_(None)
    )
    return (
        select(Pin.id, Pin.variant_group)
        .where(Pin.variant_group.in_(wanted_groups))
        .order_by(Pin.id)
    )


def _wants_for_mine(me: Any) -> tuple[Any, Any]:
    """Wants for a pin I hold tradeable: exactly, and any variant of it."""
    giving = select(Have.pin_id).where(
        Have.user_id == me, Have.tradeable.is_(True), Have.quantity > 0
    )
    giving_groups = select(Pin.variant_group).where(Pin.id.in_(giving))
    return (
        select(*_WANT_COLUMNS).where(Want.pin_id.in_(giving)),
        select(*_WANT_COLUMNS).where(Want.pin_id.is_(None), Want.variant_group.in_(giving_groups)),
    )


@cache
def _pg_theirs() -> Any:
    """The wanters' (:wanters) wants for pins I (:me) hold tradeable, in want id
    order, one statement: for each wanter a LATERAL read of their own wants through
    the (collector, …) index, so the cost is what those collectors list, never how
    many others list the same pins (a popular variant group has hundreds of
    any-variant wanters)."""
    parts = []
    for n, kind in enumerate(_wants_for_mine(bindparam("me"))):
        table = _table_of("wanters", f"wanter{n}")
        rows = kind.where(Want.user_id == table.c.id).lateral(f"theirs{n}")
        parts.append(select(*rows.c).select_from(table).join(rows, true()))
    union = union_all(*parts).subquery()
    return select(union).order_by(union.c[0])


def _mine_query() -> Any:
    return select(*_HAVE_COLUMNS, Pin.variant_group).join(Pin, Pin.id == Have.pin_id)


@cache
def _pg_mine() -> Any:
    """My (:me) Haves of :pins and of the variant groups :groups, by id."""
    mine = _mine_query().where(Have.user_id == bindparam("me"))
    union = union_all(
        mine.where(Have.pin_id == any_(_ids_named("pins"))),
        mine.where(Pin.variant_group == any_(bindparam("groups", type_=ARRAY(String)))),
    ).subquery()
    return select(union).order_by(union.c[0])


@cache
def _pg_copies(offered: bool) -> Any:
    """Copies at exactly the (:users[i], :pins[i]) pairs (two zipped arrays), by
    id; `offered`: only tradeable or for sale."""
    listed = func.unnest(_ids_named("users"), _ids_named("pins"))
    pair = listed.table_valued("user_id", "pin_id").render_derived(name="pair")
    query = select(*_HAVE_COLUMNS).where(
        tuple_(Have.user_id, Have.pin_id).in_(select(pair.c.user_id, pair.c.pin_id))
    )
    return (query.where(_OFFERED) if offered else query).order_by(Have.id)


@cache
def _pg_copies_indexed() -> Any:
    """The :holders' copies (tradeable or for sale) of the :wanted pins, by id; the
    (holder, pin) pairs that exist found from an index alone first. The holders
    are a table joined to the query, so the planner can also drive from them,
    probing the (collector, pin) index, where `user_id = ANY(...)` left it one
    plan: a bitmap of every holder of every pin asked for, a million index entries
    when the pins are popular (measured 40-80 ms, against 2-20 ms)."""
    held = aliased(Have, name="held")
    holders = _table_of("holders", "holder")
    exist = (
        select(held.user_id, held.pin_id)
        .where(held.pin_id == any_(_ids_named("wanted")))
        .join(holders, holders.c.id == held.user_id)
    )
    return (
        select(*_HAVE_COLUMNS)
        .where(tuple_(Have.user_id, Have.pin_id).in_(exist), _OFFERED)
        .order_by(Have.id)
    )


class SqlMarket:
    """`MarketLookup` for matching one collector (`me`) against chosen counterparts.

    Built on my Wants (with the pins of the variant groups I want); `restrict`
    then names the counterparts: the holders whose copies may fill my wants and
    the wanters who may take my pins. Everything else is read on first use, in a
    few queries, each shaped for the index that answers it: the holders' copies of
    pins I want (per (holder, pin) pair, or from an index first when there are
    many pairs), the wanters' wants for pins I hold tradeable (exactly or any
    variant; joined on my own rows), the wanters' copies of those pins, and of my
    own Haves only those somebody here wants or that a want of mine names.

    So `haves_of` is a partial view, for me as for the others: exactly what the
    pairwise engine reads it for (what I can give them, and "nobody receives a
    pin they already have").
    """

    def __init__(self, session: Session, me: int) -> None:
        # Reads go through the Core connection: these are plain column queries,
        # and the ORM's per-statement layer cost more than many of them.
        session.flush()
        self.conn = conn = session.connection()
        self.me = me
        self._pg = session.get_bind().dialect.name == "postgresql"
        self._groups: dict[int, str | None] = {}
        self._group_pins: dict[str, list[int]] = {}
        self._my_wants: list[RowWant] = []
        # My maximum prices (want id → (price, currency)), for priced copies.
        self.price_limits: dict[int, tuple[Any, Any]] = {}
        for *want_row, pin_group, max_price, currency in conn.execute(_my_wants(), {"me": me}):
            want = _want(want_row)
            self._my_wants.append(want)
            if max_price is not None:
                self.price_limits[want.want_id] = (max_price, currency)
            if want.pin is not None and pin_group is not None:
                self._groups[int(want.pin)] = pin_group
        for pin_id, group in conn.execute(_my_group_pins(), {"me": me}):
            self._groups[pin_id] = group
            self._group_pins.setdefault(group, []).append(pin_id)
        self._holder_ids: list[int] | None = None
        self._wanter_ids: list[int] = []
        self._loaded = False
        self._mine: list[RowHave] = []
        self._haves: dict[int, list[RowHave]] = {}
        self._holders: dict[int, list[RowHave]] = {}
        self._wants_pin: dict[int, list[RowWant]] = {}
        self._wants_group: dict[str, list[RowWant]] = {}

    def restrict(
        self, holders: Iterable[engine.CollectorId], wanters: Iterable[engine.CollectorId]
    ) -> None:
        """Name the counterparts; must come before the lookups below are used."""
        if self._loaded:
            raise RuntimeError("restrict must come before the lookups are used")
        self._holder_ids = sorted({int(c) for c in holders} - {self.me})
        self._wanter_ids = sorted({int(c) for c in wanters} - {self.me})

    # -- elsewhere than PostgreSQL: IN lists of _CHUNK ---------------------------

    @staticmethod
    def _in(column: Any, values: Sequence[Any]) -> Iterator[Any]:
        for batch in _chunks(values):
            yield column.in_(batch)

    @staticmethod
    def _pairs(pairs: Sequence[tuple[int, int]]) -> Iterator[Any]:
        for batch in _chunks(pairs):
            yield tuple_(Have.user_id, Have.pin_id).in_(batch)

    def _each(self, queries: Iterable[Any]) -> Iterator[Any]:
        for query in queries:
            yield from self.conn.execute(query)

    def _load(self) -> None:
        if self._loaded:
            return
        if self._holder_ids is None:
            raise RuntimeError("restrict must name the counterparts first")
        self._loaded = True
        conn, me = self.conn, self.me
        pg = self._pg
        if not self._wanter_ids:
            theirs: Iterable[Any] = ()
        elif pg:
            theirs = conn.execute(_pg_theirs(), {"me": me, "wanters": self._wanter_ids})
        else:
            theirs = self._each(
                kind.where(users).order_by(Want.id)
                for kind in _wants_for_mine(me)
                for users in self._in(Want.user_id, self._wanter_ids)
            )
        for wanted_row in theirs:
            want = _want(wanted_row)
            if want.pin is not None:
                self._wants_pin.setdefault(int(want.pin), []).append(want)
            elif want.group is not None:
                self._wants_group.setdefault(want.group, []).append(want)

        # My Haves: those the wanters ask for, and those my wants name.
        pins = sorted(set(self._wants_pin) | self.wanted_pins())
        groups = sorted(self._wants_group)
        mine_rows: Iterable[Any]
        if pg:
            mine_rows = conn.execute(_pg_mine(), {"me": me, "pins": pins, "groups": groups})
        else:
            mine_by_pin = _mine_query().where(Have.user_id == me)
            mine_rows = self._each(
                mine_by_pin.where(c).order_by(Have.id)
                for c in (*self._in(Have.pin_id, pins), *self._in(Pin.variant_group, groups))
            )
        seen: set[int] = set()
        for *have_row, have_group in mine_rows:
            have = _have(have_row)
            if have.have_id not in seen:
                seen.add(have.have_id)
                self._mine.append(have)
                self._groups[int(have.pin)] = have_group
        self._mine.sort(key=lambda h: h.have_id)

        # The wanters' copies of the pins they want from me ("nobody receives a pin
        # they already have"): exactly those (wanter, pin) pairs, one index probe each.
        tradeable = {int(h.pin) for h in self._mine if h.tradeable and h.quantity > 0}
        asked: set[tuple[int, int]] = set()
        for pin, wants in self._wants_pin.items():
            if pin in tradeable:
                asked.update((int(w.collector), pin) for w in wants)
        for pin in tradeable:
            for w in self._wants_group.get(self._groups.get(pin) or "", ()):
                asked.add((int(w.collector), pin))
        pairs = sorted(asked)
        if not pairs:
            copies: Iterable[Any] = ()
        elif pg:
            users, wanted_pins = zip(*pairs, strict=True)
            copies = conn.execute(_pg_copies(False), {"users": users, "pins": wanted_pins})
        else:
            copies = self._each(
                select(*_HAVE_COLUMNS).where(c).order_by(Have.id) for c in self._pairs(pairs)
            )
        for copy in copies:
            have = _have(copy)
            self._haves.setdefault(int(have.collector), []).append(have)

        # The holders' copies (tradeable or for sale) of the pins I want. The
        # holders are often big collections (the planner expects an average one):
        # reading each one's copies to test the pin cost 40-85 ms at 100k
        # collectors. So on PostgreSQL up to _PROBES (holder, pin) combinations
        # are probed one by one in the (collector, pin) index; beyond that, which
        # pairs exist is found from an index alone (the holders of those pins, or
        # each holder's pins, whichever the planner finds fewer), then those rows.
        wanted = sorted(self.wanted_pins())
        holders = self._holder_ids
        if not (wanted and holders):
            copies = ()
        elif not pg:
            copies = self._each(
                select(*_HAVE_COLUMNS).where(p, h, _OFFERED).order_by(Have.id)
                for p in self._in(Have.pin_id, wanted)
                for h in self._in(Have.user_id, holders)
            )
        elif len(wanted) * len(holders) <= _PROBES:
            # Every (holder, pin) combination, written out as the text of the two
            # zipped arrays by repeating the lists (string operations: making
            # 20,000 pairs in Python took ~5 ms). Made on the server from the two
            # short lists instead, the planner probed the index by collector alone
            # and filtered the pins (20,000 combinations: 950 ms).
            each = ",".join(map(str, map(int, wanted)))
            users_text = ",".join(",".join([str(int(c))] * len(wanted)) for c in holders)
            copies = conn.execute(
                _pg_copies(True), {"users": users_text, "pins": ",".join([each] * len(holders))}
            )
        else:
            copies = conn.execute(_pg_copies_indexed(), {"wanted": wanted, "holders": holders})
        for copy in copies:
            have = _have(copy)
            self._holders.setdefault(int(have.pin), []).append(have)

    def wanted_pins(self) -> set[int]:
        """Every pin a want of mine can be filled with (exact and any variant)."""
        pins = {int(w.pin) for w in self._my_wants if w.pin is not None}
        for members in self._group_pins.values():
            pins.update(members)
        return pins

    # -- MarketLookup ----------------------------------------------------------------

    def haves_of(self, collector: engine.CollectorId) -> Sequence[engine.Have]:
        self._load()
        if collector == self.me:
            return self._mine
        return self._haves.get(int(collector), [])

    def wants_of(self, collector: engine.CollectorId) -> Sequence[engine.Want]:
        if collector != self.me:
            raise LookupError("SqlMarket only reads the wants of the collector it matches")
        return self._my_wants

    def holders_of(self, pin: engine.PinId) -> Sequence[engine.Have]:
        self._load()
        return self._holders.get(int(pin), [])

    def wants_for(self, pin: engine.PinId) -> Sequence[engine.Want]:
        self._load()
        group = self.group_of(pin)
        direct = self._wants_pin.get(int(pin), [])
        return [*direct, *self._wants_group.get(group, [])] if group is not None else direct

    def pins_in(self, group: engine.GroupKey) -> Sequence[engine.PinId]:
        return self._group_pins.get(group, [])

    def group_of(self, pin: engine.PinId) -> engine.GroupKey | None:
        if int(pin) not in self._groups:
            self._groups[int(pin)] = self.conn.scalar(
                select(Pin.variant_group).where(Pin.id == int(pin))
            )
        return self._groups.get(int(pin))


# -- plain JSON for the rows ---------------------------------------------------------


class Rows:
    """Turns engine results into plain JSON: pin refs and titles, and the Have
    row behind each swap item (a SwapItem keeps the giver, pin and condition)."""

    def __init__(self, session: Session, haves: Iterable[engine.Have]) -> None:
        self.haves: dict[tuple[Any, Any, Any], engine.Have] = {}
        pin_ids: set[int] = set()
        for have in haves:
            pin_ids.add(int(have.pin))
            if have.tradeable and have.quantity > 0:
                self.haves.setdefault((have.collector, have.pin, have.condition), have)
        self.pins: dict[int, dict[str, Any]] = {}
        conn = session.connection()
        pg = conn.dialect.name == "postgresql"
        for batch in [sorted(pin_ids)] if pg else _chunks(sorted(pin_ids)):
            for pin_id, ref, title, group in conn.execute(_pin_titles(pg), {"ids": batch}):
                self.pins[pin_id] = {
                    "pin_id": pin_id,
                    "ref": ref,
                    "title": title,
                    "variant_group": group,
                }

    def item(self, have: engine.Have, want: engine.Want) -> dict[str, Any]:
        assert isinstance(have, RowHave) and isinstance(want, RowWant)
        return {
            **self.pins[int(have.pin)],
            "condition": from_engine(have.condition).slug,
            "have_id": have.have_id,
            "quantity": have.quantity,
            "tradeable": have.tradeable,
            "price": have.price,
            "currency": have.currency,
            "want_id": want.want_id,
            "priority": to_engine_priority(want.priority),
            "min_condition": (
                from_engine(want.min_condition).slug if want.min_condition > 0 else None
            ),
            "any_variant": want.group is not None,
        }

    def swap_item(self, item: SwapItem) -> dict[str, Any]:
        return self.item(self.haves[(item.giver, item.pin, item.condition)], item.want)


@cache
def _pin_titles(pg: bool) -> Any:
    return select(Pin.id, Pin.ref, Pin.title_en, Pin.variant_group).where(
        _any_of(Pin.id, "ids", pg)
    )


def _grade(value: float) -> str:
    labels = ["poor", "good", "fine", "very fine", "excellent", "mint"]
    return labels[max(0, min(5, round(value * 5)))]


def _stars(priorities: Sequence[int]) -> list[int]:
    """Engine priorities (1 first) as the stars collectors gave, most first."""
    return sorted((to_engine_priority(p) for p in priorities), reverse=True)


def _priority_words(priorities: Sequence[int]) -> str:
    counts: dict[int, int] = {}
    for stars in _stars(priorities):
        counts[stars] = counts.get(stars, 0) + 1
    return ", ".join(
        f"{n} with {s} star{'s' if s > 1 else ''}" for s, n in sorted(counts.items(), reverse=True)
    )


def swap_explanation(score: Any, receive: int, give: int) -> dict[str, Any]:
    """The engine's score breakdown, plus the same in plain words."""
    reasons = [
        f"Fills {receive} of your wants ({_priority_words(score.covered_priorities)}); "
        f"coverage {score.coverage} (a 5-star want counts 16, each star less half).",
        f"You give {give} and receive {receive}: balance {score.balance:.0%}"
        + (" (an even swap)." if score.balance >= 1 else "."),
        f"What you receive is {_grade(score.condition)} on average "
        f"({score.condition:.0%} of mint).",
    ]
    return {
        "coverage": score.coverage,
        "covered_priorities": _stars(score.covered_priorities),
        "balance": score.balance,
        "condition": score.condition,
        "receive_count": receive,
        "give_count": give,
        "reasons": reasons,
    }


def swap_score(score: Any) -> float:
    """One number that sorts like the engine's rank key: coverage first (whole
    numbers), then balance, then condition."""
    return round(score.coverage + 0.5 * score.balance + 0.001 * score.condition, 6)


def _offer_terms(offer: OneWayOffer) -> tuple[list[int], int, float]:
    """(priorities covered, coverage, best condition 0..1) of an offer."""
    best: dict[int, Offer] = {}
    for o in offer.offers:  # sorted best first: keep one pin per want
        best.setdefault(id(o.want), o)
    priorities = sorted(o.want.priority for o in best.values())
    coverage = sum(priority_weight(p) for p in priorities)
    condition = max(int(o.have.condition) for o in offer.offers) / int(engine.Condition.MINT)
    return priorities, coverage, condition


def offer_score(offer: OneWayOffer) -> float:
    """What an offer ranks by (the explanation's score, without its words)."""
    _, coverage, condition = _offer_terms(offer)
    return round(coverage + 0.001 * condition, 6)


def offer_explanation(offer: OneWayOffer) -> tuple[float, dict[str, Any]]:
    priorities, coverage, condition = _offer_terms(offer)
    tradeable = sum(1 for o in offer.offers if o.have.tradeable)
    for_sale = sum(1 for o in offer.offers if o.have.for_sale)
    reasons = [
        f"Has {len(priorities)} of your wants ({_priority_words(priorities)});"
        f" coverage {coverage}.",
        f"{tradeable} offered for trade, {for_sale} for sale.",
        f"Best copy is {_grade(condition)}.",
    ]
    explanation = {
        "coverage": coverage,
        "covered_priorities": _stars(priorities),
        "best_priority": to_engine_priority(offer.best_priority),
        "condition": round(condition, 6),
        "tradeable": tradeable,
        "for_sale": for_sale,
        "reasons": reasons,
    }
    return offer_score(offer), explanation


# -- storing matches -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Wanted:
    """A match as it should be stored."""

    user_id: int
    kind: str
    key: str
    counterpart_id: int | None
    details: dict[str, Any]
    score: float
    explanation: dict[str, Any]
    proposal_id: int | None = None


@dataclass
class Outcome:
    """What a refresh changed: match ids by what happened to them."""

    new: list[int] = field(default_factory=list)
    reactivated: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    deactivated: list[int] = field(default_factory=list)
    notified: set[int] = field(default_factory=set)


_Ident = tuple[int, str, str]  # (user_id, kind, key): how a Match is addressed


def _addressed(idents: Iterable[_Ident]) -> Any:
    """Elsewhere than PostgreSQL (see `_pg_at_addresses`): one WHERE clause for
    exactly the Match rows at these addresses, a user with several rows read by
    user, the rest by (kind, key), OR-ed together."""
    by_user: dict[int, list[_Ident]] = {}
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


_STORED = (
    Match.id,
    Match.user_id,
    Match.kind,
    Match.key,
    Match.active,
    Match.details,
    Match.score,
    Match.explanation,
    Match.counterpart_id,
    Match.proposal_id,
    Match.changed_at,
)
_JSON_OR_KEEP = JSON(none_as_null=True)  # None: keep the stored document
# A row a refresh finds again, by id (one executemany in address order): its JSON
# only when it changed, the rest always.
_REWRITE = (
    update(Match)
    .where(Match.id == bindparam("row_id"))
    .values(
        active=True,
        details=func.coalesce(bindparam("details", type_=_JSON_OR_KEEP), Match.details),
        explanation=func.coalesce(bindparam("explanation", type_=_JSON_OR_KEEP), Match.explanation),
        score=bindparam("score"),
        counterpart_id=bindparam("counterpart_id"),
        proposal_id=bindparam("proposal_id"),
        changed_at=bindparam("changed_at"),
        last_seen_at=bindparam("last_seen_at"),
    )
)


@cache
def _pg_at_addresses(columns: tuple[Any, ...], active_only: bool) -> Any:
    """PostgreSQL: `columns` of the rows at the addresses (:users[i], :kinds[i],
    :keys[i]), probed in the (user, kind, key) index."""
    listed = func.unnest(
        _ids_named("users"),
        bindparam("kinds", type_=ARRAY(String)),
        bindparam("keys", type_=ARRAY(String)),
    )
    address = listed.table_valued("user_id", "kind", "key").render_derived(name="address")
    query = select(*columns).where(
        tuple_(Match.user_id, Match.kind, Match.key).in_(
            select(address.c.user_id, address.c.kind, address.c.key)
        )
    )
    return query.where(Match.active.is_(True)) if active_only else query


def _at_addresses(
    session: Session, idents: Iterable[_Ident], *columns: Any, active_only: bool = False
) -> Iterator[Any]:
    """`columns` of the Match rows at exactly these addresses (the active ones only,
    if asked)."""
    listed = sorted(set(idents))
    if not listed:
        return
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        users, kinds, keys = zip(*listed, strict=True)
        params = {"users": users, "kinds": list(kinds), "keys": list(keys)}
        yield from conn.execute(_pg_at_addresses(columns, active_only), params)
        return
    query = select(*columns).where(_addressed(listed))
    yield from conn.execute(query.where(Match.active.is_(True)) if active_only else query)


def _load_rows(session: Session, idents: Iterable[_Ident]) -> dict[_Ident, Any]:
    """The stored state (`_STORED`, JSON and all) of exactly these addresses."""
    return {(r.user_id, r.kind, r.key): r for r in _at_addresses(session, idents, *_STORED)}


@cache
def _deactivation(pg: bool) -> Any:
    return (
        update(Match)
        .where(_any_of(Match.id, "ids", pg), Match.active.is_(True))
        .values(active=False, changed_at=bindparam("now"))
    )


def _deactivate(session: Session, ids: Sequence[int], now: datetime) -> None:
    """Turn these Match rows inactive (those still active)."""
    if not ids:
        return
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    for batch in [list(ids)] if pg else _chunks(ids):
        conn.execute(_deactivation(pg), {"ids": batch, "now": now})
    _expire(session, set(ids))


def _expire(session: Session, ids: set[int]) -> None:
    """Written past the session: the Match objects it holds for these rows are
    stale, so they are read again on next use."""
    for obj in list(session.identity_map.values()):
        identity = inspect(obj).identity
        if isinstance(obj, Match) and identity and identity[0] in ids:
            session.expire(obj)


def _store(
    session: Session,
    wanted: Iterable[Wanted],
    now: datetime,
    active: Iterable[tuple[int, int, str, str]] = (),
) -> Outcome:
    """Upsert `wanted`; every row of `active` (id, user, kind, key: the active rows
    this computation is responsible for) that is not wanted becomes inactive.

    Only the rows of the wanted addresses are loaded whole (their JSON is compared);
    the rest is one UPDATE by id. New rows are inserted in one batch. Rows are
    written in (user, kind, key) order, so two refreshes touching the same pair
    lock them in the same order."""
    outcome = Outcome()
    unique = {(w.user_id, w.kind, w.key): w for w in wanted}
    by_key = _load_rows(session, unique)
    fresh: set[int] = set()
    inserts: list[Wanted] = []
    rewrites: list[dict[str, Any]] = []
    for ident in sorted(unique):
        w = unique[ident]
        row = by_key.get(ident)
        if row is None:
            inserts.append(w)
            continue
        same = (row.details, row.score, row.explanation) == (w.details, w.score, w.explanation)
        if not row.active:
            outcome.reactivated.append(row.id)
            fresh.add(w.user_id)
        elif not same:
            outcome.changed.append(row.id)
        rewrites.append(
            {
                "row_id": row.id,
                "details": None if same else w.details,
                "explanation": None if same else w.explanation,
                "score": w.score,
                "counterpart_id": w.counterpart_id,
                "proposal_id": w.proposal_id,
                "changed_at": row.changed_at if row.active and same else now,
                "last_seen_at": now,
            }
        )
    if rewrites:
        session.connection().execute(_REWRITE, rewrites)
        _expire(session, {r["row_id"] for r in rewrites})
    if inserts:
        try:
            with session.begin_nested():
                _insert_all(session, [_new_values(w, now) for w in inserts])
        except (IntegrityError, psycopg.IntegrityError):
            # A concurrent refresh of a counterpart inserted one first: row by row.
            created = [(w, _insert(session, w, now)) for w in inserts]
        else:
            created = []
            addresses = ((w.user_id, w.kind, w.key) for w in inserts)
            ids = {
                (u, k, key): i
                for i, u, k, key in _at_addresses(
                    session, addresses, Match.id, Match.user_id, Match.kind, Match.key
                )
            }
            outcome.new.extend(sorted(ids[(w.user_id, w.kind, w.key)] for w in inserts))
            fresh.update(w.user_id for w in inserts)
        for w, row in created:
            if row.first_seen_at == now:
                outcome.new.append(row.id)
                fresh.add(w.user_id)
            elif not row.active or (row.details, row.score, row.explanation) != (
                w.details,
                w.score,
                w.explanation,
            ):
                if not row.active:
                    outcome.reactivated.append(row.id)
                    fresh.add(w.user_id)
                else:
                    outcome.changed.append(row.id)
                row.active, row.changed_at = True, now
                row.details, row.score, row.explanation = w.details, w.score, w.explanation
                row.last_seen_at = now
    gone = sorted((u, k, key, i) for i, u, k, key in active if (u, k, key) not in unique)
    outcome.deactivated = [i for *_, i in gone]
    _deactivate(session, outcome.deactivated, now)
    session.flush()
    outbox.enqueue_many(session, NOTIFY_TASK, ({"user_id": u} for u in sorted(fresh)))
    outcome.notified = fresh
    return outcome


def _new_values(w: Wanted, now: datetime) -> dict[str, Any]:
    return {
        "user_id": w.user_id,
        "kind": w.kind,
        "key": w.key,
        "counterpart_id": w.counterpart_id,
        "proposal_id": w.proposal_id,
        "details": w.details,
        "score": w.score,
        "explanation": w.explanation,
        "active": True,
        "first_seen_at": now,
        "last_seen_at": now,
        "changed_at": now,
    }


_JSON_COLUMNS = frozenset({"details", "explanation"})


def _insert_all(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert new Match rows (`_new_values`) in one batch, without RETURNING: the
    ORM's multi-row INSERT … RETURNING was the slowest statement of a refresh that
    finds many new matches. PostgreSQL: COPY, one command for every row (90 new
    matches: 6.0 → 4.7 ms, a third less CPU than a pipelined executemany);
    elsewhere an executemany. The caller reads the ids back by address."""
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(Match), rows)
        return
    columns = list(rows[0])
    command = f"COPY matches ({', '.join(columns)}) FROM STDIN"
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(command) as copy:
        for row in rows:
            copy.write_row([json_dumps(row[c]) if c in _JSON_COLUMNS else row[c] for c in columns])


def _insert(session: Session, w: Wanted, now: datetime) -> Match:
    row = Match(**_new_values(w, now))
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # A concurrent refresh of the counterpart inserted it first: update theirs.
        found = session.scalar(
            select(Match).where(
                Match.user_id == w.user_id, Match.kind == w.kind, Match.key == w.key
            )
        )
        assert found is not None
        return found
    return row


def _swap_rows(me: int, swap: Swap, rows: Rows) -> list[Wanted]:
    receive = [rows.swap_item(i) for i in swap.receive]
    give = [rows.swap_item(i) for i in swap.give]
    partner = int(swap.partner)
    theirs = score_swap(swap.give, swap.receive)  # the same swap seen from their side
    return [
        Wanted(
            me,
            "swap",
            f"swap:{partner}",
            partner,
            {"receive": receive, "give": give},
            swap_score(swap.score),
            swap_explanation(swap.score, len(receive), len(give)),
        ),
        Wanted(
            partner,
            "swap",
            f"swap:{me}",
            me,
            {"receive": give, "give": receive},
            swap_score(theirs),
            swap_explanation(theirs, len(give), len(receive)),
        ),
    ]


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


def _plan_per_call(session: Session) -> None:
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


def _active_matches(session: Session, user_id: int, *columns: Any) -> list[Any]:
    """`columns` of the active rows a refresh of `user_id` answers for: my swaps and
    offers, and the other side of my swaps (their rows naming me)."""
    return list(session.connection().execute(_active_query(columns), {"me": user_id}))


@cache
def _active_query(columns: tuple[Any, ...]) -> Any:
    me: Any = bindparam("me")
    mine = (Match.user_id == me) & Match.kind.in_(("swap", "offer"))
    theirs = (Match.counterpart_id == me) & (Match.kind == "swap")
    return select(*columns).where(or_(mine, theirs), Match.active.is_(True))


def refresh_collector(session: Session, user_id: int) -> Outcome:
    """Recompute one collector's swaps (both sides) and offers, and store them.

    SQL shortlists the candidates (`swap_partners`, `offer_holders`); the engine
    reads only their rows for the pins concerned, ranks them exactly, and the best
    SWAP_LIMIT swaps and OFFER_LIMIT offers are stored. A swap no longer among the
    best turns inactive on both sides, like one that vanished."""
    now = utcnow()
    _plan_per_call(session)
    partners = swap_partners(session, user_id, SHORTLIST * SWAP_LIMIT)
    holders = offer_holders(session, user_id, OFFER_LIMIT + len(partners))
    lookup = SqlMarket(session, user_id)
    lookup.restrict(holders={*partners, *holders}, wanters=partners)
    wanted = _wanted_rows(
        session, user_id, lookup, lambda s: s[:SWAP_LIMIT], lambda o: o[:OFFER_LIMIT]
    )
    active = _active_matches(session, user_id, Match.id, Match.user_id, Match.kind, Match.key)
    return _store(session, wanted, now, [tuple(r) for r in active])


def _wanted_rows(
    session: Session,
    user_id: int,
    lookup: SqlMarket,
    keep_swaps: Callable[[list[Swap]], list[Swap]],
    keep_offers: Callable[[list[OneWayOffer]], list[OneWayOffer]],
) -> list[Wanted]:
    """The engine's swaps (both sides) and offers for `user_id` on `lookup`, best
    first and as many as `keep_swaps` / `keep_offers` keep, as rows to store. A kept
    swap partner's pins are shown in the swap; offers are the other holders (and
    priced copies within my maximum price)."""
    found = one_way_offers(user_id, lookup)
    limits = lookup.price_limits
    swaps = keep_swaps(two_way_swaps(user_id, lookup))
    kept_partners = {swap.partner for swap in swaps}
    offers = []
    for o in found:
        kept = tuple(x for x in o.offers if _within(x, limits))
        if kept and o.holder not in kept_partners:
            offers.append(OneWayOffer(o.holder, kept))
    offers = keep_offers(offers)
    # Pin titles and Have rows only for what is stored (a big collection holds
    # thousands of pins; a swap names a few).
    shown = {i.pin for swap in swaps for i in (*swap.receive, *swap.give)}
    shown.update(x.have.pin for o in offers for x in o.offers)
    rows = Rows(
        session,
        [
            *(h for h in lookup.haves_of(user_id) if h.pin in shown),
            *(x.have for o in found for x in o.offers if x.have.pin in shown),
        ],
    )
    wanted: list[Wanted] = []
    for swap in swaps:
        wanted.extend(_swap_rows(user_id, swap, rows))
    for offer in offers:
        score, explanation = offer_explanation(offer)
        holder = int(offer.holder)
        wanted.append(
            Wanted(
                user_id,
                "offer",
                f"offer:{holder}",
                holder,
                {"offers": [rows.item(x.have, x.want) for x in offer.offers]},
                score,
                explanation,
            )
        )
    return wanted


# -- incremental refresh after one list change ---------------------------------------

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
        bindparam("giving", type_=_IdArray()),
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


def pin_ids(items: Sequence[Match]) -> set[int]:
    """Every pin the stored matches mention (to load their pictures at once)."""
    ids: set[int] = set()
    for match in items:
        for key in ("receive", "give", "offers", "legs"):
            value = match.details.get(key) or []
            for item in value if isinstance(value, list) else [value]:
                ids.add(int(item["pin_id"]))
    return ids


def refresh_after_change(
    session: Session,
    user_id: int,
    *,
    have_pins: Sequence[int] | None = None,
    want_pins: Sequence[int] | None = None,
    want_groups: Sequence[str] | None = None,
    full: bool = False,
) -> Outcome:
    """What the refresh task runs for one list-change event, given the event's
    payload: the incremental `refresh_changes` when it says what changed
    (`have_pins`, `want_pins`, `want_groups`), else the full `refresh_collector`
    (`full`, or an event with just the user id, which is what
    `marketplace.lists.operations.note_list_change` writes so far)."""
    if full or (have_pins is None and want_pins is None and want_groups is None):
        return refresh_collector(session, user_id)
    return refresh_changes(session, user_id, have_pins or (), want_pins or (), want_groups or ())


def refresh_changes(
    session: Session,
    user_id: int,
    have_pins: Iterable[int] = (),
    want_pins: Iterable[int] = (),
    want_groups: Iterable[str] = (),
) -> Outcome:
    """Refresh only what one list change of `user_id` can affect.

    * Changed Wants (pins, variant groups; and changed Haves of pins I want,
      since nobody receives a pin they have): the holders of those pins;
    * changed Haves: the wanters of those pins.

    Each such counterpart's swap with me is recomputed exactly for the pair (the
    engine on my rows and theirs for the pins concerned), and my offer from them;
    both sides are upserted, pairs that no longer match turn inactive, and the cap
    (the best SWAP_LIMIT swaps, OFFER_LIMIT offers) is applied again to me and to
    every counterpart touched: a match pushed out turns inactive (both sides of a
    swap). Popular pins: at most SHORTLIST * SWAP_LIMIT new counterparts per change
    kind, best first by the shortlist's ranking (`_CHANGED_WANTS`,
    `_CHANGED_HAVES_SQL`); those already matched with me always count.

    As with `refresh_collector`, other collectors' offers are recomputed only when
    their own lists change: my new Have does not add an offer to a wanter's list.
    """
    now = utcnow()
    _plan_per_call(session)
    haves = sorted({int(p) for p in have_pins})
    lookup = SqlMarket(session, user_id)
    groups = sorted({str(g) for g in want_groups})
    changed_wants = {int(p) for p in want_pins}
    for names in _chunks(groups):
        changed_wants.update(session.scalars(select(Pin.id).where(Pin.variant_group.in_(names))))
    # A Have of a pin I want changes what others can give me too.
    changed_wants.update(lookup.wanted_pins().intersection(haves))

    columns = (Match.id, Match.user_id, Match.kind, Match.key, Match.counterpart_id, Match.score)
    current = _active_matches(session, user_id, *columns)
    existing = sorted(
        {int(r.counterpart_id) for r in current if r.user_id == user_id and r.counterpart_id}
        | {int(r.user_id) for r in current if r.user_id != user_id}
    )
    # Both queries rank collectors already matched with me first; past those, the
    # best SHORTLIST * SWAP_LIMIT new ones count.
    fresh = SHORTLIST * SWAP_LIMIT
    params: dict[str, Any] = {"me": user_id, "existing": existing, "limit": fresh + len(existing)}
    known = set(existing)

    def shortlist(found: Sequence[int]) -> list[int]:
        new = [int(c) for c in found if c not in known]
        return [int(c) for c in found if c in known] + new[:fresh]

    affected: set[int] = set()
    if changed_wants:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            giving = session.connection().scalar(
                _GIVING_SQL, {"me": user_id, "pins": sorted(changed_wants), "fresh": fresh}
            )
            params["giving"] = giving or []
        for batch in _chunks(sorted(changed_wants)):
            found = (
                session.connection()
                .scalars(_CHANGED_WANTS_SQL[dialect], {**params, "pins": batch, "fresh": fresh})
                .all()
            )
            affected.update(shortlist(found))
    for batch in _chunks(haves):
        found = session.connection().scalars(_CHANGED_HAVES_SQL, {**params, "pins": batch}).all()
        affected.update(shortlist(found))
    if not affected:
        return Outcome()
    lookup.restrict(holders=affected, wanters=affected)
    # Store only what makes my best SWAP_LIMIT / OFFER_LIMIT beside the matches the
    # change does not touch (a popular pin must not write hundreds of rows).
    kept: dict[str, list[tuple[float, int]]] = {"swap": [], "offer": []}
    for r in current:
        if r.user_id == user_id and r.counterpart_id not in affected:
            kept[r.kind].append((float(r.score), int(r.counterpart_id or 0)))

    def best(kind: str, limit: int, found: list[T], score: Callable[[T], float]) -> list[T]:
        ranked = sorted(
            [(-v, c, None) for v, c in kept[kind]]
            + [(-score(x), n, x) for n, x in enumerate(found)],
            key=lambda r: (r[0], r[2] is None, r[1]),
        )
        return [x for *_, x in ranked[:limit] if x is not None]

    partners: list[int] = []

    def keep_swaps(swaps: list[Swap]) -> list[Swap]:
        chosen = best("swap", SWAP_LIMIT, swaps, lambda s: swap_score(s.score))
        partners.extend(int(s.partner) for s in chosen)
        return chosen

    def keep_offers(offers: list[OneWayOffer]) -> list[OneWayOffer]:
        return best("offer", OFFER_LIMIT, offers, offer_score)

    wanted = _wanted_rows(session, user_id, lookup, keep_swaps, keep_offers)
    active = [
        (r.id, r.user_id, r.kind, r.key)
        for r in current
        if (r.counterpart_id in affected if r.user_id == user_id else r.user_id in affected)
    ]
    outcome = _store(session, wanted, now, active)
    _apply_caps(session, user_id, sorted(partners), now, outcome)
    return outcome


def _apply_caps(
    session: Session, user_id: int, partners: Sequence[int], now: datetime, outcome: Outcome
) -> None:
    """Keep the best SWAP_LIMIT active swaps of `user_id` and of each partner, and
    the best OFFER_LIMIT offers of `user_id`; the rest turns inactive (a swap on
    both sides)."""
    users = [user_id, *partners]
    conn = session.connection()
    pg = conn.dialect.name == "postgresql"
    limits = {"me": user_id, "swap_limit": SWAP_LIMIT, "offer_limit": OFFER_LIMIT}
    over = [
        (int(i), int(u), str(k), c)
        for batch in ([users] if pg else _chunks(users))
        for i, u, k, c in conn.execute(_over_the_caps(pg), {"users": batch, **limits})
    ]
    if not over:
        return
    gone = {i for i, *_ in over}
    mirrors = {(c, "swap", f"swap:{u}") for _, u, k, c in over if k == "swap" and c is not None}
    gone.update(i for (i,) in _at_addresses(session, mirrors, Match.id, active_only=True))
    _deactivate(session, sorted(gone), now)
    outcome.deactivated.extend(sorted(gone - set(outcome.deactivated)))
    session.flush()


@cache
def _over_the_caps(pg: bool) -> Any:
    """The active swaps of :users, and the offers of :me, ranked past the caps
    (:swap_limit, :offer_limit): best score first, then counterpart, then id."""
    users = _any_of(Match.user_id, "users", pg)
    rank = (
        func.row_number()
        .over(
            partition_by=(Match.user_id, Match.kind),
            order_by=(Match.score.desc(), Match.counterpart_id, Match.id),
        )
        .label("rank")
    )
    ranked = (
        select(Match.id, Match.user_id, Match.kind, Match.counterpart_id, rank)
        .where(users, Match.active.is_(True), Match.kind.in_(("swap", "offer")))
        .subquery()
    )
    return (
        select(ranked.c.id, ranked.c.user_id, ranked.c.kind, ranked.c.counterpart_id)
        .where(
            or_(
                (ranked.c.kind == "swap") & (ranked.c.rank > bindparam("swap_limit")),
                (ranked.c.kind == "offer")
                & (ranked.c.rank > bindparam("offer_limit"))
                & (ranked.c.user_id == bindparam("me")),
            )
        )
        .order_by(ranked.c.user_id, ranked.c.kind, ranked.c.id)
    )


def _within(offer: Offer, limits: dict[int, tuple[Any, Any]]) -> bool:
    have, want = offer.have, offer.want
    if have.tradeable or not isinstance(have, RowHave) or have.price is None:
        return True
    assert isinstance(want, RowWant)
    limit = limits.get(want.want_id)
    if limit is None or limit[1] != have.currency:
        return True
    return Decimal(have.price) <= Decimal(limit[0])


# -- the global solve ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Planned:
    """A global solve run and its components (collector ids), one task each."""

    run_id: int
    components: list[list[int]]


def load_market(session: Session, collectors: Sequence[int] | None = None) -> engine.MarketIndex:
    """Everybody's lists (or just `collectors`') as an in-memory index; the pin
    groups of every pin a Have or Want names."""
    have_query = select(*_HAVE_COLUMNS).where(Have.quantity > 0)
    want_query = select(*_WANT_COLUMNS)
    haves: list[engine.Have] = []
    wants: list[engine.Want] = []
    batches: Iterable[list[int] | None] = [None] if collectors is None else _chunks(collectors)
    for batch in batches:
        hq = have_query if batch is None else have_query.where(Have.user_id.in_(batch))
        wq = want_query if batch is None else want_query.where(Want.user_id.in_(batch))
        haves.extend(_have(r) for r in session.execute(hq.order_by(Have.id)))
        wants.extend(_want(r) for r in session.execute(wq.order_by(Want.id)))
    pins = {int(h.pin) for h in haves} | {int(w.pin) for w in wants if w.pin is not None}
    groups = sorted({w.group for w in wants if w.group is not None})
    pin_groups: dict[engine.PinId, str] = {}
    for batch_pins in _chunks(sorted(pins)):
        query = select(Pin.id, Pin.variant_group).where(Pin.id.in_(batch_pins))
        pin_groups.update((p, g) for p, g in session.execute(query))
    for batch_groups in _chunks(groups):
        query = select(Pin.id, Pin.variant_group).where(Pin.variant_group.in_(batch_groups))
        pin_groups.update((p, g) for p, g in session.execute(query))
    return engine.MarketIndex(haves, wants, pin_groups)


def run_global_solve(
    session: Session,
    cap: int = 3,
    time_limit: float = DEFAULT_TIME_LIMIT,
    top_k: int | None = DEFAULT_TOP_K,
) -> Planned:
    """Start a run: split the market into strongly connected components (cycles
    never cross them) and queue one `solve_component` task per component."""
    from marketplace.matching.market import build_market

    if cap < 2:
        raise ValueError("the cycle cap is at least 2")
    index = load_market(session)
    traders = sorted(
        {int(h.collector) for h in index.haves if h.tradeable}
        & {int(w.collector) for w in index.wants}
    )
    market = build_market(traders, index, top_k=top_k)
    del index
    components = [
        sorted(int(market.collectors[a]) for a in component.agents)
        for component in market.graph.components()
    ]
    components.sort(key=len, reverse=True)
    run = SolveRun(
        cycle_cap=cap,
        time_limit_s=time_limit,
        collectors=len(traders),
        components=len(components),
    )
    session.add(run)
    session.flush()
    for number, members in enumerate(components):
        outbox.enqueue(
            session, COMPONENT_TASK, run_id=run.id, component=number, collector_ids=members
        )
    if not components:
        _finish(session, run.id)
    log.info("solve run %s: %d collectors, %d components", run.id, len(traders), len(components))
    return Planned(run.id, components)


@dataclass(frozen=True, slots=True)
class ComponentResult:
    items: int
    collectors_trading: int
    proposals: int
    status: str
    gap: float
    seconds: float
    outcome: Outcome


def _signature(cycle: TradeCycle) -> str:
    """The same loop found again, whichever member it starts from."""
    legs = sorted(
        f"{t.giver}>{t.receiver}:{getattr(t.have, 'have_id', t.pin)}" for t in cycle.transfers
    )
    return hashlib.sha256("|".join(legs).encode()).hexdigest()


def _proposal(session: Session, run_id: int, cycle: TradeCycle, now: datetime) -> TradeProposal:
    signature = _signature(cycle)
    expires = now + timedelta(days=PROPOSAL_DAYS)
    found = session.scalar(
        select(TradeProposal)
        .where(
            TradeProposal.signature == signature,
            TradeProposal.status.in_(("proposed", "superseded")),
        )
        .order_by(TradeProposal.id.desc())
        .limit(1)
    )
    if found is not None:
        found.status, found.solve_run_id, found.expires_at = "proposed", run_id, expires
        return found
    proposal = TradeProposal(
        solve_run_id=run_id,
        signature=signature,
        status="proposed",
        members=[int(c) for c in cycle.collectors],
        created_at=now,
        expires_at=expires,
    )
    for position, t in enumerate(cycle.transfers):
        assert isinstance(t.have, RowHave) and isinstance(t.want, RowWant)
        proposal.legs.append(
            TradeLeg(
                position=position,
                giver_id=int(t.giver),
                receiver_id=int(t.receiver),
                have_id=t.have.have_id,
                want_id=t.want.want_id,
                pin_id=int(t.pin),
            )
        )
    session.add(proposal)
    session.flush()
    return proposal


def _cycle_rows(
    proposal: TradeProposal, cycle: TradeCycle, rows: Rows, names: dict[int, str]
) -> list[Wanted]:
    legs = [
        {
            "position": n,
            "giver_id": int(t.giver),
            "giver": names.get(int(t.giver), ""),
            "receiver_id": int(t.receiver),
            "receiver": names.get(int(t.receiver), ""),
            **rows.item(t.have, t.want),
        }
        for n, t in enumerate(cycle.transfers)
    ]
    members = [{"id": int(c), "name": names.get(int(c), "")} for c in cycle.collectors]
    wanted = []
    for leg in legs:
        me = leg["receiver_id"]
        give = next(g for g in legs if g["giver_id"] == me)
        condition = (Condition[leg["condition"].upper()] - 1) / int(engine.Condition.MINT)
        explanation = {
            "cycle_length": len(legs),
            "priority": leg["priority"],
            "condition": round(condition, 6),
            "reasons": [
                f"A loop of {len(legs)} collectors: each sends one pin and receives one.",
                f"You receive a pin you gave {leg['priority']} stars, "
                f"in {_grade(condition)} condition.",
                "Found by the nightly solve that makes the most pins change hands.",
            ],
        }
        wanted.append(
            Wanted(
                me,
                "cycle",
                f"cycle:{proposal.id}",
                None,
                {
                    "proposal_id": proposal.id,
                    "members": members,
                    "legs": legs,
                    "receive": leg,
                    "give": give,
                    "expires_at": proposal.expires_at.isoformat(),
                },
                round(priority_weight(to_engine_priority(leg["priority"])) + 0.001 * condition, 6),
                explanation,
                proposal_id=proposal.id,
            )
        )
    return wanted


def solve_component(
    session: Session,
    run_id: int,
    collector_ids: Sequence[int],
    time_limit: float | None = None,
    top_k: int | None = DEFAULT_TOP_K,
) -> ComponentResult:
    """Solve one component with the run's cycle cap, store its cycles as
    proposals and the members' cycle matches, and close the run if it was the
    last component."""
    from marketplace.matching.capped import CycleLimitExceeded
    from marketplace.matching.market import solve_market

    began = time.perf_counter()
    run = session.get(SolveRun, run_id)
    if run is None:
        raise LookupError(f"no solve run {run_id}")
    limit = run.time_limit_s if time_limit is None else time_limit
    index = load_market(session, sorted(collector_ids))
    note = None
    try:
        solution = solve_market(
            sorted(collector_ids),
            index,
            max_cycle_length=run.cycle_cap,
            time_limit=limit,
            top_k=top_k,
        )
        cycles, status, gap = solution.cycles, solution.status, solution.gap
        items, trading = solution.items, solution.collectors_trading
        if status != "OPTIMAL":
            note = (
                f"{len(collector_ids)} collectors: {status} after {limit:g} s, "
                f"{items} items, gap {gap:.4f}"
            )
    except CycleLimitExceeded as exc:
        # Too many candidate loops for the exact program: record it, propose nothing.
        cycles, status, gap, items, trading = (), "SKIPPED", 1.0, 0, 0
        note = f"{len(collector_ids)} collectors: {exc}"
    now = utcnow()
    rows = Rows(session, index.haves)
    members = {int(t.giver) for c in cycles for t in c.transfers}
    names: dict[int, str] = {}
    for batch in _chunks(sorted(members)):
        query = select(User.id, User.display_name).where(User.id.in_(batch))
        names.update((i, n) for i, n in session.execute(query))
    wanted: list[Wanted] = []
    for cycle in cycles:
        proposal = _proposal(session, run_id, cycle, now)
        wanted.extend(_cycle_rows(proposal, cycle, rows, names))
    outcome = _store(session, wanted, now)
    seconds = time.perf_counter() - began
    values: dict[str, Any] = {
        "components_done": SolveRun.components_done + 1,
        "items_traded": SolveRun.items_traded + items,
        "collectors_trading": SolveRun.collectors_trading + trading,
        "proposals": SolveRun.proposals + len(cycles),
        "max_gap": case((SolveRun.max_gap < gap, gap), else_=SolveRun.max_gap),
    }
    if status != "OPTIMAL":
        values["optimal"] = False
    session.execute(update(SolveRun).where(SolveRun.id == run_id).values(**values))
    if note:
        session.refresh(run)
        run.notes = [*run.notes, note]
    session.flush()
    session.refresh(run)
    if run.components_done >= run.components:
        _finish(session, run_id)
    return ComponentResult(items, trading, len(cycles), status, gap, seconds, outcome)


def component_failed(session: Session, run_id: int, size: int, reason: str) -> None:
    """A component's solve gave up for good (a worker killed at the time limit, a
    solver error): count it as done without proposals, so the run still closes,
    and say why in the run's notes."""
    session.execute(
        update(SolveRun)
        .where(SolveRun.id == run_id)
        .values(components_done=SolveRun.components_done + 1, optimal=False)
    )
    run = session.get(SolveRun, run_id)
    if run is None:
        raise LookupError(f"no solve run {run_id}")
    session.refresh(run)
    run.notes = [*run.notes, f"{size} collectors: failed, {reason}"[:500]]
    session.flush()
    if run.components_done >= run.components:
        _finish(session, run_id)


def _finish(session: Session, run_id: int) -> None:
    """Close a run: proposals an earlier run made and this one did not find again
    are superseded, and their members' cycle matches turn inactive."""
    run = session.get(SolveRun, run_id)
    assert run is not None
    now = utcnow()
    stale = session.scalars(
        select(TradeProposal.id).where(
            TradeProposal.status == "proposed",
            or_(TradeProposal.solve_run_id != run_id, TradeProposal.solve_run_id.is_(None)),
        )
    ).all()
    for batch in _chunks(stale):
        session.execute(
            update(TradeProposal).where(TradeProposal.id.in_(batch)).values(status="superseded")
        )
        session.execute(
            update(Match)
            .where(Match.proposal_id.in_(batch), Match.active.is_(True))
            .values(active=False, changed_at=now)
        )
    run.status = "finished"
    run.finished_at = now
    run.seconds = round((now - run.started_at).total_seconds(), 3)
    session.flush()


# -- reading -------------------------------------------------------------------------


def matches_for(
    session: Session,
    user_id: int,
    *,
    kind: str | None = None,
    active: bool | None = True,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[Match]:
    """A collector's matches, best first within each kind (swaps, offers, cycles)."""
    query = select(Match).where(Match.user_id == user_id)
    if kind is not None:
        query = query.where(Match.kind == kind)
    if active is not None:
        query = query.where(Match.active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = case({k: n for n, k in enumerate(MATCH_KINDS)}, value=Match.kind)
    items = session.scalars(
        query.options(selectinload(Match.counterpart))
        .order_by(order, Match.score.desc(), Match.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(items, total, page, per_page)


def is_new(match: Match, days: int = 3) -> bool:
    """First seen in the last few days: what the pages mark as new."""
    return match.first_seen_at >= utcnow() - timedelta(days=days)
