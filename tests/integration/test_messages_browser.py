"""Messages in a real browser (Debian's Chromium driven by Playwright) on
390 px phones: a collector writes stored-XSS payloads through the reply form,
the other reads the thread, and any dialog fails the test; the payloads show
literally as text, no element they describe exists in the page, and only the
established author's http(s) address is a link."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from marketplace.accounts.models import Reputation
from marketplace.core.extensions import db
from tests.support.browser import fits_a_phone, log_in
from tests.support.trades import trader

pytestmark = pytest.mark.integration

PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "javascript:alert(1)",
    '<a href="javascript:alert(1)">click me</a>',
    "https://example.org/pins?a=1&b=<b>2</b>",
    "'><iframe src=javascript:alert(1)></iframe>",
    "{{ 7*7 }} ${alert(1)}",
)


def watch(page: Any, seen: list[str]) -> None:
    """Record any dialog (and dismiss it) and any script or inline handler the
    Content-Security-Policy refused: an injected one would be stopped there, but
    the page must not have offered it in the first place."""

    def refuse(dialog: Any) -> None:
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", refuse)
    page.on(
        "console",
        lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on("pageerror", lambda error: seen.append(str(error)))


def test_stored_xss_in_messages_never_runs(
    live: Flask, server: str, phones: Callable[[], Any], workdir: Path
) -> None:
    with live.app_context():
        anna, boris = trader("Anna"), trader("Борис")
        # Anna is established (her addresses become links); Boris is new.
        db.session.add(Reputation(user_id=anna.id, completed_trades=5))
        db.session.commit()
        anna_email, boris_email, boris_id = anna.email, boris.email, boris.id

    dialogs: list[str] = []
    anna_phone, boris_phone = phones(), phones()
    for phone in (anna_phone, boris_phone):
        watch(phone, dialogs)
    log_in(anna_phone, server, anna_email)
    log_in(boris_phone, server, boris_email)

    anna_phone.goto(f"{server}/messages/with/{boris_id}")
    thread_url = anna_phone.url
    assert "/messages/" in thread_url and "/with/" not in thread_url
    for payload in PAYLOADS:
        anna_phone.fill("#body", payload)
        with anna_phone.expect_navigation():
            anna_phone.click("button:has-text('Send')")
        fits_a_phone(anna_phone)
    boris_phone.goto(thread_url)
    boris_phone.fill("#body", "<script>alert('boris')</script> https://example.org/boris")
    with boris_phone.expect_navigation():
        boris_phone.click("button:has-text('Send')")

    for phone in (boris_phone, anna_phone):
        phone.goto(thread_url)
        fits_a_phone(phone)
        bodies = phone.locator(".message-body")
        texts = [bodies.nth(i).inner_text() for i in range(bodies.count())]
        assert texts[: len(PAYLOADS)] == list(PAYLOADS)
        assert texts[-1] == "<script>alert('boris')</script> https://example.org/boris"
        messages = phone.locator("#messages")
        for tag in ("script", "img", "svg", "iframe"):
            assert messages.locator(tag).count() == 0, tag
        links = messages.locator(".message-body a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        # Only Anna's http(s) address is a link; Boris is new, javascript: never.
        assert hrefs == ["https://example.org/pins?a=1&b="], hrefs
        assert links.first.get_attribute("rel") == "nofollow ugc noopener"
        assert not any(h and h.lower().startswith("javascript") for h in hrefs)

    boris_phone.screenshot(path=str(workdir / "messages-thread-phone.png"), full_page=True)
    boris_phone.goto(f"{server}/messages/")
    fits_a_phone(boris_phone)
    boris_phone.screenshot(path=str(workdir / "messages-inbox-phone.png"), full_page=True)
    assert "Anna" in boris_phone.locator("main").inner_text()
    assert dialogs == []
