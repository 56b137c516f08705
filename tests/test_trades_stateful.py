"""Any sequence of trade and checkout actions keeps the reservation ledger right.

A Hypothesis state machine plays four collectors, each with a few copies (some
listed for sale, every seller able to take test payments), through random runs
of: proposing and countering swaps, opening rings, accepting, declining,
withdrawing, posting, receiving, cancelling, disputing, the clock expiring
proposals, buyers checking out listed copies and checkouts closing. Each action
is one unit of work (a savepoint), kept when it succeeds and rolled back when it
raises a domain error, as a request is; a refused action must change nothing.

After every step, for every Have: `reserved` is exactly what live trades' held
items and open checkouts hold, never below 0 nor above its quantity; agreed
trades hold all their copies and no other trade holds any; and each collector
owns exactly the copies the completed trades moved (the model counts them per
collector and pin from the terms it proposed, never from the database).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from flask import Flask, current_app
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.lists.models import Have
from marketplace.orders.models import Order
from marketplace.orders.operations import Orders
from marketplace.orders.operations import reservations as order_reservations
from marketplace.payments import TestPaymentProvider
from marketplace.trades.models import Trade, TradeItem, TradeParty
from marketplace.trades.operations import Line
from tests.support.factories import HaveFactory, PinFactory
from tests.support.orders import orders
from tests.support.trade_races import audit_ledger, ring_proposal
from tests.support.trades import trader, trades

COLLECTORS = 4
PINS = 5
COPIES_EACH = 3  # each collector's copies are of 3 of the 5 pins, so received ones merge
PRICE = Decimal("10.00")

# Which copies a side names: bit i of the mask picks the actor's i-th copy.
MASK = st.integers(0, 2**COPIES_EACH - 1)
PICK = st.integers(0, 63)
QUANTITY = st.sampled_from([1, 1, 1, 2])  # mostly one copy; sometimes more than is free

Terms = list[tuple[int, int, int, int]]  # (giver, receiver, pin, quantity)


Due = Callable[[Trade], list[int]]


def to_answer(trade: Trade) -> list[int]:
    return [p.user_id for p in trade.parties if p.accepted_version != trade.version]


def authors(trade: Trade) -> list[int]:
    return [p.user_id for p in trade.parties if p.accepted_version == trade.version]


def to_post(trade: Trade) -> list[int]:
    return [p.giver_id for p in trade.parcels if p.shipped_at is None]


def to_receive(trade: Trade) -> list[int]:
    return [p.receiver_id for p in trade.parcels if p.received_at is None]


def parties(trade: Trade) -> list[int]:
    return [p.user_id for p in trade.parties]


class TradesAndCheckouts(RuleBasedStateMachine):
    payments_folder = Path(tempfile.gettempdir())  # the test points it at its own
    tally: ClassVar[Counter[str]] = Counter()  # what the runs did, for the test's figures

    def __init__(self) -> None:
        super().__init__()
        self.session: Session = db.session()
        self.users: list[int] = []
        self.owned: Counter[tuple[int, int]] = Counter()  # (collector, pin) → copies
        self.terms: dict[int, Terms] = {}  # trade → its current terms, as proposed

    # -- the world ----------------------------------------------------------------------

    @initialize(
        quantities=st.lists(st.integers(1, 3), min_size=12, max_size=12),
        listed=st.lists(st.booleans(), min_size=12, max_size=12),
    )
    def collectors_with_copies(self, quantities: list[int], listed: list[bool]) -> None:
        # A fresh test-payments folder per run: the provider keeps accounts by
        # collector id, and ids come back after each run's rollback.
        folder = Path(tempfile.mkdtemp(dir=self.payments_folder))
        current_app.extensions["payments"] = TestPaymentProvider(folder)
        pins = [PinFactory() for _ in range(PINS)]
        for c in range(COLLECTORS):
            user = trader(f"Collector{c}", f"stateful{c}@example.org")
            self.users.append(user.id)
            for k in range(COPIES_EACH):
                n = c * COPIES_EACH + k
                pin = pins[(c + k) % PINS]
                price = {"price": PRICE, "currency": "EUR"} if listed[n] else {}
                HaveFactory(user=user, pin=pin, quantity=quantities[n], **price)
                self.owned[(user.id, pin.id)] += quantities[n]
            self._onboard(user)
        self.session.flush()

    def _onboard(self, user: User) -> None:
        service = orders(current_app)
        account, _link = service.start_onboarding(user)
        payments = current_app.extensions["payments"]
        payments.complete_onboarding(account.stripe_account_id)
        service.refresh_account(account.stripe_account_id)

    def teardown(self) -> None:
        self.session.rollback()  # back to the test's savepoint: the next run starts empty

    # -- reading ------------------------------------------------------------------------

    def _user(self, n: int) -> User:
        user = self.session.get(User, self.users[n % len(self.users)])
        assert user is not None
        return user

    def _copies(self, user_id: int) -> list[Have]:
        return list(
            self.session.scalars(select(Have).where(Have.user_id == user_id).order_by(Have.id))
        )

    def _trade(self, pick: int, *statuses: str) -> Trade | None:
        """A trade in one of `statuses` if there is one (else any): the actions
        mostly meet trades they apply to, and sometimes ones they do not."""
        ids = list(self.session.scalars(select(Trade.id).order_by(Trade.id)))
        if not ids:
            return None
        fitting = list(
            self.session.scalars(
                select(Trade.id).where(Trade.status.in_(statuses)).order_by(Trade.id)
            )
        )
        pool = fitting if fitting and pick % 5 else ids
        return self.session.get(Trade, pool[pick % len(pool)])

    def _actor(self, trade: Trade, pick: int, due: Due | None = None) -> User:
        """Mostly a collector whose move it is (`due`), else any party or a
        stranger to the trade, so that out-of-turn moves are tried too."""
        parties = [p.user_id for p in trade.parties]
        strangers = [u for u in self.users if u not in parties]
        anyone = parties + strangers[:1]
        whose = due(trade) if due is not None and pick % 4 else []
        chosen = whose[pick % len(whose)] if whose else anyone[pick % len(anyone)]
        return self._user(self.users.index(chosen))

    def _snapshot(self) -> list[Any]:
        """Every row an action may touch, read afresh."""
        self.session.expire_all()
        queries = [
            select(Have.id, Have.user_id, Have.pin_id, Have.quantity, Have.reserved),
            select(Trade.id, Trade.status, Trade.version),
            select(TradeParty.trade_id, TradeParty.user_id, TradeParty.accepted_version),
            select(TradeItem.id, TradeItem.have_id, TradeItem.reserved),
            select(Order.id, Order.status, Order.holds_reservation),
        ]
        return [self.session.execute(q.order_by(*q.selected_columns)).all() for q in queries]

    def _act(self, label: str, action: Callable[[], Any]) -> Any | None:
        """One unit of work: kept if it succeeds; rolled back, and checked to
        have changed nothing, if it raises a domain error."""
        before = self._snapshot()
        savepoint = self.session.begin_nested()
        try:
            result = action()
        except DomainError as exc:
            savepoint.rollback()
            self.tally[f"{label} refused"] += 1
            assert self._snapshot() == before, f"{label} was refused ({exc}) yet changed rows"
            return None
        savepoint.commit()
        self.tally[label] += 1
        self.session.expire_all()
        return result

    # -- agreeing ----------------------------------------------------------------------

    def _lines(self, user_id: int, mask: int, quantity: int) -> tuple[list[Line], Terms]:
        copies = [(i, h) for i, h in enumerate(self._copies(user_id)) if mask >> i & 1]
        return [Line(h.id, quantity) for _i, h in copies], [
            (user_id, 0, h.pin_id, quantity) for _i, h in copies
        ]

    @staticmethod
    def _to(terms: Terms, receiver: int) -> Terms:
        return [(giver, receiver, pin, quantity) for giver, _r, pin, quantity in terms]

    @rule(actor=PICK, other=PICK, give=MASK, take=MASK, quantity=QUANTITY)
    def propose(self, actor: int, other: int, give: int, take: int, quantity: int) -> None:
        me = self._user(actor)
        them = self._user(actor + 1 + other % (COLLECTORS - 1))
        give_lines, given = self._lines(me.id, give, quantity)
        take_lines, taken = self._lines(them.id, take, quantity)
        trade = self._act(
            "propose", lambda: trades().propose(me, them.id, give=give_lines, take=take_lines)
        )
        if trade is not None:
            self.terms[trade.id] = self._to(given, them.id) + self._to(taken, me.id)

    @rule(pick=PICK, who=PICK, give=MASK, take=MASK, quantity=QUANTITY)
    def counter(self, pick: int, who: int, give: int, take: int, quantity: int) -> None:
        trade = self._trade(pick, "proposed")
        if trade is None:
            return
        me = self._actor(trade, who, to_answer)
        other = next((p.user_id for p in trade.parties if p.user_id != me.id), self.users[0])
        give_lines, given = self._lines(me.id, give, quantity)
        take_lines, taken = self._lines(other, take, quantity)
        trade_id = trade.id
        done = self._act(
            "counter",
            lambda: trades().counter(me, trade_id, give=give_lines, take=take_lines),
        )
        if done is not None:
            self.terms[trade_id] = self._to(given, other) + self._to(taken, me.id)

    @rule(first=PICK, picks=st.tuples(PICK, PICK, PICK))
    def open_ring(self, first: int, picks: tuple[int, int, int]) -> None:
        members = [self._user(first + k) for k in range(3)]
        legs = []
        for k, giver in enumerate(members):
            copies = self._copies(giver.id)
            if not copies:
                return
            legs.append((giver, members[(k + 1) % 3], copies[picks[k] % len(copies)]))
        terms = [(g.id, r.id, have.pin_id, 1) for g, r, have in legs]
        signature = f"stateful-{len(self.terms)}"
        trade = self._act(
            "open_ring",
            lambda: trades().open_ring(members[0], ring_proposal(legs, signature).id),
        )
        if trade is not None:
            self.terms[trade.id] = terms

    def _answer(
        self, label: str, statuses: tuple[str, ...], due: Due, pick: int, who: int,
        call: Callable[[User, int], Any],
    ) -> tuple[int, Any] | None:  # fmt: skip
        trade = self._trade(pick, *statuses)
        if trade is None:
            return None
        actor, trade_id = self._actor(trade, who, due), trade.id
        return trade_id, self._act(label, lambda: call(actor, trade_id))

    @rule(pick=PICK, who=PICK, how=st.sampled_from(["accept", "decline", "withdraw"]))
    def answer(self, pick: int, who: int, how: str) -> None:
        """An answer to a proposal: yes, no, or the author taking it back."""
        due = authors if how == "withdraw" else to_answer
        service = trades()
        verb = {"accept": service.accept, "decline": service.decline,
                "withdraw": service.withdraw}[how]  # fmt: skip
        self._answer(how, ("proposed",), due, pick, who, verb)

    @rule(pick=PICK, who=PICK, how=st.sampled_from(["ship", "receive", "cancel", "dispute"]))
    def carry(self, pick: int, who: int, how: str) -> None:
        """A move on an agreed trade: a parcel posted or received, the trade
        called off, or a dispute (with or without the reason it needs)."""
        service = trades()
        if how == "ship":
            self._answer(how, ("accepted",), to_post, pick, who, service.ship)
        elif how == "receive":
            done = self._answer(how, ("accepted",), to_receive, pick, who, service.receive)
            if done is not None and done[1] is not None:
                self._received(done[0])
        elif how == "cancel":
            self._answer(how, ("accepted",), parties, pick, who, service.cancel)
        else:
            reason = "Arrived broken" if pick % 3 else ""
            self._answer(
                how, ("accepted",), parties, pick, who,
                lambda user, trade_id: service.dispute(user, trade_id, reason),
            )  # fmt: skip

    def _received(self, trade_id: int) -> None:
        trade = self.session.get(Trade, trade_id)
        assert trade is not None
        if trade.status == "completed":
            self.tally[f"{trade.kind} completed"] += 1
            # The agreed copies move: each leaves its giver and joins its receiver.
            for giver, receiver, pin, quantity in self.terms[trade.id]:
                self.owned[(giver, pin)] -= quantity
                self.owned[(receiver, pin)] += quantity

    # One argument: Hypothesis draws rules with fewer arguments more often, and
    # this is the rule that carries runs through to completions.
    @rule(step=st.tuples(PICK, PICK, st.integers(1, 4)))
    def advance(self, step: tuple[int, int, int]) -> None:
        """The next few moves of one live trade (agreed ones first), each by a
        collector who owes it: answers to a proposal, then parcels posted and
        received, or the trade called off. Each move is a unit of work of its own,
        checked like any step."""
        pick, who, moves = step
        statuses = ("accepted",) if pick % 3 else ("proposed", "accepted")
        live = list(
            self.session.scalars(
                select(Trade.id).where(Trade.status.in_(statuses)).order_by(Trade.id)
            )
        ) or list(
            self.session.scalars(
                select(Trade.id).where(Trade.status == "proposed").order_by(Trade.id)
            )
        )
        if not live:
            return
        trade_id = live[pick % len(live)]
        for move in range(moves):
            if move:
                self.check()
            trade = self.session.get(Trade, trade_id)
            assert trade is not None
            if trade.status not in ("proposed", "accepted"):
                return
            turn = who + move
            if trade.status == "proposed":
                how, whose = "accept", to_answer(trade)
            else:  # mostly parcels received, sometimes posted first, now and then called off
                how = ("cancel", "ship", "ship", "receive", "receive", "receive")[turn % 6]
                whose = {"cancel": parties, "ship": to_post, "receive": to_receive}[how](trade)
            if not whose:
                how, whose = "receive", to_receive(trade)
            actor = self._user(self.users.index(whose[turn % len(whose)]))
            verb = getattr(trades(), how)
            if self._act(how, lambda v=verb, a=actor: v(a, trade_id)) is None:
                return
            if how == "receive":
                self._received(trade_id)

    @rule(days=st.integers(0, 8))
    def clock(self, days: int) -> None:
        now = utcnow() + timedelta(days=days)
        self._act("expire", lambda: trades().expire_due(now))
        overdue = self.session.scalar(
            select(func.count())
            .select_from(Trade)
            .where(Trade.status == "proposed", Trade.expires_at <= now)
        )
        assert overdue == 0

    # -- buying ---------------------------------------------------------------------------

    @rule(buyer=PICK, pick=PICK)
    def buy(self, buyer: int, pick: int) -> None:
        listed = list(
            self.session.scalars(select(Have.id).where(Have.price.is_not(None)).order_by(Have.id))
        )
        if not listed:
            return
        me, have_id = self._user(buyer), listed[pick % len(listed)]
        self._act("buy", lambda: orders(current_app).buy(me, have_id))

    @rule(pick=PICK, how=st.sampled_from(["lapsed", "buyer"]))
    def close_checkout(self, pick: int, how: str) -> None:
        open_ids = list(
            self.session.scalars(
                select(Order.id)
                .where(Order.status == "pending", Order.holds_reservation.is_(True))
                .order_by(Order.id)
            )
        )
        if not open_ids:
            return
        order = self.session.get(Order, open_ids[pick % len(open_ids)])
        assert order is not None
        if how == "lapsed":  # as the sweep closes a checkout Stripe never reported
            self._act(
                "close", lambda: order_reservations.close(self.session, order, "expired", "lapsed")
            )
        else:
            buyer = self.session.get(User, order.buyer_id)
            assert buyer is not None
            service: Orders = orders(current_app)
            self._act("cancel_checkout", lambda: service.cancel(buyer, order.id))

    # -- what must always hold ------------------------------------------------------------

    @invariant()
    def check(self) -> None:
        self.session.expire_all()
        self._ledger_matches_its_holders()
        self._copies_moved_only_by_completed_trades()
        self._trades_keep_the_terms_they_were_given()

    def _ledger_matches_its_holders(self) -> None:
        audit = audit_ledger(self.session)
        assert audit.clean, audit
        for quantity, reserved in self.session.execute(select(Have.quantity, Have.reserved)):
            assert quantity > 0 and 0 <= reserved <= quantity

    def _copies_moved_only_by_completed_trades(self) -> None:
        rows = self.session.execute(
            select(Have.user_id, Have.pin_id, func.sum(Have.quantity)).group_by(
                Have.user_id, Have.pin_id
            )
        ).all()
        actual = {(user, pin): int(total) for user, pin, total in rows}
        expected = {key: n for key, n in self.owned.items() if n}
        assert all(n >= 0 for n in self.owned.values())
        assert actual == expected

    def _trades_keep_the_terms_they_were_given(self) -> None:
        stored: dict[int, Terms] = {trade_id: [] for trade_id in self.terms}
        for trade_id, *term in self.session.execute(
            select(TradeItem.trade_id, TradeItem.giver_id, TradeItem.receiver_id,
                   TradeItem.pin_id, TradeItem.quantity)
            .join(Trade, Trade.id == TradeItem.trade_id)
            .where(TradeItem.version == Trade.version)
        ):  # fmt: skip
            stored[trade_id].append((term[0], term[1], term[2], term[3]))
        assert {t: sorted(terms) for t, terms in stored.items()} == {
            t: sorted(terms) for t, terms in self.terms.items()
        }


def test_reservations_hold_under_any_sequence_of_actions(
    app_ctx: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each run installs the labelled test provider; the app gets its own back after.
    monkeypatch.setitem(app_ctx.extensions, "payments", app_ctx.extensions["payments"])

    class InThisTest(TradesAndCheckouts):
        payments_folder = tmp_path
        tally: ClassVar[Counter[str]] = Counter()

    run_state_machine_as_test(
        InThisTest,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            # Explaining a failure traces every line the database driver runs:
            # minutes, where shrinking alone takes seconds.
            phases=[phase for phase in Phase if phase is not Phase.explain],
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    print(f"\nFIGURE stateful trades and checkouts: {dict(sorted(InThisTest.tally.items()))}")
