"""Collectors ready to trade (a verified account with a default postal address),
the trades service as views get it, the copies that make a swap or a ring, and
a ring the nightly solve could have found (its proposal, legs and, for the
matches page, each member's cycle match)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import factory

from marketplace.accounts.models import Address, User
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.registry import find_service
from marketplace.lists.models import Have
from marketplace.matches.models import Match, MatchItem, TradeLeg, TradeProposal
from marketplace.trades.operations import Line, Trades
from tests.support.factories import (
    HaveFactory,
    ModelFactory,
    PinFactory,
    UserFactory,
    WantFactory,
)


class AddressFactory(ModelFactory):
    """A default postal address for `user`."""

    class Meta:
        model = Address

    class Params:
        user = factory.SubFactory(UserFactory)

    user_id = factory.SelfAttribute("user.id")
    name = factory.LazyAttribute(lambda o: o.user.display_name)
    line1 = factory.Sequence(lambda n: f"ул. Ленина, д. {n + 1}")
    city = "Tallinn"
    postal_code = "10111"
    country = "EE"
    is_default = True


def trader(name: str, email: str | None = None) -> User:
    """A collector with a verified account and a default address."""
    user: User = UserFactory(display_name=name, email=email or f"{name.lower()}@example.org")
    AddressFactory(user=user, name=name)
    return user


def trades() -> Trades:
    service: Trades = find_service(Trades)
    return service


def copy_of(user: User, quantity: int = 1, **fields: Any) -> Have:
    """A tradeable copy of a fresh pin in `user`'s Haves."""
    have: Have = HaveFactory(user=user, pin=PinFactory(), quantity=quantity, **fields)
    return have


def lines(*haves: Have, quantity: int = 1) -> list[Line]:
    return [Line(h.id, quantity) for h in haves]


def proposed_ring(
    members: list[User], *, matches: bool = False
) -> tuple[TradeProposal, list[Have]]:
    """A cycle as the global solve proposes it: each member gives a fresh copy to
    the next, who wants it. `matches` also stores each member's cycle match (what
    the matches page shows, with its "Review the ring" button)."""
    copies = [copy_of(m) for m in members]
    proposal = TradeProposal(
        signature=f"ring-{members[0].id}",
        members=[m.id for m in members],
        expires_at=utcnow() + timedelta(days=7),
    )
    wants = []
    for n, giver in enumerate(members):
        receiver = members[(n + 1) % len(members)]
        want = WantFactory(user=receiver, wanted=copies[n].pin)
        wants.append(want)
        proposal.legs.append(
            TradeLeg(position=n, giver_id=giver.id, receiver_id=receiver.id,
                     have_id=copies[n].id, want_id=want.id, pin_id=copies[n].pin_id)
        )  # fmt: skip
    db.session.add(proposal)
    db.session.flush()
    if matches:
        for n, member in enumerate(members):
            before = (n - 1) % len(members)
            match = Match(user_id=member.id, kind="cycle", key=f"cycle:{proposal.id}",
                          proposal_id=proposal.id, score=1.0)  # fmt: skip
            match.items = [
                MatchItem(direction="give", position=0, have_id=copies[n].id,
                          want_id=wants[n].id, pin_id=copies[n].pin_id),
                MatchItem(direction="receive", position=0, have_id=copies[before].id,
                          want_id=wants[before].id, pin_id=copies[before].pin_id),
            ]  # fmt: skip
            db.session.add(match)
        db.session.flush()
    return proposal, copies
