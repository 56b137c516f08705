"""Trade reservations under real concurrency, on committed data: every racing
call runs in a thread of its own with its own app context, session and
connection, and is committed, or rolled back on any error, as a request is.

* 60 three-collector rings, each waiting only for its last member, over 20
  single copies (every copy wanted by about nine rings), all last acceptances at
  one instant → 0 partial trades, 0 copies held twice, 0 deadlocks, nothing
  refused but with a Conflict, and at least one ring agreed.
* buyers checking out a listed copy while the last acceptance of a swap giving
  it away happens → exactly one of them holds the copy.
* a new collector's swaps, all accepted at once → all agreed (each acceptance
  mails that collector, whose mail settings do not exist yet).
* first acceptances of rings among a few collectors never mailed, all at once →
  all go through, none deadlocks (each tells the other two members).
* agreed swaps called off, and completions, while other trades holding the same
  copies are accepted → none deadlocks; completions bringing one pin to one
  collector at once → every copy arrives.

SQLite serialises writers (BEGIN IMMEDIATE and a busy timeout, as the app
configures it), so there the same races are smaller.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from marketplace import create_app
from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.lists.models import Condition, Have
from marketplace.mail.models import MailSettings
from marketplace.orders.models import Order
from marketplace.trades.models import Trade
from tests.support.app import committed_database, make_settings, migrate, wipe
from tests.support.factories import HaveFactory, PinFactory, make_user
from tests.support.orders import STRIPE_ENV, make_listing, make_seller, orders
from tests.support.stripe_server import FakeStripe
from tests.support.trade_races import (
    Attempt,
    accept_as_a_request,
    act_as_a_request,
    at_once,
    audit_ledger,
    contested_rings,
    ring_proposal,
    wide_engine,
)
from tests.support.trades import AddressFactory, copy_of, lines, trader, trades

# (copies, rings) per database: on PostgreSQL the full race, on SQLite, where
# writers take turns anyway, a smaller one that still contests every copy.
RINGS = {"postgresql": (20, 60), "sqlite": (6, 12)}
# (listings, buyers of each) racing a swap's last acceptance.
LISTINGS = {"postgresql": (4, 8), "sqlite": (2, 4)}
# (collectors, rings among them) answered first at once.
FIRST_ANSWERS = {"postgresql": (8, 60), "sqlite": (5, 12)}
# Trades sharing copies called off, completed and accepted at once.
SHARED = {"postgresql": 20, "sqlite": 4}
# Swaps of one collector accepted at once.
SWAPS = {"postgresql": 12, "sqlite": 4}
BUYER_STAGGER = 0.15  # seconds between the first clicks on one listing and the next
CONNECTIONS = 64


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def race_app(request: pytest.FixtureRequest, workdir: Path, fake: FakeStripe) -> Iterator[Flask]:
    url = committed_database(request.config, workdir, "znachki_trades_race")
    settings = make_settings(url, workdir, **STRIPE_ENV, STRIPE_API_BASE=fake.url)
    app = create_app(settings, OUTBOX_RELAY=False)
    migrate(app)
    wide_engine(app, CONNECTIONS)
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture()
def fresh(race_app: Flask, fake: FakeStripe) -> Flask:
    wipe(race_app)
    fake.reset()
    return race_app


def db_name(app: Flask) -> str:
    return str(app.extensions["db_engine"].dialect.name)


def in_app(app: Flask, fn: Callable[[], Any]) -> Any:
    """Run `fn` as one unit of work in its own app context, as a task would."""
    with app.app_context():
        try:
            result = fn()
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise


def test_last_acceptances_of_rings_racing_for_few_copies_hold_each_copy_once(
    fresh: Flask,
) -> None:
    copies, rings = RINGS[db_name(fresh)]
    seats = in_app(fresh, lambda: contested_rings(copies, rings))
    began = time.perf_counter()
    attempts: list[Attempt] = at_once(
        len(seats), lambda i: accept_as_a_request(fresh, seats[i].last_member_id, seats[i].trade_id)
    )
    seconds = time.perf_counter() - began

    def after() -> tuple[Any, dict[int, str], dict[int, int]]:
        statuses = dict(db.session.execute(select(Trade.id, Trade.status)).all())
        reserved = dict(db.session.execute(select(Have.id, Have.reserved)).all())
        return audit_ledger(db.session()), statuses, reserved

    audit, statuses, reserved = in_app(fresh, after)
    outcomes = Counter(a.outcome for a in attempts)
    winners = [s for s, a in zip(seats, attempts, strict=True) if a.outcome == "accepted"]
    losers = [s for s, a in zip(seats, attempts, strict=True) if a.outcome != "accepted"]
    latencies = sorted(a.seconds for a in attempts)
    print(
        f"\nFIGURE [{db_name(fresh)}] {len(seats)} concurrent last acceptances of 3-party rings "
        f"over {copies} copies: winners={len(winners)} conflicts={outcomes['Conflict']} "
        f"deadlocks={outcomes['deadlock']} other_errors="
        f"{sum(n for k, n in outcomes.items() if k not in ('accepted', 'Conflict', 'deadlock'))} "
        f"partial_trades={len(audit.partial_trades)} "
        f"double_reserved={len(audit.double_reserved)} "
        f"seconds={seconds:.2f} p50={latencies[len(latencies) // 2] * 1000:.0f}ms "
        f"max={latencies[-1] * 1000:.0f}ms"
    )
    refused = {a.outcome: a.detail for a in attempts if a.outcome not in ("accepted", "Conflict")}
    assert refused == {}, refused  # no deadlock, no serialisation failure, no crash
    assert audit.clean, audit
    assert winners, "no ring went ahead"
    # Each ring is agreed with its three copies held, or still proposed with none.
    for seat in winners:
        assert statuses[seat.trade_id] == "accepted"
        assert all(reserved[h] == 1 for h in seat.have_ids)
    for seat in losers:
        assert statuses[seat.trade_id] == "proposed"
    # No copy went to two rings, and no ring lost but to a ring that took a copy of it.
    taken = [h for seat in winners for h in seat.have_ids]
    assert len(taken) == len(set(taken)) == audit.reserved_units
    assert all(any(h in taken for h in seat.have_ids) for seat in losers)


def buy_as_a_request(app: Flask, buyer_id: int, have_id: int, wait: float = 0) -> Attempt:
    """A buyer's Buy click `wait` seconds from now: the checkout in an app context
    of its own, committed on success and rolled back on any error."""
    time.sleep(wait)
    began = time.perf_counter()
    with app.app_context():
        try:
            buyer = db.session.get(User, buyer_id)
            assert buyer is not None
            orders(app).buy(buyer, have_id)
            db.session.commit()
            outcome, detail = "bought", ""
        except Exception as exc:
            db.session.rollback()
            outcome, detail = type(exc).__name__, str(exc)[:300]
        finally:
            db.session.remove()
    return Attempt(have_id, outcome, time.perf_counter() - began, detail)


def test_buyers_and_a_swap_racing_for_a_listed_copy_leave_it_held_once(
    fresh: Flask, fake: FakeStripe
) -> None:
    listings, buyers_each = LISTINGS[db_name(fresh)]

    def setup() -> list[tuple[int, int, int, list[int]]]:
        seller = make_seller(fresh, fake)
        AddressFactory(user=seller)
        races = []
        for n in range(listings):
            listing = make_listing(seller, quantity=1, ref=f"RACE-{n}")
            partner = trader(f"Partner{n}")
            swap = trades().propose(
                seller, partner.id, give=lines(listing), take=lines(copy_of(partner))
            )
            buyers = [make_user(f"buyer{n}-{b}@example.org").id for b in range(buyers_each)]
            races.append((listing.id, swap.id, partner.id, buyers))
        return races

    races = in_app(fresh, setup)
    # One acceptance and every buyer of each listing start at the same instant;
    # the buyers of later listings click a little later, so that the trade gets
    # there first on some listings and a buyer does on others.
    calls: list[Callable[[], Attempt]] = []
    for n, (have_id, trade_id, partner_id, buyers) in enumerate(races):
        calls.append(lambda p=partner_id, t=trade_id: accept_as_a_request(fresh, p, t))
        calls += [
            lambda b=b, h=have_id, wait=n * BUYER_STAGGER: buy_as_a_request(fresh, b, h, wait)
            for b in buyers
        ]
    attempts = at_once(len(calls), lambda i: calls[i]())

    def after() -> tuple[Any, list[tuple[str, int, int]]]:
        held = []
        for have_id, trade_id, _partner, _buyers in races:
            trade = db.session.get(Trade, trade_id)
            have = db.session.get(Have, have_id)
            assert trade is not None and have is not None
            open_orders = db.session.scalar(
                select(func.count())
                .select_from(Order)
                .where(
                    Order.have_id == have_id,
                    Order.status == "pending",
                    Order.holds_reservation.is_(True),
                )
            )
            held.append((trade.status, int(open_orders or 0), have.reserved))
        return audit_ledger(db.session()), held

    audit, held = in_app(fresh, after)
    outcomes = Counter(a.outcome for a in attempts)
    trade_wins = sum(1 for status, _orders, _reserved in held if status == "accepted")
    sessions = len(fake.calls("/v1/checkout/sessions"))
    print(
        f"\nFIGURE [{db_name(fresh)}] {listings} listed copies, each raced by a swap's last "
        f"acceptance and {buyers_each} buyers: trade_wins={trade_wins} "
        f"buyer_wins={listings - trade_wins} outcomes={dict(outcomes)} "
        f"checkout_sessions={sessions}"
    )
    assert set(outcomes) <= {"accepted", "bought", "Conflict"}, [
        a.detail for a in attempts if a.outcome not in ("accepted", "bought", "Conflict")
    ]
    assert audit.clean, audit
    for status, open_orders, reserved in held:
        # Exactly one holder: the agreed trade, or one open checkout.
        assert (status == "accepted") + open_orders == 1 and reserved == 1
        assert status in ("accepted", "proposed")
    assert outcomes["accepted"] + outcomes["bought"] == listings
    assert sessions == outcomes["bought"]  # a refused buyer never reached Stripe


def test_every_swap_of_a_new_collector_accepted_at_once_is_agreed(fresh: Flask) -> None:
    """Each agreement mails the proposer, who has never been mailed: the
    acceptances all create that collector's mail settings at the same instant."""
    swaps = SWAPS[db_name(fresh)]

    def setup() -> list[tuple[int, int]]:
        newcomer = trader("Newcomer")
        races = []
        for n in range(swaps):
            partner = trader(f"Partner{n}")
            swap = trades().propose(
                newcomer, partner.id, give=lines(copy_of(newcomer)), take=lines(copy_of(partner))
            )
            races.append((partner.id, swap.id))
        return races

    races = in_app(fresh, setup)
    attempts = at_once(len(races), lambda i: accept_as_a_request(fresh, *races[i]))
    outcomes = Counter(a.outcome for a in attempts)
    audit = in_app(fresh, lambda: audit_ledger(db.session()))
    print(f"\nFIGURE [{db_name(fresh)}] {swaps} swaps of one newcomer accepted at once: {outcomes}")
    assert outcomes == {"accepted": swaps}, [a.detail for a in attempts]
    assert audit.clean and audit.reserved_units == 2 * swaps


