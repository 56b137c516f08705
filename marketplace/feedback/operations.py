"""The verbs on feedback: give it (a party of a completed trade or of a delivered
order rates a counterpart, once), edit it (the rater, for a while), reply to it
(the rated member, once). Each keeps the rated member's reputation counts in step
and tells whoever should hear; the caller commits.

"Once" is the database's rule (unique per subject, rater and rated), tried inside
a savepoint, so two requests racing each other give one row and one 409. A reply
is a conditional UPDATE (`WHERE reply IS NULL`) for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import format_date, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.accounts import reputation
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.core.i18n import N_
from marketplace.core.models import utcnow
from marketplace.feedback.models import RATINGS, Feedback
from marketplace.mail import delivery as mail
from marketplace.notifications.operations import Notifier
from marketplace.orders.models import Order
from marketplace.trades.models import Trade
from marketplace.trades.operations.base import status_word

MAX_COMMENT = 2000
NO_TRADE = N_("There is no such trade of yours.")
NO_ORDER = N_("There is no such order of yours.")
NO_FEEDBACK = N_("There is no such feedback.")
# An order's state as a refusal names it ("… this one is shipped").
ORDER_WORDS = {
    "pending": _l("pending"), "paid": _l("paid"), "shipped": _l("shipped"),
    "delivered": _l("delivered"), "expired": _l("expired"), "refunded": _l("refunded"),
    "cancelled": _l("cancelled"),
}  # fmt: skip


# What the rated collector is told, by rating and by what was rated.
TOLD = {
    ("positive", "trade"): N_("%(name)s left positive feedback on trade #%(id)s"),
    ("neutral", "trade"): N_("%(name)s left neutral feedback on trade #%(id)s"),
    ("negative", "trade"): N_("%(name)s left negative feedback on trade #%(id)s"),
    ("positive", "order"): N_("%(name)s left positive feedback on order #%(id)s"),
    ("neutral", "order"): N_("%(name)s left neutral feedback on order #%(id)s"),
    ("negative", "order"): N_("%(name)s left negative feedback on order #%(id)s"),
}


@dataclass(frozen=True, slots=True)
class Subject:
    """A trade or an order as feedback sees it: its parties, who counts as whose
    counterpart, and whether it is finished (completed / delivered)."""

    kind: str  # "trade" or "order"
    id: int
    status: str
    finished: bool
    parties: tuple[int, ...]
    pairs: frozenset[tuple[int, int]]  # (rater, rated) allowed once finished

    def counterparts(self, user_id: int) -> list[int]:
        return sorted(b for a, b in self.pairs if a == user_id)

    @property
    def noun(self) -> str:
        return "trade" if self.kind == "trade" else "order"


def trade_subject(session: Session, user: User, trade_id: int) -> Subject:
    """The trade for one of its parties; 404 for anyone else. In a ring, a
    member's counterparts are those they sent a parcel to or received one from."""
    trade = session.get(Trade, trade_id)
    if trade is None or trade.party(user.id) is None:
        raise NotFound(gettext(NO_TRADE))
    parties = tuple(sorted(p.user_id for p in trade.parties))
    pairs = {(p.giver_id, p.receiver_id) for p in trade.parcels}
    if not pairs and trade.kind == "swap":
        pairs = {(a, b) for a in parties for b in parties if a != b}
    both_ways = frozenset(pairs | {(b, a) for a, b in pairs})
    return Subject("trade", trade.id, trade.status, trade.status == "completed", parties,
                   both_ways)  # fmt: skip


def order_subject(session: Session, user: User, order_id: int) -> Subject:
    """The order for its buyer or seller; 404 for anyone else."""
    order = session.get(Order, order_id)
    if order is None or user.id not in (order.buyer_id, order.seller_id):
        raise NotFound(gettext(NO_ORDER))
    parties = tuple(sorted(i for i in (order.buyer_id, order.seller_id) if i is not None))
    pairs = frozenset(
        (a, b) for a in parties for b in parties if a != b
    )  # a member who left has no side
    return Subject("order", order.id, order.status, order.status == "delivered", parties, pairs)


