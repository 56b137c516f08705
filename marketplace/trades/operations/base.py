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

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, NotFound
from marketplace.core.models import utcnow
from marketplace.notifications.operations import Notifier
from marketplace.trades.models import Trade, TradeEvent, TradeItem, TradeParty

NOT_FOUND = "There is no such trade of yours."


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


# What each step tells the parties; {who} is the collector who acted. English and
# Russian until every string goes through the translation catalogues.
NOTICES: dict[str, dict[str, str]] = {
    "en": {
        "proposed": "{who} proposes a trade",
        "ring": "A trade ring with {n} collectors awaits your answer",
        "countered": "{who} changed the terms of trade #{id}",
        "accepted": "{who} accepted trade #{id}",
        "agreed": "Trade #{id} is agreed: time to post your parcel",
        "declined": "{who} declined trade #{id}",
        "cancelled": "{who} cancelled trade #{id}",
        "expired": "Trade #{id} expired without every answer",
        "shipped": "{who} posted their parcel for trade #{id}",
        "received": "{who} received their parcel in trade #{id}",
        "completed": "Trade #{id} is complete",
        "disputed": "{who} opened a dispute on trade #{id}",
        "dispute_moderator": "Trade #{id} is disputed and needs a moderator",
        "remind_ship": "Reminder: your parcel for trade #{id} is waiting to be posted",
        "remind_receive": "Has your parcel for trade #{id} arrived? Mark it received",
    },
    "ru": {
        "proposed": "{who} предлагает обмен",
        "ring": "Цепочка обмена из {n} коллекционеров ждёт вашего ответа",
        "countered": "{who} изменил(а) условия обмена №{id}",
        "accepted": "{who} принял(а) обмен №{id}",
        "agreed": "Обмен №{id} согласован: пора отправить посылку",
        "declined": "{who} отказался(-ась) от обмена №{id}",
        "cancelled": "{who} отменил(а) обмен №{id}",
        "expired": "Срок ответа по обмену №{id} истёк",
        "shipped": "{who} отправил(а) посылку по обмену №{id}",
        "received": "{who} получил(а) посылку по обмену №{id}",
        "completed": "Обмен №{id} завершён",
        "disputed": "{who} открыл(а) спор по обмену №{id}",
        "dispute_moderator": "Спор по обмену №{id}: нужен модератор",
        "remind_ship": "Напоминание: посылка по обмену №{id} ждёт отправки",
        "remind_receive": "Посылка по обмену №{id} пришла? Отметьте получение",
    },
}


def notice(locale: str, key: str, **values: Any) -> str:
    table = NOTICES["ru" if locale in ("ru", "uk", "be") else "en"]
    return table[key].format(**values)


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
            raise NotFound(NOT_FOUND)
        if trade.party(user.id) is None and not (user.is_moderator and trade.status == "disputed"):
            raise NotFound(NOT_FOUND)
        return trade

    def _locked(self, user: User, trade_id: int) -> Trade:
        """The trade for a party about to act, its row locked (PostgreSQL) and
        re-read, so two actions on one trade happen one after the other."""
        self.session.scalar(select(Trade.id).where(Trade.id == trade_id).with_for_update())
        trade = self.get(user, trade_id, fresh=True)
        if trade.party(user.id) is None:
            raise NotFound(NOT_FOUND)  # a moderator reads a dispute, never acts in it
        return trade

    @staticmethod
    def _require(trade: Trade, *statuses: str) -> None:
        if trade.status not in statuses:
            raise Conflict(f"Trade #{trade.id} is {trade.status}; that cannot be done now.")

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
