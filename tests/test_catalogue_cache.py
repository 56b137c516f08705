"""The catalogue's pages from the cache: facet counts counted by the database
equal a count of the pins themselves; a visitor's pages come from the shared
cache with an ETag and show a catalogue change at once (SimpleCache and Redis
alike), and a signed-in member's pages are theirs alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from marketplace.catalogue import caching
from marketplace.catalogue.browse import FACET_VALUES
from marketplace.catalogue.models import Pin
from marketplace.catalogue.moderation import Moderation
from marketplace.catalogue.operations import Catalogue
from marketplace.catalogue.search import SearchQuery, search
from marketplace.core.extensions import db
from tests.support.catalogue import catalogue_of, make_pin
from tests.support.factories import HaveFactory, UserFactory, WantFactory, make_user
from tests.support.web import login


def counted_by_hand(pins: list[Pin]) -> dict[str, list[tuple[str, int]]]:
    """The facets as the page lists them, counted pin by pin."""
    facets: dict[str, list[tuple[str, int]]] = {}
    for name in ("republic", "city", "material", "pin_type", "maker"):
        counts = Counter(getattr(p, name) for p in pins if getattr(p, name) is not None)
        top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:FACET_VALUES]
        facets[name] = [(str(v), n) for v, n in top]
    series = Counter((p.series.id, p.series.name) for p in pins if p.series is not None)
    ranked = sorted(series.items(), key=lambda item: (-item[1], item[0][1]))[:FACET_VALUES]
    facets["series"] = [(f"{sid}:{name}", n) for (sid, name), n in ranked]
    decades = Counter(p.year_from // 10 * 10 for p in pins if p.year_from is not None)
    facets["decade"] = [(str(d), n) for d, n in sorted(decades.items())]
    themes = Counter(t.path for p in pins for t in p.themes)
    facets["theme"] = sorted(themes.items(), key=lambda item: (-item[1], item[0]))
    return facets


def test_facet_counts_equal_a_count_of_the_pins(app_ctx: Flask) -> None:
    pins = catalogue_of(48)
    session = db.session()
    everything = caching.search(session, SearchQuery(with_facets=True))
    assert everything.facets == counted_by_hand(pins)
    assert len(everything.facets["maker"]) == FACET_VALUES  # 35 makers, 30 listed
    alpha = search(session, SearchQuery(q="alpha", with_facets=True))
    assert alpha.facets == counted_by_hand([p for p in pins if "Alpha" in p.title_en])
    sport = search(session, SearchQuery(theme="Sport", with_facets=True))
    in_sport = [p for p in pins if any(t.path.startswith("Sport") for t in p.themes)]
    assert in_sport and sport.facets == counted_by_hand(in_sport)
    narrowed = search(session, SearchQuery(q="alpha", republic="RSFSR", with_facets=True))
    expected = [p for p in pins if "Alpha" in p.title_en and p.republic == "RSFSR"]
    assert narrowed.facets == counted_by_hand(expected)


def pages(client: FlaskClient, pin: Pin) -> list[str]:
    return [
        client.get(url).get_data(as_text=True)
        for url in (f"/pins/{pin.id}", "/pins?q=sputnik", "/pins")
    ]


def test_a_visitor_sees_an_edit_at_once(cached_app: Flask) -> None:
    client = cached_app.test_client()
    moderator = UserFactory(moderator=True)
    pin = make_pin(ref="C-1", title_en="Sputnik jubilee", themes=["Space"], material="brass")
    db.session.commit()
    assert all("Sputnik jubilee" in html for html in pages(client, pin))
    assert pages(client, pin) == pages(client, pin)  # served again, from the cache

    Catalogue(db.session()).update(pin, {"title_en": "Sputnik anniversary"}, moderator)
    db.session.commit()
    for html in pages(client, pin):
        assert "Sputnik anniversary" in html and "Sputnik jubilee" not in html

    # A new material is offered in the filters, and a revert shows at once too.
    make_pin(ref="C-2", title_en="Sputnik model", material="cupronickel")
    db.session.commit()
    assert '<option value="cupronickel" >cupronickel</option>' in client.get("/pins").get_data(
        as_text=True
    )
    Catalogue(db.session()).revert(pin, 1, moderator)
    db.session.commit()
    assert "Sputnik jubilee" in client.get(f"/pins/{pin.id}").get_data(as_text=True)


def test_an_edit_rolled_back_leaves_the_cache_as_it_was(cached_app: Flask) -> None:
    client = cached_app.test_client()
    pin = make_pin(ref="C-1", title_en="Sputnik jubilee")
    db.session.commit()
    first = client.get(f"/pins/{pin.id}")
    pin.title_en = "Never saved"
    db.session.flush()
    db.session.rollback()
    again = client.get(f"/pins/{pin.id}")
    assert again.headers["ETag"] == first.headers["ETag"]
    assert "Sputnik jubilee" in again.get_data(as_text=True)


def test_a_pin_page_shows_new_haves_at_once(cached_app: Flask) -> None:
    client = cached_app.test_client()
    pin = make_pin(ref="C-1", title_en="Sputnik jubilee")
    db.session.commit()
    assert "0 collectors have it" in client.get(f"/pins/{pin.id}").text
    HaveFactory(pin=pin)
    db.session.commit()
    assert "1 collector has it" in client.get(f"/pins/{pin.id}").text


def test_a_visitor_gets_an_etag_and_a_304(cached_app: Flask) -> None:
    client = cached_app.test_client()
    pin = make_pin(ref="C-1", title_en="Sputnik jubilee")
    db.session.commit()
    for url in ("/pins", "/pins?q=sputnik&material=brass", f"/pins/{pin.id}"):
        first = client.get(url)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and etag
        assert first.headers["Cache-Control"] == "public, no-cache"
        assert "Cookie" in first.headers["Vary"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
    Catalogue(db.session()).update(pin, {"title_en": "Sputnik anniversary"}, None)
    db.session.commit()
    changed = client.get(f"/pins/{pin.id}", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_a_member_is_never_served_a_visitors_page(cached_app: Flask) -> None:
    pin = make_pin(ref="C-1", title_en="Sputnik jubilee")
    make_user()
    db.session.commit()
    visitor = cached_app.test_client()
    for url in ("/pins", f"/pins/{pin.id}"):
        assert "Log out" not in visitor.get(url).get_data(as_text=True)
    member = cached_app.test_client()
    login(member)
    for url in ("/pins", f"/pins/{pin.id}"):
        response = member.get(url)
        html = response.get_data(as_text=True)
        assert "Log out" in html and "Иван" in html
        assert response.headers["Cache-Control"] == "no-store"
        assert "ETag" not in response.headers
    # Nor is a visitor served the member's page, its CSRF token above all.
    for url in ("/pins", f"/pins/{pin.id}"):
        html = visitor.get(url).get_data(as_text=True)
        assert "Log out" not in html and "csrf_token" not in html


def test_a_flashed_message_is_shown_to_its_visitor_only(cached_app: Flask) -> None:
    client = cached_app.test_client()
    client.get("/pins")  # cached
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "You have been logged out.")]
    flashed = client.get("/pins")
    assert "You have been logged out." in flashed.get_data(as_text=True)
    assert "ETag" not in flashed.headers
    other = cached_app.test_client()
    assert "You have been logged out." not in other.get("/pins").get_data(as_text=True)


def test_the_cache_can_be_down(app_ctx: Flask, monkeypatch: Any) -> None:
    """An unreachable cache costs speed, never the page."""
    from marketplace.core.extensions import cache

    def down(*_args: Any, **_kwargs: Any) -> None:
        raise ConnectionRefusedError

    monkeypatch.setattr(app_ctx.extensions["cache_versions"], "get", down)
    monkeypatch.setattr(cache, "get", down)
    pin = make_pin(ref="C-1", title_en="Sputnik jubilee")
    response = app_ctx.test_client().get(f"/pins/{pin.id}")
    assert response.status_code == 200 and "Sputnik jubilee" in response.get_data(as_text=True)


def test_an_approved_correction_and_a_reindex_show_at_once(
    cached_app: Flask, tmp_path: Path
) -> None:
    client = cached_app.test_client()
    member, moderator = UserFactory(), UserFactory(moderator=True)
    pin = make_pin(ref="C-1", title_en="Sputnik jubilee")
    db.session.commit()
    assert "Sputnik jubilee" in client.get(f"/pins/{pin.id}").get_data(as_text=True)
    moderation = Moderation(db.session(), tmp_path)
    submission = moderation.submit(member, {"title_en": "Sputnik anniversary"}, pin=pin)
    db.session.commit()
    assert "Sputnik jubilee" in client.get(f"/pins/{pin.id}").get_data(as_text=True)
    moderation.approve(submission, moderator)
    db.session.commit()
    assert "Sputnik anniversary" in client.get(f"/pins/{pin.id}").get_data(as_text=True)

    # Found under a word only once the index is rebuilt (as after an upgrade).
    db.session.execute(update(Pin).where(Pin.id == pin.id).values(search_title="", search_body=""))
    db.session.commit()
    assert "Sputnik anniversary" not in client.get("/pins?q=sputnik").get_data(as_text=True)
    result = cached_app.test_cli_runner().invoke(args=["catalogue", "reindex"])
    assert result.exit_code == 0, result.output
    assert "Sputnik anniversary" in client.get("/pins?q=sputnik").get_data(as_text=True)


def test_a_pin_page_shows_new_wants_and_a_deleted_account_at_once(cached_app: Flask) -> None:
    client = cached_app.test_client()
    pin = make_pin(ref="C-1", title_en="Sputnik jubilee")
    db.session.commit()

    def wants() -> str:
        return client.get(f"/pins/{pin.id}").get_data(as_text=True)

    assert "0 want it" in wants()
    WantFactory(wanted=pin)
    db.session.commit()
    assert "1 wants it" in wants()
    collector = UserFactory()
    WantFactory(user=collector, wanted=pin, any_variant=True)
    db.session.commit()
    assert "2 want it" in wants()
    db.session.delete(collector)  # the database deletes the Want with it
    db.session.commit()
    assert "1 wants it" in wants()


def test_a_visitors_cached_page_is_in_their_own_language(cached_app: Flask) -> None:
    """Two visitors reading different languages never get each other's copy."""
    client = cached_app.test_client()
    russian = client.get("/pins", headers={"Accept-Language": "ru"})
    estonian = client.get("/pins", headers={"Accept-Language": "et"})
    assert '<html lang="ru">' in russian.get_data(as_text=True)
    assert '<html lang="et">' in estonian.get_data(as_text=True)
    assert russian.headers["ETag"] != estonian.headers["ETag"]
    assert "Accept-Language" in russian.headers["Vary"]
    again = client.get(
        "/pins", headers={"Accept-Language": "ru", "If-None-Match": russian.headers["ETag"]}
    )
    assert again.status_code == 304
