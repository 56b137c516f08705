"""A collector's first visit in a real browser (Debian's Chromium driven by
Playwright) on a phone-sized screen: sign up, confirm the address from the
email, log in, find a pin by a misspelt Latin name, and want it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from marketplace.catalogue.operations import Catalogue, ensure_themes
from marketplace.core.extensions import db
from tests.support.smtp_server import SmtpServer

pytestmark = pytest.mark.integration


def test_sign_up_find_a_pin_and_want_it(
    live: Flask, smtp: SmtpServer, server: str, page, workdir: Path
) -> None:  # type: ignore[no-untyped-def]
    with live.app_context():
        ensure_themes(db.session())
        Catalogue(db.session()).create(
            {"ref": "ZN-0040", "title_en": "Gagarin, 12 April 1961", "legend": "12 АПРЕЛЯ 1961",
             "title_ru": "Гагарин, 12 апреля 1961", "themes": ["Space"], "year_from": "1961"},
            None,
        )  # fmt: skip
        db.session.commit()

    page.goto(f"{server}/account/signup")
    page.fill("#display_name", "Саша")
    page.fill("#email", "sasha@example.org")
    page.fill("#password", "a long enough password")
    page.click("input[type=submit]")
    # The phone's browser asks for Russian, so the account pages answer in it.
    assert page.locator("h1").inner_text() == "Проверьте почту"

    mail = smtp.handler.wait_for(1)[0]
    link = re.search(r"http://znachki\.test(/account/verify/[\w-]+)", mail.text)
    assert link is not None
    page.goto(server + link.group(1))
    page.fill("#email", "sasha@example.org")
    page.fill("#password", "a long enough password")
    page.click("input[type=submit]")
    assert "Саша" in page.locator("header").text_content()

    page.goto(f"{server}/pins?q=gagrin")
    # Corrected from the typo, and shown by its Russian title: the member
    # signed up in Russian and keeps it.
    assert page.locator("html").get_attribute("lang") == "ru"
    assert "Гагарин, 12 апреля 1961" in page.locator("main").inner_text()
    page.screenshot(path=str(workdir / "search-phone.png"))
    page.click("text=+ Ищу")
    page.goto(f"{server}/lists/wants")
    assert "ZN-0040" in page.locator("main").inner_text()
    # Nothing spills sideways on a phone.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
