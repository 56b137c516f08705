"""What the clock does to trades (run by beat tasks): proposals whose deadline
passed expire (a ring dissolves, and everyone is told), and parties late to post
or to confirm a parcel are reminded, at most once per reminder period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from marketplace.core.models import utcnow
from marketplace.trades.models import Trade, TradeParcel
from marketplace.trades.operations.base import TradeJobs

BATCH = 200


class Deadlines(TradeJobs):
    def expire_due(self, now: datetime | None = None) -> int:
        """Close proposals past their deadline; returns how many."""
        now = now or utcnow()
        ids = list(
            self.session.scalars(
                select(Trade.id)
                .where(Trade.status == "proposed", Trade.expires_at <= now)
                .order_by(Trade.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        for trade_id in ids:
            trade = self.session.get(Trade, trade_id)
            assert trade is not None
            trade.status = "expired"
            trade.closed_at = now
            waiting = [p.user.display_name for p in trade.parties
                       if p.accepted_version != trade.version]  # fmt: skip
            event = self._event(trade, None, "expired", "No answer from " + ", ".join(waiting))
            self._tell(trade, event, "expired")
        return len(ids)

    def remind_late(self, now: datetime | None = None) -> int:
        """Remind givers who have not posted, and receivers who have not confirmed,
        `reminder_days` after the trade was agreed or the parcel posted."""
        now = now or utcnow()
        cutoff = now - self.settings.reminder_after
        parcels = self.session.scalars(
            select(TradeParcel)
            .join(Trade, Trade.id == TradeParcel.trade_id)
            .where(
                Trade.status == "accepted",
                TradeParcel.received_at.is_(None),
                (TradeParcel.reminded_at.is_(None)) | (TradeParcel.reminded_at <= cutoff),
            )
            .order_by(TradeParcel.id)
            .limit(BATCH)
        ).all()
        sent = 0
        for parcel in parcels:
            trade = parcel.trade
            since = parcel.shipped_at or trade.accepted_at
            if since is None or since > cutoff:
                continue
            posted = parcel.shipped_at is not None
            who = parcel.receiver_id if posted else parcel.giver_id
            parcel.reminded_at = now
            event = self._event(trade, None, "reminded", "receive" if posted else "ship")
            self._tell(trade, event, "remind_receive" if posted else "remind_ship", to=[who])
            sent += 1
        return sent
