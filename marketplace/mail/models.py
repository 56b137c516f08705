"""Mail as stored data: `MailMessage` is the durable record of every email (what
the dev mail page shows and what delivery retries work from); `MailSettings` is
the state of a collector's address (digest hour, refusals in a row, suspension).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.models import Base, utcnow


class MailMessage(Base):
    __tablename__ = "mail_messages"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed')", name="status"),
        Index("ix_mail_messages_status_id", "status", "id"),
        Index("ix_mail_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the next attempt is due (queued: now; after a 4xx: now + backoff). A
    # queued message long past it lost its task, and the sweep queues it again.
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class MailSettings(Base):
    """When digests go out (local hour, weekday for weekly ones) and whether the
    address is deliverable; created on first use with the defaults below."""

    __tablename__ = "mail_settings"
    __table_args__ = (
        CheckConstraint("digest_hour >= 0 AND digest_hour <= 23", name="digest_hour"),
        CheckConstraint("weekly_day >= 0 AND weekly_day <= 6", name="weekly_day"),
    )

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    digest_hour: Mapped[int] = mapped_column(default=8)
    weekly_day: Mapped[int] = mapped_column(default=0)  # Monday
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    last_failure: Mapped[str | None] = mapped_column(String(500))
    last_failure_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
