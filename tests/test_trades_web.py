"""The trade pages through the test client, each collector logged in on their own
client: "My trades" in its three groups, a proposal started from a swap match,
a counter, accepting, posting and receiving to completion, declining, the 404
every stranger gets, refusals shown with their message and status, addresses
shown only to whoever posts to them, and a ring of three opened from its cycle."""

from __future__ import annotations

import re

from flask import Flask, current_app
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.models import Address, User
from marketplace.core.extensions import db
from marketplace.lists import reservations as ledger
from marketplace.lists.models import Have
from marketplace.lists.operations import Lists
from marketplace.matches import refresh
from marketplace.matches.models import Match
from marketplace.matches.refresh import MatchLimits
from marketplace.trades.models import Trade
from tests.support.factories import PinFactory
from tests.support.trades import AddressFactory, copy_of, lines, proposed_ring, trader, trades
from tests.support.web import csrf_from, login, post_form

ACTIONS = ("accept", "decline", "cancel", "ship", "receive", "dispute", "counter")


def signed_in(app: Flask, user: User) -> FlaskClient:
    """A browser of `user`'s own, logged in through the form (which commits what
    the test made so far, as a request boundary does)."""
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def page(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def act(client: FlaskClient, trade_id: int, action: str, **data: object) -> str:
    """Press an action button on the trade page and land back on it."""
    response = post_form(
        client, f"/trades/{trade_id}/{action}", dict(data), page=f"/trades/{trade_id}"
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"] == f"/trades/{trade_id}"
    return page(client, f"/trades/{trade_id}")


def section(html: str, name: str) -> str:
    found = re.search(rf'<section[^>]* id="{name}"', html)
    assert found, f"no section {name}"
    return html[found.start() : html.index("</section>", found.start())]


def trade(trade_id: int) -> Trade:
    db.session.expire_all()
    found = db.session.get(Trade, trade_id)
    assert found is not None
    return found


def flash_errors(html: str) -> list[str]:
    return re.findall(r'<div class="flash error" role="(?:status|alert)">([^<]*)', html)


def addresses(user: User) -> list[Address]:
    return AddressBook(db.session()).addresses(user)


def lives_at(user: User, line1: str) -> str:
    """Give the collector's default address a street no other text contains."""
    addresses(user)[0].line1 = line1
    db.session.flush()
    return line1


def swap_of(proposer: User, answerer: User) -> tuple[Have, Have, Trade]:
    mine, theirs = copy_of(proposer), copy_of(answerer)
    made = trades().propose(proposer, answerer.id, give=lines(mine), take=lines(theirs))
    return mine, theirs, made


def test_my_trades_sorts_trades_into_waiting_open_and_finished(app_ctx: Flask) -> None:
    ivan, olga, petr = trader("Ivan"), trader("Olga"), trader("Petr")
    _, _, asked = swap_of(olga, ivan)  # Ivan must answer
    _, _, offered = swap_of(ivan, petr)  # Petr must answer
    _, _, over = swap_of(petr, ivan)
    trades().decline(ivan, over.id, "нет, спасибо")
    client = signed_in(app_ctx, ivan)

    html = page(client, "/trades")
    assert f'id="trade-{asked.id}"' in section(html, "act")
    assert "Swap with Olga" in section(html, "act")
    assert f'id="trade-{offered.id}"' in section(html, "open")
    assert f'id="trade-{over.id}"' in section(html, "finished")
    assert "Declined" in section(html, "finished")
    assert "Answer by" in section(html, "act") and "/stand-in.svg" in section(html, "act")
    # The header says how many wait for him, on every page.
    assert re.search(r'href="/trades">Trades<span class="nav-count"[^>]*>1<', html)
    assert 'class="nav-count"' not in page(signed_in(app_ctx, olga), "/matches")


def test_a_public_collection_offers_its_visitors_a_proposal(app_ctx: Flask) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    theirs = copy_of(olga)
    slug = Lists(db.session()).set_public(olga, "haves").slug
    link = f'href="/trades/new?with={olga.id}">Propose a trade</a>'

    assert link not in app_ctx.test_client().get(f"/c/{slug}").get_data(as_text=True)
    assert link not in page(signed_in(app_ctx, olga), f"/c/{slug}")  # her own page
    client = signed_in(app_ctx, ivan)
    assert link in page(client, f"/c/{slug}")
    form = page(client, f"/trades/new?with={olga.id}")
    assert "Propose a trade to Olga" in form
    assert re.search(rf'name="take" value="{theirs.id}" >', form)  # offered, nothing ticked
    assert "You have no copies offered for trade" in form


def _swap_match(anna: User, boris: User) -> tuple[Match, Have, Have]:
    """Anna lists a Gagarin Boris wants, Boris a Vostok she wants; the refresh
    stores the swap for both."""
    lists = Lists(db.session())
    gagarin, vostok = PinFactory(title_en="Gagarin 1961"), PinFactory(title_en="Vostok")
    hers = lists.add_have(anna, gagarin.id, condition="excellent")
    lists.add_want(anna, pin_id=vostok.id, priority=5)
    his = lists.add_have(boris, vostok.id, condition="very_fine")
    lists.add_want(boris, pin_id=gagarin.id)
    refresh.refresh_collector(db.session(), anna.id, MatchLimits.from_config(current_app.config))
    match = db.session.scalar(select(Match).where(Match.user_id == anna.id, Match.kind == "swap"))
    assert match is not None
    return match, hers, his


def test_a_proposal_starts_from_a_swap_match_with_its_copies_ticked(app_ctx: Flask) -> None:
    anna, boris = trader("Anna"), trader("Boris")
    match, hers, his = _swap_match(anna, boris)
    spare = copy_of(anna)  # offered too, not part of the match
    client = signed_in(app_ctx, anna)

    url = f"/trades/new?with={boris.id}&amp;match={match.id}"
    assert f'href="{url}">Propose a trade</a>' in page(client, "/matches")
    form = page(client, f"/trades/new?with={boris.id}&match={match.id}")
    assert re.search(rf'name="give" value="{hers.id}" checked', form)
    assert re.search(rf'name="take" value="{his.id}" checked', form)
    assert re.search(rf'name="give" value="{spare.id}" >', form)  # listed, not ticked

    sent = post_form(
        client,
        f"/trades/new?with={boris.id}&match={match.id}",
        {"give": [hers.id], f"qty_{hers.id}": "1", "take": [his.id], f"qty_{his.id}": "1",
         "note": "Меняемся?"},
    )  # fmt: skip
    assert sent.status_code == 303
    made = db.session.scalars(select(Trade)).one()
    assert sent.headers["Location"] == f"/trades/{made.id}"
    assert [(i.giver_id, i.have_id) for i in made.items] == [(anna.id, hers.id), (boris.id, his.id)]
    shown = page(client, f"/trades/{made.id}")
    assert "Your proposal is sent" in shown and "Меняемся?" in shown
    assert "Waiting for Boris." in shown

    # Somebody else's match, or a match with somebody else, starts nothing.
    other = db.session.scalar(select(Match).where(Match.user_id == boris.id))
    assert other is not None
    assert client.get(f"/trades/new?with={boris.id}&match={other.id}").status_code == 404
    assert client.get(f"/trades/new?with={anna.id}").status_code == 404  # herself
    assert client.get("/trades/new?with=999999").status_code == 404


def test_a_counter_starts_from_the_current_terms_and_becomes_version_two(app_ctx: Flask) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    mine, theirs, made = swap_of(ivan, olga)
    extra = copy_of(ivan, quantity=3)
    olga_client = signed_in(app_ctx, olga)

    form = page(olga_client, f"/trades/{made.id}/counter")
    assert re.search(rf'name="give" value="{theirs.id}" checked', form)
    assert re.search(rf'name="take" value="{mine.id}" checked', form)
    assert re.search(rf'name="take" value="{extra.id}" >', form)
    sent = post_form(
        olga_client,
        f"/trades/{made.id}/counter",
        {"give": [theirs.id], "take": [mine.id, extra.id], f"qty_{extra.id}": "2",
         "note": "и ещё два"},
    )  # fmt: skip
    assert sent.status_code == 303
    assert trade(made.id).version == 2

    ivan_client = signed_in(app_ctx, ivan)
    html = page(ivan_client, f"/trades/{made.id}")
    assert "The terms (version 2)" in html and "×2" in html
    assert "Terms 2 by Olga" in html and "(current)" in html and "Terms 1 by Ivan" in html
    assert "Olga: changed the terms (terms 2) — и ещё два" in html
    assert f'action="/trades/{made.id}/accept"' in html
    # Olga made these terms: she can change or withdraw them, not accept them.
    hers = page(olga_client, f"/trades/{made.id}")
    assert f'action="/trades/{made.id}/accept"' not in hers and "Withdraw my proposal" in hers


def test_accepted_posted_and_received_on_both_sides_completes_the_swap(app_ctx: Flask) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    ivan_line, olga_line = lives_at(ivan, "Narva mnt 5"), lives_at(olga, "Пярнуское ш. 12")
    second = AddressFactory(user=olga, name="Olga", line1="Почтовый ящик 7", is_default=False)
    mine, _theirs, made = swap_of(ivan, olga)
    ivan_client, olga_client = signed_in(app_ctx, ivan), signed_in(app_ctx, olga)

    # Olga has two addresses: she picks where her parcel goes, the default first.
    html = page(olga_client, f"/trades/{made.id}")
    assert re.search(rf'<option value="{second.id}" >Olga, Почтовый ящик 7', html)
    assert ivan_line not in html
    html = act(olga_client, made.id, "accept", address_id=second.id)
    assert "Everyone has accepted" in html
    assert trade(made.id).status == "accepted"
    assert db.session.get(Have, mine.id).reserved == 1  # type: ignore[union-attr]

    # Each sees only the address they post to: Ivan the one Olga chose.
    ivan_page = page(ivan_client, f"/trades/{made.id}")
    assert "Почтовый ящик 7" in ivan_page and olga_line not in ivan_page
    olga_page = page(olga_client, f"/trades/{made.id}")
    assert ivan_line in olga_page and "Почтовый ящик 7" not in olga_page

    html = act(ivan_client, made.id, "ship", to=olga.id, tracking="RA123456789EE")
    assert "Marked posted" in html and "RA123456789EE" in html
    act(olga_client, made.id, "ship", to=ivan.id)
    html = act(olga_client, made.id, "receive", sender=ivan.id)
    assert "Marked received" in html and trade(made.id).status == "accepted"
    html = act(ivan_client, made.id, "receive", sender=olga.id)
    assert "the trade is complete" in html and "Completed" in html
    assert trade(made.id).status == "completed"
    assert f'id="trade-{made.id}"' in section(page(olga_client, "/trades"), "finished")
    assert 'action="/trades/' not in section(html, "parcels")  # nothing left to press


def test_declining_ends_the_swap_with_the_reason(app_ctx: Flask) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    _, _, made = swap_of(ivan, olga)
    olga_client = signed_in(app_ctx, olga)
    html = act(olga_client, made.id, "decline", reason="Уже есть такой")
    assert "You declined" in html and "Reason given: “Уже есть такой”" in html
    assert trade(made.id).status == "declined"
    ivan_page = page(signed_in(app_ctx, ivan), "/trades")
    assert f'id="trade-{made.id}"' in section(ivan_page, "finished")


def test_calling_off_before_posting_and_a_dispute_after(app_ctx: Flask) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    mine, _, made = swap_of(ivan, olga)
    trades().accept(olga, made.id)
    ivan_client, olga_client = signed_in(app_ctx, ivan), signed_in(app_ctx, olga)
    html = act(ivan_client, made.id, "cancel", reason="Потерял значок")
    assert trade(made.id).status == "cancelled" and "Reason given: “Потерял значок”" in html
    assert db.session.get(Have, mine.id).reserved == 0  # type: ignore[union-attr]

    again = trades().propose(ivan, olga.id, give=lines(mine))
    trades().accept(olga, again.id)
    db.session.commit()
    html = act(ivan_client, again.id, "ship")
    assert "Report a problem" in html and "Call off" not in html
    html = act(olga_client, again.id, "dispute", reason="")
    assert any("Say what went wrong" in e for e in flash_errors(html))
    assert trade(again.id).status == "accepted"
    html = act(olga_client, again.id, "dispute", reason="Пришёл сломанным")
    assert "a moderator has been asked" in html and trade(again.id).status == "disputed"
    assert "Disputed" in html and f'action="/trades/{again.id}/' not in html


def test_a_stranger_gets_404_on_every_trade_route(app_ctx: Flask) -> None:
    ivan, olga, petr = trader("Ivan"), trader("Olga"), trader("Petr")
    _, _, made = swap_of(ivan, olga)
    proposal, _ = proposed_ring([ivan, olga, trader("Vera")])
    client = signed_in(app_ctx, petr)
    token = csrf_from(page(client, "/trades"))

    for url in (f"/trades/{made.id}", f"/trades/{made.id}/counter",
                f"/trades/rings/{proposal.id}", "/trades/999999"):  # fmt: skip
        assert client.get(url).status_code == 404, url
    for action in ACTIONS:
        response = client.post(
            f"/trades/{made.id}/{action}",
            data={"csrf_token": token, "reason": "x", "give": [], "tracking": "1"},
        )
        assert response.status_code == 404, action
    assert client.post(f"/trades/rings/{proposal.id}", data={"csrf_token": token}).status_code == (
        404
    )
    assert trade(made.id).status == "proposed" and trade(made.id).version == 1
    assert db.session.scalar(select(Trade).where(Trade.ring_proposal_id == proposal.id)) is None


def test_refusals_come_back_with_the_message_the_status_and_the_choices_kept(
    app_ctx: Flask,
) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    mine, theirs = copy_of(ivan), copy_of(olga)
    strangers = copy_of(trader("Petr"))
    assert ledger.hold(db.session(), theirs.id, 1)  # a buyer's checkout holds Olga's copy
    db.session.expire_all()  # the hold is an UPDATE: read the copy afresh, as a request does
    client = signed_in(app_ctx, ivan)
    url = f"/trades/new?with={olga.id}"

    taken = post_form(client, url, {"give": [mine.id], "take": [theirs.id], "note": "Пожалуйста"})
    assert taken.status_code == 409
    html = taken.get_data(as_text=True)
    assert "Only 0 of" in html and "Olga has free" in html
    assert re.search(rf'name="give" value="{mine.id}" checked', html)
    assert re.search(rf'name="take" value="{theirs.id}" checked', html)  # kept, and flagged
    assert "No longer offered" in html and ">Пожалуйста</textarea>" in html

    not_mine = post_form(client, url, {"give": [strangers.id]})
    assert not_mine.status_code == 403 and "is not in your Haves" in not_mine.get_data(as_text=True)
    not_hers = post_form(client, url, {"take": [strangers.id]})
    assert not_hers.status_code == 404 and "not in Olga&#39;s Haves" in not_hers.get_data(
        as_text=True
    )
    nothing = post_form(client, url, {"note": "?"})
    assert nothing.status_code == 400 and "at least one copy" in nothing.get_data(as_text=True)
    garbled = post_form(client, url, {"give": [mine.id], f"qty_{mine.id}": "два"})
    assert garbled.status_code == 400 and "whole number" in garbled.get_data(as_text=True)
    assert db.session.scalars(select(Trade)).all() == []

    # Accepting terms whose copy went elsewhere: the message, nothing held.
    ledger.release(db.session(), theirs.id, 1)
    db.session.expire_all()
    made = trades().propose(olga, ivan.id, give=lines(theirs), take=lines(mine))
    assert ledger.hold(db.session(), theirs.id, 1)
    db.session.commit()
    db.session.expire_all()
    html = act(client, made.id, "accept")
    assert any(f"Copy #{theirs.id}" in e and "no longer free" in e for e in flash_errors(html))
    assert trade(made.id).status == "proposed"
    assert trade(made.id).party(ivan.id).accepted_version is None  # type: ignore[union-attr]
    assert "No longer free" in section(html, "terms")
    # Out of turn: Olga made these terms and cannot accept them herself.
    html = act(signed_in(app_ctx, olga), made.id, "accept")
    assert any("You have accepted these terms" in e for e in flash_errors(html))
    # A counter that asks for what is not free comes back with 409 too.
    countered = post_form(client, f"/trades/{made.id}/counter", {"take": [theirs.id]})
    assert countered.status_code == 409 and "Only 0 of" in countered.get_data(as_text=True)
    assert trade(made.id).version == 1


def test_a_collector_without_an_address_is_sent_to_add_one(app_ctx: Flask) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    _, _, made = swap_of(olga, ivan)
    for address in addresses(ivan):
        db.session.delete(address)
    client = signed_in(app_ctx, ivan)
    html = page(client, f"/trades/{made.id}")
    assert 'href="/account/addresses/"' in html
    html = act(client, made.id, "accept")
    assert any("Add a postal address" in e for e in flash_errors(html))
    assert trade(made.id).status == "proposed"


def test_a_ring_of_three_opens_from_its_cycle_and_completes(app_ctx: Flask) -> None:
    anna, boris, vera = members = [trader("Anna"), trader("Boris"), trader("Vera")]
    proposal, copies = proposed_ring(members, matches=True)
    veras_pin = copies[2].pin_id
    lines_of = {m.id: lives_at(m, f"{m.display_name}gatan {n + 1}") for n, m in enumerate(members)}
    clients = {m.id: signed_in(app_ctx, m) for m in members}

    matches_page = page(clients[anna.id], "/matches")
    assert f'href="/trades/rings/{proposal.id}">Review the ring</a>' in matches_page
    opened = clients[anna.id].get(f"/trades/rings/{proposal.id}")
    assert opened.status_code == 303
    ring = db.session.scalar(select(Trade).where(Trade.ring_proposal_id == proposal.id))
    assert ring is not None and opened.headers["Location"] == f"/trades/{ring.id}"
    again = clients[vera.id].get(f"/trades/rings/{proposal.id}")
    assert again.headers["Location"] == f"/trades/{ring.id}"  # one ring per cycle

    html = page(clients[boris.id], f"/trades/{ring.id}")
    assert "Ring of 3" in html and "Anna → Boris → Vera → Anna" in html
    assert "Between the others" in html and "Change the terms" not in html
    for n, member in enumerate(members):
        html = act(clients[member.id], ring.id, "accept")
        if n < 2:
            assert "You accepted these terms" in html
    assert "Everyone has accepted" in html and trade(ring.id).status == "accepted"

    # Anna posts to Boris: she sees his address, and nobody else's.
    anna_page = page(clients[anna.id], f"/trades/{ring.id}")
    assert lines_of[boris.id] in anna_page
    assert lines_of[vera.id] not in anna_page and lines_of[anna.id] not in anna_page
    for member in members:
        act(clients[member.id], ring.id, "ship")
    for member in members:
        html = act(clients[member.id], ring.id, "receive")
    assert "the trade is complete" in html and trade(ring.id).status == "completed"
    owned = db.session.scalars(select(Have.pin_id).where(Have.user_id == anna.id)).all()
    assert owned == [veras_pin]  # Vera's copy came round to Anna


def test_the_trade_pages_speak_russian(app_ctx: Flask) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    ivan.locale = "ru"
    _, _, asked = swap_of(olga, ivan)
    client = signed_in(app_ctx, ivan)

    html = page(client, "/trades")
    assert "Ждут вас" in section(html, "act") and "Обмен с Olga" in section(html, "act")
    assert "Ждёт ответов" in html and "Ответить до" in html
    assert "Swap with" not in html and "Waiting for you" not in html
    one = page(client, f"/trades/{asked.id}")
    assert f"Обмен №{asked.id}" in one and "Принять эти условия" in one
    assert "Вы отдаёте" in one and "История" in one and "предложил(а) обмен" in one
    assert "Accept these terms" not in one and "History" not in one
    terms = page(client, f"/trades/{asked.id}/counter")
    assert f"Изменить условия обмена №{asked.id}" in terms and "Отправить новые условия" in terms
    declined = act(client, asked.id, "decline", reason="")
    assert "Вы отказались; все участники обмена уведомлены." in declined
