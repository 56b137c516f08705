"""Agreeing on a trade: a swap proposed, countered (each counter a new version,
every version kept), accepted, declined or withdrawn; a ring opened from a cycle the
global solve found, which every member must accept before its deadline.

Whose turn it is: in a swap the author of the current version waits and the other
collector answers; in a ring every member who has not accepted answers. The last
acceptance holds every copy of the terms in one transaction, or none, and says
which copy is gone.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.blocks import any_blocked, is_blocked
from marketplace.accounts.models import User
from marketplace.catalogue.titles import display_title
from marketplace.core.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.core.i18n import N_
from marketplace.core.models import utcnow
from marketplace.lists.grades import condition_name
from marketplace.lists.models import Have
from marketplace.matches.models import TradeProposal
from marketplace.trades.models import Trade, TradeItem, TradeParcel, TradeParty, TradeVersion
from marketplace.trades.operations.holding import hold_terms
from marketplace.trades.operations.ladder import Ladder
from marketplace.trades.operations.terms import Line, check_note, checked_terms, items_of

# Marked here, translated where they are raised (the reader's language then).
RING_GONE = N_("This ring is no longer on offer.")
BLOCKED = N_("You cannot trade with this collector: one of you has blocked the other.")
RING_BLOCKED = N_("This ring cannot go ahead: two of its collectors have blocked each other.")


class Negotiation(Ladder):
    # -- swaps ------------------------------------------------------------------------

    def propose(
        self, user: User, counterpart_id: int, *, give: Iterable[Line] = (),
        take: Iterable[Line] = (), note: str | None = None, address_id: int | None = None,
    ) -> Trade:  # fmt: skip
        """Offer `give` (your copies) for `take` (theirs). You accept your own terms
        by proposing them; the other collector answers."""
        counterpart = self.session.get(User, counterpart_id)
        if counterpart is None or not counterpart.is_active:
            raise NotFound(_("There is no such collector."), field="counterpart_id")
        if counterpart.id == user.id:
            raise DomainError(_("A trade needs another collector."), field="counterpart_id")
        if is_blocked(self.session, user.id, counterpart.id):
            raise Forbidden(_(BLOCKED), field="counterpart_id")
        text = check_note(note)
        given = checked_terms(self.session, user, give, asking=False, field="give")
        taken = checked_terms(self.session, counterpart, take, asking=True, field="take")
        if not given and not taken:
            raise DomainError(_("Choose at least one copy to give or to ask for."), field="give")
        ship_to = self.addresses.ship_to(user, address_id)
        self._check_open_limit(user)
        now = utcnow()
        trade = Trade(
            kind="swap",
            status="proposed",
            proposer_id=user.id,
            version=1,
            created_at=now,
            expires_at=now + self.settings.proposal_lifetime,
        )
        trade.parties = [
            TradeParty(user_id=user.id, position=0, accepted_version=1, accepted_at=now,
                       ship_to=ship_to),
            TradeParty(user_id=counterpart.id, position=1),
        ]  # fmt: skip
        trade.versions = [TradeVersion(number=1, author_id=user.id, note=text, created_at=now)]
        self._mark_ships_first(trade)
        self.session.add(trade)
        self.session.flush()
        trade.items.extend(items_of(1, user, counterpart, given))
        trade.items.extend(items_of(1, counterpart, user, taken))
        self.session.flush()
        event = self._event(trade, user, "proposed", text)
        self._tell(trade, event, "proposed", actor=user)
        return trade

    def counter(
        self, user: User, trade_id: int, *, give: Iterable[Line] = (),
        take: Iterable[Line] = (), note: str | None = None, address_id: int | None = None,
    ) -> Trade:  # fmt: skip
        """New terms for a swap (yours to give, theirs to take): a new version that
        you accept by making it, and that the other collector now answers."""
        trade = self._locked(user, trade_id)
        self._require(trade, "proposed")
        if trade.kind == "ring":
            raise Conflict(_("A ring cannot be countered; accept or decline it."))
        self._check_open(trade)
        other_party = next(p for p in trade.parties if p.user_id != user.id)
        other = self.session.get(User, other_party.user_id)
        if other is None:
            raise Conflict(_("The other collector has left; this trade cannot go on."))
        if is_blocked(self.session, user.id, other.id):
            raise Forbidden(_(BLOCKED))
        text = check_note(note)
        given = checked_terms(self.session, user, give, asking=False, field="give")
        taken = checked_terms(self.session, other, take, asking=True, field="take")
        if not given and not taken:
            raise DomainError(_("Choose at least one copy to give or to ask for."), field="give")
        ship_to = self.addresses.ship_to(user, address_id)
        self._check_open_limit(user, exclude=trade.id)
        now = utcnow()
        trade.version += 1
        trade.versions.append(
            TradeVersion(number=trade.version, author_id=user.id, note=text, created_at=now)
        )
        self.session.flush()
        trade.items.extend(items_of(trade.version, user, other, given))
        trade.items.extend(items_of(trade.version, other, user, taken))
        for party in trade.parties:
            mine = party.user_id == user.id
            party.accepted_version = trade.version if mine else None
            party.accepted_at = now if mine else None
            if mine:
                party.ship_to = ship_to
        trade.expires_at = now + self.settings.proposal_lifetime
        event = self._event(trade, user, "countered", text)
        self._tell(trade, event, "countered", actor=user)
        return trade

    # -- answers ----------------------------------------------------------------------

    def _check_open(self, trade: Trade) -> None:
        if trade.expires_at <= utcnow():
            raise Conflict(_("The time to answer trade #%(id)d has run out.", id=trade.id))

    def _check_turn(self, trade: Trade, user: User) -> TradeParty:
        party = trade.party(user.id)
        assert party is not None
        if party.accepted_version == trade.version:
            waiting = [
                p.user.display_name for p in trade.parties if p.accepted_version != trade.version
            ]
            raise Conflict(
                _("You have accepted these terms; waiting for %(names)s.", names=", ".join(waiting))
            )
        return party

    def _check_not_blocked(self, trade: Trade) -> None:
        """No one agrees to a trade with a collector either of them blocked."""
        if any_blocked(self.session, (p.user_id for p in trade.parties)):
            raise Forbidden(_(BLOCKED) if trade.kind == "swap" else _(RING_BLOCKED))

    def accept(self, user: User, trade_id: int, address_id: int | None = None) -> Trade:
        """Accept the current terms. The last acceptance holds every copy, or none
        and the error names the copy that is gone."""
        trade = self._locked(user, trade_id)
        self._require(trade, "proposed")
        self._check_open(trade)
        party = self._check_turn(trade, user)
        self._check_not_blocked(trade)
        self._check_open_limit(user, exclude=trade.id)
        party.ship_to = self.addresses.ship_to(user, address_id)
        party.accepted_version = trade.version
        party.accepted_at = utcnow()
        self.session.flush()
        if any(p.accepted_version != trade.version for p in trade.parties):
            event = self._event(trade, user, "accepted")
            self._tell(trade, event, "accepted", actor=user)
            return trade
        gone = hold_terms(self.session, trade)
        if gone is not None:
            giver = self.session.get(User, gone.giver_id)
            values = {
                "id": str(gone.have_id or "?"),
                "pin": display_title(gone.pin, get_locale()),
                "grade": condition_name(gone.condition),
                "name": giver.display_name if giver else "?",
            }
            if trade.kind == "swap":
                message = _(
                    "Copy #%(id)s “%(pin)s” (%(grade)s) from %(name)s is no longer free, "
                    "so nothing was reserved. Counter with other copies, or decline.",
                    **values,
                )
            else:
                message = _(
                    "Copy #%(id)s “%(pin)s” (%(grade)s) from %(name)s is no longer free, "
                    "so nothing was reserved. The ring cannot go ahead as found.",
                    **values,
                )
            raise Conflict(message, field="have_id")
        trade.status = "accepted"
        trade.accepted_at = utcnow()
        self._mark_ships_first(trade)  # standings as they are now, when posting begins
        pairs = sorted({(i.giver_id, i.receiver_id) for i in trade.current_items()})
        trade.parcels.extend(TradeParcel(giver_id=g, receiver_id=r) for g, r in pairs)
        self.session.flush()
        event = self._event(trade, user, "accepted")
        self._tell(trade, event, "agreed")
        return trade

    def decline(self, user: User, trade_id: int, reason: str | None = None) -> Trade:
        """Say no: a swap ends, a ring dissolves; everyone is told."""
        trade = self._locked(user, trade_id)
        self._require(trade, "proposed")
        if trade.kind == "swap":
            self._check_turn(trade, user)
        text = check_note(reason)
        trade.status = "declined"
        trade.closed_at = utcnow()
        trade.close_reason = text or None
        event = self._event(trade, user, "declined", text)
        self._tell(trade, event, "declined", actor=user)
        return trade

    def withdraw(self, user: User, trade_id: int, reason: str | None = None) -> Trade:
        """The author of a swap's current terms takes them back before an answer."""
        trade = self._locked(user, trade_id)
        self._require(trade, "proposed")
        party = trade.party(user.id)
        assert party is not None
        if trade.kind == "ring" or party.accepted_version != trade.version:
            return self.decline(user, trade_id, reason)
        text = check_note(reason)
        trade.status = "cancelled"
        trade.closed_at = utcnow()
        trade.close_reason = text or None
        event = self._event(trade, user, "cancelled", text)
        self._tell(trade, event, "cancelled", actor=user)
        return trade

    # -- rings ------------------------------------------------------------------------

    def open_ring(self, user: User, proposal_id: int) -> Trade:
        """The ring trade for a cycle the solve proposed to `user`: made the first
        time any member opens it (one per cycle, however many open it at once)."""
        existing = self.session.scalar(
            select(Trade.id).where(Trade.ring_proposal_id == proposal_id)
        )
        if existing is not None:
            return self.get(user, existing)
        proposal = self.session.get(TradeProposal, proposal_id)
        now = utcnow()
        if (
            proposal is None
            or user.id not in proposal.members
            or proposal.status != "proposed"
            or proposal.expires_at <= now
            or len(set(proposal.members)) < 3  # two collectors: that is a swap
        ):
            raise NotFound(_(RING_GONE))
        if any_blocked(self.session, proposal.members):
            raise Forbidden(_(RING_BLOCKED))
        trade = Trade(
            kind="ring",
            status="proposed",
            ring_proposal_id=proposal.id,
            version=1,
            created_at=now,
            expires_at=min(proposal.expires_at, now + self.settings.ring_lifetime),
        )
        trade.parties = [
            TradeParty(user_id=member, position=n) for n, member in enumerate(proposal.members)
        ]
        self._mark_ships_first(trade)
        trade.versions = [TradeVersion(number=1, note=None, created_at=now)]
        try:
            with self.session.begin_nested():
                self.session.add(trade)
                self.session.flush()
                for leg in proposal.legs:
                    have = self.session.get(Have, leg.have_id) if leg.have_id else None
                    if have is None or have.user_id != leg.giver_id:
                        raise NotFound(_(RING_GONE))
                    trade.items.append(_ring_item(leg.giver_id, leg.receiver_id, have, leg.want_id))
                self.session.flush()
                # No words stored: the page says what a ring is in its reader's language.
                self._event(trade, None, "proposed")
        except IntegrityError:
            # Another member opened it at the same moment: theirs is the ring.
            existing = self.session.scalar(
                select(Trade.id).where(Trade.ring_proposal_id == proposal_id)
            )
            if existing is None:
                raise
            return self.get(user, existing)
        return trade


def _ring_item(giver_id: int, receiver_id: int, have: Have, want_id: int | None) -> TradeItem:
    return TradeItem(
        version=1,
        giver_id=giver_id,
        receiver_id=receiver_id,
        have_id=have.id,
        want_id=want_id,
        pin_id=have.pin_id,
        condition=have.condition,
        defects=have.defects,
        quantity=1,
    )
