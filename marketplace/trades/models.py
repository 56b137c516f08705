"""Trades between collectors: a swap two collectors negotiate (proposals and
counters, each a numbered version) or a ring the global solve found (every member
must accept), then the parcels each party sends and receives.

A trade names copies (Haves), not just pins. Accepting reserves them through the
shared ledger on `haves.reserved` (`marketplace.lists.reservations`);
`TradeItem.reserved` says whether this item holds its units, so a release can
happen once. Addresses are copied into the trade when a party accepts, so editing
an address book later never redirects a promised parcel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import Base, utcnow
from marketplace.lists.models import Condition, ConditionType

TRADE_KINDS = ("swap", "ring")
TRADE_STATUSES = (
    "proposed",  # waiting for answers
    "accepted",  # everyone agreed; copies reserved; parcels under way
    "completed",  # every parcel received; lists updated
    "declined",  # a party said no (a ring dissolves)
    "cancelled",  # withdrawn before shipping
    "expired",  # the deadline passed without every answer
    "disputed",  # frozen after shipping until a moderator looks
)
LIVE_STATUSES = ("proposed", "accepted", "disputed")
EVENT_ACTIONS = (
    "proposed", "countered", "accepted", "declined", "cancelled", "expired",
    "shipped", "received", "disputed", "completed", "refused", "reminded",
)  # fmt: skip


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Trade(Base):
    """One trade. `version` is the current terms (a counter adds one); a ring
    comes from the solve's `ring_proposal_id` and is never countered."""

    __tablename__ = "trades"
    __table_args__ = (
        CheckConstraint(f"kind IN {_in(TRADE_KINDS)}", name="kind"),
        CheckConstraint(f"status IN {_in(TRADE_STATUSES)}", name="status"),
        CheckConstraint("version >= 1", name="version"),
        Index("ix_trades_status_expires_at", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(5))
    status: Mapped[str] = mapped_column(String(10), default="proposed")
    proposer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # One ring trade per cycle the solve proposed (unique: two members opening it
    # at once make one trade, not two).
    ring_proposal_id: Mapped[int | None] = mapped_column(
        ForeignKey("trade_proposals.id", ondelete="SET NULL"), unique=True
    )
    version: Mapped[int] = mapped_column(default=1)
    close_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]

    parties: Mapped[list[TradeParty]] = relationship(
        back_populates="trade", cascade="all, delete-orphan", order_by="TradeParty.position"
    )
    versions: Mapped[list[TradeVersion]] = relationship(
        back_populates="trade", cascade="all, delete-orphan", order_by="TradeVersion.number"
    )
    items: Mapped[list[TradeItem]] = relationship(
        back_populates="trade",
        cascade="all, delete-orphan",
        order_by="(TradeItem.version, TradeItem.id)",
    )
    parcels: Mapped[list[TradeParcel]] = relationship(
        back_populates="trade", cascade="all, delete-orphan", order_by="TradeParcel.id"
    )
    events: Mapped[list[TradeEvent]] = relationship(
        back_populates="trade", cascade="all, delete-orphan", order_by="TradeEvent.id"
    )

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    def current_items(self) -> list[TradeItem]:
        return [i for i in self.items if i.version == self.version]

    def party(self, user_id: int) -> TradeParty | None:
        return next((p for p in self.parties if p.user_id == user_id), None)


class TradeParty(Base):
    """A collector in a trade: whether they accepted the current version, and
    where they want their parcels sent (copied when they accepted)."""

    __tablename__ = "trade_parties"
    __table_args__ = (Index("ix_trade_parties_user_id_trade_id", "user_id", "trade_id"),)

    trade_id: Mapped[int] = mapped_column(
        ForeignKey("trades.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)
    accepted_version: Mapped[int | None]
    accepted_at: Mapped[datetime | None]
    ship_to: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The trust ladder: a new member trading with an established one posts first.
    ships_first: Mapped[bool] = mapped_column(default=False, server_default=false())

    trade: Mapped[Trade] = relationship(back_populates="parties")
    user = relationship("User")


class TradeVersion(Base):
    """One set of terms: the proposal (1) or a counter (2, 3, …), by whom and
    with what note. Every version stays, so both sides see the history."""

    __tablename__ = "trade_versions"

    trade_id: Mapped[int] = mapped_column(
        ForeignKey("trades.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    trade: Mapped[Trade] = relationship(back_populates="versions")
    author = relationship("User")


class TradeItem(Base):
    """`quantity` copies of Have `have_id` that `giver_id` sends `receiver_id` in
    one version of the terms; the pin, condition and defects are copied so the
    history reads right after the Have changes or goes."""

    __tablename__ = "trade_items"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="quantity"),
        CheckConstraint("giver_id <> receiver_id", name="distinct_parties"),
        CheckConstraint("NOT reserved OR have_id IS NOT NULL", name="reserved"),
        ForeignKeyConstraint(
            ["trade_id", "version"],
            ["trade_versions.trade_id", "trade_versions.number"],
            ondelete="CASCADE",
        ),
        Index("ix_trade_items_trade_id_version", "trade_id", "version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"))
    version: Mapped[int]
    giver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    receiver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    have_id: Mapped[int | None] = mapped_column(
        ForeignKey("haves.id", ondelete="SET NULL"), index=True
    )
    want_id: Mapped[int | None] = mapped_column(ForeignKey("wants.id", ondelete="SET NULL"))
    pin_id: Mapped[int] = mapped_column(ForeignKey("pins.id", ondelete="CASCADE"))
    condition: Mapped[Condition] = mapped_column(ConditionType())
    defects: Mapped[int] = mapped_column(default=0)
    quantity: Mapped[int] = mapped_column(default=1)
    reserved: Mapped[bool] = mapped_column(default=False)

    trade: Mapped[Trade] = relationship(back_populates="items")
    pin = relationship("Pin")
    giver = relationship("User", foreign_keys=[giver_id])
    receiver = relationship("User", foreign_keys=[receiver_id])


class TradeParcel(Base):
    """What one party posts to another once the trade is accepted: shipped (with
    an optional tracking number) by the giver, received by the receiver."""

    __tablename__ = "trade_parcels"
    __table_args__ = (UniqueConstraint("trade_id", "giver_id", "receiver_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"))
    giver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    receiver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    tracking: Mapped[str | None] = mapped_column(String(100))
    shipped_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]

    trade: Mapped[Trade] = relationship(back_populates="parcels")
    giver = relationship("User", foreign_keys=[giver_id])
    receiver = relationship("User", foreign_keys=[receiver_id])


class TradeEvent(Base):
    """The trade's history as both sides see it: who did what, to which version."""

    __tablename__ = "trade_events"
    __table_args__ = (CheckConstraint(f"action IN {_in(EVENT_ACTIONS)}", name="action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(10))
    version: Mapped[int]
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    trade: Mapped[Trade] = relationship(back_populates="events")
    user = relationship("User")
