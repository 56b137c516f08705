"""Matching on real parts: a list change committed by a service → outbox →
Redis → the Celery worker process refreshes the collector's matches → the new
swap is stored for both collectors."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.core.celery_app import after_commit
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.lists.operations import REFRESH_TASK, Lists
from marketplace.matches import queries
from marketplace.matches.models import Match
from tests.support.catalogue import make_pin
from tests.support.factories import make_user

pytestmark = pytest.mark.integration


def poll(app: Flask, predicate: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def commit(app: Flask) -> None:
    """What the request boundary does: commit, then publish the outbox."""
    db.session.commit()
    after_commit(app)


def swaps(user_id: int) -> list[tuple[int | None, bool]]:
    return [
        (m.counterpart_id, m.active)
        for m in db.session.scalars(
            select(Match).where(Match.user_id == user_id, Match.kind == "swap")
        )
    ]


def test_list_change_produces_the_swap_for_both_collectors(live: Flask) -> None:
    with live.app_context():
        anna = make_user("anna@example.org", name="Anna")
        boris = make_user("boris@example.org", name="Boris")
        gagarin, vostok = make_pin(title_en="Gagarin"), make_pin(title_en="Vostok")
        lists = Lists(db.session())
        lists.add_have(anna, gagarin.id)
        lists.add_want(anna, pin_id=vostok.id)
        lists.add_want(boris, pin_id=gagarin.id)
        commit(live)
        anna_id, boris_id, vostok_id = anna.id, boris.id, vostok.id
        poll(live, lambda: all(
            r.consumed_at for r in db.session.scalars(
                select(OutboxMessage).where(OutboxMessage.task == REFRESH_TASK)
            )
        ))  # fmt: skip
        assert swaps(anna_id) == [] and swaps(boris_id) == []

    # The change that completes the swap: Boris lists the Vostok Anna wants.
    with live.app_context():
        boris = db.session.get(type(anna), boris_id)
        Lists(db.session()).add_have(boris, vostok_id, condition="very_fine")
        commit(live)

    assert poll(live, lambda: swaps(anna_id) == [(boris_id, True)])
    assert poll(live, lambda: swaps(boris_id) == [(anna_id, True)])
    with live.app_context():
        mine = db.session.scalar(select(Match).where(Match.user_id == anna_id))
        assert mine is not None
        pins = queries.pins_each_way(db.session(), [mine.id])[mine.id]
        assert [p["pin_id"] for p in pins["receive"]] == [vostok_id]
        assert pins["receive"][0]["condition"] == "very_fine"
        notify = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == "workers.tasks.notify_collector")
        ).all()
        # Boris heard first of Anna's Gagarin as an offer, then both of the swap.
        assert [r.payload["user_id"] for r in notify].count(anna_id) == 1
        assert {r.payload["user_id"] for r in notify} == {anna_id, boris_id}


def test_the_have_that_closes_a_ring_shows_it_to_every_member_within_a_minute(
    live: Flask,
) -> None:
    """Clara lists the Vostok that closes Anna → Boris → Clara → Anna: the worker
    refreshes her matches, then searches the rings through her, and all three have
    the ring (and are told) well before the nightly solve."""
    with live.app_context():
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
        commit(live)
        ids = [anna.id, boris.id, clara.id]
        clara_id, vostok_id = clara.id, vostok.id

    def ring_for_all() -> bool:
        found = db.session.scalars(
            select(Match.user_id).where(Match.kind == "cycle", Match.active.is_(True))
        ).all()
        return sorted(found) == sorted(ids)

    with live.app_context():
        clara = db.session.get(type(anna), clara_id)
        Lists(db.session()).add_have(clara, vostok_id)
        commit(live)
    began = time.monotonic()
    assert poll(live, ring_for_all, timeout=60.0)
    assert time.monotonic() - began < 60.0
    with live.app_context():
        told = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == "workers.tasks.notify_collector")
        ).all()
        assert set(ids) <= {r.payload["user_id"] for r in told}
