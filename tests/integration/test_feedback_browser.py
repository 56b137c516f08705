"""Feedback in a real browser (Debian's Chromium driven by Playwright) on a phone:
a collector rates the other side of a completed swap through the page with a
script in the comment, the other replies with one; neither runs — not on the
trade's feedback page nor on the public ratings — and nothing spills sideways
at 390 px."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from marketplace.core.extensions import db
from tests.support.browser import fits_a_phone, log_in
from tests.support.feedback import completed_swap
from tests.support.trades import trader

pytestmark = pytest.mark.integration

PAYLOADS = (
    '<script>alert("comment")</script>',
    '<img src=x onerror=alert("reply")>',
)


def test_scripts_in_feedback_never_run(live: Flask, server: str, phones: Callable[[], Any]) -> None:
    with live.app_context():
        anna, boris = trader("Anna"), trader("Борис")
        trade = completed_swap(anna, boris)
        db.session.commit()
        trade_id, boris_id = trade.id, boris.id
        emails = (anna.email, boris.email)

    dialogs: list[str] = []
    anna_phone, boris_phone = phones(), phones()
    for phone, email in zip((anna_phone, boris_phone), emails, strict=True):
        phone.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        log_in(phone, server, email)

    url = f"{server}/feedback/trade/{trade_id}"
    anna_phone.goto(f"{server}/trades/{trade_id}")
    with anna_phone.expect_navigation():
        anna_phone.click("a:has-text('Leave feedback')")
    fits_a_phone(anna_phone)
    anna_phone.check(f"#rate-{boris_id}-positive")
    anna_phone.fill(f"#comment-{boris_id}", PAYLOADS[0] + " Быстро и честно! " + "Ж" * 300)
    save = anna_phone.locator("button:has-text('Save feedback')")
    box = save.bounding_box()
    assert box is not None and box["height"] >= 44
    with anna_phone.expect_navigation():
        save.click()
    assert PAYLOADS[0] in anna_phone.locator(".feedback-comment").inner_text()
    fits_a_phone(anna_phone)

    boris_phone.goto(url)
    boris_phone.click("summary:has-text('Reply')")
    boris_phone.fill("textarea[name=reply]", PAYLOADS[1])
    with boris_phone.expect_navigation():
        boris_phone.click("button:has-text('Post reply')")
    assert PAYLOADS[1] in boris_phone.locator(".feedback-reply").inner_text()
    fits_a_phone(boris_phone)

    boris_phone.goto(f"{server}/collectors/{boris_id}/feedback")
    fits_a_phone(boris_phone)
    text = boris_phone.locator("main").inner_text()
    assert PAYLOADS[0] in text and PAYLOADS[1] in text and "100% positive" in text
    anna_phone.goto(url)
    assert dialogs == []
