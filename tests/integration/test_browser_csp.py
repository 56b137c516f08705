"""Every page a visitor and a signed-in collector reach, opened in a real browser
(Debian's Chromium driven by Playwright) under the site's Content-Security-Policy:
none loads, runs or styles anything the policy refuses, the stylesheets apply, and
the one script (an import's progress) still runs and polls."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask

from marketplace.catalogue.media import catalogue_photo_dir
from marketplace.catalogue.models import PinPhoto
from marketplace.catalogue.moderation import Moderation
from marketplace.core.extensions import db
from marketplace.core.photos import store_photo
from marketplace.core.registry import find_service
from marketplace.lists.models import Condition, Have
from marketplace.lists.operations import Lists
from marketplace.lists.photos import have_photo_dir
from marketplace.mail import delivery as mail
from marketplace.matches.refresh import refresh_collector
from marketplace.orders.operations import Orders
from tests.support.addresses import make_address
from tests.support.catalogue import make_pin
from tests.support.factories import PASSWORD, HaveFactory, WantFactory, make_user
from tests.support.images import image_bytes
from tests.support.lists import queued_import
from tests.support.orders import make_test_provider_seller

pytestmark = pytest.mark.integration


# Recorded in every document (frames too) before any of its own code runs.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""

PROBE = """
new Promise(function (resolve) {
  window.__csp = [];
  var seen = [];
  document.addEventListener("securitypolicyviolation", function (e) {
    seen.push(e.effectiveDirective);
  });
  document.body.insertAdjacentHTML("beforeend", '<p id="probe" style="color: rgb(1, 2, 3)">x</p>');
  var colour = getComputedStyle(document.getElementById("probe")).color;
  setTimeout(function () {
    document.getElementById("probe").remove();
    window.__csp = [];
    resolve({colour: colour, reported: seen});
  }, 100);
});
"""


def seed(app: Flask) -> dict[str, Any]:
    """A catalogue with a photo and a series, a seller with a listing, and a
    collector (a moderator too, for the moderation pages) with lists, a photo of a
    copy, a swap, an address, a public page, a running import, a pending
    submission, an order waiting for payment and a mail."""
    with app.app_context():
        gagarin = make_pin(
            ref="ZN-0040", title_en="Gagarin, 12 April 1961", legend="12 АПРЕЛЯ 1961",
            themes=["Space"], year_from="1961", series_name="Space heroes", series_number=1,
            series_size=3,
        )  # fmt: skip
        vostok = make_pin(ref="ZN-0041", title_en="Vostok", themes=["Space"])
        stored = store_photo(image_bytes("PNG", (200, 200)), storage_dir=catalogue_photo_dir())
        gagarin.photos.append(
            PinPhoto(side="obverse", filename=stored.filename, thumbnail=stored.thumbnail,
                     width=stored.width, height=stored.height, phash=stored.phash)
        )  # fmt: skip

        seller = make_test_provider_seller(app)
        listing: Have = HaveFactory(
            user=seller, pin=gagarin, condition=Condition.EXCELLENT, for_sale=True, quantity=2
        )
        WantFactory(user=seller, wanted=vostok)
        sasha = make_user("sasha@example.org", name="Саша")
        sasha.is_moderator = True
        copy: Have = HaveFactory(user=sasha, pin=vostok)
        WantFactory(user=sasha, wanted=gagarin)
        lists = Lists(db.session())
        lists.add_photo(sasha, copy.id, image_bytes("JPEG", (300, 200)), have_photo_dir())
        lists.add_photo(seller, listing.id, image_bytes("PNG", (120, 120)), have_photo_dir())
        slug = lists.set_public(sasha, "both").slug
        upload = queued_import(sasha)
        moderation = Moderation(db.session(), catalogue_photo_dir())
        submission = moderation.submit(sasha, {"ref": "ZN-0042", "title_en": "Belka and Strelka"})
        photo = store_photo(image_bytes("PNG", (90, 90)), storage_dir=catalogue_photo_dir())
        moderation.add_photo(submission, "obverse", photo, sasha)
        message = mail.queue(
            db.session(), to="sasha@example.org", template="verify_email", name="Саша",
            url="http://znachki.test/account/verify/x",
        )  # fmt: skip
        db.session.commit()
        make_address(sasha)
        refresh_collector(db.session(), sasha.id)
        # Sasha buys one of the two copies listed: an order and its checkout page.
        order = find_service(Orders).buy(sasha, listing.id)
        db.session.commit()
        return {
            "pin": gagarin.id, "series": gagarin.series_id, "listing": listing.id,
            "slug": slug, "import": upload.id, "submission": submission.id,
            "message": message.id, "order": order.id,
            "checkout": urlsplit(order.checkout_url or "").path,
        }  # fmt: skip


def test_every_page_passes_the_content_security_policy(live: Flask, server: str, page: Any) -> None:
    ids = seed(live)
    console: list[str] = []
    errors: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on("console", lambda message: console.append(f"{page.url}: {message.text}"))
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))

    def visit(path: str) -> None:
        response = page.goto(server + path, wait_until="load")
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        caught = [v for frame in page.frames for v in frame.evaluate("window.__csp || []")]
        assert caught == [], (path, caught)

    pin, listing = ids["pin"], ids["listing"]
    anonymous = [
        "/", "/pins", "/pins?q=gagrin", f"/pins/{pin}", f"/pins/{pin}/history", "/themes",
        "/places", "/series", f"/series/{ids['series']}", f"/pins/{pin}/market",
        f"/listings/{listing}", f"/c/{ids['slug']}", "/account/login", "/account/signup",
        "/account/reset", "/dev/mail", f"/dev/mail/{ids['message']}",
    ]  # fmt: skip
    for path in anonymous:
        visit(path)
    # The message page frames the mail's HTML, which keeps its inline styles.
    mail_frame = page.frame_locator("iframe.mail")
    assert "Confirm my address" in mail_frame.locator("body").inner_text()
    banner = mail_frame.locator("text=★ Znachki Exchange")
    assert banner.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(178, 34, 34)"
    # The site's own stylesheet applies under `style-src 'self'`; markup with an
    # inline style, as an injected tag would have, is refused and reported.
    header = "getComputedStyle(document.querySelector('header.site')).backgroundColor"
    assert page.evaluate(header) == "rgb(178, 34, 34)"
    probe = page.evaluate(PROBE)
    assert probe["colour"] != "rgb(1, 2, 3)" and probe["reported"] == ["style-src-attr"]
    assert [line for line in console if "Content Security Policy" in line] != []
    console.clear()  # the probe's own report, not a page's

    page.goto(f"{server}/account/login")
    page.fill("#email", "sasha@example.org")
    page.fill("#password", PASSWORD)
    page.click("input[type=submit]")
    assert "Саша" in page.locator("header").text_content()

    signed_in = [
        "/trades", "/lists/", "/lists/haves", "/lists/wants", "/lists/series",
        "/lists/haves/import", "/lists/wants/import", "/matches", "/account/settings",
        "/account/addresses/", "/account/addresses/new", "/account/notifications",
        "/orders/", "/sell/payouts", "/submissions", "/pins/submit", f"/pins/{pin}/correct",
        "/moderation", f"/moderation/{ids['submission']}", "/moderation/import",
        f"/c/{ids['slug']}", f"/listings/{listing}", f"/pins/{pin}/market", "/pins",
        "/matches?kind=swap",
    ]  # fmt: skip
    for path in signed_in:
        visit(path)
    assert "Vostok" in page.locator("main").inner_text()  # the swap is on the page

    # The import page's script is a static file the policy lets run: it polls.
    with page.expect_request(lambda request: request.url.endswith("/status"), timeout=5000):
        visit(f"/lists/imports/{ids['import']}")

    # An order, and the test provider's checkout page it sends the buyer to.
    visit(ids["checkout"])
    visit(f"/orders/{ids['order']}")

    refused = [line for line in console if "Content Security Policy" in line]
    assert refused == [] and errors == []
