"""Threads and messages.

A thread belongs to a trade, an order, or a pair of collectors (`pair_key`,
"low:high" user ids, so two collectors have one direct thread whoever starts
it); each is unique, so two first messages racing open one thread. A member's
`last_read_id` is the last message they have seen: unread counts are messages
after it by others. Text is stored exactly as written; pages escape it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import Base, utcnow

THREAD_KINDS = ("trade", "order", "direct")


class Thread(Base):
    __tablename__ = "message_threads"
    __table_args__ = (
        CheckConstraint("kind IN ('trade', 'order', 'direct')", name="kind"),
        CheckConstraint(
            "(kind = 'trade' AND trade_id IS NOT NULL AND order_id IS NULL AND pair_key IS NULL)"
            " OR (kind = 'order' AND order_id IS NOT NULL AND trade_id IS NULL"
            " AND pair_key IS NULL)"
            " OR (kind = 'direct' AND pair_key IS NOT NULL AND trade_id IS NULL"
            " AND order_id IS NULL)",
            name="subject",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(6))
    trade_id: Mapped[int | None] = mapped_column(
        ForeignKey("trades.id", ondelete="CASCADE"), unique=True
    )
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), unique=True
    )
    pair_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime | None]

    members: Mapped[list[ThreadMember]] = relationship(
        back_populates="thread", cascade="all, delete-orphan", passive_deletes=True
    )


class ThreadMember(Base):
    """A collector who may read and write a thread, and how far they have read."""

    __tablename__ = "message_thread_members"
    __table_args__ = (Index("ix_message_thread_members_user_id", "user_id", "thread_id"),)

    thread_id: Mapped[int] = mapped_column(
        ForeignKey("message_threads.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_read_id: Mapped[int] = mapped_column(default=0, server_default="0")
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    thread: Mapped[Thread] = relationship(back_populates="members")
    user = relationship("User")


class Message(Base):
    """One message. `hidden_at` is a moderator's decision: the text stays for the
    record, the thread shows that a message was hidden."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("length(body) > 0", name="body"),
        Index("ix_messages_thread_id_id", "thread_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("message_threads.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    hidden_at: Mapped[datetime | None]

    author = relationship("User")
