"""Blocking a collector as members do it from the pages and the API: the block
itself (kept by accounts, which the features below read) and its effect on the
matches already stored between the two, which turn inactive at once."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.accounts import blocks
from marketplace.accounts.models import Block, User
from marketplace.core.errors import NotFound
from marketplace.lists.operations.changes import note_list_change
from marketplace.matches.blocking import deactivate_between


def block_collector(session: Session, me: User, other_id: int) -> bool:
    """Block `other_id`; True if this made a new block."""
    other = session.get(User, other_id)
    if other is None or other.email_verified_at is None:
        raise NotFound(_("No such collector."), field="user_id")
    made = blocks.block(session, me.id, other_id)
    deactivate_between(session, me.id, other_id)
    return made


def unblock_collector(session: Session, me: User, other_id: int) -> None:
    """Lift my block of `other_id` (NotFound if there is none). Both collectors'
    matches are refreshed after the commit, which brings theirs back."""
    if not blocks.unblock(session, me.id, other_id):
        raise NotFound(_("You have not blocked this collector."))
    for user_id in (me.id, other_id):
        note_list_change(session, user_id, full=True)


def my_blocks(session: Session, me: User) -> list[tuple[Block, User]]:
    """The collectors I blocked, newest first, with their accounts."""
    rows = session.execute(
        select(Block, User)
        .join(User, User.id == Block.blocked_id)
        .where(Block.blocker_id == me.id)
        .order_by(Block.created_at.desc(), Block.blocked_id)
    )
    return [(b, u) for b, u in rows]
