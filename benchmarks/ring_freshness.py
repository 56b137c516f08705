"""Rings within a minute, at population scale (used by synthetic_population.py):
a collector adds the Want that closes a ring of three — they give A a pin A
wants, A gives B a pin B wants, B has a pin they now want — and we time how soon
the ring is stored for them (shown on their matches page) and their mail about
it is built, through the real worker from the commit of the Want (the refresh,
then the ring search, each queued after the other's commit), and the ring
search alone in process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Closing:
    """A Want that closes the ring `collector` → `taker` → `holder` → `collector`."""

    collector: int
    taker: int
    holder: int
    pin_id: int


def closing_want(session: Session, draws: Any) -> Closing:
    """A collector drawn uniformly (with a free copy somebody wants) and the Want
    that closes a ring through them."""
    from marketplace.lists.models import Have, Want

    free = (Have.tradeable.is_(True), Have.quantity > Have.reserved)
    while True:
        me = draws.collector()
        mine = select(Have.pin_id).where(Have.user_id == me)
        wanted = select(Want.pin_id).where(Want.user_id == me, Want.pin_id.is_not(None))
        taker = session.scalar(
            select(Want.user_id)
            .join(Have, Have.pin_id == Want.pin_id)
            .where(Have.user_id == me, *free, Want.user_id != me)
            .limit(1)
        )
        if taker is None:
            continue
        holder = session.scalar(
            select(Want.user_id)
            .join(Have, Have.pin_id == Want.pin_id)
            .where(Have.user_id == taker, *free, Want.user_id.not_in((me, taker)))
            .limit(1)
        )
        if holder is None:
            continue
        pin_id = session.scalar(
            select(Have.pin_id)
            .where(Have.user_id == holder, *free, Have.pin_id.not_in(mine))
            .where(Have.pin_id.not_in(wanted))
            .order_by(Have.id)
            .limit(1)
        )
        if pin_id is not None:
            return Closing(me, int(taker), int(holder), int(pin_id))


def add_closing_want(session: Session, closing: Closing) -> Any:
    """The Want, through the list service; the refresh event it wrote."""
    from marketplace.accounts.models import User
    from marketplace.core.outbox import OutboxMessage
    from marketplace.lists.operations import REFRESH_TASK, Lists

    user = session.get(User, closing.collector)
    assert user is not None
    Lists(session).add_want(user, pin_id=closing.pin_id, priority=5)
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.task == REFRESH_TASK)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).one()


def found_it(session: Session, closing: Closing) -> bool:
    """Whether the collector now has an active ring in which they receive the pin
    of the closing Want (from this holder or another: any ring it closed)."""
    from marketplace.matches.models import Match, TradeLeg

    leg = session.scalar(
        select(TradeLeg.id)
        .join(Match, Match.proposal_id == TradeLeg.proposal_id)
        .where(
            Match.user_id == closing.collector,
            Match.kind == "cycle",
            Match.active.is_(True),
            TradeLeg.receiver_id == closing.collector,
            TradeLeg.pin_id == closing.pin_id,
        )
        .limit(1)
    )
    return leg is not None


def in_process(session: Session, draws: Any, samples: int, cap: int) -> dict[str, Any]:
    """Milliseconds of the ring search after each closing Want (its refresh run
    first, untimed, as the worker runs it), and how often the closed ring was
    among the rings stored."""
    from marketplace.core import outbox
    from marketplace.matches.fresh_rings import find_rings_through
    from marketplace.matches.refresh import refresh_after_change

    seconds: list[float] = []
    found = 0
    for _ in range(samples):
        closing = closing_want(session, draws)
        event = add_closing_want(session, closing)
        session.commit()
        outbox.claim(session, event.id)
        changes = {k: v for k, v in event.payload.items() if k != "user_id"}
        refresh_after_change(session, closing.collector, **changes)
        session.commit()
        began = time.perf_counter()
        find_rings_through(
            session, closing.collector, cap=cap, ring_days=7, want_pins=[closing.pin_id]
        )
        session.commit()
        seconds.append(time.perf_counter() - began)
        found += found_it(session, closing)
    return {"ring_search": seconds, "ring_found": found}


def through_worker(app: Any, session: Session, draws: Any, samples: int) -> dict[str, Any]:
    """Seconds from the commit of each closing Want to the ring search committed
    by the worker (the ring shown) and to the collector's notification task
    done (the mail built and queued)."""
    from marketplace.core.celery_app import after_commit
    from marketplace.core.outbox import OutboxMessage
    from marketplace.matches.store import NOTIFY_TASK
    from marketplace.matches.tasks import RINGS_TASK

    shown: list[float] = []
    mailed: list[float] = []
    found = 0
    for _ in range(samples):
        closing = closing_want(session, draws)
        event = add_closing_want(session, closing)
        session.commit()
        began = time.perf_counter()
        after_commit(app)
        search = _next_row(session, RINGS_TASK, closing.collector, event.id)
        _consumed(session, search)
        shown.append(time.perf_counter() - began)
        found += found_it(session, closing)
        note = session.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.id > search,
                OutboxMessage.task == NOTIFY_TASK,
                OutboxMessage.payload["user_id"].as_integer() == closing.collector,
            )
        )
        session.commit()
        if note is not None:
            _consumed(session, note)
            mailed.append(time.perf_counter() - began)
    return {"ring_shown": shown, "ring_mailed": mailed, "ring_found": found}


def _next_row(session: Session, task: str, user_id: int, after: int) -> int:
    from marketplace.core.outbox import OutboxMessage

    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline:
        found = session.scalar(
            select(func.min(OutboxMessage.id)).where(
                OutboxMessage.id > after,
                OutboxMessage.task == task,
                OutboxMessage.payload["user_id"].as_integer() == user_id,
            )
        )
        session.commit()
        if found is not None:
            return int(found)
        time.sleep(0.005)
    raise TimeoutError(f"no {task} for collector {user_id} in 300 s")


def _consumed(session: Session, outbox_id: int) -> None:
    from marketplace.core.outbox import OutboxMessage

    deadline = time.perf_counter() + 300
    while time.perf_counter() < deadline:
        done = session.scalar(
            select(OutboxMessage.consumed_at).where(OutboxMessage.id == outbox_id)
        )
        session.commit()
        if done is not None:
            return
        time.sleep(0.005)
    raise TimeoutError(f"outbox row {outbox_id} not consumed in 300 s")
