"""Blocking: a blocked pair never sees each other in matches (page and API, both
ways, however often matching runs), cannot propose, counter or accept a swap nor
open a ring together; unblocking brings their matches back with the next refresh.
The blocks page and API list, make and lift blocks."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select

from marketplace.accounts import blocks
from marketplace.accounts.models import User
from marketplace.core.errors import Forbidden
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.lists.operations import Lists
from marketplace.matches import queries
from marketplace.matches.models import Match, SolveRun, TradeProposal
from marketplace.notifications.models import Notification
from marketplace.notifications.operations import Notifier
from marketplace.trades.models import Trade
from tests.support.catalogue import make_pin
from tests.support.reports import (
    active_swap,
    api_counterparts,
    page_shows,
    refresh_matches,
    signed_in,
    swap_between,
)
from tests.support.trades import copy_of, lines, proposed_ring, trader, trades
from tests.support.web import api_token, bearer, csrf_from, post_form


def matched_pair() -> tuple[User, User]:
    anna, boris = trader("Anna"), trader("Boris")
    swap_between(anna, boris)
    refresh_matches(anna)
    assert active_swap(anna, boris) is not None and active_swap(boris, anna) is not None
    return anna, boris


def block_on_page(app: Flask, blocker: User, blocked: User) -> None:
    """Press "Block" on the swap card of the matches page."""
    client = signed_in(app, blocker)
    html = client.get("/matches").get_data(as_text=True)
    assert f'name="user_id" value="{blocked.id}"' in html
    response = client.post(
        "/account/blocks",
        data={"csrf_token": csrf_from(html), "user_id": blocked.id, "next": "/matches"},
    )
    assert response.status_code == 303 and response.headers["Location"] == "/matches"


def test_neither_sees_the_other_in_matches_after_a_block(app_ctx: Flask) -> None:
    anna, boris = matched_pair()
    anna_web, boris_web = signed_in(app_ctx, anna), signed_in(app_ctx, boris)
    anna_token, boris_token = api_token(anna), api_token(boris)
    assert page_shows(anna_web, "Boris") and page_shows(boris_web, "Anna")
    assert api_counterparts(anna_web, anna_token) == {boris.id}
    assert api_counterparts(boris_web, boris_token) == {anna.id}

    block_on_page(app_ctx, anna, boris)

    # The stored matches turn inactive at once, both sides.
    assert active_swap(anna, boris) is None and active_swap(boris, anna) is None
    for _ in range(2):  # and a refresh that finds the swap again shows nothing
        assert not page_shows(anna_web, "Boris") and not page_shows(boris_web, "Anna")
        assert api_counterparts(anna_web, anna_token) == set()
        assert api_counterparts(boris_web, boris_token) == set()
        refresh_matches(anna, boris)


def test_a_blocked_counterparts_match_is_never_mailed(app_ctx: Flask) -> None:
    anna, boris = matched_pair()
    blocks.block(db.session(), boris.id, anna.id)
    refresh_matches(anna, boris)  # the pair is found again, and stored active
    assert active_swap(anna, boris) is not None
    notifier = find_service(Notifier)
    notifier.collect_matches(anna.id)
    notifier.collect_matches(boris.id)
    notes = db.session.scalars(select(Notification).where(Notification.kind == "swap")).all()
    assert [n for n in notes if n.status == "pending"] == []
    assert queries.matches_for(db.session(), anna.id).total == 0


def test_unblocking_brings_the_matches_back_after_a_refresh(app_ctx: Flask) -> None:
    anna, boris = matched_pair()
    anna_web, boris_web = signed_in(app_ctx, anna), signed_in(app_ctx, boris)
    boris_token = api_token(boris)
    made = boris_web.post(
        "/api/v1/me/blocks", json={"user_id": anna.id}, headers=bearer(boris_token)
    )
    assert made.status_code == 201 and made.json["user_id"] == anna.id
    assert not page_shows(anna_web, "Boris")

    gone = boris_web.delete(f"/api/v1/me/blocks/{anna.id}", headers=bearer(boris_token))
    assert gone.status_code == 204
    refresh_matches(anna, boris)
    assert page_shows(anna_web, "Boris") and page_shows(boris_web, "Anna")
    assert api_counterparts(boris_web, boris_token) == {anna.id}


def test_a_blocked_collector_cannot_propose_a_trade_page_or_api(app_ctx: Flask) -> None:
    anna, boris = matched_pair()
    mine, theirs = copy_of(anna), copy_of(boris)
    blocks.block(db.session(), anna.id, boris.id)
    db.session.commit()
    # Boris, blocked by Anna, proposes on the page: refused with the reason.
    boris_web = signed_in(app_ctx, boris)
    url = f"/trades/new?with={anna.id}"
    response = post_form(boris_web, url, {"give": [theirs.id], "take": [mine.id]})
    assert response.status_code == 403
    assert "blocked" in response.get_data(as_text=True)
    # Anna, who blocked, cannot propose to Boris through the API either.
    token = api_token(anna)
    body = {"counterpart_id": boris.id, "give": [{"have_id": mine.id, "quantity": 1}]}
    refused = boris_web.post("/api/v1/trades", json=body, headers=bearer(token))
    assert refused.status_code == 403, refused.json
    assert "blocked" in refused.json["detail"]
    assert db.session.scalar(select(Trade.id)) is None


def test_a_proposal_made_before_a_block_cannot_be_accepted_or_countered(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    mine, theirs = copy_of(anna), copy_of(boris)
    made = trades().propose(anna, boris.id, give=lines(mine), take=lines(theirs))
    blocks.block(db.session(), boris.id, anna.id)
    with pytest.raises(Forbidden):
        trades().accept(boris, made.id)
    with pytest.raises(Forbidden):
        trades().counter(boris, made.id, give=lines(theirs))
    assert db.session.get(Trade, made.id).status == "proposed"


def test_a_ring_with_a_blocked_pair_is_neither_shown_nor_opened(app_ctx: Flask) -> None:
    ivan, olga, vera = trader("Ivan"), trader("Olga"), trader("Vera")
    proposal, _ = proposed_ring([ivan, olga, vera], matches=True)
    assert queries.matches_for(db.session(), ivan.id, kind="cycle").total == 1
    blocks.block(db.session(), olga.id, vera.id)  # two others in Ivan's ring
    for member in (ivan, olga, vera):
        assert queries.matches_for(db.session(), member.id, kind="cycle").total == 0
    with pytest.raises(Forbidden):
        trades().open_ring(ivan, proposal.id)
    db.session.commit()
    response = signed_in(app_ctx, ivan).get(f"/trades/rings/{proposal.id}")
    assert response.status_code == 403


def test_the_blocks_page_lists_and_unblocks(app_ctx: Flask) -> None:
    anna, boris = matched_pair()
    block_on_page(app_ctx, anna, boris)
    client = signed_in(app_ctx, anna)
    html = client.get("/account/blocks").get_data(as_text=True)
    assert "Boris" in html and f"/account/blocks/{boris.id}/delete" in html
    response = post_form(client, f"/account/blocks/{boris.id}/delete", {}, page="/account/blocks")
    assert response.status_code == 303
    assert not blocks.is_blocked(db.session(), anna.id, boris.id)
    assert "You have not blocked anyone." in client.get("/account/blocks").get_data(as_text=True)
    # The collector's public page offers the Block button too.
    again = post_form(client, "/account/blocks", {"user_id": boris.id}, page="/account/blocks")
    assert again.status_code == 303 and blocks.is_blocked(db.session(), boris.id, anna.id)


def test_the_blocks_api(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    client, token = app_ctx.test_client(), api_token(anna)
    headers = bearer(token)
    assert (
        client.post("/api/v1/me/blocks", json={"user_id": boris.id}, headers=headers).status_code
        == 201
    )
    again = client.post("/api/v1/me/blocks", json={"user_id": boris.id}, headers=headers)
    assert again.status_code == 200 and again.json["display_name"] == "Boris"
    listed = client.get("/api/v1/me/blocks", headers=headers)
    assert [b["user_id"] for b in listed.json] == [boris.id]
    myself = client.post("/api/v1/me/blocks", json={"user_id": anna.id}, headers=headers)
    assert myself.status_code == 422 and "user_id" in myself.json["errors"]
    nobody = client.post("/api/v1/me/blocks", json={"user_id": 999999}, headers=headers)
    assert nobody.status_code == 404
    assert client.delete(f"/api/v1/me/blocks/{boris.id}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/me/blocks/{boris.id}", headers=headers).status_code == 404
    assert client.get("/api/v1/me/blocks").status_code == 401


def test_the_global_solve_proposes_no_ring_with_a_blocked_pair(app_ctx: Flask) -> None:
    from marketplace.matches import solve as solving

    anna, boris, clara = trader("Anna"), trader("Boris"), trader("Clara")
    lists = Lists(db.session())
    pins = [make_pin(title_en=f"Loop pin {n}") for n in range(3)]
    for n, person in enumerate((anna, boris, clara)):  # Anna → Boris → Clara → Anna
        lists.add_have(person, pins[n].id)
        lists.add_want(person, pin_id=pins[(n - 1) % 3].id)
    blocks.block(db.session(), clara.id, anna.id)
    planned = solving.run_global_solve(db.session(), cap=3, time_limit=10)
    for members in planned.components:
        solving.solve_component(db.session(), planned.run_id, members)
    run = db.session.get(SolveRun, planned.run_id)
    assert run is not None and run.status == "finished" and run.proposals == 0
    assert db.session.scalar(select(func.count(TradeProposal.id))) == 0
    assert db.session.scalar(select(func.count(Match.id)).where(Match.kind == "cycle")) == 0
