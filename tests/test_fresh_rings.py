"""Rings within a minute of a list change (`marketplace.matches.fresh_rings`): the
Want or Have that closes a loop of three stores the ring for every member at
once, a block keeps it away, a ring is found again rather than twice, and a
copy promised by a swap and a ring says so on the page and in the API."""

from __future__ import annotations

import random
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from marketplace.accounts.blocks import block
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.lists.models import Have, Want
from marketplace.lists.operations import Lists
from marketplace.matches import fresh_rings
from marketplace.matches.fresh_rings import PAIRS, _closing_pairs, _pairs, find_rings_through
from marketplace.matches.models import Match, TradeProposal
from marketplace.matches.store import NOTIFY_TASK
from tests.support.catalogue import make_pin
from tests.support.factories import make_user
from tests.support.web import bearer, login, token_for


def loop_of_three() -> tuple[Any, Any, Any, Any]:
    """Anna gives Boris a Gagarin, Boris gives Clara a Sputnik, Clara gives Anna a
    Vostok — all but Clara's Vostok already listed. Returns the three and the Vostok."""
    anna, boris, clara = (
        make_user(f"{n}@example.org", name=n.title()) for n in ("anna", "boris", "clara")
    )
    gagarin, sputnik, vostok = (make_pin(title_en=t) for t in ("Gagarin", "Sputnik", "Vostok"))
    lists = Lists(db.session())
    lists.add_have(anna, gagarin.id)
    lists.add_want(anna, pin_id=vostok.id)
    lists.add_want(boris, pin_id=gagarin.id)
    lists.add_have(boris, sputnik.id)
    lists.add_want(clara, pin_id=sputnik.id)
    return anna, boris, clara, vostok


def cycles(user_id: int) -> list[Match]:
    query = select(Match).where(Match.user_id == user_id, Match.kind == "cycle", Match.active)
    return list(db.session.scalars(query))


def search(user_id: int, **changes: Any) -> Any:
    return find_rings_through(db.session(), user_id, cap=3, ring_days=7, **changes)


def test_the_have_that_closes_a_loop_shows_the_ring_to_every_member(app_ctx: Flask) -> None:
    anna, boris, clara, vostok = loop_of_three()
    assert search(clara.id).stored == 0  # no loop yet
    Lists(db.session()).add_have(clara, vostok.id)

    found = search(clara.id, have_pins=[vostok.id])

    assert (found.stored, found.loops, found.complete) == (1, 1, True)
    proposals = db.session.scalars(select(TradeProposal)).all()
    assert len(proposals) == 1 and sorted(proposals[0].members) == sorted(
        [anna.id, boris.id, clara.id]
    )
    assert proposals[0].solve_run_id is None  # until a global solve chooses it too
    for member in (anna, boris, clara):
        (ring,) = cycles(member.id)
        assert ring.proposal_id == proposals[0].id
    told = db.session.scalars(select(OutboxMessage).where(OutboxMessage.task == NOTIFY_TASK))
    assert {m.payload["user_id"] for m in told} >= {anna.id, boris.id, clara.id}


def test_a_ring_found_again_is_the_same_ring(app_ctx: Flask) -> None:
    anna, _boris, clara, vostok = loop_of_three()
    Lists(db.session()).add_have(clara, vostok.id)
    search(clara.id, have_pins=[vostok.id])
    again = search(anna.id)  # another member's change finds the same loop
    assert again.stored == 1
    assert len(db.session.scalars(select(TradeProposal)).all()) == 1
    assert len(cycles(anna.id)) == 1


def test_no_ring_through_a_blocked_pair(app_ctx: Flask) -> None:
    anna, boris, clara, vostok = loop_of_three()
    Lists(db.session()).add_have(clara, vostok.id)
    block(db.session(), boris.id, clara.id)  # not even Anna's search may pair them
    assert search(clara.id, have_pins=[vostok.id]).stored == 0
    assert search(anna.id).stored == 0
    assert cycles(anna.id) == []


