"""Reading threads as the pages and the API show them: a member's unread count
(one COUNT for the header), their inbox page with each thread's last message,
counterparts and unread count, a page of a thread's messages, and each message
as it is displayed (hidden ones say so; links only from established authors)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.reputation import standings
from marketplace.core.pagination import Page
from marketplace.messages.models import Message, Thread, ThreadMember
from marketplace.messages.text import render

HIDDEN = "This message was hidden by a moderator"


def _unread(user_id: int) -> Any:
    """Messages by others after the member's last read one, not hidden."""
    return and_(
        ThreadMember.user_id == user_id,
        Message.thread_id == ThreadMember.thread_id,
        Message.id > ThreadMember.last_read_id,
        or_(Message.author_id.is_(None), Message.author_id != user_id),
        Message.hidden_at.is_(None),
    )


def unread_count(session: Session, user_id: int) -> int:
    """Unread messages across all the member's threads."""
    return int(
        session.scalar(select(func.count(Message.id)).select_from(ThreadMember).join(
            Message, _unread(user_id)
        )) or 0
    )  # fmt: skip


def unread_by_thread(session: Session, user_id: int, thread_ids: Sequence[int]) -> dict[int, int]:
    if not thread_ids:
        return {}
    rows = session.execute(
        select(ThreadMember.thread_id, func.count(Message.id))
        .join(Message, _unread(user_id))
        .where(ThreadMember.thread_id.in_(thread_ids))
        .group_by(ThreadMember.thread_id)
    )
    return {thread_id: int(n) for thread_id, n in rows}


@dataclass(frozen=True)
class InboxEntry:
    thread: Thread
    counterparts: list[str]
    last: Message | None
    unread: int

    @property
    def preview(self) -> str:
        if self.last is None:
            return ""
        if self.last.hidden_at is not None:
            return HIDDEN
        text = " ".join(self.last.body.split())
        return text if len(text) <= 120 else text[:119] + "…"


def _my_threads(user_id: int) -> Select[Any]:
    # Threads with something in them: looking at a collector's empty thread
    # should not put it in their inbox.
    return (
        select(Thread)
        .join(ThreadMember, ThreadMember.thread_id == Thread.id)
        .where(ThreadMember.user_id == user_id, Thread.last_message_at.is_not(None))
    )


def inbox(session: Session, user_id: int, page: int, per_page: int) -> Page[InboxEntry]:
    """The member's threads, the latest message first."""
    total = session.scalar(select(func.count()).select_from(_my_threads(user_id).subquery()))
    threads: Sequence[Thread] = session.scalars(
        _my_threads(user_id)
        .order_by(Thread.last_message_at.desc(), Thread.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
        .options(selectinload(Thread.members).selectinload(ThreadMember.user))
    ).all()
    ids = [t.id for t in threads]
    newest = (
        select(func.max(Message.id)).where(Message.thread_id.in_(ids)).group_by(Message.thread_id)
    )
    last = {
        m.thread_id: m
        for m in session.scalars(
            select(Message).where(Message.id.in_(newest)).options(selectinload(Message.author))
        )
    }
    unread = unread_by_thread(session, user_id, ids)
    entries = [
        InboxEntry(t, counterparts(t, user_id), last.get(t.id), unread.get(t.id, 0))
        for t in threads
    ]
    return Page(entries, int(total or 0), page, per_page)


def counterparts(thread: Thread, user_id: int) -> list[str]:
    return sorted(
        m.user.display_name for m in thread.members if m.user_id != user_id and m.user is not None
    )


def message_count(session: Session, thread_id: int) -> int:
    return int(
        session.scalar(select(func.count(Message.id)).where(Message.thread_id == thread_id)) or 0
    )


def messages_slice(session: Session, thread_id: int, page: int, per_page: int) -> list[Message]:
    """One page of the thread's messages, oldest first."""
    return list(
        session.scalars(
            select(Message)
            .where(Message.thread_id == thread_id)
            .order_by(Message.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
            .options(selectinload(Message.author))
        )
    )


def messages_page(session: Session, thread_id: int, page: int, per_page: int) -> Page[Message]:
    """A page of the thread as the page shows it: 0 or past the end means the
    latest page, where a conversation is read and answered."""
    total = message_count(session, thread_id)
    pages = max(1, -(-total // per_page))
    page = pages if page < 1 or page > pages else page
    return Page(messages_slice(session, thread_id, page, per_page), total, page, per_page)


@dataclass(frozen=True)
class MessageView:
    id: int
    author_id: int | None
    author: str
    created_at: datetime
    hidden: bool
    html: Markup


def views(
    session: Session, messages: Sequence[Message], established_after: int
) -> list[MessageView]:
    """Each message as a page shows it. Addresses are links only in messages
    whose author is established: a new account's links stay text."""
    authors = {m.author_id for m in messages if m.author_id is not None}
    trusted = {
        i for i, s in standings(session, authors).items() if s.is_established(established_after)
    }
    return [
        MessageView(
            id=m.id,
            author_id=m.author_id,
            author=m.author.display_name if m.author is not None else "(account deleted)",
            created_at=m.created_at,
            hidden=m.hidden_at is not None,
            html=Markup() if m.hidden_at else render(m.body, links=m.author_id in trusted),
        )
        for m in messages
    ]
