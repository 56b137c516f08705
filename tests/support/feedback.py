"""Trades and orders that feedback can be given on: a swap carried to completion,
a ring completed around its loop, and an order paid (to confirm delivery of)."""

from __future__ import annotations

import secrets

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.registry import find_service
from marketplace.lists.models import Condition
from marketplace.orders.models import Order
from marketplace.orders.operations import Orders
from marketplace.trades.models import Trade
from tests.support.factories import PinFactory
from tests.support.trades import copy_of, lines, trades


def accepted_swap(a: User, b: User) -> Trade:
    """A swap `a` proposed and `b` accepted: one copy each way, nothing posted."""
    service = trades()
    trade = service.propose(a, b.id, give=lines(copy_of(a)), take=lines(copy_of(b)))
    return service.accept(b, trade.id)


def completed_swap(a: User, b: User) -> Trade:
    """A swap carried through: both parcels posted and received."""
    trade = accepted_swap(a, b)
    service = trades()
    for sender, receiver in ((a, b), (b, a)):
        service.ship(sender, trade.id)
        service.receive(receiver, trade.id)
    assert trade.status == "completed"
    return trade


def paid_order(buyer: User, seller: User) -> Order:
    """An order paid for one copy of a fresh pin (the test payment provider's)."""
    now = utcnow()
    order = Order(
        token=secrets.token_hex(8), buyer_id=buyer.id, seller_id=seller.id,
        pin_id=PinFactory().id, condition=Condition.FINE, amount=1500, currency="EUR",
        platform_fee=120, status="paid", stripe_account_id="acct_test", paid_at=now,
    )  # fmt: skip
    db.session.add(order)
    db.session.flush()
    return order


def delivered_order(buyer: User, seller: User) -> Order:
    order = paid_order(buyer, seller)
    service: Orders = find_service(Orders)
    return service.confirm_delivery(buyer, order.id)
