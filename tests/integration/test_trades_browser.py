"""Trades carried out in a real browser (Debian's Chromium driven by Playwright),
each collector on a phone of their own: a swap proposed from the matches page,
accepted, posted and received on both sides; and a ring of three reviewed from
its cycle on the matches page, accepted by all, posted and received around the
loop. Nothing may spill sideways at 390 px, and the buttons are thumb-sized."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.core.celery_app import after_commit
from marketplace.core.extensions import db
from marketplace.matches import refresh
from marketplace.matches.refresh import MatchLimits
from marketplace.trades.models import Trade
from tests.support.browser import fits_a_phone, log_in
from tests.support.factories import HaveFactory, PinFactory, WantFactory
from tests.support.trades import proposed_ring, trader

pytestmark = pytest.mark.integration


def press(page: Any, label: str) -> str:
    """Press a button (thumb-sized) and return the page it leads to, as text."""
    button = page.locator(f"button:has-text('{label}')").first
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44, (label, box)
    with page.expect_navigation():
        button.click()
    fits_a_phone(page)
    return str(page.locator("main").inner_text())


def status_of(live: Flask, trade_id: int) -> str:
    with live.app_context():
        found = db.session.get(Trade, trade_id)
        assert found is not None
        return found.status


def test_a_swap_from_the_matches_page_to_both_parcels_received(
    live: Flask, server: str, phones: Callable[[], Any], workdir: Path
) -> None:
    with live.app_context():
        anna, boris = trader("Anna"), trader("Борис")
        gagarin, vostok = PinFactory(title_en="Gagarin 1961"), PinFactory(title_en="Vostok")
        hers = HaveFactory(user=anna, pin=gagarin)
        his = HaveFactory(user=boris, pin=vostok)
        WantFactory(user=anna, wanted=vostok, priority=5)
        WantFactory(user=boris, wanted=gagarin)
        refresh.refresh_collector(db.session(), anna.id, MatchLimits.from_config(live.config))
        db.session.commit()
        after_commit(live)
        people = {u.id: u.email for u in (anna, boris)}
        anna_id, boris_id, hers_id, his_id = anna.id, boris.id, hers.id, his.id

    anna_phone, boris_phone = phones(), phones()
    log_in(anna_phone, server, people[anna_id])
    log_in(boris_phone, server, people[boris_id])

    anna_phone.goto(f"{server}/matches")
    fits_a_phone(anna_phone)
    anna_phone.click("a:has-text('Propose a trade')")
    anna_phone.wait_for_url(f"**/trades/new?with={boris_id}&match=*")
    fits_a_phone(anna_phone)
    assert anna_phone.is_checked(f"#give-{hers_id}") and anna_phone.is_checked(f"#take-{his_id}")
    anna_phone.fill("#note", "Меняемся?")
    anna_phone.screenshot(path=str(workdir / "trade-terms-phone.png"), full_page=True)
    assert "Your proposal is sent" in press(anna_phone, "Send the proposal")
    trade_id = int(anna_phone.url.rsplit("/", 1)[1])

    boris_phone.goto(f"{server}/trades")
    assert boris_phone.locator("header .nav-count").text_content() == "1"
    boris_phone.click(f"#trade-{trade_id} a:has-text('Answer')")
    assert "Меняемся?" in boris_phone.locator("main").inner_text()
    assert "Everyone has accepted" in press(boris_phone, "Accept these terms")
    assert status_of(live, trade_id) == "accepted"

    # Each posts to the other's address, which only they see.
    text = str(boris_phone.locator("#parcels").inner_text())
    assert "Anna" in text and "Tallinn" in text
    boris_phone.fill(f"#tracking-{anna_id}", "RA123456789EE")
    boris_phone.screenshot(path=str(workdir / "trade-phone.png"), full_page=True)
    assert "Marked posted" in press(boris_phone, "Mark posted")

    anna_phone.reload()
    assert "RA123456789EE" in anna_phone.locator("#parcels").inner_text()
    press(anna_phone, "Mark posted")
    assert "Marked received" in press(anna_phone, "It arrived: mark received")
    assert status_of(live, trade_id) == "accepted"
    assert "the trade is complete" in press(boris_phone, "It arrived: mark received")
    assert status_of(live, trade_id) == "completed"

    anna_phone.goto(f"{server}/trades")
    assert f"#{trade_id}" in anna_phone.locator("#finished").inner_text()
    fits_a_phone(anna_phone)


def test_a_ring_of_three_from_the_matches_page_around_the_loop(
    live: Flask, server: str, phones: Callable[[], Any]
) -> None:
    with live.app_context():
        members = [trader("Anna"), trader("Борис"), trader("Vera")]
        proposal, _ = proposed_ring(members, matches=True)
        db.session.commit()
        people = [(m.id, m.email) for m in members]
        proposal_id = proposal.id

    screens = []
    for _, email in people:
        screen = phones()
        log_in(screen, server, email)
        screens.append(screen)

    for screen in screens:
        screen.goto(f"{server}/matches")
        fits_a_phone(screen)
        with screen.expect_navigation():
            screen.click("a:has-text('Review the ring')")
        assert "Ring of 3" in screen.locator("h1").inner_text()
        fits_a_phone(screen)
    with live.app_context():
        ring = db.session.scalar(select(Trade).where(Trade.ring_proposal_id == proposal_id))
        assert ring is not None  # one ring, whoever opened it first
        ring_id = ring.id
    assert all(s.url.endswith(f"/trades/{ring_id}") for s in screens)

    for screen in screens:
        screen.reload()
        press(screen, "Accept the ring")
    assert status_of(live, ring_id) == "accepted"
    for screen in screens:
        screen.reload()
        press(screen, "Mark posted")
    for screen in screens[:-1]:
        screen.reload()
        press(screen, "It arrived: mark received")
    screens[-1].reload()
    assert "the trade is complete" in press(screens[-1], "It arrived: mark received")
    assert status_of(live, ring_id) == "completed"
    screens[0].reload()
    assert "Completed" in screens[0].locator(".trade-meta").inner_text()
