"""What the clock does to trades, run by beat: unanswered proposals expire (a
ring dissolves and its members are told) and parties late to post or to confirm a
parcel are reminded."""

from __future__ import annotations

import logging

from marketplace.core.registry import find_service
from marketplace.core.tasks import db_task
from marketplace.trades.operations import Trades

log = logging.getLogger(__name__)


@db_task("expire_trades", max_retries=3, time_limit=300)
def expire_trades() -> int:
    """Beat: close proposals whose deadline passed."""
    expired = find_service(Trades).expire_due()
    if expired:
        log.info("expired %d trade proposals", expired)
    return expired


@db_task("remind_late_trades", max_retries=3, time_limit=300)
def remind_late_trades() -> int:
    """Beat: remind parties late to post or to confirm a parcel."""
    return find_service(Trades).remind_late()
