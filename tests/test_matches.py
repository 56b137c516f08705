"""Matches in the app: refreshing one collector's swaps and offers from the
database (both sides, conditions, variants, nothing they already have), matches
that lapse and come back, the notify events, the global solve's capped cycles,
the task bodies, and the page and API that show them."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, func, insert, select

from marketplace import create_app
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.outbox import OutboxMessage
from marketplace.lists.models import Condition
from marketplace.lists.operations import Lists
from marketplace.matches import queries, refresh, store
from marketplace.matches import solve as solving
from marketplace.matches.models import Match, SolveRun, TradeProposal
from marketplace.matches.refresh import MatchLimits
from marketplace.matches.store import Outcome
from tests.support.app import committed_database, make_settings, migrate
from tests.support.catalogue import make_pin
from tests.support.factories import make_user
from tests.support.web import bearer, login, token_for

NOTIFY = store.NOTIFY_TASK


def configured() -> MatchLimits:
    """The limits the app is configured with (as the refresh task reads them)."""
    return MatchLimits.from_config(current_app.config)


def refresh_collector(session: Any, user_id: int) -> Outcome:
    return refresh.refresh_collector(session, user_id, configured())


def refresh_changes(session: Any, user_id: int, **changes: Any) -> Outcome:
    return refresh.refresh_changes(session, user_id, limits=configured(), **changes)


def refresh_after_change(session: Any, user_id: int, **changes: Any) -> Outcome:
    return refresh.refresh_after_change(session, user_id, limits=configured(), **changes)


@pytest.fixture()
def match_config(app_ctx: Flask, monkeypatch: Any) -> Any:
    """Set the app's matching configuration (MATCH_SWAP_LIMIT, MATCH_OFFER_LIMIT,
    MATCH_SHORTLIST, MATCH_PROBES) for one test."""

    def configure(**values: int) -> None:
        for key, value in values.items():
            monkeypatch.setitem(app_ctx.config, key, value)

    return configure


def details(found: Match) -> dict[str, list[dict[str, Any]]]:
    """A match's pins as read: each way, an offer's as `offers`, a cycle's legs."""
    [view] = queries.shown(db.session(), [found])
    legs = view.cycle["legs"] if view.cycle else []
    return {"receive": view.receive, "give": view.give, "offers": view.receive, "legs": legs}


def explanation(found: Match) -> dict[str, Any]:
    return queries.shown(db.session(), [found])[0].explanation


def lists() -> Lists:
    return Lists(db.session())


def people(*names: str) -> list[Any]:
    return [make_user(f"{n.lower()}@example.org", name=n) for n in names]


def match(user: Any, kind: str, key: str) -> Match | None:
    return db.session.scalar(
        select(Match).where(Match.user_id == user.id, Match.kind == kind, Match.key == key)
    )


def notified() -> list[int]:
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.task == NOTIFY).order_by(OutboxMessage.id)
    )
    return [row.payload["user_id"] for row in rows]


@pytest.fixture(params=["probed", "indexed"])
def holders_read(request: pytest.FixtureRequest, match_config: Any) -> None:
    """Both ways PostgreSQL reads the holders' copies of my wanted pins: probed
    pair by pair, or (many holders times many wants) found from an index first."""
    if request.param == "indexed":
        match_config(MATCH_PROBES=0)


def swap_pair() -> tuple[Any, Any, Any, Any]:
    """Anna has a Gagarin and wants a Vostok; Boris the other way round."""
    anna, boris = people("Anna", "Boris")
    gagarin = make_pin(title_en="Gagarin 1961")
    vostok = make_pin(title_en="Vostok rocket")
    lists().add_have(anna, gagarin.id, condition="excellent")
    lists().add_want(anna, pin_id=vostok.id, priority=5)
    lists().add_have(boris, vostok.id, condition="very_fine")
    lists().add_want(boris, pin_id=gagarin.id, priority=2)
    return anna, boris, gagarin, vostok


def test_refresh_stores_the_swap_for_both_collectors(app_ctx: Flask, holders_read: None) -> None:
    anna, boris, gagarin, vostok = swap_pair()
    outcome = refresh_collector(db.session(), anna.id)
    assert len(outcome.new) == 2 and outcome.notified == {anna.id, boris.id}

    mine = match(anna, "swap", f"swap:{boris.id}")
    theirs = match(boris, "swap", f"swap:{anna.id}")
    assert mine is not None and theirs is not None
    assert mine.counterpart_id == boris.id and theirs.counterpart_id == anna.id
    assert [p["pin_id"] for p in details(mine)["receive"]] == [vostok.id]
    assert [p["pin_id"] for p in details(mine)["give"]] == [gagarin.id]
    assert details(mine)["receive"][0]["condition"] == "very_fine"
    assert details(mine)["receive"][0]["priority"] == 5
    assert details(theirs)["receive"] == details(mine)["give"]
    # Anna's want has 5 stars, Boris's 2: her swap ranks higher and says why.
    assert explanation(mine)["coverage"] == 16 and explanation(theirs)["coverage"] == 2
    assert explanation(mine)["balance"] == 1.0 and mine.score > theirs.score
    assert any("even swap" in r for r in explanation(mine)["reasons"])
    assert sorted(notified()) == sorted([anna.id, boris.id])


def test_minimum_condition_is_respected(app_ctx: Flask, holders_read: None) -> None:
    anna, boris = people("Anna", "Boris")
    gagarin, vostok = make_pin(), make_pin()
    lists().add_have(anna, gagarin.id)
    lists().add_want(anna, pin_id=vostok.id, min_condition="very_fine")
    worn = lists().add_have(boris, vostok.id, condition="good")
    lists().add_want(boris, pin_id=gagarin.id)
    refresh_collector(db.session(), anna.id)
    assert match(anna, "swap", f"swap:{boris.id}") is None
    assert match(anna, "offer", f"offer:{boris.id}") is None

    lists().add_have(boris, vostok.id, condition="mint")
    refresh_collector(db.session(), boris.id)
    found = match(anna, "swap", f"swap:{boris.id}")
    assert found is not None and found.active
    assert details(found)["receive"][0]["condition"] == "mint"
    assert details(found)["receive"][0]["have_id"] != worn.id


