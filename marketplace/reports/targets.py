"""What a report points at, read the same way for the member who files it and the
moderator who answers it: the item's text as it stands, who is responsible for
it, and whether the member asking may see it at all.

A message may be reported only by a member of its thread; a profile is any
collector; a listing is a copy with a price; a feedback comment is public on its
collector's profile. Anything else is "not found", so a report cannot be used
to learn that a private item exists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.core.errors import NotFound
from marketplace.core.i18n import N_
from marketplace.feedback.models import Feedback
from marketplace.lists.models import Have
from marketplace.messages.models import Message, ThreadMember

# Marked here, translated when raised: one whole sentence per kind.
NOT_FOUND = {
    "message": N_("There is no such message to report."),
    "profile": N_("There is no such collector profile to report."),
    "listing": N_("There is no such listing to report."),
    "feedback": N_("There is no such feedback comment to report."),
    "item": N_("There is no such item to report."),
}
KIND_LABELS = {
    "message": "message",
    "profile": "collector profile",
    "listing": "listing",
    "feedback": "feedback comment",
}


@dataclass(frozen=True, slots=True)
class Target:
    """A reported item as shown: `text` is stored text, escaped by the pages."""

    kind: str
    id: int
    user_id: int  # who wrote or owns it: the member warned or suspended
    author: str
    text: str
    hidden: bool = False  # a moderator already took it down

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]


def _user(session: Session, user_id: int | None) -> User | None:
    return session.get(User, user_id) if user_id is not None else None


def _message(session: Session, target_id: int, viewer_id: int | None) -> Target | None:
    message = session.get(Message, target_id)
    if message is None or message.author_id is None:
        return None
    if viewer_id is not None:
        member = session.get(ThreadMember, (message.thread_id, viewer_id))
        if member is None:
            return None
    author = _user(session, message.author_id)
    return Target(
        "message", message.id, message.author_id, author.display_name if author else "",
        message.body, message.hidden_at is not None,
    )  # fmt: skip


def _profile(session: Session, target_id: int) -> Target | None:
    user = session.get(User, target_id)
    if user is None or user.email_verified_at is None:
        return None
    return Target("profile", user.id, user.id, user.display_name, user.display_name)


def _listing(session: Session, target_id: int, viewer_id: int | None) -> Target | None:
    have = session.get(Have, target_id)
    if have is None:
        return None
    withdrawn = have.price is None
    if withdrawn and viewer_id is not None:
        return None  # not a listing (any more): nothing for a member to report
    owner = _user(session, have.user_id)
    pin = have.pin
    price = "withdrawn from sale" if withdrawn else f"{have.price} {have.currency}"
    text = f"{pin.ref} {pin.title_en} — {price}"
    if have.notes:
        text += f"\n{have.notes}"
    return Target(
        "listing", have.id, have.user_id, owner.display_name if owner else "", text, withdrawn
    )


def _feedback(session: Session, target_id: int) -> Target | None:
    found = session.get(Feedback, target_id)
    if found is None:
        return None
    rater = _user(session, found.rater_id)
    text = f"{found.rating}: {found.comment}" if found.comment else found.rating
    return Target(
        "feedback", found.id, found.rater_id, rater.display_name if rater else "", text,
        found.hidden_at is not None,
    )  # fmt: skip


def read_target(session: Session, kind: str, target_id: int, viewer_id: int | None) -> Target:
    """The item as `viewer_id` may see it (None: a moderator, who sees everything);
    NotFound if there is no such item or it is not theirs to see."""
    found: Target | None = None
    if kind == "message":
        found = _message(session, target_id, viewer_id)
    elif kind == "profile":
        found = _profile(session, target_id)
    elif kind == "listing":
        found = _listing(session, target_id, viewer_id)
    elif kind == "feedback":
        found = _feedback(session, target_id)
        if found is not None and found.hidden and viewer_id is not None:
            found = None  # hidden comments no longer show to members
    if found is None:
        raise NotFound(gettext(NOT_FOUND.get(kind, NOT_FOUND["item"])), field="id")
    return found


def targets_of(session: Session, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Target]:
    """The items of a page of reports, as a moderator sees them; an item since
    deleted is missing from the answer."""
    found = {}
    for kind, target_id in set(keys):
        try:
            found[(kind, target_id)] = read_target(session, kind, target_id, None)
        except NotFound:
            continue
    return found
