"""What every trade job shares: the session, the notifier and the settings; finding
a trade for one of its parties (404 for anyone else), locking it, writing its
history, and telling its parties.

Lock order, everywhere: the trade row first, then copies in ascending have id
(`marketplace.lists.reservations`), then the parties' own rows (notifications,
mail settings) in ascending user id, so two acceptances never wait on each other
in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext, ngettext, pgettext
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, NotFound
from marketplace.core.i18n import N_
from marketplace.core.models import utcnow
from marketplace.mail import delivery as mail
from marketplace.notifications.operations import Notifier
from marketplace.trades.models import Trade, TradeEvent, TradeItem, TradeParty

NOT_FOUND = N_("There is no such trade of yours.")


def status_word(status: str) -> str:
    """A trade's state as a refusal names it ("Trade #4 is declined; …"), in the
    reader's language."""
    words = {
        "proposed": pgettext("trade status", "proposed"),
        "accepted": pgettext("trade status", "accepted"),
        "completed": pgettext("trade status", "completed"),
        "declined": pgettext("trade status", "declined"),
        "cancelled": pgettext("trade status", "cancelled"),
        "expired": pgettext("trade status", "expired"),
        "disputed": pgettext("trade status", "disputed"),
    }
    return words.get(status, status)


@dataclass(frozen=True)
class TradeSettings:
    """How long answers may take and when late parties are reminded (app config
    TRADE_PROPOSAL_DAYS, RING_DEADLINE_DAYS, TRADE_REMINDER_DAYS)."""

    base_url: str = "http://127.0.0.1:5000"
    proposal_days: int = 7
    ring_days: int = 7
    reminder_days: int = 7
    # The trust ladder (ESTABLISHED_AFTER_TRADES, NEW_MEMBER_OPEN_TRADES).
    established_after: int = 3
    new_member_open: int = 2

    @property
    def proposal_lifetime(self) -> timedelta:
        return timedelta(days=self.proposal_days)

    @property
    def ring_lifetime(self) -> timedelta:
        return timedelta(days=self.ring_days)

    @property
    def reminder_after(self) -> timedelta:
        return timedelta(days=self.reminder_days)

    def trade_url(self, trade_id: int) -> str:
        return f"{self.base_url}/trades/{trade_id}"


# What each step tells the parties, in each one's own language; %(who)s is the
# collector who acted. (A ring's invitation is counted: see `notice`.)
NOTICES: dict[str, str] = {
    "proposed": N_("%(who)s proposes a trade"),
    "countered": N_("%(who)s changed the terms of trade #%(id)s"),
    "accepted": N_("%(who)s accepted trade #%(id)s"),
    "agreed": N_("Trade #%(id)s is agreed: time to post your parcel"),
    "declined": N_("%(who)s declined trade #%(id)s"),
    "cancelled": N_("%(who)s cancelled trade #%(id)s"),
    "expired": N_("Trade #%(id)s expired without every answer"),
    "shipped": N_("%(who)s posted their parcel for trade #%(id)s"),
    "received": N_("%(who)s received their parcel in trade #%(id)s"),
    "completed": N_("Trade #%(id)s is complete"),
    "disputed": N_("%(who)s opened a dispute on trade #%(id)s"),
    "dispute_moderator": N_("Trade #%(id)s is disputed and needs a moderator"),
    "remind_ship": N_("Reminder: your parcel for trade #%(id)s is waiting to be posted"),
    "remind_receive": N_("Has your parcel for trade #%(id)s arrived? Mark it received"),
}


def notice(locale: str | None, key: str, **values: Any) -> str:
    """What a step tells one party, in their language (their setting, else English)."""
    with mail.language(locale):
        if key == "ring":
            return ngettext(
                "A trade ring with %(num)d collector awaits your answer",
                "A trade ring with %(num)d collectors awaits your answer",
                int(values["n"]),
            )
        return gettext(NOTICES[key], **values)


class TradeJobs:
    """The state every trade job works with; the jobs are mixed into `Trades`."""

    def __init__(self, session: Session, notifier: Notifier, settings: TradeSettings) -> None:
        self.session = session
        self.notifier = notifier
        self.settings = settings
        self.addresses = AddressBook(session)

    # -- reading --------------------------------------------------------------------------

    def get(self, user: User, trade_id: int, *, fresh: bool = False) -> Trade:
        """The trade, for one of its parties (or a moderator, once disputed);
        `fresh` re-reads it and its rows even if this session has them."""
        trade = self.session.scalar(
            select(Trade)
            .where(Trade.id == trade_id)
            .execution_options(populate_existing=fresh)
            .options(
                selectinload(Trade.parties).selectinload(TradeParty.user),
                selectinload(Trade.items).selectinload(TradeItem.pin),
                selectinload(Trade.versions),
                selectinload(Trade.parcels),
                selectinload(Trade.events),
            )
        )
        if trade is None:
            raise NotFound(gettext(NOT_FOUND))
        if trade.party(user.id) is None and not (user.is_moderator and trade.status == "disputed"):
            raise NotFound(gettext(NOT_FOUND))
        return trade

    def _locked(self, user: User, trade_id: int) -> Trade:
        """The trade for a party about to act, its row locked (PostgreSQL) and
        re-read, so two actions on one trade happen one after the other."""
        self.session.scalar(select(Trade.id).where(Trade.id == trade_id).with_for_update())
        trade = self.get(user, trade_id, fresh=True)
        if trade.party(user.id) is None:
            raise NotFound(gettext(NOT_FOUND))  # a moderator reads a dispute, never acts in it
        return trade

    @staticmethod
    def _require(trade: Trade, *statuses: str) -> None:
        if trade.status not in statuses:
            raise Conflict(
                gettext(
                    "Trade #%(id)d is %(status)s; that cannot be done now.",
                    id=trade.id,
                    status=status_word(trade.status),
                )
            )

    # -- history and telling ------------------------------------------------------------

    def _event(self, trade: Trade, user: User | None, action: str, detail: str = "") -> TradeEvent:
        event = TradeEvent(
            user_id=user.id if user else None,
            action=action,
            version=trade.version,
            detail=detail[:2000],
            created_at=utcnow(),
        )
        trade.events.append(event)
        trade.updated_at = utcnow()
        self.session.flush()
        return event

    def _tell(
        self, trade: Trade, event: TradeEvent, key: str, *, to: list[int] | None = None,
        actor: User | None = None, **values: Any,
    ) -> None:  # fmt: skip
        """Tell the parties (all but the actor, unless `to` names them) through
        their notification preferences: one notification per person and event."""
        # In ascending user id, the lock order: telling a collector may create their
        # mail settings, and two rings telling the same two collectors in opposite
        # orders (ring positions) deadlocked on those inserts.
        recipients = sorted(to if to is not None else [p.user_id for p in trade.parties])
        who = actor.display_name if actor else ""
        for user_id in recipients:
            if actor is not None and user_id == actor.id and to is None:
                continue
            user = self.session.get(User, user_id)
            if user is None:
                continue
            title = notice(user.locale, key, who=who, id=trade.id, **values)
            note = self.notifier.notify(
                user_id,
                "trade",
                f"trade:{trade.id}:{event.id}",
                {"title": title, "text": event.detail, "url": self.settings.trade_url(trade.id),
                 "trade_id": trade.id},
                priority=2,
            )  # fmt: skip
            if note is not None:
                self.notifier.send_instant(user_id)