def test_a_copy_promised_twice_says_so_on_the_page_and_in_the_api(
    app_ctx: Flask, client: FlaskClient
) -> None:
    from marketplace.matches.refresh import MatchLimits, refresh_collector

    anna, boris, clara, vostok = loop_of_three()
    lists = Lists(db.session())
    lists.add_have(clara, vostok.id)
    # Boris also has a Vostok and wants Anna's Gagarin: a swap promising the same Gagarin.
    lists.add_have(boris, vostok.id)
    search(clara.id, have_pins=[vostok.id])
    refresh_collector(db.session(), anna.id, MatchLimits())
    db.session.commit()

    login(client, "anna@example.org")
    page = client.get("/matches").get_data(as_text=True)
    assert "Gagarin is also promised in your swap with Boris: only one of them can go ahead." in (
        page
    )
    assert "also promised in <a" in page  # the swap's card points at the ring
    token = token_for(client, "anna@example.org")
    found = client.get("/api/v1/me/matches", headers=bearer(token)).get_json()
    swap = next(m for m in found if m["kind"] == "swap")
    (share,) = swap["shares_copies_with"]
    assert (share["kind"], share["with"], share["pins"]) == ("cycle", None, ["Gagarin"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_closing_pairs_are_the_first_in_neighbourhood_order(app_ctx: Flask, seed: int) -> None:
    """The pairs looked for among ever more of the neighbourhood are the first
    PAIRS of all pairs in order of the two's places, as if every pair were read."""
    rng = random.Random(seed)
    people = [make_user(f"c{n}@example.org", name=f"C{n}") for n in range(70)]
    pins = [make_pin(title_en=f"Pin {n}") for n in range(30)]
    takers = [u.id for u in rng.sample(people, 45)]
    holders = [u.id for u in rng.sample(people, 45)]  # some are takers too
    haves = {(u, p.id) for u in takers for p in rng.sample(pins, rng.randint(0, 4))}
    wants = {(u, p.id) for u in holders for p in rng.sample(pins, rng.randint(0, 4))}
    db.session.execute(
        insert(Have), [{"user_id": u, "pin_id": p, "quantity": 1, "condition": 4} for u, p in haves]
    )
    db.session.execute(insert(Want), [{"user_id": u, "pin_id": p} for u, p in wants])

    rank = {u: n for n, u in enumerate(takers)} | {
        u: n for n, u in enumerate(holders) if u not in takers
    }
    every = sorted(
        _pairs(db.session(), takers, holders), key=lambda p: (rank[p[0]] + rank[p[1]], p)
    )
    expected: list[int] = []
    for taker, holder in every[:PAIRS]:
        expected.extend(u for u in (taker, holder) if u not in expected and taker != holder)

    assert len(every) > PAIRS  # dense enough that the search stops early
    assert _closing_pairs(db.session(), takers, holders) == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_the_first_holders_of_wanted_pins_are_those_of_every_holder_listed(
    app_ctx: Flask, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Holders looked up pin by pin, each pin's first few (PostgreSQL), are the
    first holders of all, as listing every holder of every wanted pin gives them;
    a holder with several copies of a pin counts once, a reserved copy not at all."""
    monkeypatch.setattr(fresh_rings, "NEIGHBOURS", 6)
    rng = random.Random(seed)
    me = make_user("me@example.org", name="Me")
    people = [make_user(f"h{n}@example.org", name=f"H{n}") for n in range(40)]
    pins = [make_pin(title_en=f"Pin {n}") for n in range(12)]
    for pin in rng.sample(pins, 6):
        db.session.add(Want(user_id=me.id, pin_id=pin.id))
    copies = []
    for person in people:
        for pin in rng.sample(pins, rng.randint(0, 3)):
            for condition in rng.sample([3, 4, 5], rng.randint(1, 2)):
                held = rng.choice([0, 0, 0, 1])
                copy = {"user_id": person.id, "pin_id": pin.id, "quantity": 1, "reserved": held}
                copies.append({**copy, "condition": condition})
    db.session.execute(insert(Have), copies)
    excluded = {people[3].id}

    wanted = fresh_rings._wanted_pins(me.id)
    listed = list(db.session.scalars(wanted))  # type: ignore[call-overload]
    plain = fresh_rings._holders(db.session(), me.id, listed, excluded)

    assert len(plain) == 6
    assert fresh_rings._holders(db.session(), me.id, wanted, excluded) == plain
