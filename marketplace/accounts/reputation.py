"""Reputation: what a collector has shown others, as counts the features that
know keep current — trades completed, orders delivered, feedback by kind — and
the standing read from them: new or established (the trust ladder) and one
number from 0 to 1 that ranking uses.

Counts change by atomic `UPDATE … SET n = n + 1` after an upsert of the row, so
two trades completing at once both count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from marketplace.accounts.models import Reputation

COUNTS = ("completed_trades", "delivered_orders", "positive", "neutral", "negative")


@dataclass(frozen=True, slots=True)
class Standing:
    user_id: int
    completed_trades: int = 0
    delivered_orders: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0

    @property
    def rated(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def positive_share(self) -> float | None:
        """The share of positive ratings among all received, None before any."""
        return self.positive / self.rated if self.rated else None

    def is_established(self, after_trades: int) -> bool:
        return self.completed_trades >= after_trades

    @property
    def score(self) -> float:
        """0 … 1: experience (completed trades and delivered orders, saturating)
        times the share of positive feedback, smoothed so that one rating does not
        decide everything. A member with nothing done scores 0."""
        done = self.completed_trades + self.delivered_orders
        experience = done / (done + 5)
        positive = (self.positive + 0.5 * self.neutral + 1) / (self.rated + 1)
        return round(experience * positive, 6)


def standings(session: Session, user_ids: Iterable[int]) -> dict[int, Standing]:
    """Each collector's standing; those without a row are new (all zero)."""
    ids = sorted(set(user_ids))
    found: dict[int, Standing] = {i: Standing(i) for i in ids}
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(Reputation).where(Reputation.user_id.in_(ids[start : start + 500]))
        )
        for r in rows:
            found[r.user_id] = Standing(
                r.user_id, r.completed_trades, r.delivered_orders, r.positive, r.neutral,
                r.negative,
            )  # fmt: skip
    return found


def standing(session: Session, user_id: int) -> Standing:
    return standings(session, [user_id])[user_id]


def add(session: Session, user_ids: Iterable[int], count: str, by: int = 1) -> None:
    """Add `by` (which may be negative: feedback changed or hidden) to one count
    of each collector."""
    if count not in COUNTS:
        raise ValueError(f"no reputation count {count!r}")
    ids = sorted(set(user_ids))
    if not ids or by == 0:
        return
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Reputation)
        .values([{"user_id": i} for i in ids])
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    column = getattr(Reputation, count)
    session.execute(
        update(Reputation)
        .where(Reputation.user_id.in_(ids))
        .values({count: column + by})
        .execution_options(synchronize_session=False)
    )
