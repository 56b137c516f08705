"""The caps on how many matches a collector keeps (`MatchLimits.swap_limit` swaps,
`offer_limit` offers), as a refresh meets them.

* `partner_room` says, before anything is written, which swaps a partner's cap
  would turn away at once, so a refresh neither stores them nor counts them
  among the collector's best (a popular pin's holders mostly have their best
  swaps already: one Want for such a pin stored 115 rows only to turn them
  inactive again at once);
* `apply_caps` keeps the best active swaps of a collector and of each partner,
  and the best offers of the collector, after a store; the rest turns inactive
  (a swap on both sides).

A collector's swaps rank by score (best first), then counterpart, then row id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from marketplace.matches.market import chunks
from marketplace.matches.models import Match
from marketplace.matches.store import Outcome, at_addresses, deactivate


@dataclass(frozen=True, slots=True)
class Room:
    """The last swap a partner's cap keeps besides the one with me (`score`,
    `counterpart`): a swap with me stays only if it ranks before it."""

    score: float
    counterpart: int

    def admits(self, score: float, me: int) -> bool:
        return score > self.score or (score == self.score and me < self.counterpart)


def _ranked(*where: Any) -> Any:
    """Active rows of these kinds with their rank in their collector's list."""
    rank = (
        func.row_number()
        .over(
            partition_by=(Match.user_id, Match.kind),
            order_by=(Match.score.desc(), Match.counterpart_id, Match.id),
        )
        .label("rank")
    )
    return (
        select(Match.id, Match.user_id, Match.kind, Match.counterpart_id, Match.score, rank)
        .where(Match.active.is_(True), *where)
        .subquery()
    )


def _last_kept() -> Any:
    ranked = _ranked(
        Match.user_id.in_(bindparam("partners", expanding=True)),
        Match.kind == "swap",
        Match.counterpart_id != bindparam("me"),
    )
    return select(ranked.c.user_id, ranked.c.score, ranked.c.counterpart_id).where(
        ranked.c.rank == bindparam("swap_limit")
    )


_LAST_KEPT = _last_kept()


def partner_room(
    session: Session, me: int, partners: Sequence[int], swap_limit: int
) -> dict[int, Room]:
    """For each of `partners` whose cap is full without me (`swap_limit` active
    swaps with others), the `Room` a swap with me must rank inside; partners
    missing here have room for it whatever its score."""
    conn = session.connection()
    room: dict[int, Room] = {}
    for batch in chunks(sorted(set(partners))):
        params = {"partners": batch, "me": me, "swap_limit": swap_limit}
        for user_id, score, counterpart in conn.execute(_LAST_KEPT, params):
            room[int(user_id)] = Room(float(score), int(counterpart))
    return room


def _over_the_caps() -> Any:
    """The active swaps of :users, and the offers of :me, ranked past the caps
    (:swap_limit, :offer_limit)."""
    ranked = _ranked(
        Match.user_id.in_(bindparam("users", expanding=True)),
        Match.kind.in_(("swap", "offer")),
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


_OVER_THE_CAPS = _over_the_caps()


def apply_caps(
    session: Session,
    user_id: int,
    partners: Sequence[int],
    now: datetime,
    outcome: Outcome,
    *,
    swap_limit: int,
    offer_limit: int,
) -> None:
    """Keep the best `swap_limit` active swaps of `user_id` and of each partner,
    and the best `offer_limit` offers of `user_id`; the rest turns inactive (a swap
    on both sides) and is added to `outcome.deactivated`."""
    users = [user_id, *partners]
    conn = session.connection()
    params = {"me": user_id, "swap_limit": swap_limit, "offer_limit": offer_limit}
    over = [
        (int(i), int(u), str(k), c)
        for batch in chunks(users)
        for i, u, k, c in conn.execute(_OVER_THE_CAPS, {"users": batch, **params})
    ]
    if not over:
        return
    gone = {i for i, *_ in over}
    mirrors = {(c, "swap", f"swap:{u}") for _, u, k, c in over if k == "swap" and c is not None}
    gone.update(i for (i,) in at_addresses(session, mirrors, Match.id, active_only=True))
    deactivate(session, sorted(gone), now)
    outcome.deactivated.extend(sorted(gone - set(outcome.deactivated)))