def check_rating(rating: str | None) -> str:
    if rating not in RATINGS:
        raise DomainError(
            gettext("Choose one of: %(choices)s.", choices=", ".join(RATINGS)), field="rating"
        )
    return rating


def check_text(text: str | None, field: str, *, required: bool = False) -> str:
    """Plain text kept exactly as written (pages escape it); only its length and
    that it says something, where it must, are checked."""
    value = text or ""
    if len(value) > MAX_COMMENT:
        raise DomainError(
            gettext("At most %(max)d characters, please.", max=MAX_COMMENT), field=field
        )
    if "\x00" in value:
        raise DomainError(gettext("The text holds a character that cannot be kept."), field=field)
    if required and not value.strip():
        raise DomainError(gettext("Write something first."), field=field)
    return value


class FeedbackService:
    """Feedback over one session. `edit_days`: how long a rater may change what
    they gave (FEEDBACK_EDIT_DAYS)."""

    def __init__(
        self, session: Session, notifier: Notifier, *, edit_days: int = 30,
        base_url: str = "http://127.0.0.1:5000",
    ) -> None:  # fmt: skip
        self.session = session
        self.notifier = notifier
        self.edit_days = edit_days
        self.base_url = base_url

    # -- reading ------------------------------------------------------------------------

    def subject(
        self, user: User, *, trade_id: int | None = None, order_id: int | None = None
    ) -> Subject:
        if trade_id is not None:
            return trade_subject(self.session, user, trade_id)
        assert order_id is not None
        return order_subject(self.session, user, order_id)

    def editable(self, feedback: Feedback, user_id: int) -> bool:
        return (
            feedback.rater_id == user_id
            and feedback.hidden_at is None
            and utcnow() <= self.edit_deadline(feedback)
        )

    def edit_deadline(self, feedback: Feedback) -> datetime:
        return feedback.created_at + timedelta(days=self.edit_days)

    def page_url(self, feedback: Feedback) -> str:
        if feedback.trade_id is not None:
            return f"{self.base_url}/feedback/trade/{feedback.trade_id}"
        return f"{self.base_url}/feedback/order/{feedback.order_id}"

    # -- giving -------------------------------------------------------------------------

    def give(
        self, user: User, subject: Subject, *, rated_id: int, rating: str | None,
        comment: str | None = None,
    ) -> Feedback:  # fmt: skip
        """Rate a counterpart of a finished trade or order, once."""
        if not subject.finished:
            if subject.kind == "trade":
                message = gettext(
                    "Feedback opens once the trade is completed; this one is %(status)s.",
                    status=status_word(subject.status),
                )
            else:
                message = gettext(
                    "Feedback opens once the order is delivered; this one is %(status)s.",
                    status=str(ORDER_WORDS.get(subject.status, subject.status)),
                )
            raise Conflict(message)
        if (user.id, rated_id) not in subject.pairs:
            if subject.kind == "trade":
                message = gettext("Rate someone you traded with in this trade.")
            else:
                message = gettext("Rate someone you traded with in this order.")
            raise DomainError(message, field="rated_id")
        value = check_rating(rating)
        text = check_text(comment, "comment")
        now = utcnow()
        feedback = Feedback(
            trade_id=subject.id if subject.kind == "trade" else None,
            order_id=subject.id if subject.kind == "order" else None,
            rater_id=user.id, rated_id=rated_id, rating=value, comment=text,
            created_at=now, updated_at=now,
        )  # fmt: skip
        try:
            with self.session.begin_nested():
                self.session.add(feedback)
                self.session.flush()
        except IntegrityError:
            if subject.kind == "trade":
                message = gettext("You have already given feedback on this trade; you can edit it.")
            else:
                message = gettext("You have already given feedback on this order; you can edit it.")
            raise Conflict(message) from None
        reputation.add(self.session, [rated_id], value)
        self._tell_rated(user, feedback, subject)
        return feedback

    def _tell_rated(self, user: User, feedback: Feedback, subject: Subject) -> None:
        rated = self.session.get(User, feedback.rated_id)
        with mail.language(rated.locale if rated else None):
            title = gettext(
                TOLD[(feedback.rating, subject.noun)], name=user.display_name, id=subject.id
            )
        note = self.notifier.notify(
            feedback.rated_id, subject.kind, f"feedback:{feedback.id}",
            {"title": title, "text": feedback.comment[:500], "url": self.page_url(feedback),
             f"{subject.kind}_id": subject.id},
            priority=3,
        )  # fmt: skip
        if note is not None:
            self.notifier.send_instant(feedback.rated_id)

    # -- changing -----------------------------------------------------------------------

    def _locked(self, user: User, feedback_id: int) -> Feedback:
        """The feedback, its row locked (PostgreSQL) and re-read; 404 for anyone
        but its rater and the rated member."""
        feedback = self.session.scalar(
            select(Feedback)
            .where(Feedback.id == feedback_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if feedback is None or user.id not in (feedback.rater_id, feedback.rated_id):
            raise NotFound(gettext(NO_FEEDBACK))
        if feedback.hidden_at is not None:
            raise Conflict(gettext("A moderator hid this feedback; it can no longer change."))
        return feedback

    def edit(
        self, user: User, feedback_id: int, *, rating: str | None = None,
        comment: str | None = None,
    ) -> Feedback:  # fmt: skip
        """The rater changes the rating or the comment, within the edit window."""
        feedback = self._locked(user, feedback_id)
        if feedback.rater_id != user.id:
            raise Forbidden(gettext("Only whoever gave feedback can change it; you may reply."))
        if utcnow() > feedback.created_at + timedelta(days=self.edit_days):
            raise Conflict(
                ngettext(
                    "Feedback can be changed for %(num)d day after it is given; "
                    "this was given on %(date)s.",
                    "Feedback can be changed for %(num)d days after it is given; "
                    "this was given on %(date)s.",
                    self.edit_days,
                    date=format_date(feedback.created_at),
                )
            )
        if rating is not None:
            value = check_rating(rating)
            if value != feedback.rating:
                reputation.add(self.session, [feedback.rated_id], feedback.rating, by=-1)
                reputation.add(self.session, [feedback.rated_id], value, by=1)
                feedback.rating = value
        if comment is not None:
            feedback.comment = check_text(comment, "comment")
        feedback.updated_at = utcnow()
        self.session.flush()
        return feedback

    def reply(self, user: User, feedback_id: int, text: str | None) -> Feedback:
        """The rated member answers, once."""
        feedback = self._locked(user, feedback_id)
        if feedback.rated_id != user.id:
            raise Forbidden(gettext("Only the member who was rated can reply."))
        body = check_text(text, "reply", required=True)
        now = utcnow()
        done = self.session.execute(
            update(Feedback)
            .where(Feedback.id == feedback.id, Feedback.reply.is_(None))
            .values(reply=body, replied_at=now)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict(gettext("You have already replied to this feedback."))
        self.session.refresh(feedback)
        kind = "trade" if feedback.trade_id is not None else "order"
        rater = self.session.get(User, feedback.rater_id)
        with mail.language(rater.locale if rater else None):
            title = gettext("%(name)s replied to your feedback", name=user.display_name)
        note = self.notifier.notify(
            feedback.rater_id, kind, f"feedback-reply:{feedback.id}",
            {"title": title, "text": body[:500],
             "url": self.page_url(feedback)},
        )  # fmt: skip
        if note is not None:
            self.notifier.send_instant(feedback.rater_id)
        return feedback