def test_first_acceptances_of_rings_of_collectors_never_mailed_all_go_through(
    fresh: Flask,
) -> None:
    """Each first acceptance tells the ring's other two members, in turn, making
    their mail settings; rings sharing members list them in different orders."""
    members_count, rings = FIRST_ANSWERS[db_name(fresh)]

    def setup() -> list[tuple[int, int]]:
        members = [trader(f"Member{n}", f"member{n}@example.org") for n in range(members_count)]
        rng = random.Random(7)
        firsts = []
        for n in range(rings):
            trio = rng.sample(members, 3)
            legs = [(trio[k], trio[(k + 1) % 3], copy_of(trio[k])) for k in range(3)]
            ring = trades().open_ring(trio[0], ring_proposal(legs, f"first-{n}").id)
            firsts.append((trio[0].id, ring.id))
        assert db.session.scalar(select(func.count()).select_from(MailSettings)) == 0
        return firsts

    firsts = in_app(fresh, setup)
    attempts = at_once(len(firsts), lambda i: accept_as_a_request(fresh, *firsts[i]))
    outcomes = Counter(a.outcome for a in attempts)
    print(
        f"\nFIGURE [{db_name(fresh)}] {rings} first acceptances of rings among "
        f"{members_count} collectors never mailed: {dict(outcomes)}"
    )
    assert outcomes == {"accepted": rings}, [a.detail for a in attempts]


