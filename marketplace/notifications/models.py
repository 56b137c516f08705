"""Notifications: what a collector is told (new matches now; trades, messages and
orders later), how they want to be told (per kind: instant, daily or weekly
digest, or off), the digests sent, and the state of their address.

`Notification` has one row per thing told, unique per (user, kind, dedupe key), so
the same match can never be announced twice by two workers racing; `Digest` is
unique per (user, period), so a digest run can be replayed safely.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.models import Base, utcnow

NOTIFICATION_KINDS = ("swap", "offer", "cycle", "trade", "message", "order")
MODES = ("instant", "daily", "weekly", "off")


class NotificationPreference(Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (
        UniqueConstraint("user_id", "kind"),
        CheckConstraint("mode IN ('instant', 'daily', 'weekly', 'off')", name="mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    mode: Mapped[str] = mapped_column(String(8))


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "dedupe_key"),
        CheckConstraint("status IN ('pending', 'sent', 'skipped')", name="status"),
        Index("ix_notifications_user_id_status_kind", "user_id", "status", "kind"),
        Index("ix_notifications_user_id_kind_subject", "user_id", "kind", "subject_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    # What it is about (e.g. the match key "swap:42"), and that plus which
    # appearance of it: the unique identity that makes "never twice" a constraint.
    subject_key: Mapped[str] = mapped_column(String(80))
    dedupe_key: Mapped[str] = mapped_column(String(120))
    priority: Mapped[int] = mapped_column(default=3)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    mail_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Digest(Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("user_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(24))  # "daily:2026-11-22", "weekly:2026-W47"
    mail_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_messages.id", ondelete="SET NULL")
    )
    items: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