def test_any_variant_wants_and_nothing_already_held(app_ctx: Flask, holders_read: None) -> None:
    anna, boris, clara = people("Anna", "Boris", "Clara")
    red = make_pin(ref="OLY-80a", variant_group="OLY-80", title_en="Misha, red")
    blue = make_pin(ref="OLY-80b", variant_group="OLY-80", title_en="Misha, blue")
    spare = make_pin(title_en="Spare")
    lists().add_have(anna, red.id, tradeable=False)  # in her collection, not for trade
    lists().add_have(anna, spare.id)
    lists().add_want(anna, variant_group="OLY-80", priority=4)
    lists().add_have(boris, red.id)
    lists().add_have(boris, blue.id)
    lists().add_want(boris, pin_id=spare.id)
    lists().add_have(clara, red.id, price="5.00", currency="EUR", tradeable=False)
    dima = make_user("dima@example.org", name="Dima")
    lists().add_have(dima, blue.id, condition="poor")

    refresh_collector(db.session(), anna.id)
    swap = match(anna, "swap", f"swap:{boris.id}")
    assert swap is not None
    received = details(swap)["receive"]
    assert [p["pin_id"] for p in received] == [blue.id] and received[0]["any_variant"]
    # Boris's pins show in the swap; Dima, who wants nothing of hers, is an offer.
    assert match(anna, "offer", f"offer:{boris.id}") is None
    offer = match(anna, "offer", f"offer:{dima.id}")
    assert offer is not None and [p["pin_id"] for p in details(offer)["offers"]] == [blue.id]
    # Clara sells only the variant Anna already has: no offer.
    assert match(anna, "offer", f"offer:{clara.id}") is None


def test_priced_have_is_an_offer_not_a_swap(app_ctx: Flask, holders_read: None) -> None:
    anna, dima = people("Anna", "Dima")
    vostok, gagarin = make_pin(), make_pin()
    lists().add_have(anna, gagarin.id)
    lists().add_want(anna, pin_id=vostok.id, max_price="10.00", currency="EUR")
    lists().add_want(dima, pin_id=gagarin.id)
    lists().add_have(dima, vostok.id, price="8.50", currency="EUR", tradeable=False)
    refresh_collector(db.session(), anna.id)
    assert match(anna, "swap", f"swap:{dima.id}") is None
    offer = match(anna, "offer", f"offer:{dima.id}")
    assert offer is not None
    assert details(offer)["offers"][0]["price"] == "8.50"
    assert explanation(offer)["for_sale"] == 1

    lists().update_have(dima, details(offer)["offers"][0]["have_id"], price="12.00", currency="EUR")
    refresh_collector(db.session(), anna.id)
    lapsed = match(anna, "offer", f"offer:{dima.id}")
    assert lapsed is not None and not lapsed.active  # above her maximum price


def test_vanished_match_turns_inactive_and_comes_back_with_first_seen_kept(
    app_ctx: Flask,
) -> None:
    anna, boris, _gagarin, vostok = swap_pair()
    refresh_collector(db.session(), anna.id)
    first = match(anna, "swap", f"swap:{boris.id}")
    assert first is not None
    first_seen = first.first_seen_at
    notes_before = len(notified())

    have = next(h for h in lists().haves(boris.id, matches_filters()).items)
    lists().delete_have(boris, have.id)
    outcome = refresh_collector(db.session(), boris.id)
    assert len(outcome.deactivated) == 2
    gone = match(anna, "swap", f"swap:{boris.id}")
    assert gone is not None and not gone.active
    assert not match(boris, "swap", f"swap:{anna.id}").active  # type: ignore[union-attr]
    # Anna still has what Boris wants: that is now a one-way offer for him.
    assert match(boris, "offer", f"offer:{anna.id}").active  # type: ignore[union-attr]
    assert anna.id not in notified()[notes_before:]  # a vanished match tells nobody
    notes_before = len(notified())

    lists().add_have(boris, vostok.id, condition="fine")
    outcome = refresh_collector(db.session(), boris.id)
    assert len(outcome.reactivated) == 2 and not outcome.new
    assert not match(boris, "offer", f"offer:{anna.id}").active  # type: ignore[union-attr]
    back = match(anna, "swap", f"swap:{boris.id}")
    assert back is not None and back.active and back.first_seen_at == first_seen
    assert details(back)["receive"][0]["condition"] == "fine"
    assert sorted(notified()[notes_before:]) == sorted([anna.id, boris.id])


def test_unchanged_pins_are_recognised_by_their_fingerprint(app_ctx: Flask) -> None:
    """A refresh that finds the same pins neither reads nor writes `match_items`."""
    anna, boris, _gagarin, _vostok = swap_pair()
    refresh_collector(db.session(), anna.id)
    db.session.commit()
    swap = match(anna, "swap", f"swap:{boris.id}")
    assert swap is not None
    stored = store.stored_items(db.session(), [swap.id])[swap.id]
    assert swap.items_digest == store.items_digest(stored)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.session().get_bind()
    event.listen(engine, "before_cursor_execute", seen)
    try:
        outcome = refresh_collector(db.session(), anna.id)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert not (outcome.new or outcome.reactivated or outcome.changed or outcome.deactivated)
    assert statements and not [s for s in statements if "match_items" in s]
    assert store.stored_items(db.session(), [swap.id])[swap.id] == stored


def matches_filters() -> Any:
    from marketplace.lists.operations import ListFilters

    return ListFilters()


def test_notify_only_for_new_matches(app_ctx: Flask) -> None:
    anna, boris, *_ = swap_pair()
    refresh_collector(db.session(), anna.id)
    assert len(notified()) == 2
    again = refresh_collector(db.session(), anna.id)
    again_other_side = refresh_collector(db.session(), boris.id)
    assert not again.new and not again.reactivated and not again_other_side.new
    assert len(notified()) == 2


