"""Messages through the service and the pages: a trade's thread written and read
by both parties, 404 for everyone else, no messages between blocked collectors
nor from a suspended one, unread counts up and back to zero, one mail per
message as each collector prefers (in their language), addresses linked only
for established authors, text always escaped, hidden messages, and the links
into messages from the trade, order, collection and matches pages."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from marketplace.accounts import blocks
from marketplace.accounts.models import Reputation, User
from marketplace.core.errors import Forbidden, InvalidInput, NotFound
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.registry import find_service
from marketplace.lists.models import CollectionPage
from marketplace.mail.models import MailMessage
from marketplace.matches import refresh
from marketplace.matches.refresh import MatchLimits
from marketplace.messages import queries
from marketplace.messages.models import Message, Thread
from marketplace.messages.text import render
from marketplace.notifications.models import Notification
from marketplace.notifications.operations import Notifier
from tests.support.factories import HaveFactory, PinFactory, UserFactory, WantFactory
from tests.support.messages import messages, order_between, signed_in, trade_between
from tests.support.orders import make_listing, make_test_provider_seller
from tests.support.trades import trader
from tests.support.web import csrf_from


def mails_to(user: User) -> list[MailMessage]:
    return list(
        db.session.scalars(
            select(MailMessage).where(MailMessage.to_addr == user.email).order_by(MailMessage.id)
        )
    )


def write(client: FlaskClient, thread_id: int, body: str) -> TestResponse:
    """Send the reply form on the thread page, as a browser does."""
    page = client.get(f"/messages/{thread_id}")
    assert page.status_code == 200
    return client.post(
        f"/messages/{thread_id}",
        data={"csrf_token": csrf_from(page.get_data(as_text=True)), "body": body},
    )


def opened(client: FlaskClient, url: str) -> int:
    """Follow a way into messages (`/messages/trade/…`) to the thread's id."""
    response = client.get(url)
    assert response.status_code == 303, response.status_code
    found = re.fullmatch(r"/messages/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


# -- the service ------------------------------------------------------------------------


def test_a_trade_thread_belongs_to_its_parties_only(app_ctx: Flask) -> None:
    ivan, olena, boris = trader("Ivan"), trader("Olena"), trader("Boris")
    trade = trade_between(ivan, olena)
    thread, created = messages().for_trade(ivan, trade.id)
    assert created and thread.kind == "trade"
    assert {m.user_id for m in thread.members} == {ivan.id, olena.id}
    again, created = messages().for_trade(olena, trade.id)
    assert again.id == thread.id and not created
    with pytest.raises(NotFound):
        messages().for_trade(boris, trade.id)
    with pytest.raises(NotFound):
        messages().thread(boris, thread.id)
    with pytest.raises(NotFound):
        messages().post(boris, thread.id, "let me in")


def test_an_order_thread_is_between_buyer_and_seller(app_ctx: Flask) -> None:
    buyer, seller, other = UserFactory(), UserFactory(), UserFactory()
    order = order_between(buyer, seller)
    thread, created = messages().for_order(seller, order.id)
    assert created and {m.user_id for m in thread.members} == {buyer.id, seller.id}
    assert messages().for_order(buyer, order.id)[0].id == thread.id
    with pytest.raises(NotFound):
        messages().for_order(other, order.id)


def test_two_collectors_have_one_direct_thread_whoever_starts_it(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(), UserFactory()
    first, created = messages().direct(ivan, olena.id)
    second, created_again = messages().direct(olena, ivan.id)
    assert created and not created_again and first.id == second.id
    low, high = sorted((ivan.id, olena.id))
    assert first.pair_key == f"{low}:{high}"
    with pytest.raises(InvalidInput):
        messages().direct(ivan, ivan.id)
    with pytest.raises(NotFound):
        messages().direct(ivan, 2**31 - 1)


def test_a_thread_opened_meanwhile_by_someone_else_is_the_thread(app_ctx: Flask) -> None:
    # The other collector's first message won the race: the insert hits the
    # unique pair key and the loser takes the winner's thread.
    ivan, olena = UserFactory(), UserFactory()
    service = messages()
    real_scalar = service.session.scalar
    calls = {"n": 0}

    def first_look_misses(statement: object, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            return None
        return real_scalar(statement, *args, **kwargs)  # type: ignore[arg-type]

    winner, _ = messages().direct(olena, ivan.id)
    service.session.scalar = first_look_misses  # type: ignore[method-assign]
    try:
        loser, created = service.direct(ivan, olena.id)
    finally:
        del service.session.scalar
    assert not created and loser.id == winner.id
    assert db.session.scalar(select(func.count(Thread.id)).where(Thread.kind == "direct")) == 1


def test_blocked_collectors_cannot_write_to_each_other(app_ctx: Flask) -> None:
    ivan, olena = trader("Ivan"), trader("Olena")
    trade = trade_between(ivan, olena)
    trade_thread, _ = messages().for_trade(ivan, trade.id)
    direct, _ = messages().direct(ivan, olena.id)
    blocks.block(db.session(), olena.id, ivan.id)
    with pytest.raises(Forbidden):
        messages().direct(ivan, olena.id)
    with pytest.raises(Forbidden):
        messages().direct(olena, ivan.id)  # either way
    for thread_id in (direct.id, trade_thread.id):
        for author in (ivan, olena):
            with pytest.raises(Forbidden):
                messages().post(author, thread_id, "hello")
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_a_suspended_collector_cannot_write(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(), UserFactory()
    thread, _ = messages().direct(ivan, olena.id)
    ivan.suspended_at = utcnow()
    with pytest.raises(Forbidden):
        messages().post(ivan, thread.id, "hello")


def test_text_is_kept_as_written_within_its_length(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(), UserFactory()
    thread, _ = messages().direct(ivan, olena.id)
    written = "  <b>Привет</b> & 'hi'\n\n  <script>x</script>  "
    message = messages().post(ivan, thread.id, written)
    assert message.body == written.strip()
    for empty in ("", "   \n\t "):
        with pytest.raises(InvalidInput) as refused:
            messages().post(ivan, thread.id, empty)
        assert "body" in refused.value.errors
    assert messages().post(ivan, thread.id, "я" * 5000 + "   ").body == "я" * 5000
    with pytest.raises(InvalidInput):
        messages().post(ivan, thread.id, "я" * 5001)


def test_unread_counts_go_up_and_back_to_zero(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(), UserFactory()
    thread, _ = messages().direct(ivan, olena.id)
    session = db.session()
    assert queries.unread_count(session, olena.id) == 0
    messages().post(ivan, thread.id, "one")
    messages().post(ivan, thread.id, "two")
    assert queries.unread_count(session, olena.id) == 2
    assert queries.unread_count(session, ivan.id) == 0  # one's own messages are read
    hidden = messages().post(ivan, thread.id, "three")
    hidden.hidden_at = utcnow()
    session.flush()
    assert queries.unread_count(session, olena.id) == 2  # hidden ones do not count
    messages().mark_read(olena, thread.id)
    assert queries.unread_count(session, olena.id) == 0
    messages().post(olena, thread.id, "answer")
    assert queries.unread_count(session, ivan.id) == 1
    assert queries.unread_count(session, olena.id) == 0


def test_the_inbox_lists_threads_newest_first(app_ctx: Flask) -> None:
    ivan, olena, boris = (UserFactory(display_name=n) for n in ("Ivan", "Olena", "Борис"))
    with_olena, _ = messages().direct(ivan, olena.id)
    with_boris, _ = messages().direct(ivan, boris.id)
    empty, _ = messages().direct(ivan, UserFactory().id)
    messages().post(olena, with_olena.id, "first")
    messages().post(boris, with_boris.id, "second")
    messages().post(boris, with_boris.id, "third")
    page = queries.inbox(db.session(), ivan.id, 1, 20)
    assert page.total == 2  # a thread with nothing in it is not listed
    assert [e.thread.id for e in page.items] == [with_boris.id, with_olena.id]
    assert [e.counterparts for e in page.items] == [["Борис"], ["Olena"]]
    assert [e.unread for e in page.items] == [2, 1]
    assert page.items[0].preview == "third"
    assert empty.id not in {e.thread.id for e in page.items}


# -- mail -------------------------------------------------------------------------------


def test_each_message_is_mailed_once_when_instant(app_ctx: Flask) -> None:
    ivan = UserFactory(display_name="Ivan")
    olena = UserFactory(display_name="Olena")
    thread, _ = messages().direct(ivan, olena.id)
    payload = "<script>alert(1)</script> & see you"
    message = messages().post(ivan, thread.id, payload)
    sent = mails_to(olena)
    assert len(sent) == 1
    mail = sent[0]
    assert mail.subject == "Ivan sent you a message"
    assert payload in mail.body_text  # plain text: as written
    assert "<script>" not in mail.body_html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; see you" in mail.body_html
    assert f"/messages/{thread.id}" in mail.body_html and f"/messages/{thread.id}" in mail.body_text
    assert mails_to(ivan) == []  # the author is not told
    # One notification per message: telling again changes nothing.
    messages()._tell(thread, message, ivan, [olena.id])
    assert len(mails_to(olena)) == 1
    messages().post(ivan, thread.id, "second")
    assert len(mails_to(olena)) == 2


def test_mail_follows_the_collectors_preference_and_language(app_ctx: Flask) -> None:
    ivan = UserFactory(display_name="Ivan")
    off, daily = UserFactory(), UserFactory(locale="ru")
    notifier = find_service(Notifier)
    notifier.set_mode(off.id, "message", "off")
    notifier.set_mode(daily.id, "message", "daily")
    for other in (off, daily):
        thread, _ = messages().direct(ivan, other.id)
        messages().post(ivan, thread.id, "Есть Гагарин 1961?")
    assert mails_to(off) == [] and mails_to(daily) == []
    statuses = dict(
        db.session.execute(
            select(Notification.user_id, Notification.status).where(Notification.kind == "message")
        ).all()
    )
    assert statuses == {off.id: "skipped", daily.id: "pending"}
    notifier.send_digest(daily.id, "daily:2026-12-06")
    (digest,) = mails_to(daily)
    assert "Ivan: новое сообщение" in digest.body_text
    assert "Есть Гагарин 1961?" in digest.body_text


# -- rendering --------------------------------------------------------------------------


def test_text_is_escaped_and_only_web_addresses_become_links() -> None:
    body = "See https://example.org/a?b=1&c=2. <img src=x onerror=alert(1)> javascript:alert(1)"
    plain = str(render(body, links=False))
    assert "<a" not in plain and "<img" not in plain and "&lt;img" in plain
    linked = str(render(body, links=True))
    assert (
        '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow ugc noopener">'
        "https://example.org/a?b=1&amp;c=2</a>." in linked
    )
    assert linked.count("<a ") == 1 and "&lt;img" in linked and "javascript:alert(1)" in linked
    sneaky = str(render('https://x.org/"onmouseover="alert(1)', links=True))
    assert 'href="https://x.org/"' in sneaky and "&#34;onmouseover=&#34;alert(1)" in sneaky


def test_links_are_clickable_only_from_established_members(app_ctx: Flask) -> None:
    newcomer, veteran, reader = UserFactory(), UserFactory(), UserFactory()
    db.session.add(Reputation(user_id=veteran.id, completed_trades=3))
    first, _ = messages().direct(newcomer, reader.id)
    second, _ = messages().direct(veteran, reader.id)
    messages().post(newcomer, first.id, "Look: https://example.org/pins")
    messages().post(veteran, second.id, "Look: https://example.org/pins")
    client = signed_in(app_ctx, reader)
    from_new = client.get(f"/messages/{first.id}").get_data(as_text=True)
    from_veteran = client.get(f"/messages/{second.id}").get_data(as_text=True)
    assert "https://example.org/pins" in from_new
    assert 'href="https://example.org/pins"' not in from_new
    assert '<a href="https://example.org/pins" rel="nofollow ugc noopener">' in from_veteran


# -- the pages --------------------------------------------------------------------------


def test_both_parties_write_and_read_a_trade_thread_in_pages(app_ctx: Flask) -> None:
    ivan, olena, boris = trader("Ivan"), trader("Olena"), trader("Boris")
    trade = trade_between(ivan, olena)
    trade_id = trade.id
    ivan_web, olena_web, boris_web = (signed_in(app_ctx, u) for u in (ivan, olena, boris))
    trade_page = ivan_web.get(f"/trades/{trade_id}").get_data(as_text=True)
    assert f'href="/messages/trade/{trade_id}"' in trade_page
    thread_id = opened(ivan_web, f"/messages/trade/{trade_id}")
    sent = write(ivan_web, thread_id, "Привет! Is the Gagarin pin still <mint>?")
    assert sent.status_code == 303
    assert opened(olena_web, f"/messages/trade/{trade_id}") == thread_id
    assert 'Messages<span class="nav-count"' in olena_web.get("/trades").get_data(as_text=True)
    html = olena_web.get(f"/messages/{thread_id}").get_data(as_text=True)
    assert "Привет! Is the Gagarin pin still &lt;mint&gt;?" in html
    first_id = db.session.scalar(select(func.max(Message.id)))
    assert f'href="/reports/new?kind=message&amp;id={first_id}"' in html and "Ivan" in html
    assert write(olena_web, thread_id, "Yes, mint.").status_code == 303
    mine = ivan_web.get(f"/messages/{thread_id}").get_data(as_text=True)
    assert "Yes, mint." in mine
    inbox = ivan_web.get("/messages/").get_data(as_text=True)
    assert "Olena" in inbox and f"Trade #{trade_id}" in inbox
    # Nobody else: the same 404 as for a thread that does not exist.
    assert boris_web.get(f"/messages/{thread_id}").status_code == 404
    assert boris_web.get("/messages/999999").status_code == 404
    assert boris_web.get(f"/messages/trade/{trade_id}").status_code == 404
    token = csrf_from(boris_web.get("/messages/").get_data(as_text=True))
    stranger = boris_web.post(f"/messages/{thread_id}", data={"csrf_token": token, "body": "hi"})
    assert stranger.status_code == 404
    assert db.session.scalar(select(func.count(Message.id))) == 2


def test_reading_the_thread_page_clears_the_header_count(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(display_name="Ivan"), UserFactory(display_name="Olena")
    thread, _ = messages().direct(ivan, olena.id)
    messages().post(ivan, thread.id, "one")
    messages().post(ivan, thread.id, "two")
    olena_web = signed_in(app_ctx, olena)
    assert '<span class="nav-count" title="2 unread">2</span>' in olena_web.get(
        "/messages/"
    ).get_data(as_text=True)
    olena_web.get(f"/messages/{thread.id}")
    assert 'title="2 unread"' not in olena_web.get("/messages/").get_data(as_text=True)
    assert queries.unread_count(db.session(), olena.id) == 0


def test_a_blocked_collector_cannot_message_in_pages(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(), UserFactory()
    thread, _ = messages().direct(ivan, olena.id)
    thread_id, olena_id = thread.id, olena.id
    blocks.block(db.session(), olena.id, ivan.id)
    ivan_web = signed_in(app_ctx, ivan)
    refused = ivan_web.get(f"/messages/with/{olena_id}")
    assert refused.status_code == 403
    assert "blocked" in refused.get_data(as_text=True)
    answer = write(ivan_web, thread_id, "please")
    assert answer.status_code == 403
    assert "blocked" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_a_refused_message_keeps_what_was_typed(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(), UserFactory()
    thread, _ = messages().direct(ivan, olena.id)
    ivan_web = signed_in(app_ctx, ivan)
    blank = write(ivan_web, thread.id, "   ")
    assert blank.status_code == 422
    assert "Write a message." in blank.get_data(as_text=True)
    long = write(ivan_web, thread.id, "x" * 5001)
    assert long.status_code == 422
    assert "x" * 5001 in long.get_data(as_text=True)


def test_a_hidden_message_says_so_instead_of_its_text(app_ctx: Flask) -> None:
    ivan, olena = UserFactory(), UserFactory()
    thread, _ = messages().direct(ivan, olena.id)
    message = messages().post(ivan, thread.id, "something rude")
    message.hidden_at = utcnow()
    html = signed_in(app_ctx, olena).get(f"/messages/{thread.id}").get_data(as_text=True)
    assert "This message was hidden by a moderator" in html
    assert "something rude" not in html


def test_order_collection_and_market_pages_lead_to_messages(app_ctx: Flask) -> None:
    buyer, seller = UserFactory(), UserFactory()
    order = order_between(buyer, seller)
    order_id, buyer_id = order.id, buyer.id
    seller_web = signed_in(app_ctx, seller)
    assert f'href="/messages/order/{order_id}"' in seller_web.get(f"/orders/{order_id}").get_data(
        as_text=True
    )
    thread_id = opened(seller_web, f"/messages/order/{order_id}")
    assert opened(seller_web, f"/messages/with/{buyer_id}") != thread_id
    assert seller_web.get("/messages/with/abc").status_code == 404


def test_collection_matches_and_market_pages_offer_a_message(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    gagarin, vostok = PinFactory(title_en="Gagarin 1961"), PinFactory(title_en="Vostok")
    HaveFactory(user=anna, pin=gagarin)
    HaveFactory(user=boris, pin=vostok)
    WantFactory(user=anna, wanted=vostok, priority=5)
    WantFactory(user=boris, wanted=gagarin)
    refresh.refresh_collector(db.session(), anna.id, MatchLimits.from_config(app_ctx.config))
    db.session.add(CollectionPage(user_id=boris.id, slug="boris-collection", shows="haves"))
    seller = make_test_provider_seller(app_ctx, "seller.messages@example.org")
    listing = make_listing(seller)
    boris_id, seller_id, pin_id = boris.id, seller.id, listing.pin_id
    anna_web = signed_in(app_ctx, anna)
    to_boris = f'href="/messages/with/{boris_id}"'
    assert to_boris in anna_web.get("/matches").get_data(as_text=True)
    assert to_boris in anna_web.get("/c/boris-collection").get_data(as_text=True)
    market = anna_web.get(f"/pins/{pin_id}/market").get_data(as_text=True)
    assert f'href="/messages/with/{seller_id}"' in market
    # Nobody is offered a conversation with themselves.
    own = signed_in(app_ctx, boris).get("/c/boris-collection").get_data(as_text=True)
    assert to_boris not in own
