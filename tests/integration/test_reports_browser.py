"""Stored XSS in reports does not run: a message, a listing's notes and a feedback
comment carrying script payloads are reported with the same payloads in the
reporters' words, and a moderator reads the queue (and hides one) in Chromium on
a phone with a dialog handler that fails the test if anything opens a dialog.
The payloads show as text; the queue fits 390 px."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from marketplace.core.extensions import db
from marketplace.reports.operations import Reports
from tests.support.browser import log_in
from tests.support.reports import completed_trade_feedback, direct_thread, listing_of
from tests.support.trades import trader

pytestmark = pytest.mark.integration

PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
)


def watch_dialogs(page: Any) -> list[str]:
    """Every dialog the page opens, dismissed; the test asserts there are none."""
    opened: list[str] = []

    def on_dialog(dialog: Any) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened


def test_a_moderator_reads_reports_full_of_payloads_and_nothing_runs(
    live: Flask, server: str, phones: Callable[[], Any]
) -> None:
    with live.app_context():
        anna, boris, petr = trader("Anna"), trader("Boris"), trader("Petr")
        nina = trader("Nina")
        nina.is_moderator = True
        reports = Reports(db.session())
        for n, payload in enumerate(PAYLOADS):
            message = direct_thread(boris, anna, f"Message {n} {payload}")
            reports.file(anna, "message", message.id, "abuse", f"Details {n} {payload}")
        copy = listing_of(petr, notes=" ".join(PAYLOADS))
        reports.file(anna, "listing", copy.id, "counterfeit", PAYLOADS[1])
        comment = completed_trade_feedback(boris, anna, " ".join(PAYLOADS))
        reports.file(anna, "profile", boris.id, "fraud", PAYLOADS[2])
        reports.file(petr, "feedback", comment.id, "abuse", PAYLOADS[0])
        db.session.commit()
        anna_email, nina_email, first_message = anna.email, nina.email, message.id

    reporter = phones()
    reporter_dialogs = watch_dialogs(reporter)
    log_in(reporter, server, anna_email)
    reporter.goto(f"{server}/reports/new?kind=message&id={first_message}")
    assert PAYLOADS[2] in reporter.locator("main").inner_text()
    reporter.goto(f"{server}/reports")
    assert PAYLOADS[0] in reporter.locator("main").inner_text()

    moderator = phones()
    dialogs = watch_dialogs(moderator)
    log_in(moderator, server, nina_email)
    moderator.goto(f"{server}/moderation/reports")
    text = moderator.locator("main").inner_text()
    for payload in PAYLOADS:
        assert f"Details 0 {PAYLOADS[0]}" in text and payload in text
    assert "Reports (6)" in moderator.locator("header").text_content()
    assert moderator.evaluate("document.documentElement.scrollWidth") <= 390
    assert moderator.locator("main img, main svg, main script").count() == 0

    first = moderator.locator("article.report").first
    first.locator("select[name=action]").select_option("hide")
    first.locator("textarea[name=note]").fill(PAYLOADS[1])
    with moderator.expect_navigation():
        first.locator("button:has-text('Decide')").click()
    assert "Reports (5)" in moderator.locator("header").text_content()
    assert PAYLOADS[1] in moderator.locator("main").inner_text()
    moderator.wait_for_timeout(300)  # a payload's onerror/onload would have fired by now

    assert dialogs == [] and reporter_dialogs == []