def test_cancellations_and_acceptances_sharing_copies_at_once_never_deadlock(
    fresh: Flask,
) -> None:
    """Swaps naming the same two copies, the higher have id first in their terms:
    half are agreed and called off while the other half are accepted."""
    n = SHARED[db_name(fresh)]

    def setup() -> tuple[int, int, list[int]]:
        ivan, olga = trader("Ivan"), trader("Olga")
        lower = copy_of(olga, quantity=4 * n)
        higher = copy_of(ivan, quantity=4 * n)
        swaps = [
            trades().propose(ivan, olga.id, give=lines(higher), take=lines(lower)).id
            for _ in range(2 * n)
        ]
        for trade_id in swaps[:n]:
            trades().accept(olga, trade_id)
        return ivan.id, olga.id, swaps

    ivan, olga, swaps = in_app(fresh, setup)
    calls = [(fresh, "cancel", ivan, t) for t in swaps[:n]]
    calls += [(fresh, "accept", olga, t) for t in swaps[n:]]
    attempts = at_once(len(calls), lambda i: act_as_a_request(*calls[i]))
    outcomes = Counter(a.outcome for a in attempts)
    audit = in_app(fresh, lambda: audit_ledger(db.session()))
    print(f"\nFIGURE [{db_name(fresh)}] {n} cancellations racing {n} acceptances: {dict(outcomes)}")
    assert outcomes == {"cancelled": n, "accepted": n}, [a.detail for a in attempts]
    assert audit.clean and audit.reserved_units == 2 * n


