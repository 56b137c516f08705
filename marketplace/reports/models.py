"""Reports: a member flags a message, a profile, a listing or a feedback comment;
a moderator resolves it once — dismissed, or the member warned, the item hidden,
or the member suspended — and the decision is kept with who made it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.models import Base, utcnow

TARGET_KINDS = ("message", "profile", "listing", "feedback")
REASONS = ("spam", "abuse", "fraud", "counterfeit", "other")
STATUSES = ("open", "dismissed", "warned", "hidden", "suspended")


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(f"target_kind IN {_in(TARGET_KINDS)}", name="target_kind"),
        CheckConstraint(f"reason IN {_in(REASONS)}", name="reason"),
        CheckConstraint(f"status IN {_in(STATUSES)}", name="status"),
        # The moderators' queue: open reports, oldest first.
        Index("ix_reports_status_created_at", "status", "created_at"),
        Index("ix_reports_target", "target_kind", "target_id"),
        # One open report of an item per member, even when two of their clicks
        # arrive at the same instant; an answered report may be followed by a new one.
        Index(
            "uq_reports_open_per_reporter",
            "reporter_id",
            "target_kind",
            "target_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
            sqlite_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    target_kind: Mapped[str] = mapped_column(String(8))
    # A message id, a user id (profile), a have id (listing) or a feedback id.
    target_id: Mapped[int]
    # The member responsible for the item: who is warned or suspended.
    target_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(12))
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(9), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution_note: Mapped[str] = mapped_column(Text, default="")

    reporter = relationship("User", foreign_keys=[reporter_id])
    target_user = relationship("User", foreign_keys=[target_user_id])
