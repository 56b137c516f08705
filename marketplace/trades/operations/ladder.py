"""The trust ladder in trades: a new member (fewer completed trades than
`established_after`) keeps at most `new_member_open` open trades of their own
choosing at once, and posts first when trading with an established member, who
may mark their own parcel posted only after the new member's is.

"Of their own choosing": trades they proposed, countered or accepted. A
proposal waiting for their answer does not count until they accept it, so
others cannot fill a new member's allowance for them.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import ngettext
from sqlalchemy import func, select

from marketplace.accounts import reputation
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict
from marketplace.trades.models import LIVE_STATUSES, Trade, TradeParty
from marketplace.trades.operations.base import TradeJobs


class Ladder(TradeJobs):
    def new_members(self, user_ids: Iterable[int]) -> set[int]:
        """Which of these collectors are still new."""
        found = reputation.standings(self.session, user_ids)
        after = self.settings.established_after
        return {i for i, s in found.items() if not s.is_established(after)}

    def ships_first(self, user_ids: Iterable[int]) -> set[int]:
        """Who posts first among these trading partners: the new members, when
        at least one established member trades with them (all new, or all
        established: everyone posts when ready)."""
        ids = set(user_ids)
        new = self.new_members(ids)
        return new if new and new != ids else set()

    def _check_open_limit(self, user: User, *, exclude: int | None = None) -> None:
        """Refuse a new member one more open trade beyond their allowance."""
        if not self.new_members([user.id]):
            return
        # Two proposals by the same member at once count one after the other
        # (NO KEY UPDATE: foreign keys to the row are not held up).
        self.session.scalar(
            select(User.id).where(User.id == user.id).with_for_update(key_share=True)
        )
        query = (
            select(func.count())
            .select_from(TradeParty)
            .join(Trade, Trade.id == TradeParty.trade_id)
            .where(
                TradeParty.user_id == user.id,
                TradeParty.accepted_version.is_not(None),
                Trade.status.in_(LIVE_STATUSES),
            )
        )
        if exclude is not None:
            query = query.where(Trade.id != exclude)
        open_now = self.session.scalar(query) or 0
        limit = self.settings.new_member_open
        if open_now >= limit:
            raise Conflict(
                ngettext(
                    "As a new member you can have at most %(num)d open trade at once "
                    "until you have completed %(done)d; you have %(open)d. "
                    "Finish or withdraw one first.",
                    "As a new member you can have at most %(num)d open trades at once "
                    "until you have completed %(done)d; you have %(open)d. "
                    "Finish or withdraw one first.",
                    limit,
                    done=self.settings.established_after,
                    open=open_now,
                )
            )

    def _mark_ships_first(self, trade: Trade) -> None:
        first = self.ships_first(p.user_id for p in trade.parties)
        for party in trade.parties:
            party.ships_first = party.user_id in first

    def _check_may_post(self, trade: Trade, user: User) -> None:
        """An established member posts after every new member's parcel is posted."""
        party = trade.party(user.id)
        if party is None or party.ships_first:
            return
        first = {p.user_id for p in trade.parties if p.ships_first}
        waiting = sorted(
            {p.giver_id for p in trade.parcels if p.giver_id in first and p.shipped_at is None}
        )
        if waiting:
            names = ", ".join(p.user.display_name for p in trade.parties if p.user_id in waiting)
            raise Conflict(
                ngettext(
                    "%(names)s is a new member and posts first; "
                    "you post after their parcel is marked posted.",
                    "%(names)s are new members and post first; "
                    "you post after their parcel is marked posted.",
                    len(waiting),
                    names=names,
                )
            )