def test_task_refreshes_once_per_outbox_event(app_ctx: Flask) -> None:
    from marketplace.matches.tasks import refresh_collector_matches

    anna, boris, gagarin, vostok = swap_pair()
    event = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.task == "workers.tasks.refresh_collector_matches")
        .order_by(OutboxMessage.id.desc())
    ).first()
    # One event per collector and transaction, saying what changed.
    assert event is not None and event.payload == {
        "user_id": boris.id,
        "have_pins": [vostok.id],
        "want_pins": [gagarin.id],
        "want_groups": [],
    }
    changes = {k: v for k, v in event.payload.items() if k != "user_id"}
    assert refresh_collector_matches.run(boris.id, outbox_id=event.id, **changes).startswith(
        "2 new"
    )
    assert refresh_collector_matches.run(boris.id, outbox_id=event.id, **changes) == "skipped"
    assert match(anna, "swap", f"swap:{boris.id}") is not None


def test_task_passes_what_changed_to_the_incremental_refresh(app_ctx: Flask) -> None:
    from marketplace.matches.tasks import refresh_collector_matches

    anna, boris, gagarin, vostok = swap_pair()
    assert refresh_collector_matches.run(
        boris.id, have_pins=[vostok.id], want_pins=[gagarin.id], want_groups=[]
    ).startswith("2 new")
    assert match(anna, "swap", f"swap:{boris.id}").active  # type: ignore[union-attr]
    # `full` (an import, "delete all") refreshes everything: nothing new here.
    assert refresh_collector_matches.run(anna.id, full=True) == "0 new, 0 back, 0 gone"


def three_cycle() -> tuple[list[Any], list[Any]]:
    """Anna → Boris → Clara → Anna: nobody can swap two-way."""
    collectors = people("Anna", "Boris", "Clara")
    pins = [make_pin(title_en=f"Loop pin {n}") for n in range(3)]
    for n, person in enumerate(collectors):
        lists().add_have(person, pins[n].id)
        lists().add_want(person, pin_id=pins[(n - 1) % 3].id)
    return collectors, pins


def solve(cap: int) -> SolveRun:
    from marketplace.matches.tasks import solve_component

    planned = solving.run_global_solve(db.session(), cap=cap, time_limit=10)
    for number, members in enumerate(planned.components):
        event = db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.task == solving.COMPONENT_TASK)
            .order_by(OutboxMessage.id.desc())
        ).first()
        assert event is not None and event.payload["collector_ids"] == members
        solve_component.run(planned.run_id, number, members, outbox_id=event.id)
        # A second delivery of the same event does nothing.
        assert solve_component.run(planned.run_id, number, members, outbox_id=event.id) == (
            "skipped"
        )
    run = db.session.get(SolveRun, planned.run_id)
    assert run is not None
    db.session.refresh(run)
    return run


def test_global_solve_finds_the_three_cycle_only_with_cap_three(app_ctx: Flask) -> None:
    (anna, boris, clara), pins = three_cycle()
    refresh_collector(db.session(), anna.id)
    assert db.session.scalar(select(func.count(Match.id)).where(Match.kind == "swap")) == 0
    before = len(notified())

    capped = solve(2)
    assert capped.status == "finished" and capped.items_traded == 0
    assert db.session.scalar(select(func.count(TradeProposal.id))) == 0

    run = solve(3)
    assert run.status == "finished" and run.components == 1 and run.components_done == 1
    assert run.items_traded == 3 and run.collectors_trading == 3 and run.optimal
    proposal = db.session.scalars(select(TradeProposal)).one()
    assert proposal.status == "proposed" and proposal.solve_run_id == run.id
    assert len(proposal.legs) == 3
    for leg in proposal.legs:  # feasible: each giver holds the pin, each receiver wants it
        assert pins.index(next(p for p in pins if p.id == leg.pin_id)) == [
            anna.id,
            boris.id,
            clara.id,
        ].index(leg.giver_id)
        assert (
            leg.receiver_id
            == [anna.id, boris.id, clara.id][
                ([anna.id, boris.id, clara.id].index(leg.giver_id) + 1) % 3
            ]
        )
    key = f"cycle:{proposal.id}"
    rows = db.session.scalars(select(Match).where(Match.key == key)).all()
    assert all(r.proposal_id == proposal.id and r.counterpart_id is None for r in rows)
    assert sorted(r.user_id for r in rows) == sorted([anna.id, boris.id, clara.id])
    assert all(r.kind == "cycle" and r.active and len(details(r)["legs"]) == 3 for r in rows)
    assert sorted(notified()[before:]) == sorted([anna.id, boris.id, clara.id])

    # The same loop found again keeps its proposal and tells nobody twice.
    again = solve(3)
    assert db.session.scalar(select(func.count(TradeProposal.id))) == 1
    assert proposal.solve_run_id == again.id
    assert len(notified()) == before + 3

    # Once a list change breaks the loop, the next run supersedes it.
    want = lists().wants(clara.id, matches_filters()).items[0]
    lists().delete_want(clara, want.id)
    solve(3)
    db.session.refresh(proposal)
    assert proposal.status == "superseded"
    assert not any(r.active for r in db.session.scalars(select(Match).where(Match.key == key)))


def test_a_component_that_fails_still_lets_the_run_close(app_ctx: Flask, monkeypatch: Any) -> None:
    from marketplace.matches.tasks import solve_component
    from marketplace.matching import market

    three_cycle()
    planned = solving.run_global_solve(db.session(), cap=3, time_limit=10)
    (members,) = planned.components
    event = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.task == solving.COMPONENT_TASK)
    ).one()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(market, "solve_market", broken)
    assert solve_component.run(planned.run_id, 0, members, outbox_id=event.id) == "failed"
    assert solve_component.run(planned.run_id, 0, members, outbox_id=event.id) == "skipped"
    run = db.session.get(SolveRun, planned.run_id)
    assert run is not None
    db.session.refresh(run)
    assert run.status == "finished" and run.components_done == 1 and not run.optimal
    assert run.notes == ["3 collectors: failed, RuntimeError"]
    assert db.session.scalar(select(func.count(TradeProposal.id))) == 0


