"""The refresh shortlists (`marketplace.matches.shortlists`) against their
definition, written out here in Python over the same lists: the swap partners a
full refresh asks the engine about, and the
holders a changed Want brings, when they are few and when a popular pin's
holders compete for the shortlist (partners found in rank order, the rest
filled from the others), on each database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from marketplace.core.extensions import db
from marketplace.lists.models import Condition, Have, Want
from marketplace.matches import shortlists
from tests.support.catalogue import make_pin
from tests.support.factories import make_user

_PEOPLE = 6
_PINS = 6  # pins 4 and 5 share a catalogue number; want target 6 is "any of them"
_GROUP = "SHORT-V"

_MARKET = st.fixed_dictionaries(
    {
        # (collector, pin) → (condition, tradeable, priced)
        "haves": st.dictionaries(
            st.tuples(st.integers(0, _PEOPLE - 1), st.integers(0, _PINS - 1)),
            st.tuples(st.integers(1, 6), st.booleans(), st.booleans()),
            max_size=24,
        ),
        # (collector, target) → (priority, minimum condition)
        "wants": st.dictionaries(
            st.tuples(st.integers(0, _PEOPLE - 1), st.integers(0, _PINS)),
            st.tuples(st.integers(1, 5), st.none() | st.integers(1, 6)),
            max_size=20,
        ),
        "limit": st.integers(1, _PEOPLE),
        "changed": st.integers(0, _PINS - 1),
        "existing": st.sets(st.integers(1, _PEOPLE - 1), max_size=2),
        "fresh": st.integers(1, 4),
    }
)

_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


class Market:
    """The generated lists, stored, with the ids they were stored under."""

    def __init__(self, market: dict[str, Any]) -> None:
        session = db.session()
        self.pins = [
            make_pin(variant_group=_GROUP if i >= 4 else f"SHORT-{i}").id for i in range(_PINS)
        ]
        self.groups = {p: (_GROUP if i >= 4 else f"SHORT-{i}") for i, p in enumerate(self.pins)}
        self.people = [make_user(f"short{i}@example.org", name=f"S{i}").id for i in range(_PEOPLE)]
        # (user, pin, condition, tradeable, priced)
        self.haves = [
            (self.people[c], self.pins[p], grade, tradeable, priced)
            for (c, p), (grade, tradeable, priced) in sorted(market["haves"].items())
        ]
        # (want id, user, pin or None, group or None, priority, minimum)
        self.wants: list[tuple[int, int, int | None, str | None, int, int | None]] = []
        for user, pin, grade, tradeable, priced in self.haves:
            session.add(
                Have(
                    user_id=user,
                    pin_id=pin,
                    condition=Condition(grade),
                    tradeable=tradeable,
                    price="5.00" if priced else None,
                    currency="EUR" if priced else None,
                )
            )
        for (c, target), (priority, minimum) in sorted(market["wants"].items()):
            pin = self.pins[target] if target < _PINS else None
            want = Want(
                user_id=self.people[c],
                pin_id=pin,
                variant_group=None if pin else _GROUP,
                priority=priority,
                min_condition=None if minimum is None else Condition(minimum),
            )
            session.add(want)
            session.flush()
            self.wants.append((want.id, self.people[c], pin, want.variant_group, priority, minimum))
        session.flush()

    def targets(self, want: tuple[Any, ...]) -> list[int]:
        """The pins a want can be filled with."""
        _, _, pin, group, *_ = want
        return [pin] if pin is not None else [p for p in self.pins if self.groups[p] == group]

    def holds(self, user: int, pin: int) -> bool:
        return any(h[0] == user and h[1] == pin for h in self.haves)

    def partners(self, me: int, limit: int) -> list[int]:
        """Swap partners by definition: they hold tradeable, in a condition I
        accept, a pin I want and do not hold, and want (without holding it) a pin
        I hold tradeable in a condition they accept; best coverage of my wants
        first, then most wants filled, then id."""
        filled: dict[int, dict[int, int]] = {}  # partner → want id → stars
        for want in (w for w in self.wants if w[1] == me):
            for pin in self.targets(want):
                if self.holds(me, pin):
                    continue
                for user, have_pin, grade, tradeable, _ in self.haves:
                    if user != me and have_pin == pin and tradeable and grade >= (want[5] or 1):
                        stars = filled.setdefault(user, {})
                        stars[want[0]] = max(stars.get(want[0], 0), want[4])

        def takes_from_me(partner: int) -> bool:
            return any(
                pin in self.targets(want)
                and grade >= (want[5] or 1)
                and not self.holds(partner, pin)
                for want in self.wants
                if want[1] == partner
                for user, pin, grade, tradeable, _ in self.haves
                if user == me and tradeable
            )

        ranked = sorted(
            (-sum(1 << (s - 1) for s in stars.values()), -len(stars), partner)
            for partner, stars in filled.items()
            if takes_from_me(partner)
        )
        return [partner for *_, partner in ranked[:limit]]

    def changed_want_holders(self, me: int, pin: int, existing: set[int], fresh: int) -> set[int]:
        """The holders a changed Want of `pin` brings, by definition: holders of a
        copy offered (tradeable or priced) who fill a want of mine on it, or are
        already matched with me (`existing`, always kept); past `fresh` new ones,
        those who want a pin I hold tradeable first, then most coverage, most
        pairs, best condition, id."""
        wanted = [w for w in self.wants if w[1] == me and pin in self.targets(w)]
        rows: dict[int, list[tuple[bool, int, int | None]]] = {}
        for user, have_pin, grade, tradeable, priced in self.haves:
            if have_pin != pin or user == me or not (tradeable or priced):
                continue
            fits = [w for w in wanted if grade >= (w[5] or 1)]
            rows.setdefault(user, []).extend(
                [(tradeable, grade, w[4]) for w in fits] or [(tradeable, grade, None)]
            )
        giving = {h[1] for h in self.haves if h[0] == me and h[3]}
        keys = {}
        for user, found in rows.items():
            pairs = [r for r in found if r[2] is not None]
            if not pairs and user not in existing:
                continue
            coverage = sum(1 << (r[2] - 1) for r in pairs if r[0] and r[2] is not None)
            wants_mine = any(w[1] == user and w[2] in giving for w in self.wants)
            keys[user] = (-int(wants_mine), -coverage, -len(pairs), -max(r[1] for r in found))
        new = sorted((k, user) for user, k in keys.items() if user not in existing)
        if len(new) <= fresh:
            return set(keys)
        return {u for u in keys if u in existing} | {user for _, user in new[:fresh]}

    def changed_have_wanters(self, me: int, pin: int, existing: set[int], fresh: int) -> set[int]:
        """The wanters a changed Have of `pin` brings, by definition: those who
        want it (exactly or any variant) and can fill a want of mine for a pin I
        do not hold with a tradeable copy in a condition I accept, or are already
        matched with me (`existing`, always kept); past `fresh` new ones, most
        coverage first (each such pairing counts), then most pairings, then id."""
        wanters = {w[1] for w in self.wants if w[1] != me and pin in self.targets(w)}
        mine = [
            (w, p)
            for w in self.wants
            if w[1] == me
            for p in self.targets(w)
            if not self.holds(me, p)
        ]
        keys = {}
        for c in wanters:
            pairs = [
                w
                for w, p in mine
                for user, have_pin, grade, tradeable, _ in self.haves
                if user == c and have_pin == p and tradeable and grade >= (w[5] or 1)
            ]
            if pairs or c in existing:
                keys[c] = (-sum(1 << (w[4] - 1) for w in pairs), -len(pairs), c)
        new = sorted(k for c, k in keys.items() if c not in existing)
        return {c for c in keys if c in existing} | {k[-1] for k in new[:fresh]}


@pytest.fixture()
def market_of(app_ctx: Flask) -> Iterator[Any]:
    """Stores a generated market in a savepoint rolled back after the example."""
    savepoints: list[Any] = []

    def store(market: dict[str, Any]) -> Market:
        savepoints.append(db.session.begin_nested())
        return Market(market)

    yield store
    for savepoint in reversed(savepoints):
        if savepoint.is_active:
            savepoint.rollback()


@_SETTINGS
@given(market=_MARKET)
def test_swap_partners_are_the_best_by_coverage(market_of: Any, market: Any) -> None:
    """The holders asked in rank order give the definition's partners, in its
    order, however many the shortlist takes."""
    lists = market_of(market)
    session = db.session()
    shortlists.plan_per_call(session)
    try:
        for me in lists.people:
            expected = lists.partners(me, market["limit"])
            assert shortlists.swap_partners(session, me, market["limit"]) == expected
    finally:
        db.session.rollback()


@_SETTINGS
@given(
    market=_MARKET,
    few=st.sampled_from([(0, 1), (shortlists.FEW_PINS, shortlists.FEW_TAKERS), (1_000, 0)]),
)
# S0 wants pin 0, held by S1 (already matched) and S2 (new): both, whoever asks.
@example(
    market={
        "haves": {(1, 0): (4, True, False), (2, 0): (4, True, False)},
        "wants": {(0, 0): (3, None)},
        "limit": 1,
        "changed": 0,
        "existing": {1},
        "fresh": 4,
    },
    few=(shortlists.FEW_PINS, shortlists.FEW_TAKERS),
)
def test_a_changed_want_brings_its_holders_by_the_shortlist_ranking(
    market_of: Any, market: Any, few: tuple[int, int], monkeypatch: Any
) -> None:
    """Few or many holders, I hold few or many pins, few or many want them
    (PostgreSQL asks differently): those already matched with me, then the best
    `fresh` new holders."""
    monkeypatch.setattr(shortlists, "FEW_PINS", few[0])
    monkeypatch.setattr(shortlists, "FEW_TAKERS", few[1])
    _each_collector_asks(market_of(market), market, "want")


@_SETTINGS
@given(market=_MARKET, few=st.sampled_from([0, shortlists.FEW_WANTERS]))
def test_a_changed_have_brings_its_wanters_by_the_shortlist_ranking(
    market_of: Any, market: Any, few: int, monkeypatch: Any
) -> None:
    """Few or many want the pin (PostgreSQL then reads what each can fill from the
    wanter's copies, or from the holders of my wanted pins): those already matched
    with me, then the best `fresh` new wanters."""
    monkeypatch.setattr(shortlists, "FEW_WANTERS", few)
    _each_collector_asks(market_of(market), market, "have")


def _each_collector_asks(lists: Market, market: dict[str, Any], changed: str) -> None:
    """Each collector in turn changes a Want (or a Have) of the changed pin, with
    some others already matched: the shortlist is the definition's."""
    session = db.session()
    shortlists.plan_per_call(session)
    pin = lists.pins[market["changed"]]
    try:
        for n, me in enumerate(lists.people):
            existing = {lists.people[(n + k) % _PEOPLE] for k in market["existing"]}
            if changed == "want":
                expected = lists.changed_want_holders(me, pin, existing, market["fresh"])
                have_pins, want_pins = [], [pin]
            else:
                expected = lists.changed_have_wanters(me, pin, existing, market["fresh"])
                have_pins, want_pins = [pin], []
            found = shortlists.changed_candidates(
                session, me, have_pins, want_pins, sorted(existing), market["fresh"]
            )
            assert found == expected
    finally:
        db.session.rollback()
