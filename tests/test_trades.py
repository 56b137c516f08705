"""Trades through the service: a swap proposed, countered, accepted, posted and
received (the lists follow); a ring opened from a solve's cycle and accepted by
every member; the errors for copies that are not yours, not theirs or not free,
for acting out of turn and for strangers; cancelling and disputes; expiry and
reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.lists import reservations as ledger
from marketplace.lists.models import Condition, Have, Want
from marketplace.matches.models import TradeLeg, TradeProposal
from marketplace.notifications.models import Notification
from marketplace.trades import queries
from marketplace.trades.models import Trade
from tests.support.factories import UserFactory, WantFactory
from tests.support.trades import copy_of, lines, trader, trades

pytestmark = pytest.mark.usefixtures("app_ctx")


def _have(have_id: int) -> Have | None:
    db.session.expire_all()
    return db.session.get(Have, have_id)


def _swap() -> tuple[User, User, Have, Have, Trade]:
    ivan, olga = trader("Ivan"), trader("Olga")
    mine, theirs = copy_of(ivan), copy_of(olga)
    trade = trades().propose(ivan, olga.id, give=lines(mine), take=lines(theirs), note="Привет!")
    return ivan, olga, mine, theirs, trade


def test_a_swap_goes_from_proposal_to_completion_and_the_lists_follow() -> None:
    ivan, olga, mine, theirs, trade = _swap()
    WantFactory(user=olga, wanted=mine.pin)
    mine_id, theirs_id, mine_pin = mine.id, theirs.id, mine.pin_id
    service = trades()
    assert trade.status == "proposed"
    assert queries.actions_for(trade, olga.id) == ["accept", "counter", "decline"]
    assert queries.actions_for(trade, ivan.id) == ["counter", "cancel"]

    service.accept(olga, trade.id)
    assert trade.status == "accepted"
    assert _have(mine.id).reserved == 1 and _have(theirs.id).reserved == 1
    assert {(p.giver_id, p.receiver_id) for p in trade.parcels} == {
        (ivan.id, olga.id), (olga.id, ivan.id)
    }  # fmt: skip

    # Each sees only the address they post to.
    seen_by_ivan = queries.view(db.session(), trade, ivan.id)
    to_olga = next(p for p in seen_by_ivan.parcels if p.receiver_id == olga.id)
    to_ivan = next(p for p in seen_by_ivan.parcels if p.receiver_id == ivan.id)
    assert to_olga.address and to_olga.address[0] == "Olga" and to_ivan.address == []

    service.ship(ivan, trade.id, tracking="RA123456789EE")
    service.ship(olga, trade.id)
    service.receive(olga, trade.id)
    assert trade.status == "accepted"
    service.receive(ivan, trade.id)
    assert trade.status == "completed"

    left = db.session.execute(select(Have.id, Have.user_id, Have.pin_id)).all()
    assert (mine_id, ivan.id, mine_pin) not in left  # their only copies left
    assert all(row[0] != theirs_id or row[1] != olga.id for row in left)
    olga_has = db.session.scalars(select(Have).where(Have.user_id == olga.id)).all()
    assert [(h.pin_id, h.quantity, h.tradeable) for h in olga_has] == [(mine_pin, 1, False)]
    assert db.session.scalars(select(Want).where(Want.user_id == olga.id)).all() == []
    actions = [e.action for e in trade.events]
    assert actions == ["proposed", "accepted", "shipped", "shipped", "received", "received",
                       "completed"]  # fmt: skip


def test_a_counter_is_a_new_version_and_the_history_stays() -> None:
    ivan, olga, mine, theirs, trade = _swap()
    extra = copy_of(ivan, quantity=3)
    service = trades()
    service.counter(olga, trade.id, give=lines(theirs), take=lines(mine, extra), note="и ещё")
    assert trade.version == 2
    assert [v.author_id for v in trade.versions] == [ivan.id, olga.id]
    assert queries.actions_for(trade, ivan.id) == ["accept", "counter", "decline"]
    with pytest.raises(Conflict, match="waiting for Ivan"):
        service.accept(olga, trade.id)
    service.accept(ivan, trade.id)
    assert trade.status == "accepted"
    assert _have(extra.id).reserved == 1
    view = queries.view(db.session(), trade, olga.id)
    assert [len(v.items) for v in view.versions] == [2, 3]


def test_proposing_what_is_not_yours_not_theirs_or_not_free_is_refused() -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    stranger = copy_of(trader("Petr"))
    mine, theirs = copy_of(ivan), copy_of(olga, quantity=2)
    service = trades()
    with pytest.raises(Forbidden, match="not in your Haves"):
        service.propose(ivan, olga.id, give=lines(stranger), take=lines(theirs))
    with pytest.raises(NotFound, match="not in Olga's Haves"):
        service.propose(ivan, olga.id, give=lines(mine), take=lines(stranger))
    with pytest.raises(Conflict, match="Only 2"):
        service.propose(ivan, olga.id, give=lines(mine), take=lines(theirs, quantity=3))
    hidden = copy_of(olga, tradeable=False)
    with pytest.raises(Conflict, match="does not offer"):
        service.propose(ivan, olga.id, take=lines(hidden))
    with pytest.raises(DomainError, match="at least one"):
        service.propose(ivan, olga.id)
    assert db.session.scalars(select(Trade)).all() == []


def test_strangers_get_not_found_and_nobody_acts_out_of_turn() -> None:
    ivan, olga, _mine, theirs, trade = _swap()
    petr = trader("Petr")
    service = trades()
    for act in (service.accept, service.decline, service.withdraw):
        with pytest.raises(NotFound):
            act(petr, trade.id)
    with pytest.raises(Conflict):
        service.accept(ivan, trade.id)  # his own terms
    with pytest.raises(Conflict):
        service.ship(olga, trade.id)  # nothing agreed yet
    service.accept(olga, trade.id)
    with pytest.raises(Conflict):
        service.counter(olga, trade.id, give=lines(theirs))
    with pytest.raises(Conflict, match="Nothing has been posted"):
        service.dispute(olga, trade.id, "where is it")


def test_the_last_acceptance_reserves_everything_or_nothing_and_names_the_copy() -> None:
    ivan, olga, mine, theirs, trade = _swap()
    assert ledger.hold(db.session(), theirs.id, 1)  # a buyer's checkout holds it
    with pytest.raises(Conflict, match=f"Copy #{theirs.id}"):
        trades().accept(olga, trade.id)
    assert _have(mine.id).reserved == 0  # nothing held by the trade
    view = queries.view(db.session(), db.session.get(Trade, trade.id), ivan.id)
    assert [i.item.have_id for i in view.gone] == [theirs.id]


def test_cancel_before_posting_releases_and_a_dispute_after_posting_freezes() -> None:
    ivan, olga, mine, theirs, trade = _swap()
    moderator = UserFactory(moderator=True)
    service = trades()
    service.accept(olga, trade.id)
    service.cancel(ivan, trade.id, "lost the pin")
    assert trade.status == "cancelled"
    assert _have(mine.id).reserved == 0 and _have(theirs.id).reserved == 0

    again = service.propose(ivan, olga.id, give=lines(mine), take=lines(theirs))
    service.accept(olga, again.id)
    service.ship(ivan, again.id)
    with pytest.raises(Conflict, match="dispute"):
        service.cancel(olga, again.id)
    service.dispute(olga, again.id, "Arrived broken")
    assert again.status == "disputed" and _have(mine.id).reserved == 1
    told = db.session.scalars(
        select(Notification).where(Notification.user_id == moderator.id)
    ).all()
    assert len(told) == 1 and "disputed" in told[0].payload["title"]
    assert service.get(moderator, again.id).id == again.id  # the moderator can read it
    with pytest.raises(NotFound):
        service.receive(moderator, again.id)  # but never acts in it


def _ring(members: list[User]) -> tuple[TradeProposal, list[Have]]:
    copies = [copy_of(m) for m in members]
    proposal = TradeProposal(
        signature=f"ring-{members[0].id}",
        members=[m.id for m in members],
        expires_at=utcnow() + timedelta(days=7),
    )
    for n, giver in enumerate(members):
        receiver = members[(n + 1) % len(members)]
        want = WantFactory(user=receiver, wanted=copies[n].pin)
        proposal.legs.append(
            TradeLeg(position=n, giver_id=giver.id, receiver_id=receiver.id,
                     have_id=copies[n].id, want_id=want.id, pin_id=copies[n].pin_id)
        )  # fmt: skip
    db.session.add(proposal)
    db.session.flush()
    return proposal, copies


def test_a_ring_needs_every_member_and_completes_around_the_loop() -> None:
    members = [trader("Anna"), trader("Boris"), trader("Vera")]
    proposal, copies = _ring(members)
    copy_ids = [c.id for c in copies]
    pins = [c.pin_id for c in copies]
    service = trades()
    ring = service.open_ring(members[1], proposal.id)
    assert service.open_ring(members[2], proposal.id).id == ring.id  # one per cycle
    with pytest.raises(NotFound):
        service.open_ring(trader("Gleb"), proposal.id)
    with pytest.raises(Conflict, match="cannot be countered"):
        service.counter(members[0], ring.id, give=lines(copies[0]))
    service.accept(members[0], ring.id)
    service.accept(members[1], ring.id)
    assert ring.status == "proposed" and all(_have(c).reserved == 0 for c in copy_ids)
    service.accept(members[2], ring.id)
    assert ring.status == "accepted" and all(_have(c).reserved == 1 for c in copy_ids)
    for member in members:
        service.ship(member, ring.id)
    for member in members:
        service.receive(member, ring.id)
    assert ring.status == "completed"
    for n, member in enumerate(members):
        owned = db.session.scalars(select(Have.pin_id).where(Have.user_id == member.id)).all()
        assert owned == [pins[(n - 1) % 3]]


def test_one_decline_dissolves_a_ring_and_everyone_is_told() -> None:
    members = [trader("Anna"), trader("Boris"), trader("Vera")]
    proposal, _ = _ring(members)
    service = trades()
    ring = service.open_ring(members[0], proposal.id)
    service.accept(members[0], ring.id)
    service.decline(members[2], ring.id, "передумала")
    assert ring.status == "declined"
    told = [
        n.user_id
        for n in db.session.scalars(select(Notification).where(Notification.kind == "trade"))
        if "declined" in n.payload["title"]
    ]
    assert sorted(told) == sorted([members[0].id, members[1].id])


def test_unanswered_proposals_expire_and_late_parties_are_reminded(app: Flask) -> None:
    ivan, olga, mine, theirs, trade = _swap()
    service = trades()
    later = utcnow() + timedelta(days=8)
    assert service.expire_due(later) == 1
    assert trade.status == "expired"

    again = service.propose(ivan, olga.id, give=lines(mine), take=lines(theirs))
    service.accept(olga, again.id)
    assert service.remind_late(utcnow()) == 0  # not late yet
    assert service.remind_late(later) == 2  # both parcels wait to be posted
    assert service.remind_late(later + timedelta(days=1)) == 0  # once per period
    service.ship(ivan, again.id)
    assert service.remind_late(later + timedelta(days=20)) == 2  # Olga: receive and post


def test_promised_copies_cannot_be_removed_or_cut_below_the_promise() -> None:
    from marketplace.lists.operations import Lists

    ivan, olga, mine, _theirs, trade = _swap()
    trades().accept(olga, trade.id)
    with pytest.raises(Conflict, match="promised"):
        Lists(db.session()).delete_have(ivan, mine.id)
    with pytest.raises(Conflict, match="promised"):
        Lists(db.session()).update_have(ivan, mine.id, condition=Condition.MINT)
