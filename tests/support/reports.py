"""Two collectors with a real swap between their lists (matched by the refresh
the list services queue), each with a browser of their own, and reading who a
collector sees in matches on the page and through the API; a thread with a
message, a feedback comment and a priced copy to report."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.feedback.models import Feedback
from marketplace.lists.models import Have
from marketplace.lists.operations import Lists
from marketplace.matches import refresh
from marketplace.matches.models import Match
from marketplace.matches.refresh import MatchLimits
from marketplace.messages.models import Message, Thread, ThreadMember
from marketplace.trades.models import Trade, TradeParty
from tests.support.catalogue import make_pin
from tests.support.trades import copy_of
from tests.support.web import bearer, login


def signed_in(app: Flask, user: User) -> FlaskClient:
    """A browser of `user`'s own, logged in through the form."""
    client = app.test_client()
    response = login(client, user.email)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def swap_between(anna: User, boris: User) -> None:
    """Anna has a Gagarin and wants a Vostok; Boris the other way round."""
    lists = Lists(db.session())
    gagarin = make_pin(title_en="Gagarin 1961")
    vostok = make_pin(title_en="Vostok rocket")
    lists.add_have(anna, gagarin.id, condition="excellent")
    lists.add_want(anna, pin_id=vostok.id, priority=5)
    lists.add_have(boris, vostok.id, condition="very_fine")
    lists.add_want(boris, pin_id=gagarin.id, priority=4)


def refresh_matches(*users: User) -> None:
    """What the refresh task does after a list change (or an unblock)."""
    for user in users:
        refresh.refresh_collector(
            db.session(), user.id, MatchLimits.from_config(current_app.config)
        )
    db.session.commit()


def active_swap(user: User, other: User) -> Match | None:
    return db.session.scalar(
        select(Match).where(
            Match.user_id == user.id,
            Match.counterpart_id == other.id,
            Match.kind == "swap",
            Match.active.is_(True),
        )
    )


def page_shows(client: FlaskClient, name: str) -> bool:
    response = client.get("/matches")
    assert response.status_code == 200
    return f"Swap with {name}" in response.get_data(as_text=True)


def api_counterparts(client: FlaskClient, token: str) -> set[int]:
    response = client.get("/api/v1/me/matches", headers=bearer(token))
    assert response.status_code == 200, response.json
    return {m["counterpart"]["id"] for m in response.json if m["counterpart"]}


def direct_thread(a: User, b: User, body: str) -> Message:
    """A message from `a` in the direct thread of the two (made if need be)."""
    low, high = sorted((a.id, b.id))
    key = f"{low}:{high}"
    thread = db.session.scalar(select(Thread).where(Thread.pair_key == key))
    if thread is None:
        thread = Thread(kind="direct", pair_key=key)
        thread.members = [ThreadMember(user_id=a.id), ThreadMember(user_id=b.id)]
        db.session.add(thread)
        db.session.flush()
    message = Message(thread_id=thread.id, author_id=a.id, body=body)
    db.session.add(message)
    db.session.flush()
    return message


def completed_trade_feedback(rater: User, rated: User, comment: str) -> Feedback:
    """A completed swap between the two and `rater`'s feedback on `rated`."""
    trade = Trade(kind="swap", status="completed", proposer_id=rater.id, version=1,
                  created_at=utcnow(), expires_at=utcnow())  # fmt: skip
    trade.parties = [TradeParty(user_id=rater.id, position=0),
                     TradeParty(user_id=rated.id, position=1)]  # fmt: skip
    db.session.add(trade)
    db.session.flush()
    found = Feedback(trade_id=trade.id, rater_id=rater.id, rated_id=rated.id,
                     rating="negative", comment=comment)  # fmt: skip
    db.session.add(found)
    db.session.flush()
    return found


def listing_of(user: User, notes: str = "") -> Have:
    """A copy of `user`'s for sale."""
    return copy_of(user, price=Decimal("12.50"), currency="EUR", notes=notes or None)
