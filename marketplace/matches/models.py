"""What matching found: each collector's matches (two-way swaps, one-way offers,
places in multi-party cycles), the cycle proposals of the global solve with their
legs, and a record of every global solve run.

A `Match` is addressed by (user, kind, key) and is never deleted by matching: when
it stops holding it turns inactive, and when it holds again it turns active with its
`first_seen_at` kept, so notifications can tell a new match from a returning one.
Its pins are `MatchItem` rows, one per pin each way, naming the Have, the Want and
the pin; titles, photos, conditions and names are joined when a match is read, so
they never go stale.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import Base, utcnow

MATCH_KINDS = ("swap", "offer", "cycle")


class Match(Base):
    """One match as `user_id` sees it: who with, its score and the terms the score
    is made of (`coverage`, `balance`, `condition`: why it ranks where it does),
    and its pins as `items`."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "key"),
        CheckConstraint("kind IN ('swap', 'offer', 'cycle')", name="kind"),
        # The matches page: a collector's active matches of a kind, best first.
        Index("ix_matches_user_id_active_kind_score", "user_id", "active", "kind", "score"),
        # A refresh finds the other side of every swap through its counterpart.
        Index("ix_matches_counterpart_id_kind", "counterpart_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(60))
    counterpart_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("trade_proposals.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(Float, default=0.0)
    # Score terms: the weighted wants filled (swaps, offers), min/max of the counts
    # each way (swaps), the grade of what the collector receives, 0 poor … 1 mint.
    coverage: Mapped[int | None]
    balance: Mapped[float | None] = mapped_column(Float)
    condition: Mapped[float] = mapped_column(Float, default=0.0)
    # The counterpart's reputation, 0 (new or poorly rated) … 1 (many trades, all
    # positive); NULL for matches stored before it was a term, and for rings.
    reputation: Mapped[float | None] = mapped_column(Float)
    active: Mapped[bool] = mapped_column(default=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A fingerprint of the `items` as last stored (NULL: unknown), so a refresh
    # tells unchanged pins without reading them.
    items_digest: Mapped[str | None] = mapped_column(String(16))

    counterpart = relationship("User", foreign_keys=[counterpart_id])
    proposal: Mapped[TradeProposal | None] = relationship()
    items: Mapped[list[MatchItem]] = relationship(
        back_populates="match",
        cascade="all, delete-orphan",
        order_by="MatchItem.position",
        passive_deletes=True,
    )


class MatchItem(Base):
    """One pin of a match, seen from the match's collector: `receive` (the pin of
    Have `have_id` fills their Want `want_id`) or `give` (their Have fills the
    counterpart's Want). An offer only receives; a place in a cycle receives one
    pin and gives one. A deleted Have or Want takes its items with it (and a
    deleted pin its Haves and Wants, so `pin_id` needs no key of its own).

    Addressed by (match, direction, Have, Want), shown in `position` order: no
    surrogate id (one index fewer to keep up on every rewrite), and a pin that
    only moves in the order is updated in place, not deleted and inserted again."""

    __tablename__ = "match_items"
    __table_args__ = (CheckConstraint("direction IN ('receive', 'give')", name="direction"),)

    match_id: Mapped[int] = mapped_column(
        ForeignKey("matches.id", ondelete="CASCADE"), primary_key=True
    )
    direction: Mapped[str] = mapped_column(String(7), primary_key=True)
    have_id: Mapped[int] = mapped_column(
        ForeignKey("haves.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    want_id: Mapped[int] = mapped_column(
        ForeignKey("wants.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]
    pin_id: Mapped[int]

    match: Mapped[Match] = relationship(back_populates="items")


class SolveRun(Base):
    """One global solve: when, with which cycle cap, and what it achieved. The
    components are solved by separate tasks; the last one to finish closes the run."""

    __tablename__ = "solve_runs"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'finished', 'failed')", name="status"),
        CheckConstraint("cycle_cap >= 2", name="cycle_cap"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="running")
    cycle_cap: Mapped[int]
    time_limit_s: Mapped[float] = mapped_column(Float)
    collectors: Mapped[int] = mapped_column(default=0)
    components: Mapped[int] = mapped_column(default=0)
    components_done: Mapped[int] = mapped_column(default=0)
    items_traded: Mapped[int] = mapped_column(default=0)
    collectors_trading: Mapped[int] = mapped_column(default=0)
    proposals: Mapped[int] = mapped_column(default=0)
    optimal: Mapped[bool] = mapped_column(default=True)
    max_gap: Mapped[float] = mapped_column(Float, default=0.0)
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    seconds: Mapped[float | None] = mapped_column(Float)


class TradeProposal(Base):
    """A multi-party trade cycle the global solve proposes: its members in order
    and one leg per pin. `signature` identifies the same cycle across runs, so a
    cycle found again keeps its proposal (and its members' matches stay "seen").

    Status is 'proposed' when created and 'superseded' once a later run no
    longer finds it; the trades feature adds its own states, so no CHECK here.
    """

    __tablename__ = "trade_proposals"
    __table_args__ = (Index("ix_trade_proposals_signature_status", "signature", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    solve_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("solve_runs.id", ondelete="SET NULL"), index=True
    )
    signature: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    members: Mapped[list[int]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    legs: Mapped[list[TradeLeg]] = relationship(
        back_populates="proposal",
        cascade="all, delete-orphan",
        order_by="TradeLeg.position",
        passive_deletes=True,
    )


class TradeLeg(Base):
    """One pin in a cycle: `giver` sends the pin of Have `have_id` to `receiver`."""

    __tablename__ = "trade_legs"
    __table_args__ = (
        UniqueConstraint("proposal_id", "position"),
        CheckConstraint("giver_id <> receiver_id", name="distinct_parties"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("trade_proposals.id", ondelete="CASCADE"))
    position: Mapped[int]
    giver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    receiver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    have_id: Mapped[int | None] = mapped_column(
        ForeignKey("haves.id", ondelete="SET NULL"), index=True
    )
    want_id: Mapped[int | None] = mapped_column(ForeignKey("wants.id", ondelete="SET NULL"))
    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"))

    proposal: Mapped[TradeProposal] = relationship(back_populates="legs")
    pin = relationship("Pin")
    giver = relationship("User", foreign_keys=[giver_id])
    receiver = relationship("User", foreign_keys=[receiver_id])
