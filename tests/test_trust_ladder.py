"""The trust ladder in trades: a new member keeps at most NEW_MEMBER_OPEN_TRADES
open trades of their own choosing; trading with an established member, the new
member posts first — the pages say so and the established member's "posted" is
refused until the new member's parcel is posted; rings that mix do the same."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from marketplace.accounts import reputation
from marketplace.accounts.models import User
from marketplace.core.errors import Conflict
from marketplace.core.extensions import db
from tests.support.feedback import completed_swap
from tests.support.trades import copy_of, lines, proposed_ring, trader, trades
from tests.support.web import api_token, bearer, login


@pytest.fixture()
def ladder(app_ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """The production allowances: established after 3 trades, 2 open trades."""
    monkeypatch.setitem(app_ctx.config, "ESTABLISHED_AFTER_TRADES", 3)
    monkeypatch.setitem(app_ctx.config, "NEW_MEMBER_OPEN_TRADES", 2)
    return app_ctx


def established(name: str) -> User:
    user = trader(name)
    reputation.add(db.session(), [user.id], "completed_trades", by=3)
    return user


def _offer(a: User, b: User) -> int:
    return trades().propose(a, b.id, give=lines(copy_of(a)), take=lines(copy_of(b))).id


@pytest.mark.usefixtures("ladder")
def test_a_new_member_has_at_most_two_open_trades_of_their_choosing() -> None:
    ivan, olga, anna, boris = trader("Ivan"), trader("Olga"), trader("Anna"), trader("Boris")
    veteran = established("Vera")
    first, _ = _offer(ivan, olga), _offer(ivan, anna)
    with pytest.raises(Conflict, match="at most 2 open trades"):
        _offer(ivan, boris)
    # The established member is not limited; proposals waiting for a new
    # member's answer do not count against them until accepted.
    waiting = [_offer(veteran, olga) for _ in range(2)]
    trades().accept(olga, first)
    trades().accept(olga, waiting[0])
    with pytest.raises(Conflict, match="at most 2 open trades"):
        trades().accept(olga, waiting[1])
    # One trade finished frees a place.
    service = trades()
    for sender, receiver in ((ivan, olga), (olga, ivan)):
        service.ship(sender, first)
        service.receive(receiver, first)
    _offer(ivan, boris)


@pytest.mark.usefixtures("ladder")
def test_a_member_is_established_after_completing_enough_trades() -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    for _ in range(3):
        completed_swap(ivan, olga)
    for name in ("Anna", "Boris", "Dina"):
        _offer(ivan, trader(name))  # no longer limited


def test_the_new_member_posts_first_and_the_pages_say_so(
    ladder: Flask, client: FlaskClient
) -> None:
    ivan, olga = trader("Ivan"), established("Olga")
    mine, theirs = copy_of(ivan), copy_of(olga)
    db.session.commit()
    as_ivan = client
    login(as_ivan, ivan.email)
    page = as_ivan.get(f"/trades/new?with={olga.id}").get_data(as_text=True)
    assert "As a new member you post first; Olga posts after your parcel is marked posted." in page

    trade = trades().propose(ivan, olga.id, give=lines(mine), take=lines(theirs))
    trades().accept(olga, trade.id)
    assert {p.user_id: p.ships_first for p in trade.parties} == {ivan.id: True, olga.id: False}
    db.session.commit()
    page = as_ivan.get(f"/trades/{trade.id}").get_data(as_text=True)
    assert "As a new member you post first; Olga posts after your parcel is marked posted." in page
    as_olga = ladder.test_client()
    login(as_olga, olga.email)
    page = as_olga.get(f"/trades/{trade.id}").get_data(as_text=True)
    assert "Ivan is a new member and posts first; you post after their parcel" in page

    with pytest.raises(Conflict, match="Ivan is a new member and posts first"):
        trades().ship(olga, trade.id)
    trades().ship(ivan, trade.id)
    trades().ship(olga, trade.id)
    assert all(p.shipped_at is not None for p in trade.parcels)


@pytest.mark.usefixtures("ladder")
def test_two_new_members_or_two_established_ones_post_when_ready() -> None:
    for a, b in ((trader("Ivan"), trader("Olga")), (established("Anna"), established("Boris"))):
        trade = trades().accept(b, _offer(a, b))
        assert not any(p.ships_first for p in trade.parties)
        trades().ship(b, trade.id)


@pytest.mark.usefixtures("ladder")
def test_in_a_mixed_ring_the_new_members_post_first() -> None:
    members = [trader("Ivan"), trader("Olga"), established("Vera")]
    proposal, _ = proposed_ring(members)
    ring = trades().open_ring(members[0], proposal.id)
    for member in members:
        trades().accept(member, ring.id)
    assert [p.ships_first for p in ring.parties] == [True, True, False]
    trades().ship(members[0], ring.id)
    with pytest.raises(Conflict, match="Olga is a new member"):
        trades().ship(members[2], ring.id)
    trades().ship(members[1], ring.id)
    trades().ship(members[2], ring.id)


def test_the_api_names_who_posts_first_and_refuses_the_limit(
    ladder: Flask, client: FlaskClient
) -> None:
    ivan, olga = trader("Ivan"), established("Olga")
    trade = trades().propose(ivan, olga.id, give=lines(copy_of(ivan)), take=lines(copy_of(olga)))
    trades().accept(olga, trade.id)
    _offer(ivan, trader("Anna"))
    boris = trader("Boris")
    offered = copy_of(boris).id
    as_ivan, as_olga = bearer(api_token(ivan)), bearer(api_token(olga))
    seen = client.get(f"/api/v1/trades/{trade.id}", headers=as_olga).json
    assert {p["user_id"]: p["ships_first"] for p in seen["parties"]} == {
        ivan.id: True, olga.id: False
    }  # fmt: skip
    refused = client.post(f"/api/v1/trades/{trade.id}/ship", json={}, headers=as_olga)
    assert refused.status_code == 409 and "posts first" in refused.json["detail"]
    third = client.post(
        "/api/v1/trades",
        json={"counterpart_id": boris.id, "take": [{"have_id": offered}]},
        headers=as_ivan,
    )
    assert third.status_code == 409 and "at most 2 open trades" in third.json["detail"]
