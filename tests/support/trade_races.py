"""Races over trades, for the concurrency tests and the benchmark: rings
contending for a few copies, an action run the way a request runs it (its own
session, committed or rolled back), an audit of the reservation ledger against who
holds what, and a connection pool as wide as a race."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from math import comb
from typing import TypeVar

import orjson
from flask import Flask
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.core.models import json_dumps, utcnow
from marketplace.lists.models import Have
from marketplace.matches.models import TradeLeg, TradeProposal
from marketplace.orders.models import Order
from marketplace.trades.models import LIVE_STATUSES, Trade, TradeItem
from tests.support.trades import copy_of, trader, trades

T = TypeVar("T")


# -- contention: many rings over few copies, and the ledger audited -------------------


def ring_proposal(legs: Sequence[tuple[User, User, Have]], signature: str) -> TradeProposal:
    """A cycle as the nightly solve proposes it: each leg one copy of `have` from
    its giver to its receiver, members in leg order (no Wants needed)."""
    proposal = TradeProposal(
        signature=signature,
        members=[giver.id for giver, _receiver, _have in legs],
        expires_at=utcnow() + timedelta(days=7),
    )
    for n, (giver, receiver, have) in enumerate(legs):
        proposal.legs.append(
            TradeLeg(position=n, giver_id=giver.id, receiver_id=receiver.id,
                     have_id=have.id, pin_id=have.pin_id)
        )  # fmt: skip
    db.session.add(proposal)
    db.session.flush()
    return proposal


def ring_triples(copies: int, rings: int, seed: int = 1) -> list[tuple[int, int, int]]:
    """`rings` different rings over `copies` copies, as indexes: three copies each,
    in a random order (so the ledger, not the caller, must sort them); the first
    rings take the copies no ring uses yet, so every copy is contested."""
    if copies < 3 or rings > comb(copies, 3):
        raise ValueError(f"{copies} copies make at most {comb(copies, 3)} rings of three")
    rng = random.Random(seed)
    unused = list(range(copies))
    rng.shuffle(unused)
    chosen: list[tuple[int, int, int]] = []
    seen: set[frozenset[int]] = set()
    while len(chosen) < rings:
        first = unused[:3]
        rest = [c for c in range(copies) if c not in first]
        triple = [*first, *rng.sample(rest, 3 - len(first))]
        rng.shuffle(triple)
        if frozenset(triple) in seen:
            continue
        seen.add(frozenset(triple))
        chosen.append((triple[0], triple[1], triple[2]))
        unused = [c for c in unused if c not in triple]
    return chosen


@dataclass(frozen=True)
class ContestedRing:
    """A ring trade waiting only for `last_member_id`, whose acceptance must hold
    `have_ids`, copies other rings want too."""

    trade_id: int
    last_member_id: int
    have_ids: tuple[int, ...]


def contested_rings(copies: int, rings: int, seed: int = 1) -> list[ContestedRing]:
    """`copies` single copies, each its own collector's, and `rings` three-member
    rings over them (see `ring_triples`), each opened and accepted by two of its
    three members. Flushes; the caller commits."""
    owners = [trader(f"Owner{n}", f"owner{n}-{seed}@example.org") for n in range(copies)]
    haves = [copy_of(owner) for owner in owners]
    service = trades()
    contested = []
    for ring in ring_triples(copies, rings, seed):
        members = [owners[n] for n in ring]
        legs = [(members[k], members[(k + 1) % 3], haves[ring[k]]) for k in range(3)]
        proposal = ring_proposal(legs, "contest-" + "-".join(str(n) for n in ring))
        trade = service.open_ring(members[0], proposal.id)
        service.accept(members[0], trade.id)
        service.accept(members[1], trade.id)
        contested.append(ContestedRing(trade.id, members[2].id, tuple(haves[n].id for n in ring)))
    return contested


@dataclass(frozen=True)
class Attempt:
    """One action run as a request runs it: `outcome` is what was done
    ("accepted", "cancelled", "received"…), the error's class name (a Conflict is
    the expected refusal), or "deadlock"."""

    trade_id: int
    outcome: str
    seconds: float
    detail: str = ""


DONE = {"accept": "accepted", "cancel": "cancelled", "receive": "received", "ship": "shipped"}


def act_as_a_request(app: Flask, verb: str, user_id: int, trade_id: int) -> Attempt:
    """`Trades.<verb>` in an app context of its own (its own session and
    connection), committed on success and rolled back on any error, like the
    request boundary."""
    began = time.perf_counter()
    with app.app_context():
        try:
            user = db.session.get(User, user_id)
            assert user is not None
            getattr(trades(), verb)(user, trade_id)
            db.session.commit()
            outcome, detail = DONE.get(verb, verb), ""
        except Exception as exc:  # counted by kind: the caller asserts which are allowed
            db.session.rollback()
            deadlock = "deadlock" in str(exc).lower()
            outcome, detail = ("deadlock" if deadlock else type(exc).__name__), str(exc)[:300]
        finally:
            db.session.remove()
    return Attempt(trade_id, outcome, time.perf_counter() - began, detail)


def accept_as_a_request(app: Flask, user_id: int, trade_id: int) -> Attempt:
    return act_as_a_request(app, "accept", user_id, trade_id)


@dataclass(frozen=True)
class LedgerAudit:
    """What the reservation ledger says against who holds what.

    * `unaccounted`: Haves whose `reserved` is not what live trades' held items
      plus open checkouts add up to (a unit held twice, or held by nobody);
    * `over_promised`: Haves promised beyond their quantity (or below zero);
    * `partial_trades`: agreed trades missing a held copy of their terms, and
      trades holding copies they should not (proposed, closed, an old version);
    * `stray_orders`: orders holding a copy without being open checkouts.
    """

    haves: int
    reserved_units: int
    unaccounted: list[int] = field(default_factory=list)
    over_promised: list[int] = field(default_factory=list)
    partial_trades: list[int] = field(default_factory=list)
    stray_orders: list[int] = field(default_factory=list)

    @property
    def double_reserved(self) -> list[int]:
        """Haves held more times than the ledger says, or beyond their copies."""
        return sorted(set(self.unaccounted) | set(self.over_promised))

    @property
    def clean(self) -> bool:
        return not (
            self.unaccounted or self.over_promised or self.partial_trades or self.stray_orders
        )


def audit_ledger(session: Session) -> LedgerAudit:
    """Read every Have, trade item and order afresh and check them against each
    other (see `LedgerAudit`)."""
    held: dict[int, int] = defaultdict(int)
    partial: set[int] = set()
    items = session.execute(
        select(TradeItem.trade_id, TradeItem.version, TradeItem.have_id, TradeItem.quantity,
               TradeItem.reserved, Trade.status, Trade.version)
        .join(Trade, Trade.id == TradeItem.trade_id)
    ).all()  # fmt: skip
    for trade_id, version, have_id, quantity, reserved, status, current in items:
        agreed = status in ("accepted", "disputed") and version == current
        if reserved and have_id is not None and status in LIVE_STATUSES:
            held[have_id] += quantity
        if reserved != agreed:
            partial.add(trade_id)
    stray = []
    for order_id, have_id, quantity, status in session.execute(
        select(Order.id, Order.have_id, Order.quantity, Order.status).where(
            Order.holds_reservation.is_(True)
        )
    ):
        if status != "pending" or have_id is None:
            stray.append(order_id)
        else:
            held[have_id] += quantity
    haves = session.execute(select(Have.id, Have.quantity, Have.reserved)).all()
    return LedgerAudit(
        haves=len(haves),
        reserved_units=sum(reserved for _id, _quantity, reserved in haves),
        unaccounted=sorted(i for i, _q, reserved in haves if reserved != held.get(i, 0)),
        over_promised=sorted(
            i
            for i, quantity, reserved in haves
            if reserved < 0 or reserved > quantity or held.get(i, 0) > quantity
        ),
        partial_trades=sorted(partial),
        stray_orders=sorted(stray),
    )


def wide_engine(app: Flask, connections: int) -> None:
    """Give the app's PostgreSQL engine a pool as wide as a race, opened up front,
    so racing threads queue on rows, not on the default pool's 5 + 10 connections
    (SQLite opens a connection per session already)."""
    engine = app.extensions["db_engine"]
    if engine.dialect.name != "postgresql":
        return
    wide = create_engine(
        engine.url,
        pool_size=connections,
        max_overflow=0,
        pool_pre_ping=True,
        json_serializer=json_dumps,
        json_deserializer=orjson.loads,
    )
    opened = [wide.connect() for _ in range(connections)]
    for connection in opened:
        connection.close()
    engine.dispose()
    app.extensions["db_engine"] = wide


def at_once(n: int, fn: Callable[[int], T]) -> list[T]:
    """Start `fn(0)` … `fn(n - 1)` at the same instant (a barrier), each on a
    thread of its own; their results in order."""
    barrier = threading.Barrier(n)

    def run(i: int) -> T:
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))
