"""The facet index: counts and orders from the matched ids in memory equal
those the database counts over the matched rows, for any words, filters,
order and page; it follows the committed catalogue, and a search the index
cannot answer (a pin it does not hold) is answered by the database."""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.catalogue import browse, caching
from marketplace.catalogue.facet_index import FacetIndex
from marketplace.catalogue.models import Pin
from marketplace.catalogue.search import SORTS, SearchQuery, SearchResult, search
from marketplace.core.extensions import db
from tests.support.catalogue import MATERIALS, REPUBLICS, THEME_PATHS, catalogue_of, make_pin


def answer(result: SearchResult) -> tuple[object, ...]:
    return (result.total, result.total_capped, result.facets, [p.id for p in result.pins])


queries = st.builds(
    SearchQuery,
    q=st.sampled_from(["", "alpha", "omega pin", "pin", "alph", "pin 1", "nothing-here"]),
    theme=st.sampled_from([None, *THEME_PATHS]),
    republic=st.sampled_from(REPUBLICS),
    material=st.sampled_from(MATERIALS),
    year_from=st.sampled_from([None, 1960, 1975]),
    sort=st.sampled_from(SORTS),
    page=st.integers(1, 4),
    per_page=st.sampled_from([5, 24]),
    with_facets=st.just(True),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries)
def test_the_index_answers_as_the_database_does(app_ctx: Flask, query: SearchQuery) -> None:
    session = db.session()
    if not session.query(Pin.id).filter(Pin.ref.like("F-%")).first():
        catalogue_of(60)
        session.commit()
    index = FacetIndex.build(session)
    assert answer(search(session, query, index)) == answer(search(session, query))


def test_the_index_follows_the_committed_catalogue(app_ctx: Flask) -> None:
    session = db.session()
    pins = catalogue_of(12)
    session.commit()
    first = caching.facet_index(session)
    assert first is not None and caching.facet_index(session) is first
    pins[0].republic = "Estonian SSR"
    session.flush()
    # Written, not committed: the index would not hold it, so none is offered.
    assert caching.facet_index(session) is None
    session.commit()
    after = caching.facet_index(session)
    assert after is not None and after is not first
    query = SearchQuery(q="pin", with_facets=True)
    facets = search(session, query, after).facets
    assert ("Estonian SSR", 1) in facets["republic"]


def test_a_pin_the_index_does_not_hold_is_counted_by_the_database(app_ctx: Flask) -> None:
    session = db.session()
    catalogue_of(6)
    session.commit()
    index = FacetIndex.build(session)
    make_pin(ref="F-NEW", title_en="Alpha pin new", republic="Kazakh SSR")
    session.commit()
    query = SearchQuery(q="alpha", with_facets=True)
    result = search(session, query, index)
    assert answer(result) == answer(search(session, query))
    assert ("Kazakh SSR", 1) in result.facets["republic"]


def test_the_search_page_counts_through_the_index(
    client: object, app_ctx: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalogue_of(10)
    db.session.commit()
    expected = search(db.session(), SearchQuery(q="alpha", with_facets=True))

    def not_the_database(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the page counted in the database, not through the index")

    # The database's count is taken above; the page may not take it again.
    monkeypatch.setattr(browse, "counted", not_the_database)
    page = client.get("/pins?q=alpha")  # type: ignore[attr-defined]
    assert page.status_code == 200
    assert f'id="result-count">{expected.total} pins' in page.get_data(as_text=True)
    assert caching.facet_index(db.session()) is not None
