"""The matching engine's view of the database: engine Haves and Wants read from
the list tables (`RowHave`, `RowWant`, which remember their rows), `SqlMarket`, a
`MarketLookup` on indexed queries for matching one collector against chosen
counterparts (the global solve reads everybody's lists with the same columns).

Reads go through the Core connection with statements built once: a refresh runs
about twenty, and building one (and its cache key) cost more CPU than running it.
On PostgreSQL id lists travel as one array parameter (`IdArray`); elsewhere as IN
lists of `CHUNK`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import String, any_, bindparam, func, or_, select, true, tuple_, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased
from sqlalchemy.types import UserDefinedType

from marketplace.catalogue.models import Pin
from marketplace.lists.models import Condition, Have, Want
from marketplace.matches.scoring import to_engine_priority
from marketplace.matching import model as engine

CHUNK = 500  # ids per IN (...) list: well inside SQLite's and PostgreSQL's limits
# (holder, pin) combinations up to which the holders' copies are probed one by one
# (see `SqlMarket._load`): about 1 µs a probe at 100k collectors, so at most ~20 ms.
# The app's MATCH_PROBES setting.
DEFAULT_PROBES = 20_000

T = TypeVar("T")


def chunks(values: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
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


HAVE_COLUMNS = (
    Have.id,
    Have.user_id,
    Have.pin_id,
    Have.quantity,
    Have.condition,
    Have.tradeable,
    Have.price,
    Have.currency,
)
WANT_COLUMNS = (
    Want.id,
    Want.user_id,
    Want.pin_id,
    Want.variant_group,
    Want.priority,
    Want.min_condition,
)


def have_of(row: Any) -> RowHave:
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


def want_of(row: Any) -> RowWant:
    want_id, user_id, pin_id, group, priority, min_condition = row
    return RowWant(
        collector=user_id,
        pin=pin_id,
        group=group if pin_id is None else None,
        priority=to_engine_priority(priority),
        min_condition=to_engine(min_condition),
        want_id=want_id,
    )


class IdArray(UserDefinedType[Sequence[int] | str]):
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
# arrays as `IdArray` on PostgreSQL.

OFFERED = or_(Have.tradeable.is_(True), Have.price.is_not(None))


def ids_named(name: str) -> Any:
    return bindparam(name, type_=IdArray())


def _table_of(name: str, alias: str) -> Any:
    """PostgreSQL: the ids of array parameter `name` as a table `alias(id)`."""
    return func.unnest(ids_named(name)).table_valued("id").render_derived(name=alias)


@cache
def _my_wants() -> Any:
    return (
        select(*WANT_COLUMNS, Pin.variant_group, Want.max_price, Want.currency)
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
        select(*WANT_COLUMNS).where(Want.pin_id.in_(giving)),
        select(*WANT_COLUMNS).where(Want.pin_id.is_(None), Want.variant_group.in_(giving_groups)),
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
    return select(*HAVE_COLUMNS, Pin.variant_group).join(Pin, Pin.id == Have.pin_id)


@cache
def _pg_mine() -> Any:
    """My (:me) Haves of :pins and of the variant groups :groups, by id."""
    mine = _mine_query().where(Have.user_id == bindparam("me"))
    union = union_all(
        mine.where(Have.pin_id == any_(ids_named("pins"))),
        mine.where(Pin.variant_group == any_(bindparam("groups", type_=ARRAY(String)))),
    ).subquery()
    return select(union).order_by(union.c[0])


@cache
def _pg_copies(offered: bool) -> Any:
    """Copies at exactly the (:users[i], :pins[i]) pairs (two zipped arrays), by
    id; `offered`: only tradeable or for sale."""
    listed = func.unnest(ids_named("users"), ids_named("pins"))
    pair = listed.table_valued("user_id", "pin_id").render_derived(name="pair")
    query = select(*HAVE_COLUMNS).where(
        tuple_(Have.user_id, Have.pin_id).in_(select(pair.c.user_id, pair.c.pin_id))
    )
    return (query.where(OFFERED) if offered else query).order_by(Have.id)


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
        .where(held.pin_id == any_(ids_named("wanted")))
        .join(holders, holders.c.id == held.user_id)
    )
    return (
        select(*HAVE_COLUMNS)
        .where(tuple_(Have.user_id, Have.pin_id).in_(exist), OFFERED)
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

    def __init__(self, session: Session, me: int, probes: int = DEFAULT_PROBES) -> None:
        # Reads go through the Core connection: these are plain column queries,
        # and the ORM's per-statement layer cost more than many of them.
        session.flush()
        self.conn = conn = session.connection()
        self.me = me
        self._probes = probes
        self._pg = session.get_bind().dialect.name == "postgresql"
        self._groups: dict[int, str | None] = {}
        self._group_pins: dict[str, list[int]] = {}
        self._my_wants: list[RowWant] = []
        # My maximum prices (want id → (price, currency)), for priced copies.
        self.price_limits: dict[int, tuple[Any, Any]] = {}
        for *want_row, pin_group, max_price, currency in conn.execute(_my_wants(), {"me": me}):
            want = want_of(want_row)
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

    # -- elsewhere than PostgreSQL: IN lists of CHUNK ---------------------------

    @staticmethod
    def _in(column: Any, values: Sequence[Any]) -> Iterator[Any]:
        for batch in chunks(values):
            yield column.in_(batch)

    @staticmethod
    def _pairs(pairs: Sequence[tuple[int, int]]) -> Iterator[Any]:
        for batch in chunks(pairs):
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
            want = want_of(wanted_row)
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
            have = have_of(have_row)
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
                select(*HAVE_COLUMNS).where(c).order_by(Have.id) for c in self._pairs(pairs)
            )
        for copy in copies:
            have = have_of(copy)
            self._haves.setdefault(int(have.collector), []).append(have)

        # The holders' copies (tradeable or for sale) of the pins I want. The
        # holders are often big collections (the planner expects an average one):
        # reading each one's copies to test the pin cost 40-85 ms at 100k
        # collectors. So on PostgreSQL up to `probes` (holder, pin) combinations
        # are probed one by one in the (collector, pin) index; beyond that, which
        # pairs exist is found from an index alone (the holders of those pins, or
        # each holder's pins, whichever the planner finds fewer), then those rows.
        wanted = sorted(self.wanted_pins())
        holders = self._holder_ids
        if not (wanted and holders):
            copies = ()
        elif not pg:
            copies = self._each(
                select(*HAVE_COLUMNS).where(p, h, OFFERED).order_by(Have.id)
                for p in self._in(Have.pin_id, wanted)
                for h in self._in(Have.user_id, holders)
            )
        elif len(wanted) * len(holders) <= self._probes:
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
            have = have_of(copy)
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