def test_matches_page(client: FlaskClient) -> None:
    anna, _boris, _gagarin, vostok = swap_pair()
    make_user("eve@example.org", name="Eve")
    refresh_collector(db.session(), anna.id)
    assert client.get("/matches").status_code == 302  # login first

    login(client, "anna@example.org")
    html = client.get("/matches").get_data(as_text=True)
    assert "Swap with Boris" in html and "Vostok rocket" in html and "Gagarin 1961" in html
    assert "New" in html and "even swap" in html
    assert f"/pins/{vostok.id}/stand-in.svg" in html  # thumbnails
    assert "Trade loops" in html
    assert client.get("/matches?kind=swap").status_code == 200
    assert client.get("/matches?kind=bogus").status_code == 404

    login(client, "eve@example.org")
    assert "Swap with" not in client.get("/matches").get_data(as_text=True)


def test_the_matches_page_speaks_russian(client: FlaskClient) -> None:
    anna, _boris, _gagarin, _vostok = swap_pair()
    anna.locale = "ru"
    refresh_collector(db.session(), anna.id)
    db.session.commit()
    login(client, "anna@example.org")
    html = client.get("/matches").get_data(as_text=True)
    assert "Мои совпадения" in html and "Обмен с Boris" in html and "Вы получаете" in html
    assert "Предложить обмен" in html and "Кольца обмена" in html
    assert "Пока вы не входите ни в одно кольцо обмена." in html
    assert "Общий расчёт ещё не запускался." in html
    assert "Swap with" not in html and "You receive" not in html


def test_a_ring_on_the_matches_page_speaks_ukrainian(client: FlaskClient) -> None:
    (anna, _boris, _clara), _pins = three_cycle()
    anna.locale = "uk"
    solve(3)
    db.session.commit()
    login(client, "anna@example.org")
    html = client.get("/matches").get_data(as_text=True)
    assert "Кільце з 3: Clara → Anna → Boris → Clara" in html and "Усі ланки" in html
    assert "Останній загальний розрахунок" in html and "запропоновано 1 кільце обміну" in html
    assert "Переглянути кільце" in html and "Loop of" not in html


def test_matches_api(client: FlaskClient) -> None:
    anna, boris, _gagarin, vostok = swap_pair()
    refresh_collector(db.session(), anna.id)
    headers = bearer(token_for(client, "anna@example.org"))
    response = client.get("/api/v1/me/matches", headers=headers)
    assert response.status_code == 200, response.json
    [body] = response.json
    assert body["kind"] == "swap" and body["new"] and body["active"]
    assert body["counterpart"] == {"id": boris.id, "display_name": "Boris"}
    assert [p["pin_id"] for p in body["receive"]] == [vostok.id]
    assert body["receive"][0]["image_url"].endswith(f"/pins/{vostok.id}/stand-in.svg")
    assert body["explanation"]["coverage"] == 16 and body["explanation"]["reasons"]
    assert body["cycle"] is None
    assert "X-Pagination" in response.headers

    assert client.get("/api/v1/me/matches?kind=offer", headers=headers).json == []
    assert client.get("/api/v1/me/matches?active=false", headers=headers).json == []
    spec = client.get("/api/v1/openapi.json").json
    # (error responses roll the request's work back, so these come last)
    unauthorised = client.get("/api/v1/me/matches")
    assert unauthorised.status_code == 401 and "Bearer" in unauthorised.headers["WWW-Authenticate"]
    operation = spec["paths"]["/api/v1/me/matches"]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
    schema = spec["components"]["schemas"]["MatchOut"]
    assert set(schema["required"]) == set(body)
    bad = client.get("/api/v1/me/matches?kind=bogus", headers=headers)
    assert bad.status_code == 422 and "kind" in bad.json["errors"]
    assert client.get("/api/v1/me/matches?active=maybe", headers=headers).status_code == 422
    assert client.get("/api/v1/me/matches?page=0", headers=headers).status_code == 422


def test_stored_swaps_and_offers_are_capped_to_the_best(app_ctx: Flask, match_config: Any) -> None:
    """A popular collector keeps only the best MATCH_SWAP_LIMIT swaps and
    MATCH_OFFER_LIMIT offers; a swap that drops out turns inactive on both sides."""
    match_config(MATCH_SWAP_LIMIT=2, MATCH_OFFER_LIMIT=1)
    anna, boris, clara, dima, egor, fedor = people("Anna", "Boris", "Clara", "Dima", "Egor", "F")
    gagarin = make_pin(title_en="Gagarin 1961")
    wanted = [make_pin(title_en=f"Wanted {n}") for n in range(3)]
    lists().add_have(anna, gagarin.id)
    for stars, pin in zip((5, 3, 1), wanted, strict=True):
        lists().add_want(anna, pin_id=pin.id, priority=stars)
    # Boris fills the 5-star want, Clara the 3-star, Dima the 1-star: all want Gagarin.
    for person, pin in zip((boris, clara, dima), wanted, strict=True):
        lists().add_have(person, pin.id)
        lists().add_want(person, pin_id=gagarin.id)
    # Egor and Fedor only hold what Anna wants: offers, the 5-star one first.
    lists().add_have(egor, wanted[2].id)
    lists().add_have(fedor, wanted[0].id)
    refresh_collector(db.session(), anna.id)
    swaps = queries.matches_for(db.session(), anna.id, kind="swap").items
    assert [m.counterpart_id for m in swaps] == [boris.id, clara.id]
    assert match(boris, "swap", f"swap:{anna.id}") is not None
    assert match(dima, "swap", f"swap:{anna.id}") is None
    offers = queries.matches_for(db.session(), anna.id, kind="offer").items
    assert [m.counterpart_id for m in offers] == [fedor.id]

    # Dima now fills a 5-star want too (and more): Clara drops out, both sides.
    lists().add_have(dima, wanted[0].id)
    refresh_collector(db.session(), anna.id)
    swaps = queries.matches_for(db.session(), anna.id, kind="swap").items
    assert {m.counterpart_id for m in swaps} == {boris.id, dima.id}
    assert not match(clara, "swap", f"swap:{anna.id}").active  # type: ignore[union-attr]
    assert not match(anna, "swap", f"swap:{clara.id}").active  # type: ignore[union-attr]


