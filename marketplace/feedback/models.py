"""Feedback: one rating per (trade or order, rater, rated), with a comment the
rater may edit for a while and one reply from the rated collector.

The unique constraints make "once per counterpart" hold however many requests
race; `marketplace.accounts.models.Reputation` keeps the counts per kind that
profiles and ranking read.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import Base, utcnow

RATINGS = ("positive", "neutral", "negative")


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating IN ('positive', 'neutral', 'negative')", name="rating"),
        CheckConstraint("(trade_id IS NULL) <> (order_id IS NULL)", name="one_subject"),
        CheckConstraint("rater_id <> rated_id", name="not_self"),
        UniqueConstraint("trade_id", "rater_id", "rated_id"),
        UniqueConstraint("order_id", "rater_id", "rated_id"),
        # A profile: the feedback a collector received, newest first.
        Index("ix_feedback_rated_id_created_at", "rated_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int | None] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    rater_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rated_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]
    # A moderator hid it after a report: it no longer shows nor counts.
    hidden_at: Mapped[datetime | None]

    rater = relationship("User", foreign_keys=[rater_id])
    rated = relationship("User", foreign_keys=[rated_id])
