"""The verbs on trades, one job per module, mixed into one `Trades` service:

* `terms` — which copies go each way, checked against the lists as they are now;
* `negotiation` — propose, counter, accept, decline, withdraw; rings opened from
  the solve's cycles;
* `holding` — the trade's side of the shared reservation ledger;
* `carrying` — posted, received, completed (the lists follow), cancelled, disputed;
* `deadlines` — expiry of unanswered proposals and reminders to late parties;
* `ladder` — the trust ladder: new members' open trades, and who posts first.

Each verb takes the acting collector, checks they are a party (404 otherwise) and
that it is their turn (409), flushes, and tells the parties; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from marketplace.notifications.operations import Notifier
from marketplace.trades.operations.base import TradeSettings
from marketplace.trades.operations.carrying import Carrying
from marketplace.trades.operations.deadlines import Deadlines
from marketplace.trades.operations.negotiation import Negotiation
from marketplace.trades.operations.terms import Line

__all__ = ["Line", "TradeSettings", "Trades"]


class Trades(Negotiation, Carrying, Deadlines):
    """Every verb on trades over one session."""

    @classmethod
    def configured(
        cls, session: Session, notifier: Notifier, config: Mapping[str, Any], base_url: str
    ) -> Trades:
        return cls(
            session,
            notifier,
            TradeSettings(
                base_url=base_url,
                proposal_days=int(config.get("TRADE_PROPOSAL_DAYS", 7)),
                ring_days=int(config.get("RING_DEADLINE_DAYS", 7)),
                reminder_days=int(config.get("TRADE_REMINDER_DAYS", 7)),
                established_after=int(config.get("ESTABLISHED_AFTER_TRADES", 3)),
                new_member_open=int(config.get("NEW_MEMBER_OPEN_TRADES", 2)),
            ),
        )
