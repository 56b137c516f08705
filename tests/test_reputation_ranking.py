"""Reputation in ranking: between otherwise equal swaps, the partner with completed
trades and positive feedback ranks first after a refresh, the explanation says
so, and the API carries the term; coverage still decides first. Between equally
good rings, the global solve picks the one with the more trusted members."""

from __future__ import annotations

from typing import Any

import pytest
from flask import current_app
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.accounts import reputation
from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.lists.operations import Lists
from marketplace.matches import queries
from marketplace.matches import solve as solving
from marketplace.matches.models import Match, TradeProposal
from marketplace.matches.refresh import MatchLimits, refresh_collector
from tests.support.catalogue import make_pin
from tests.support.factories import make_user
from tests.support.web import api_token, bearer

pytestmark = pytest.mark.usefixtures("app_ctx")


def _refresh(user: User) -> list[Match]:
    """Refresh `user`'s matches; their active swaps as the pages list them."""
    refresh_collector(db.session(), user.id, MatchLimits.from_config(current_app.config))
    page = queries.matches_for(db.session(), user.id, kind="swap", active=True)
    return list(page.items)


def _reasons(found: Match) -> list[str]:
    reasons: list[str] = queries.shown(db.session(), [found])[0].explanation["reasons"]
    return reasons


def _make_trusted(user: User, by: int = 1) -> None:
    """Four completed trades and three positive ratings (or, with by=-1, none)."""
    reputation.add(db.session(), [user.id], "completed_trades", by=4 * by)
    reputation.add(db.session(), [user.id], "positive", by=3 * by)


def _equal_swaps() -> tuple[User, User, User]:
    """Anna has a Gagarin and wants a Vostok; Boris and Vera each have the same
    Vostok in the same condition and want a Gagarin: two equal swaps for her."""
    anna, boris, vera = (
        make_user(f"{n.lower()}@example.org", name=n) for n in ("Anna", "Boris", "Vera")
    )
    gagarin, vostok = make_pin(title_en="Gagarin 1961"), make_pin(title_en="Vostok")
    lists = Lists(db.session())
    lists.add_have(anna, gagarin.id, condition="excellent")
    lists.add_want(anna, pin_id=vostok.id, priority=4)
    for partner in (boris, vera):
        lists.add_have(partner, vostok.id, condition="very_fine")
        lists.add_want(partner, pin_id=gagarin.id, priority=3)
    return anna, boris, vera


def test_reputation_moves_a_swap_above_an_equal_one() -> None:
    anna, boris, vera = _equal_swaps()
    _make_trusted(vera)
    first, second = _refresh(anna)
    assert (first.counterpart_id, second.counterpart_id) == (vera.id, boris.id)
    assert first.coverage == second.coverage and first.balance == second.balance
    assert first.reputation is not None and first.reputation > 0 and second.reputation == 0
    assert any("Reputation" in r and "completed trades" in r for r in _reasons(first))
    assert any("No completed trades or feedback yet" in r for r in _reasons(second))

    # Flip the reputations: the order flips.
    _make_trusted(vera, by=-1)
    _make_trusted(boris)
    first, second = _refresh(anna)
    assert (first.counterpart_id, second.counterpart_id) == (boris.id, vera.id)
    assert any("Reputation" in r for r in _reasons(first))


def test_reputation_never_beats_filling_more_wants() -> None:
    anna, boris, vera = _equal_swaps()
    # Boris also has a second pin Anna wants (a 1-star want) and takes two.
    badge = make_pin(title_en="Komsomol badge")
    lists = Lists(db.session())
    lists.add_want(anna, pin_id=badge.id, priority=1)
    lists.add_have(boris, badge.id, condition="fine")
    reputation.add(db.session(), [vera.id], "completed_trades", by=500)
    reputation.add(db.session(), [vera.id], "positive", by=500)
    first, second = _refresh(anna)
    assert first.counterpart_id == boris.id and first.coverage > second.coverage


def test_the_api_shows_the_reputation_term(client: FlaskClient) -> None:
    anna, _, vera = _equal_swaps()
    _make_trusted(vera)
    _refresh(anna)
    token = api_token(anna)
    found: list[dict[str, Any]] = client.get(
        "/api/v1/me/matches?kind=swap", headers=bearer(token)
    ).json
    assert found[0]["counterpart"]["id"] == vera.id
    assert found[0]["reputation"] == found[0]["explanation"]["reputation"] > 0
    assert found[1]["reputation"] == 0
    spec = client.get("/api/v1/openapi.json").json
    assert "reputation" in spec["components"]["schemas"]["MatchOut"]["properties"]


def _competing_rings() -> tuple[User, User, User, User]:
    """Anna → Boris → (Clara or Dina) → Anna: Boris has one copy that Clara and
    Dina both want, and both have the pin Anna wants: two equally good rings, of
    which only one can happen."""
    anna, boris, clara, dina = (
        make_user(f"{n.lower()}@example.org", name=n) for n in ("Anna", "Boris", "Clara", "Dina")
    )
    mine, his, wanted = (make_pin(title_en=f"Ring pin {n}") for n in range(3))
    lists = Lists(db.session())
    lists.add_have(anna, mine.id)
    lists.add_want(anna, pin_id=wanted.id, priority=4)
    lists.add_have(boris, his.id)
    lists.add_want(boris, pin_id=mine.id, priority=4)
    for third in (clara, dina):
        lists.add_have(third, wanted.id)
        lists.add_want(third, pin_id=his.id, priority=4)
    return anna, boris, clara, dina


def _ring_members() -> list[int]:
    planned = solving.run_global_solve(db.session(), cap=3, time_limit=10)
    for members in planned.components:
        solving.solve_component(db.session(), planned.run_id, members, time_limit=10)
    proposal = db.session.scalars(
        select(TradeProposal)
        .where(TradeProposal.status == "proposed")
        .order_by(TradeProposal.id.desc())
    ).first()
    assert proposal is not None
    return sorted(proposal.members)


def test_rings_prefer_members_with_completed_trades() -> None:
    anna, boris, clara, dina = _competing_rings()
    for trusted in (dina, clara):
        _make_trusted(trusted)
        assert _ring_members() == sorted([anna.id, boris.id, trusted.id])
        _make_trusted(trusted, by=-1)
    cycle = db.session.scalars(
        select(Match).where(Match.user_id == anna.id, Match.kind == "cycle", Match.active)
    ).one()
    assert any("prefers members with completed trades" in r for r in _reasons(cycle))
