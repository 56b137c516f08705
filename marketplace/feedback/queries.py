"""Reading feedback: both sides' feedback on one trade or order, what one collector
received (newest first, paged) and its counts per kind, overall and over the last
twelve months. Hidden feedback (a moderator acted on a report) never shows nor
counts here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page
from marketplace.feedback.models import RATINGS, Feedback
from marketplace.feedback.operations import Subject

YEAR = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class Counts:
    positive: int = 0
    neutral: int = 0
    negative: int = 0

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def positive_percent(self) -> int | None:
        return round(100 * self.positive / self.total) if self.total else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "positive": self.positive,
            "neutral": self.neutral,
            "negative": self.negative,
            "total": self.total,
            "positive_percent": self.positive_percent,
        }


@dataclass(frozen=True, slots=True)
class Summary:
    overall: Counts
    last_year: Counts


def _visible() -> Any:
    return select(Feedback).where(Feedback.hidden_at.is_(None))


def summary(session: Session, user_id: int, now: datetime | None = None) -> Summary:
    """Counts per kind of the feedback `user_id` received: overall and since a
    year ago."""
    since = (now or utcnow()) - YEAR
    recent = func.sum(case((Feedback.created_at >= since, 1), else_=0))
    rows = session.execute(
        select(Feedback.rating, func.count(), recent)
        .where(Feedback.rated_id == user_id, Feedback.hidden_at.is_(None))
        .group_by(Feedback.rating)
    ).all()
    overall = {r: 0 for r in RATINGS}
    year = {r: 0 for r in RATINGS}
    for rating, count, last in rows:
        overall[rating] = int(count)
        year[rating] = int(last or 0)
    return Summary(Counts(**overall), Counts(**year))


def received(session: Session, user_id: int, page: int = 1, per_page: int = 20) -> Page[Feedback]:
    """The feedback `user_id` received, newest first."""
    where = (Feedback.rated_id == user_id, Feedback.hidden_at.is_(None))
    total = session.scalar(select(func.count()).select_from(Feedback).where(*where)) or 0
    items = session.scalars(
        select(Feedback)
        .where(*where)
        .options(selectinload(Feedback.rater))
        .order_by(Feedback.created_at.desc(), Feedback.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)


def on_subject(session: Session, subject: Subject) -> list[Feedback]:
    """Every party's visible feedback on this trade or order, oldest first."""
    column = Feedback.trade_id if subject.kind == "trade" else Feedback.order_id
    return list(
        session.scalars(
            _visible()
            .where(column == subject.id)
            .options(selectinload(Feedback.rater), selectinload(Feedback.rated))
            .order_by(Feedback.created_at, Feedback.id)
        )
    )


@dataclass
class SubjectView:
    """What the feedback page of a trade or order shows one party."""

    subject: Subject
    feedback: list[Feedback]
    names: dict[int, str]
    to_rate: list[int] = field(default_factory=list)  # counterparts not rated yet


def subject_view(session: Session, subject: Subject, me: int) -> SubjectView:
    given = on_subject(session, subject)
    # Also what a moderator hid: a hidden rating still counts as given.
    column = Feedback.trade_id if subject.kind == "trade" else Feedback.order_id
    rated = set(
        session.scalars(
            select(Feedback.rated_id).where(column == subject.id, Feedback.rater_id == me)
        )
    )
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(subject.parties)))
    names = {int(user_id): str(name) for user_id, name in rows}
    to_rate = [c for c in subject.counterparts(me) if c not in rated] if subject.finished else []
    return SubjectView(subject, given, names, to_rate)