# -- incremental refresh after one list change ---------------------------------------


def test_added_want_creates_the_swap_for_both_collectors_incrementally(
    app_ctx: Flask, holders_read: None
) -> None:
    anna, boris = people("Anna", "Boris")
    gagarin, vostok = make_pin(title_en="Gagarin 1961"), make_pin(title_en="Vostok rocket")
    lists().add_have(anna, gagarin.id)
    lists().add_want(anna, pin_id=vostok.id, priority=5)
    lists().add_have(boris, vostok.id, condition="very_fine")
    refresh_collector(db.session(), anna.id)
    assert match(anna, "swap", f"swap:{boris.id}") is None
    assert match(anna, "offer", f"offer:{boris.id}").active  # type: ignore[union-attr]

    lists().add_want(boris, pin_id=gagarin.id, priority=2)
    outcome = refresh_changes(db.session(), boris.id, want_pins=[gagarin.id])
    assert len(outcome.new) == 2 and outcome.notified == {anna.id, boris.id}
    mine = match(anna, "swap", f"swap:{boris.id}")
    theirs = match(boris, "swap", f"swap:{anna.id}")
    assert mine is not None and mine.active and theirs is not None and theirs.active
    assert [p["pin_id"] for p in details(mine)["receive"]] == [vostok.id]
    assert details(theirs)["receive"] == details(mine)["give"]
    assert explanation(mine)["coverage"] == 16 and explanation(theirs)["coverage"] == 2
    # Boris is now a swap partner of Anna's: her offer from him is his swap (the
    # cap and ranking stay those of a full refresh).
    assert refresh_collector(db.session(), boris.id).new == []


def test_removed_have_deactivates_the_swap_on_both_sides_incrementally(app_ctx: Flask) -> None:
    anna, boris, _gagarin, vostok = swap_pair()
    refresh_collector(db.session(), anna.id)
    have = next(h for h in lists().haves(boris.id, matches_filters()).items)
    lists().delete_have(boris, have.id)
    outcome = refresh_changes(db.session(), boris.id, have_pins=[vostok.id])
    # Both sides of the swap go; Boris's new offer from Anna tells only him.
    assert len(outcome.deactivated) == 2 and len(outcome.new) == 1
    assert outcome.notified == {boris.id}
    assert not match(anna, "swap", f"swap:{boris.id}").active  # type: ignore[union-attr]
    assert not match(boris, "swap", f"swap:{anna.id}").active  # type: ignore[union-attr]
    assert match(boris, "offer", f"offer:{anna.id}").active  # type: ignore[union-attr]


def test_a_pin_that_moves_in_a_swap_keeps_its_place_in_the_order(app_ctx: Flask) -> None:
    """Boris's Lunnik fills Anna's 4-star want and goes before his Soyuz (1 star):
    the pins shown keep the swap's order on both sides, and a refresh from scratch
    changes nothing."""
    anna, boris, _gagarin, vostok = swap_pair()
    lists().add_want(anna, pin_id=(soyuz := make_pin()).id, priority=1)
    lists().add_have(boris, soyuz.id)
    refresh_collector(db.session(), anna.id)
    mine, theirs = match(anna, "swap", f"swap:{boris.id}"), match(boris, "swap", f"swap:{anna.id}")
    assert mine is not None and theirs is not None
    assert [p["pin_id"] for p in details(mine)["receive"]] == [vostok.id, soyuz.id]

    lists().add_want(anna, pin_id=(lunnik := make_pin()).id, priority=4)
    lists().add_have(boris, lunnik.id)
    outcome = refresh_changes(db.session(), anna.id, want_pins=[lunnik.id])
    assert outcome.changed == sorted([mine.id, theirs.id])
    shown = [p["pin_id"] for p in details(mine)["receive"]]
    assert shown == [vostok.id, lunnik.id, soyuz.id]
    assert [p["pin_id"] for p in details(theirs)["give"]] == shown
    assert refresh_collector(db.session(), anna.id).changed == []


def test_incremental_refresh_applies_the_cap(app_ctx: Flask, match_config: Any) -> None:
    """A new better partner pushes the worst swap out, on both sides."""
    match_config(MATCH_SWAP_LIMIT=1)
    anna, boris, clara = people("Anna", "Boris", "Clara")
    gagarin, low, high = make_pin(), make_pin(), make_pin()
    lists().add_have(anna, gagarin.id)
    lists().add_want(anna, pin_id=low.id, priority=1)
    lists().add_want(anna, pin_id=high.id, priority=5)
    for person in (boris, clara):
        lists().add_want(person, pin_id=gagarin.id)
    lists().add_have(boris, low.id)
    refresh_collector(db.session(), anna.id)
    assert match(anna, "swap", f"swap:{boris.id}").active  # type: ignore[union-attr]

    lists().add_have(clara, high.id)
    refresh_changes(db.session(), clara.id, have_pins=[high.id])
    assert match(anna, "swap", f"swap:{clara.id}").active  # type: ignore[union-attr]
    assert not match(anna, "swap", f"swap:{boris.id}").active  # type: ignore[union-attr]
    assert not match(boris, "swap", f"swap:{anna.id}").active  # type: ignore[union-attr]