def test_completions_and_acceptances_sharing_copies_at_once_never_deadlock(fresh: Flask) -> None:
    """Gifts of Gleb's copies of a pin to Rita, who has her own copies of it,
    complete (Gleb's copy goes, Rita's Have grows) while swaps of the same two
    copies are accepted."""
    n = SHARED[db_name(fresh)]

    def setup() -> tuple[int, list[int], list[int], int, int]:
        gleb, rita = trader("Gleb"), trader("Rita")
        pin = PinFactory()
        ritas = HaveFactory(user=rita, pin=pin, quantity=4 * n, condition=Condition.FINE)
        glebs = HaveFactory(user=gleb, pin=pin, quantity=4 * n, condition=Condition.FINE)
        gifts, swaps = [], []
        for _ in range(n):
            gift = trades().propose(gleb, rita.id, give=lines(glebs))
            trades().accept(rita, gift.id)
            gifts.append(gift.id)
            swaps.append(trades().propose(gleb, rita.id, give=lines(glebs), take=lines(ritas)).id)
        return rita.id, gifts, swaps, ritas.id, glebs.id

    rita, gifts, swaps, ritas, glebs = in_app(fresh, setup)
    calls = [(fresh, "receive", rita, t) for t in gifts]
    calls += [(fresh, "accept", rita, t) for t in swaps]
    attempts = at_once(len(calls), lambda i: act_as_a_request(*calls[i]))
    outcomes = Counter(a.outcome for a in attempts)

    def after() -> tuple[Any, set[str], int, int]:
        statuses = set(db.session.scalars(select(Trade.status).where(Trade.id.in_(gifts))))
        quantities = dict(db.session.execute(select(Have.id, Have.quantity)).all())
        return audit_ledger(db.session()), statuses, quantities[ritas], quantities[glebs]

    audit, statuses, rita_has, gleb_has = in_app(fresh, after)
    print(f"\nFIGURE [{db_name(fresh)}] {n} completions racing {n} acceptances: {dict(outcomes)}")
    assert outcomes == {"received": n, "accepted": n}, [a.detail for a in attempts]
    assert statuses == {"completed"} and audit.clean and audit.reserved_units == 2 * n
    assert (rita_has, gleb_has) == (5 * n, 3 * n)


@pytest.mark.parametrize("has_one", [True, False], ids=["into-her-have", "into-a-new-have"])
def test_completions_bringing_one_pin_to_one_collector_at_once_bring_every_copy(
    fresh: Flask, has_one: bool
) -> None:
    """Gifts from many collectors of copies of one pin to Rita complete at once:
    each adds its copy to the same Have (Rita's, or the one the first makes)."""
    n = SHARED[db_name(fresh)]

    def setup() -> tuple[int, int, list[int]]:
        rita, pin = trader("Rita"), PinFactory()
        if has_one:
            HaveFactory(user=rita, pin=pin, quantity=5, condition=Condition.FINE)
        gifts = []
        for k in range(n):
            giver = trader(f"Giver{k}")
            copy = HaveFactory(user=giver, pin=pin, quantity=1, condition=Condition.FINE)
            gift = trades().propose(giver, rita.id, give=lines(copy))
            trades().accept(rita, gift.id)
            gifts.append(gift.id)
        return rita.id, pin.id, gifts

    rita, pin, gifts = in_app(fresh, setup)
    attempts = at_once(n, lambda i: act_as_a_request(fresh, "receive", rita, gifts[i]))
    outcomes = Counter(a.outcome for a in attempts)
    held = in_app(
        fresh,
        lambda: db.session.execute(
            select(Have.quantity).where(Have.user_id == rita, Have.pin_id == pin)
        ).all(),
    )
    print(f"\nFIGURE [{db_name(fresh)}] {n} gifts of one pin completed at once: {dict(outcomes)}")
    assert outcomes == {"received": n}, [a.detail for a in attempts]
    assert [q for (q,) in held] == [(5 if has_one else 0) + n]
