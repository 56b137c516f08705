"""What the browser tests do again and again: log a collector in through the
login page, and check that a page fits a 390 px phone without sideways scrolling."""

from __future__ import annotations

from typing import Any

from tests.support.factories import PASSWORD


def log_in(page: Any, server: str, email: str) -> None:
    page.goto(f"{server}/account/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(lambda url: "/account/login" not in url)


def fits_a_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url