def boris_swaps_with_clara(clara_fills: int, gagarin_stars: int) -> tuple[Any, Any, Any, Any]:
    """Boris holds a Vostok and wants a Soyuz (`clara_fills` stars) and a Gagarin
    (`gagarin_stars`); Clara holds the Soyuz and wants the Vostok, and their swap
    is stored. Returns Boris, Clara, the Gagarin and the Vostok."""
    boris, clara = people("Boris", "Clara")
    gagarin, vostok, soyuz = make_pin(), make_pin(), make_pin()
    lists().add_have(boris, vostok.id)
    lists().add_want(boris, pin_id=soyuz.id, priority=clara_fills)
    lists().add_want(boris, pin_id=gagarin.id, priority=gagarin_stars)
    lists().add_have(clara, soyuz.id)
    lists().add_want(clara, pin_id=vostok.id)
    refresh_collector(db.session(), clara.id)
    assert match(boris, "swap", f"swap:{clara.id}").active  # type: ignore[union-attr]
    return boris, clara, gagarin, vostok


def test_a_swap_the_partners_cap_turns_away_is_not_stored(
    app_ctx: Flask, match_config: Any
) -> None:
    """Boris's one swap (the cap) is with Clara, who fills his 5-star want. Anna's
    swap with him would fill only his 1-star want: neither an incremental nor a
    full refresh stores it, on either side, and Anna's one swap goes to Dima, who
    fills less of her list than Boris would."""
    match_config(MATCH_SWAP_LIMIT=1)
    boris, clara, gagarin, vostok = boris_swaps_with_clara(clara_fills=5, gagarin_stars=1)
    anna, dima = people("Anna", "Dima")
    lunnik = make_pin()
    lists().add_have(anna, gagarin.id)
    lists().add_want(anna, pin_id=lunnik.id, priority=1)
    lists().add_have(dima, lunnik.id)
    lists().add_want(dima, pin_id=gagarin.id)

    lists().add_want(anna, pin_id=vostok.id, priority=5)
    outcome = refresh_changes(db.session(), anna.id, want_pins=[vostok.id])
    assert match(anna, "swap", f"swap:{boris.id}") is None
    assert match(boris, "swap", f"swap:{anna.id}") is None
    assert outcome.deactivated == [] and boris.id not in outcome.notified
    refresh_collector(db.session(), anna.id)
    swaps = queries.matches_for(db.session(), anna.id, kind="swap").items
    assert [m.counterpart_id for m in swaps] == [dima.id]
    assert match(boris, "swap", f"swap:{anna.id}") is None
    assert match(boris, "swap", f"swap:{clara.id}").active  # type: ignore[union-attr]


def test_a_full_refresh_applies_the_partners_cap(app_ctx: Flask, match_config: Any) -> None:
    """Anna fills Boris's 5-star want, Clara only his 1-star one: Anna's full
    refresh stores her swap with him and pushes his swap with Clara out, both sides."""
    match_config(MATCH_SWAP_LIMIT=1)
    boris, clara, gagarin, vostok = boris_swaps_with_clara(clara_fills=1, gagarin_stars=5)
    [anna] = people("Anna")
    lists().add_have(anna, gagarin.id)
    lists().add_want(anna, pin_id=vostok.id)

    outcome = refresh_collector(db.session(), anna.id)
    assert match(boris, "swap", f"swap:{anna.id}").active  # type: ignore[union-attr]
    pushed = [match(boris, "swap", f"swap:{clara.id}"), match(clara, "swap", f"swap:{boris.id}")]
    assert [m.active for m in pushed] == [False, False]  # type: ignore[union-attr]
    assert sorted(outcome.deactivated) == sorted(m.id for m in pushed)  # type: ignore[union-attr]


def test_popular_pin_shortlists_the_holders_who_can_swap(app_ctx: Flask, match_config: Any) -> None:
    """More new holders than the shortlist takes: the one who wants a pin of mine
    is taken before better copies from holders who want nothing I have."""
    match_config(MATCH_SWAP_LIMIT=1, MATCH_SHORTLIST=1)
    anna, boris, clara, dmitri = people("Anna", "Boris", "Clara", "Dmitri")
    gagarin, popular = make_pin(), make_pin()
    lists().add_have(anna, gagarin.id)
    lists().add_have(boris, popular.id, condition="mint")
    lists().add_have(clara, popular.id, condition="mint")
    lists().add_have(dmitri, popular.id, condition="good")
    lists().add_want(dmitri, pin_id=gagarin.id)

    lists().add_want(anna, pin_id=popular.id)
    refresh_changes(db.session(), anna.id, want_pins=[popular.id])
    assert match(anna, "swap", f"swap:{dmitri.id}").active  # type: ignore[union-attr]
    assert match(dmitri, "swap", f"swap:{anna.id}").active  # type: ignore[union-attr]


