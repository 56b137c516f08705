"""What a moderator's decision does to the reported item and its member: hide
the item (each kind in its own way), warn the member by mail, suspend them, or
lift a suspension. Each verb flushes; the request commits."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from marketplace.accounts import reputation
from marketplace.accounts.models import LoginSession, User
from marketplace.core.models import utcnow
from marketplace.feedback.models import Feedback
from marketplace.lists.models import CollectionPage, Have
from marketplace.mail import delivery as mail
from marketplace.messages.models import Message
from marketplace.reports.models import Report
from marketplace.reports.targets import Target


def hide(session: Session, target: Target) -> None:
    """Take the item down: a message or a comment shows as hidden (and a comment
    no longer counts), a listing is withdrawn from sale, a profile's public
    collection page shows nothing."""
    now = utcnow()
    if target.kind == "message":
        message = session.get(Message, target.id)
        if message is not None and message.hidden_at is None:
            message.hidden_at = now
    elif target.kind == "feedback":
        found = session.get(Feedback, target.id)
        if found is not None and found.hidden_at is None:
            found.hidden_at = now
            reputation.add(session, [found.rated_id], found.rating, by=-1)
    elif target.kind == "listing":
        have = session.get(Have, target.id)
        if have is not None:
            # One UPDATE: the listing constraint wants price and currency together.
            have.price, have.currency = None, None
    elif target.kind == "profile":
        session.execute(
            update(CollectionPage)
            .where(CollectionPage.user_id == target.user_id)
            .values(shows="none")
        )
    session.flush()


def suspend(session: Session, user: User, reason: str) -> None:
    """The member can neither log in nor use a token until a moderator lifts it;
    every browser they are logged in on is logged out now."""
    if user.suspended_at is None:
        user.suspended_at = utcnow()
    user.suspension_reason = reason
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()


def lift_suspension(session: Session, user: User) -> None:
    user.suspended_at = None
    user.suspension_reason = None
    session.flush()


def warn(session: Session, report: Report, target: Target, note: str, base_url: str) -> None:
    """Mail the member what was reported and that more may cost them the account."""
    user = session.get(User, target.user_id)
    if user is None:
        return
    mail.queue(
        session,
        to=user.email,
        template="member_warned",
        locale=user.locale,
        user_id=user.id,
        name=user.display_name,
        kind=target.label,
        text=target.text,
        reason=report.reason,
        note=note,
        url=f"{base_url}/",
    )
