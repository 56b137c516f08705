"""Carrying an agreed trade out: each party marks each parcel posted (with an
optional tracking number) and received; the trade completes when every parcel is
received, and then the lists follow — the given copies leave their givers' Haves,
the received pins join their receivers' Haves, and the Wants they fill close.

Before anything is posted any party may cancel (the copies are released); after,
a party may open a dispute, which freezes the trade and calls a moderator.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from marketplace.accounts import reputation
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, DomainError, NotFound
from marketplace.core.models import utcnow
from marketplace.lists import reservations as ledger
from marketplace.lists.models import Have
from marketplace.lists.operations import note_list_change, receive_copies
from marketplace.trades.models import Trade, TradeItem, TradeParcel
from marketplace.trades.operations.holding import release_terms, take_terms
from marketplace.trades.operations.ladder import Ladder
from marketplace.trades.operations.terms import check_note

MAX_TRACKING = 100


class Carrying(Ladder):
    def _parcel(
        self, trade: Trade, *, giver_id: int | None, receiver_id: int | None
    ) -> TradeParcel:
        parcels = [
            p
            for p in trade.parcels
            if (giver_id is None or p.giver_id == giver_id)
            and (receiver_id is None or p.receiver_id == receiver_id)
        ]
        if len(parcels) != 1:
            raise NotFound(_("There is no such parcel in this trade for you."), field="parcel")
        return parcels[0]

    def ship(
        self, user: User, trade_id: int, *, to: int | None = None, tracking: str | None = None
    ) -> Trade:
        """Mark your parcel (to collector `to`, if you send more than one) posted."""
        trade = self._locked(user, trade_id)
        self._require(trade, "accepted")
        code = " ".join((tracking or "").split())
        if len(code) > MAX_TRACKING:
            raise DomainError(
                _("A tracking number holds at most %(max)d characters.", max=MAX_TRACKING),
                field="tracking",
            )
        parcel = self._parcel(trade, giver_id=user.id, receiver_id=to)
        if parcel.shipped_at is not None:
            raise Conflict(_("You have already marked this parcel posted."))
        self._check_may_post(trade, user)
        parcel.shipped_at = utcnow()
        parcel.tracking = code or None
        receiver = self.session.get(User, parcel.receiver_id)
        detail = f"to {receiver.display_name if receiver else '?'}"
        event = self._event(trade, user, "shipped", detail + (f", tracking {code}" if code else ""))
        self._tell(trade, event, "shipped", actor=user)
        return trade

    def receive(self, user: User, trade_id: int, *, sender: int | None = None) -> Trade:
        """Mark the parcel from `sender` (if several come to you) received; the last
        one completes the trade."""
        trade = self._locked(user, trade_id)
        self._require(trade, "accepted")
        parcel = self._parcel(trade, giver_id=sender, receiver_id=user.id)
        if parcel.received_at is not None:
            raise Conflict(_("You have already marked this parcel received."))
        now = utcnow()
        parcel.shipped_at = parcel.shipped_at or now  # it arrived before it was marked posted
        parcel.received_at = now
        event = self._event(trade, user, "received")
        self._tell(trade, event, "received", actor=user)
        if all(p.received_at is not None for p in trade.parcels):
            self._complete(trade)
        return trade

    def _complete(self, trade: Trade) -> None:
        items = trade.current_items()
        # Every copy the completion changes, locked first in the ledger's order:
        # taking the given copies and then adding to the receivers' Haves locked
        # them out of order, and deadlocked with acceptances holding the same ones.
        joined = [self._receiving_have(item) for item in items]
        ledger.lock(
            self.session,
            [i.have_id for i in items if i.have_id is not None]
            + [have_id for have_id in joined if have_id is not None],
        )
        take_terms(self.session, trade)
        for item in items:
            self._arrive(trade, item)
        for user_id in {i.giver_id for i in items} | {i.receiver_id for i in items}:
            note_list_change(
                self.session,
                user_id,
                have_pins=[i.pin_id for i in items],
                want_pins=[i.pin_id for i in items if i.receiver_id == user_id],
            )
        trade.status = "completed"
        trade.completed_at = trade.closed_at = utcnow()
        # Counted in the completing transaction (an atomic increment), so the
        # trust ladder and ranking see it exactly when the trade is complete.
        reputation.add(self.session, [p.user_id for p in trade.parties], "completed_trades")
        event = self._event(trade, None, "completed")
        self._tell(trade, event, "completed")

    def _receiving_have(self, item: TradeItem) -> int | None:
        """The receiver's Have the item's copies will join, if they have one."""
        return self.session.scalar(
            select(Have.id).where(
                Have.user_id == item.receiver_id,
                Have.pin_id == item.pin_id,
                Have.condition == item.condition,
                Have.defects == item.defects,
            )
        )

    def _arrive(self, trade: Trade, item: TradeItem) -> None:
        """The received copies join the receiver's Haves and the Want they fill
        closes (as for a delivered purchase)."""
        receive_copies(
            self.session, item.receiver_id, item.pin_id, item.quantity, item.condition,
            defects=item.defects, note=f"Received in trade #{trade.id}.",
        )  # fmt: skip

    def cancel(self, user: User, trade_id: int, reason: str | None = None) -> Trade:
        """Call off an agreed trade before anything is posted: copies are released
        and everyone is told."""
        trade = self._locked(user, trade_id)
        self._require(trade, "accepted")
        if any(p.shipped_at is not None for p in trade.parcels):
            raise Conflict(
                _("A parcel is already on its way; open a dispute instead of cancelling.")
            )
        text = check_note(reason)
        release_terms(self.session, trade)
        trade.status = "cancelled"
        trade.closed_at = utcnow()
        trade.close_reason = text or None
        event = self._event(trade, user, "cancelled", text)
        self._tell(trade, event, "cancelled", actor=user)
        return trade

    def dispute(self, user: User, trade_id: int, reason: str | None = None) -> Trade:
        """Something went wrong after posting: the trade freezes (copies stay held)
        and the moderators are told."""
        trade = self._locked(user, trade_id)
        self._require(trade, "accepted")
        if not any(p.shipped_at is not None for p in trade.parcels):
            raise Conflict(_("Nothing has been posted yet; cancel the trade instead."))
        text = check_note(reason)
        if not text:
            raise DomainError(_("Say what went wrong, for the moderator."), field="reason")
        trade.status = "disputed"
        trade.disputed_at = utcnow()
        event = self._event(trade, user, "disputed", text)
        self._tell(trade, event, "disputed", actor=user)
        moderators = list(self.session.scalars(select(User.id).where(User.is_moderator.is_(True))))
        self._tell(trade, event, "dispute_moderator", to=moderators)
        return trade
