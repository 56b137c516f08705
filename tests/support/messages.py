"""Conversations to test with: a trade and an order between two collectors, the
messages service as views get it, and a collector's own logged-in browser."""

from __future__ import annotations

import secrets

from flask import Flask
from flask.testing import FlaskClient

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.lists.models import Condition
from marketplace.messages.operations import Messages
from marketplace.orders.models import Order
from marketplace.trades.models import Trade
from tests.support.trades import copy_of, lines, trades
from tests.support.web import login


def messages() -> Messages:
    service: Messages = find_service(Messages)
    return service


def trade_between(proposer: User, other: User) -> Trade:
    """A swap `proposer` offers `other` (both need a postal address: `trader`)."""
    return trades().propose(
        proposer, other.id, give=lines(copy_of(proposer)), take=lines(copy_of(other))
    )


def order_between(buyer: User, seller: User) -> Order:
    """A paid order, as a Checkout would have left it."""
    order = Order(
        token=secrets.token_hex(8),
        buyer_id=buyer.id,
        seller_id=seller.id,
        condition=Condition.FINE,
        amount=1500,
        currency="EUR",
        platform_fee=150,
        status="paid",
        stripe_account_id="acct_test",
    )
    db.session.add(order)
    db.session.flush()
    return order


def signed_in(app: Flask, user: User) -> FlaskClient:
    """A browser of `user`'s own, logged in through the form (which commits what
    the test made so far, as a request boundary does)."""
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client
