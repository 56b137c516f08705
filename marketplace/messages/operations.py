"""The message verbs: open the thread of a trade, an order or a pair of
collectors (only for those it concerns), find a thread for a member, post a
message, mark a thread read, and tell the other members by mail.

Who may read a thread is who is in it: anyone else is told it does not exist
(NotFound), the same answer as for a thread that really does not. Nobody writes
to a collector who blocked them, or whom they blocked, nor while suspended.
Threads are unique per trade, order and pair: two first messages racing open
one thread, the loser re-reading the winner's inside a savepoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts import blocks
from marketplace.accounts.models import User
from marketplace.core.errors import Forbidden, InvalidInput, NotFound
from marketplace.core.i18n import N_
from marketplace.core.models import utcnow
from marketplace.mail import delivery as mail
from marketplace.messages.models import Message, Thread, ThreadMember
from marketplace.messages.text import MAX_BODY, clean_body
from marketplace.notifications.operations import Notifier
from marketplace.orders.models import Order
from marketplace.trades.models import TradeParty

# Marked here, translated where they are raised (the reader's language then).
NOT_FOUND = N_("There is no such conversation of yours.")
BLOCKED = N_("One of you has blocked the other, so you cannot send messages to each other.")
SUSPENDED = N_("Your account is suspended: you cannot send messages.")

# What the mail about a new message says; {who} wrote it. English and Russian,
# as the notifications' own strings.


def pair_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


@dataclass(frozen=True)
class MessageSettings:
    base_url: str = "http://127.0.0.1:5000"

    def thread_url(self, thread_id: int) -> str:
        return f"{self.base_url}/messages/{thread_id}"


class Messages:
    def __init__(self, session: Session, notifier: Notifier, settings: MessageSettings) -> None:
        self.session = session
        self.notifier = notifier
        self.settings = settings

    # -- finding and opening threads ----------------------------------------------------

    def thread(self, user: User, thread_id: int) -> Thread:
        """The thread with its members, for one of them; NotFound for anyone else."""
        thread = self.session.scalar(
            select(Thread)
            .join(ThreadMember, ThreadMember.thread_id == Thread.id)
            .where(Thread.id == thread_id, ThreadMember.user_id == user.id)
            .options(selectinload(Thread.members).selectinload(ThreadMember.user))
        )
        if thread is None:
            raise NotFound(gettext(NOT_FOUND))
        return thread

    def for_trade(self, user: User, trade_id: int) -> tuple[Thread, bool]:
        """The trade's thread (opened if it is the first time): its parties are the
        members. True when this call opened it."""
        parties = set(
            self.session.scalars(select(TradeParty.user_id).where(TradeParty.trade_id == trade_id))
        )
        if user.id not in parties:
            raise NotFound(gettext("There is no such trade of yours."), field="trade_id")
        return self._open("trade", parties, trade_id=trade_id)

    def for_order(self, user: User, order_id: int) -> tuple[Thread, bool]:
        """The order's thread between its buyer and its seller."""
        row = self.session.execute(
            select(Order.buyer_id, Order.seller_id).where(Order.id == order_id)
        ).first()
        parties = {i for i in (row or ()) if i is not None}
        if user.id not in parties:
            raise NotFound(gettext("There is no such order of yours."), field="order_id")
        return self._open("order", parties, order_id=order_id)

    def direct(self, user: User, other_id: int) -> tuple[Thread, bool]:
        """The one thread between two collectors, whoever starts it. Refused
        (Forbidden) when either has blocked the other."""
        if other_id == user.id:
            raise InvalidInput({"user_id": [gettext("You cannot write to yourself.")]})
        other = self.session.get(User, other_id)
        if other is None or not other.is_active:
            raise NotFound(gettext("There is no such collector."), field="user_id")
        if blocks.is_blocked(self.session, user.id, other_id):
            raise Forbidden(gettext(BLOCKED))
        return self._open("direct", {user.id, other_id}, pair_key=pair_key(user.id, other_id))

    def _open(self, kind: str, member_ids: set[int], **subject: Any) -> tuple[Thread, bool]:
        (column, value), = subject.items()  # fmt: skip
        where = getattr(Thread, column) == value
        found = self.session.scalar(select(Thread.id).where(where))
        if found is not None:
            return self._member_thread(found), False
        thread = Thread(
            kind=kind,
            members=[ThreadMember(user_id=i) for i in sorted(member_ids)],
            created_at=utcnow(),
            **subject,
        )
        try:
            with self.session.begin_nested():
                self.session.add(thread)
        except IntegrityError:
            # Someone opened it a moment ago: theirs is the thread.
            found = self.session.scalar(select(Thread.id).where(where))
            if found is None:
                raise
            return self._member_thread(found), False
        return thread, True

    def _member_thread(self, thread_id: int) -> Thread:
        return self.session.scalars(
            select(Thread)
            .where(Thread.id == thread_id)
            .options(selectinload(Thread.members).selectinload(ThreadMember.user))
        ).one()

    # -- writing --------------------------------------------------------------------------

    def post(self, user: User, thread_id: int, body: str) -> Message:
        """Add a message (its text trimmed, otherwise exactly as written), count it
        read for its author, and tell the other members."""
        thread = self.thread(user, thread_id)
        if user.suspended_at is not None:
            raise Forbidden(gettext(SUSPENDED))
        text = clean_body(body or "")
        if text is None:
            raise InvalidInput({"body": [gettext("Write a message.")]})
        if len(text) > MAX_BODY:
            raise InvalidInput(
                {"body": [gettext("A message is at most %(max)d characters.", max=MAX_BODY)]}
            )
        others = sorted(m.user_id for m in thread.members if m.user_id != user.id)
        if blocks.blocked_either_way(self.session, user.id) & set(others):
            raise Forbidden(gettext(BLOCKED))
        now = utcnow()
        message = Message(thread_id=thread.id, author_id=user.id, body=text, created_at=now)
        self.session.add(message)
        thread.last_message_at = now
        self.session.flush()
        self._read_up_to(user.id, thread.id, message.id)
        self._tell(thread, message, user, others)
        return message

    def _tell(self, thread: Thread, message: Message, author: User, others: list[int]) -> None:
        """One notification per recipient and message, mailed as each prefers
        (instant, in a digest, or not at all). In ascending user id: the lock
        order the trades keep for the recipients' mail settings."""
        url = self.settings.thread_url(thread.id)
        for user_id in others:
            recipient = self.session.get(User, user_id)
            if recipient is None:
                continue
            with mail.language(recipient.locale):
                title = gettext("%(who)s sent you a message", who=author.display_name)
            note = self.notifier.notify(
                user_id,
                "message",
                f"message:{message.id}",
                {
                    "title": title,
                    "text": message.body,
                    "url": url,
                    "thread_id": thread.id,
                    "message_id": message.id,
                },
                priority=2,
            )
            if note is not None:
                self.notifier.send_instant(user_id)

    # -- reading state --------------------------------------------------------------------

    def mark_read(self, user: User, thread_id: int) -> None:
        """Everything in the thread so far counts as read by this member."""
        newest = self.session.scalar(
            select(func.max(Message.id)).where(Message.thread_id == thread_id)
        )
        if newest is not None:
            self._read_up_to(user.id, thread_id, newest)

    def _read_up_to(self, user_id: int, thread_id: int, message_id: int) -> None:
        # Never backwards: a slow request must not undo a newer read.
        self.session.execute(
            update(ThreadMember)
            .where(
                ThreadMember.thread_id == thread_id,
                ThreadMember.user_id == user_id,
                ThreadMember.last_read_id < message_id,
            )
            .values(last_read_id=message_id)
        )