_N_PINS = 5  # pins 3 and 4 are variants of one catalogue number; target 5 is "any of them"
_CONDITION = st.integers(1, 6).map(Condition)
_MARKET = st.fixed_dictionaries(
    {
        "haves": st.dictionaries(
            st.tuples(st.integers(0, 3), st.integers(0, _N_PINS - 1)),
            st.tuples(_CONDITION, st.booleans(), st.booleans()),
            max_size=14,
        ),
        "wants": st.dictionaries(
            st.tuples(st.integers(0, 3), st.integers(0, _N_PINS)),
            st.tuples(st.integers(1, 5), st.none() | _CONDITION),
            max_size=12,
        ),
        "change": st.tuples(
            st.sampled_from(["add_have", "delete_have", "untrade", "add_want", "delete_want"]),
            st.integers(0, _N_PINS),
            _CONDITION,
            st.integers(1, 5),
        ),
        # How the holders' copies are read on PostgreSQL: probed pair by pair, or
        # (as for many holders and wants) found from an index first.
        "probes": st.sampled_from([MatchLimits().probes, 0]),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(market=_MARKET)
def test_incremental_refresh_equals_a_full_refresh(
    app_ctx: Flask, market: Any, monkeypatch: Any
) -> None:
    """After one random list change, the incremental refresh of what it touched
    leaves the changed collector's swaps (both sides) and offers exactly as a full
    refresh from scratch would: a full refresh afterwards changes nothing."""
    monkeypatch.setitem(app_ctx.config, "MATCH_PROBES", market["probes"])
    kind, target, condition, stars = market["change"]
    pin_target = min(target, _N_PINS - 1)
    if kind in ("add_have", "delete_have", "untrade"):
        mine = market["haves"].get((0, pin_target))
        assume((mine is None) == (kind == "add_have"))
    else:
        assume(((0, target) in market["wants"]) == (kind == "delete_want"))
    with db.session.begin_nested() as outer:
        session = db.session()
        pins = [make_pin(variant_group="PROP-V" if i >= 3 else f"PROP-{i}") for i in range(_N_PINS)]
        collectors = people("P0", "P1", "P2", "P3")
        service = Lists(session)
        for (c, p), (grade, tradeable, priced) in sorted(market["haves"].items()):
            service.add_have(
                collectors[c],
                pins[p].id,
                condition=grade,
                tradeable=tradeable,
                price="5.00" if priced else None,
                currency="EUR" if priced else None,
            )
        for (c, t), (priority, minimum) in sorted(market["wants"].items()):
            service.add_want(
                collectors[c],
                pin_id=pins[t].id if t < _N_PINS else None,
                variant_group="PROP-V" if t == _N_PINS else None,
                priority=priority,
                min_condition=minimum,
            )
        for person in (*collectors, collectors[0]):
            refresh_collector(session, person.id)
        me = collectors[0]
        if kind == "add_have":
            service.add_have(me, pins[pin_target].id, condition=condition)
        elif kind in ("delete_have", "untrade"):
            have = next(h for h in service.haves(me.id, matches_filters()).items
                        if h.pin_id == pins[pin_target].id)  # fmt: skip
            if kind == "untrade":
                service.update_have(me, have.id, tradeable=not have.tradeable)
            else:
                service.delete_have(me, have.id)
        elif kind == "add_want":
            service.add_want(
                me,
                pin_id=pins[target].id if target < _N_PINS else None,
                variant_group="PROP-V" if target == _N_PINS else None,
                priority=stars,
            )
        else:
            want = next(
                w
                for w in service.wants(me.id, matches_filters()).items
                if (w.pin_id == pins[target].id if target < _N_PINS else w.pin_id is None)
            )
            service.delete_want(me, want.id)
        changed = pins[pin_target].id
        if kind in ("add_have", "delete_have", "untrade"):
            refresh_after_change(session, me.id, have_pins=[changed])
        elif target < _N_PINS:
            refresh_after_change(session, me.id, want_pins=[changed])
        else:
            refresh_after_change(session, me.id, want_groups=["PROP-V"])

        def state() -> list[tuple[Any, ...]]:
            rows = session.scalars(
                select(Match).where(
                    ((Match.user_id == me.id) & Match.kind.in_(("swap", "offer")))
                    | ((Match.counterpart_id == me.id) & (Match.kind == "swap"))
                )
            ).all()
            items = store.stored_items(session, [m.id for m in rows])
            return sorted(
                (m.user_id, m.key, m.active, m.score, items.get(m.id), v.receive, v.give,
                 v.explanation)
                for m, v in zip(rows, queries.shown(session, rows), strict=True)
            )  # fmt: skip

        incremental = state()
        outcome = refresh_collector(session, me.id)
        assert state() == incremental
        assert not (outcome.new or outcome.reactivated or outcome.changed or outcome.deactivated)
        outer.rollback()


def test_a_match_a_concurrent_refresh_inserted_first_is_taken_over(
    request: pytest.FixtureRequest, workdir: Path
) -> None:
    """Boris's refresh stores his side of the swap while Anna's refresh is about to
    insert both sides: Anna's batch insert fails on his row, and her refresh
    inserts her own row and takes his over (same row, first seen kept)."""
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("two writers at once: SQLite serialises them")
    url = committed_database(request.config, workdir, "znachki_matches_race")
    app = create_app(make_settings(url, workdir), OUTBOX_RELAY=False)
    migrate(app)
    try:
        with app.app_context():
            anna, boris = people("Anna", "Boris")
            gagarin, lenin = make_pin(), make_pin()
            lists().add_have(anna, gagarin.id)
            lists().add_want(anna, pin_id=lenin.id)
            lists().add_have(boris, lenin.id)
            lists().add_want(boris, pin_id=gagarin.id)
            db.session.commit()
            earlier = utcnow() - timedelta(hours=1)
            raced: list[int] = []

            def boris_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
                if statement.startswith("INSERT INTO matches") and not raced:
                    raced.append(0)  # (its own INSERT comes through here too)
                    with db.engine.begin() as other:
                        raced[0] = other.scalar(
                            insert(Match)
                            .values(
                                user_id=boris.id,
                                kind="swap",
                                key=f"swap:{anna.id}",
                                counterpart_id=anna.id,
                                score=0.0,
                                condition=0.0,
                                active=True,
                                first_seen_at=earlier,
                                last_seen_at=earlier,
                                changed_at=earlier,
                            )
                            .returning(Match.id)
                        )

            event.listen(db.engine, "before_cursor_execute", boris_first)
            try:
                outcome = refresh_collector(db.session(), anna.id)
                db.session.commit()
            finally:
                event.remove(db.engine, "before_cursor_execute", boris_first)

            assert raced, "the other refresh ran"
            his = match(boris, "swap", f"swap:{anna.id}")
            hers = match(anna, "swap", f"swap:{boris.id}")
            assert his is not None and hers is not None
            assert his.id == raced[0] and his.first_seen_at == earlier
            assert his.active and details(his)["receive"] and details(his)["give"]
            assert hers.active and outcome.new == [hers.id] and outcome.changed == [his.id]
    finally:
        app.extensions["db_engine"].dispose()


def test_the_matches_page_says_when_rings_were_last_and_will_next_be_looked_for(
    app_ctx: Flask,
) -> None:
    from marketplace.core.celery_app import GLOBAL_SOLVE_EVERY
    from tests.support.factories import make_user
    from tests.support.web import login

    make_user("ivan@example.org")
    client = app_ctx.test_client()
    login(client)

    def status() -> str:
        page = client.get("/matches").get_data(as_text=True)
        found = page.split('id="solve-status">', 1)[1].split("</p>", 1)[0]
        return " ".join(found.split())

    assert "No global solve has run yet" in status()
    assert "within 24 hours" in status()

    started = utcnow().replace(microsecond=0) - timedelta(hours=2)
    db.session.add(
        SolveRun(status="finished", cycle_cap=3, time_limit_s=60.0, proposals=4,
                 started_at=started, finished_at=started + timedelta(minutes=3))
    )  # fmt: skip
    db.session.flush()
    text = status()
    # In the member's locale and time zone (Ivan's is UTC): Babel's short form.
    from babel.dates import format_datetime

    def short(moment: datetime) -> str:
        return " ".join(format_datetime(moment, "short", locale="en").split())

    finished, due = short(started + timedelta(minutes=3)), short(started + GLOBAL_SOLVE_EVERY)
    assert f"Last global solve: finished {finished}, 4 trade loops proposed." in text
    assert f"Next: about {due}." in text

    db.session.add(
        SolveRun(status="running", cycle_cap=3, time_limit_s=60.0, components=5,
                 components_done=2, started_at=utcnow())
    )  # fmt: skip
    db.session.flush()
    assert "A global solve is running now" in status() and "2 of 5 groups" in status()
    # The page reads the interval beat is given.
    schedule = app_ctx.extensions["celery"].conf.beat_schedule["global-solve"]["schedule"]
    assert schedule == GLOBAL_SOLVE_EVERY.total_seconds() == 24 * 3600


def test_matches_api_lists_ring_members(client: FlaskClient) -> None:
    (anna, boris, clara), _pins = three_cycle()
    assert solve(3).items_traded == 3
    proposal = db.session.scalars(select(TradeProposal)).one()
    for person in (anna, boris, clara):
        headers = bearer(token_for(client, person.email))
        response = client.get("/api/v1/me/matches?kind=cycle", headers=headers)
        assert response.status_code == 200, response.json
        [body] = response.json
        cycle = body["cycle"]
        assert sorted(m["id"] for m in cycle["members"]) == sorted([anna.id, boris.id, clara.id])
        assert len(cycle["legs"]) == 3 and cycle["proposal_id"] == proposal.id
        assert cycle["expires_at"].startswith(proposal.expires_at.date().isoformat())
        assert client.get("/api/v1/me/matches", headers=headers).status_code == 200


def test_two_collectors_who_can_swap_get_no_loop_of_two(client: FlaskClient) -> None:
    anna, boris, _gagarin, _vostok = swap_pair()
    refresh_collector(db.session(), anna.id)
    run = solve(3)
    assert run.status == "finished"
    # The swap is the deal; the solve proposes no ring of the same two people.
    assert db.session.scalar(select(func.count(TradeProposal.id))) == 0
    assert db.session.scalar(select(func.count(Match.id)).where(Match.kind == "cycle")) == 0
    headers = bearer(token_for(client, "anna@example.org"))
    assert client.get("/api/v1/me/matches?kind=cycle", headers=headers).json == []
    [swap] = client.get("/api/v1/me/matches", headers=headers).json
    assert swap["kind"] == "swap" and swap["counterpart"]["id"] == boris.id
    login(client, "anna@example.org")
    html = client.get("/matches").get_data(as_text=True)
    assert "Swap with Boris" in html and "Loop of 2" not in html


def notifier() -> Any:
    from marketplace.notifications.operations import Links, Notifier

    return Notifier(db.session(), Links("http://znachki.test", "test-secret-key"))


def mail_to(person: Any) -> list[Any]:
    from marketplace.mail.models import MailMessage

    query = select(MailMessage).where(MailMessage.to_addr == person.email)
    return list(db.session.scalars(query.order_by(MailMessage.id)))


def test_ring_mail_names_who_sends_and_who_receives(app_ctx: Flask) -> None:
    (anna, _boris, _clara), pins = three_cycle()
    solve(3)
    notifier().collect_matches(anna.id)  # rings are mailed at once by default
    [message] = mail_to(anna)
    # Anna receives Clara's pin and sends hers to Boris.
    assert f"You get from Clara: {pins[2].ref} Loop pin 2" in message.body_text
    assert f"You give to Boris: {pins[0].ref} Loop pin 0" in message.body_text
    assert "You get from Clara" in message.body_html
    assert "You give to Boris" in message.body_html


def test_a_digest_lists_a_ring_once_when_the_solve_replaces_its_proposal(
    app_ctx: Flask,
) -> None:
    (anna, _boris, _clara), pins = three_cycle()
    # Anna holds more copies of her pin: each night's solve may pick another
    # copy, which makes a new proposal of the same loop.
    for condition in ("good", "mint"):
        lists().add_have(anna, pins[0].id, condition=condition)
    n = notifier()
    n.set_mode(anna.id, "cycle", "daily")
    proposals = []
    for _night in range(3):
        solve(3)
        n.collect_matches(anna.id)
        proposal = db.session.scalars(
            select(TradeProposal).where(TradeProposal.status == "proposed")
        ).one()
        proposals.append(proposal.id)
        leg = next(leg for leg in proposal.legs if leg.giver_id == anna.id)
        if _night < 2:
            lists().delete_have(anna, leg.have_id)
    assert len(set(proposals)) == 3  # three proposals of one deal, three notes
    digest = n.send_digest(anna.id, f"daily:{utcnow().date().isoformat()}")
    assert digest is not None and digest.items == 1
    text = mail_to(anna)[-1].body_text
    assert text.count("A trade ring with 3 collectors") == 1
    assert f"/trades/rings/{proposals[-1]}" in text  # the live proposal's page
