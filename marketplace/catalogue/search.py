"""Catalogue search and browsing: what a collector types, in Cyrillic or Latin,
with typos, narrowed by filters with facet counts (`browse`), sorted and paged.

Each typed word becomes the spellings it may be indexed under
(transliteration.query_terms); the search vocabulary says which the index holds,
as whole words or, for a word still being typed, as the start of one. The
database finds candidates with its own full-text index (PostgreSQL tsvector,
SQLite FTS5) over each pin's stored spellings (its titles in every language
among them, operations.search_terms); a word that matches nothing is
corrected against the vocabulary only when surely a typo (pg_trgm on PostgreSQL,
an FTS5 trigram table on SQLite; RapidFuzz decides on both), and otherwise the
search finds nothing and suggests the nearest words. Candidates are then ranked
here, by one formula, so both databases give the same order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA
from sqlalchemy import (
    Select,
    bindparam,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, selectinload

from marketplace.catalogue import browse
from marketplace.catalogue import transliteration as tr
from marketplace.catalogue.facet_index import FacetIndex
from marketplace.catalogue.models import Pin, SearchTerm, Theme, pin_themes
from marketplace.catalogue.transliteration import Spelling

CANDIDATES = 300
COUNT_CAP = 1000  # beyond this a result count is shown as "1,000+"
CORRECTED = 0.7  # a corrected word ranks below one found as typed
SUGGEST_MIN = 60.0  # RapidFuzz ratio a vocabulary word needs to be offered instead
SUGGESTIONS = 3
SORTS = ("relevance", "year", "year_desc", "ref", "title")
_SAFE = re.compile(r"\w+")
# Words that mean "a pin" in the languages collectors search in: every record is
# one, so they narrow nothing ("значок гагарин" is a search for Gagarin).
GENERIC_WORDS = frozenset(
    [
        "значок",
        "значки",
        "знак",
        "знаки",
        "znachok",
        "znachki",
        "znak",
        "badge",
        "badges",
        "pin",
        "pins",
    ]
)


@dataclass
class SearchQuery:
    q: str = ""
    theme: str | None = None
    city: str | None = None
    republic: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    material: str | None = None
    pin_type: str | None = None
    series_id: int | None = None
    maker: str | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 24
    with_facets: bool = False

    def filters(self) -> dict[str, Any]:
        names = ("theme", "city", "republic", "year_from", "year_to", "material", "pin_type",
                 "series_id", "maker")  # fmt: skip
        return {n: getattr(self, n) for n in names if getattr(self, n) not in (None, "")}


@dataclass
class SearchResult:
    pins: list[Pin]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    corrections: dict[str, str] = field(default_factory=dict)
    total_capped: bool = False
    # Words that matched nothing, each with the nearest indexed words to try.
    suggestions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def search(session: Session, query: SearchQuery, index: FacetIndex | None = None) -> SearchResult:
    """The page of pins `query` asks for, with its facet counts when asked;
    `index` (the catalogue as committed, `caching.facet_index`) counts them
    in memory instead of in the database."""
    per_page = max(1, min(query.per_page, 100))
    page = max(1, query.page)
    dialect = session.get_bind().dialect.name
    words = [w for w in tr.query_terms(query.q) if w[0].term not in GENERIC_WORDS][:8]
    filtered = _filtered(session, select(Pin.id), query)
    corrections: dict[str, str] = {}
    suggestions: dict[str, list[str]] = {}

    start = (page - 1) * per_page
    if not words:
        ranking = _sorted(query.sort, start, per_page)
        total, facets, ids = _listed(session, filtered, query, ranking, index)
    else:
        alternatives: list[list[Spelling]] = []
        for word in words:
            options = _indexed(session, word)
            if not options and len(word[0].term) < 3:
                # Too short to correct, and perhaps a piece of a longer indexed
                # word ("½" is indexed as 1⁄2): let the full-text index decide.
                options = word
            if not options:
                typed = word[0].term
                fixed, nearest = _corrections(session, dialect, typed)
                if fixed:
                    corrections[typed] = fixed
                    options = [
                        Spelling(o.term, o.weight * CORRECTED, prefix=False)
                        for o in _indexed(session, tr.query_terms(fixed)[0])
                    ]
                else:
                    # Nothing close enough: say so and offer the nearest words,
                    # rather than silently searching for another one.
                    suggestions[typed] = nearest
            alternatives.append(options)
        if not all(alternatives):
            return SearchResult([], 0, page, per_page, {}, corrections, suggestions=suggestions)
        matched = filtered.where(_fts_condition(dialect, alternatives))
        if query.sort == "relevance":
            in_title = _fts_condition(dialect, alternatives, title_only=True)
            total, facets, candidates = _listed(
                session, matched, query, _relevance_candidates(in_title), index
            )
            ids = _rank(session, candidates, alternatives, query.q)[start : start + per_page]
        else:
            total, facets, ids = _listed(
                session, matched, query, _sorted(query.sort, start, per_page), index
            )
    pins = _load(session, ids)
    capped = total > COUNT_CAP
    return SearchResult(
        pins, min(total, COUNT_CAP), page, per_page, facets, corrections, total_capped=capped
    )


def suggested_queries(q: str, suggestions: dict[str, list[str]]) -> list[tuple[str, str]]:
    """Each suggested word with the query it makes: the typed query with the
    word that matched nothing replaced by the suggestion."""
    out = []
    words = re.findall(r"\w+|\W+", q)
    for typed, nearest in suggestions.items():
        for term in nearest:
            replaced = "".join(term if tr.fold(w) == typed else w for w in words)
            out.append((term, replaced))
    return out


def _listed(
    session: Session,
    matched: Select[Any],
    query: SearchQuery,
    ranking: browse.Ranking,
    index: FacetIndex | None,
) -> tuple[int, browse.Facets, list[int]]:
    """How many pins matched, the facet counts when asked for, and the ids the
    ranking picks. With facets, all three come from the matched pins' ids and
    the in-memory index, or else from one pass over the matched pins in the
    database; without, the count stops at COUNT_CAP and the ids come from an
    ordered, limited query of their own."""
    if query.with_facets:
        found = _counted_in_memory(session, matched, ranking, index) if index else None
        if found is None:
            found = browse.counted(session, matched, ranking)
        return found.total, found.facets, found.ids
    columns = SimpleNamespace(**{column.name: column.element for column in ranking.columns})
    ids = session.scalars(
        matched.order_by(*ranking.order(columns)).offset(ranking.start).limit(ranking.count)
    )
    return _count(session, matched), {}, list(ids)


def _counted_in_memory(
    session: Session, matched: Select[Any], ranking: browse.Ranking, index: FacetIndex
) -> browse.Counted | None:
    """`browse.counted` from the matched ids and the index; None when the index
    does not hold one of the pins (created since it was built)."""
    flag = [column for column in ranking.columns if column.name == "in_title"]
    rows = session.execute(matched.with_only_columns(Pin.id, *flag)).all()
    positions = index.positions([row[0] for row in rows])
    if positions is None:
        return None
    in_title = np.fromiter((bool(row[1]) for row in rows), np.int8, len(rows)) if flag else None
    return index.counted(positions, ranking.keys, ranking.start, ranking.count, in_title)


def _count(session: Session, matched: Select[Any]) -> int:
    """Exact up to COUNT_CAP; past it the scan stops early (a broad word in a
    large catalogue would otherwise be counted row by row)."""
    capped = matched.limit(COUNT_CAP + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(capped)) or 0)


def _filtered(session: Session, stmt: Select[Any], query: SearchQuery) -> Select[Any]:
    if query.theme:
        # A theme includes everything beneath it (Sport → Sport/Olympics-80).
        theme_ids = list(
            session.scalars(
                select(Theme.id).where(
                    or_(Theme.path == query.theme, Theme.path.startswith(query.theme + "/"))
                )
            )
        )
        stmt = stmt.where(
            select(pin_themes.c.pin_id)
            .where(pin_themes.c.pin_id == Pin.id, pin_themes.c.theme_id.in_(theme_ids))
            .exists()
        )
    for name in ("city", "republic", "material", "pin_type", "maker"):
        value = getattr(query, name)
        if value:
            stmt = stmt.where(getattr(Pin, name) == value)
    if query.series_id:
        stmt = stmt.where(Pin.series_id == query.series_id)
    # A pin made over a range of years matches any overlap with the asked range.
    if query.year_from is not None:
        stmt = stmt.where(func.coalesce(Pin.year_to, Pin.year_from) >= query.year_from)
    if query.year_to is not None:
        stmt = stmt.where(Pin.year_from <= query.year_to)
    return stmt


# What pins are listed by, read with each matched pin (`browse.Ranking`).
_SORT_COLUMNS = (
    Pin.is_synthetic.label("synthetic"),
    Pin.year_from.label("year"),
    Pin.ref.label("ref"),
    Pin.title_en.label("title"),
)


def _sorted(sort: str, start: int, count: int) -> browse.Ranking:
    """The page of pins from `start`, in the order the visitor chose."""

    def order(c: Any) -> list[Any]:
        if sort == "year":
            return [c.year.asc().nulls_last(), c.ref]
        if sort == "year_desc":
            return [c.year.desc().nulls_last(), c.ref]
        if sort == "title":
            return [c.title, c.ref]
        return [c.synthetic, c.ref]

    keys = {"year": ("year", "ref"), "year_desc": ("year_desc", "ref"), "title": ("title",)}
    return browse.Ranking(_SORT_COLUMNS, order, start, count, keys.get(sort, ("synthetic", "ref")))


def _relevance_candidates(in_title: Any) -> browse.Ranking:
    """The pins relevance ranking chooses among, the same on both databases:
    pins with every word in the title first, then the rest, each in the order
    real before synthetic, oldest first; at most CANDIDATES of them (the final
    order is decided by `_rank`)."""

    def order(c: Any) -> list[Any]:
        return [c.in_title.desc(), c.synthetic, c.year.asc().nulls_last(), c.ref]

    keys = ("in_title", "synthetic", "year", "ref")
    columns = (in_title.label("in_title"), *_SORT_COLUMNS)
    return browse.Ranking(columns, order, 0, CANDIDATES, keys)


def _fts_condition(dialect: str, words: list[list[Spelling]], *, title_only: bool = False) -> Any:
    """All words must match, each by any of its spellings: as a whole indexed
    word, or (a spelling that may be unfinished) as the start of one."""
    words = [[w for w in options if _SAFE.fullmatch(w.term)] for options in words]
    if not all(words):
        return false()  # a word with no searchable spelling matches no pin
    if dialect == "postgresql":
        weight = "A" if title_only else ""  # weight A holds the title spellings
        tsquery = " & ".join(
            "("
            + " | ".join(
                f"'{w.term}':*{weight}"
                if w.prefix
                else f"'{w.term}'" + (f":{weight}" if weight else "")
                for w in options
            )
            + ")"
            for options in words
        )
        return literal_column("pins.search_tsv").bool_op("@@")(
            func.to_tsquery(literal_column("'simple'"), tsquery)
        )
    fts = " AND ".join(
        "(" + " OR ".join(f'"{w.term}"' + ("*" if w.prefix else "") for w in options) + ")"
        for options in words
    )
    if title_only:
        fts = "{search_title} : (" + fts + ")"
    return Pin.id.in_(
        select(literal_column("rowid"))
        .select_from(text("pins_fts"))
        .where(text("pins_fts MATCH :fts").bindparams(bindparam("fts", fts, unique=True)))
    )


def _indexed(session: Session, spellings: list[Spelling]) -> list[Spelling]:
    """The spellings of one typed word that the index holds: as whole words where
    it holds them so ("lenin" then finds Lenin, not Leningrad), else, for one
    that may be unfinished, as the start of longer words ("гагар")."""
    terms = [s.term for s in spellings if _SAFE.fullmatch(s.term)]
    if not terms:
        return []
    whole = set(session.scalars(select(SearchTerm.term).where(SearchTerm.term.in_(terms))))
    found = []
    for spelling in spellings:
        if spelling.term in whole:
            found.append(Spelling(spelling.term, spelling.weight, prefix=False))
        elif spelling.prefix and spelling.term in terms and _known(session, [spelling.term]):
            found.append(spelling)
    return found


def _known(session: Session, options: list[str]) -> bool:
    """Whether any indexed spelling starts with one of the options: a range scan
    of the vocabulary's primary key (byte-ordered on both databases)."""
    for word in options:
        probe = (
            select(SearchTerm.term)
            .where(SearchTerm.term >= word, SearchTerm.term < word + "\U0010ffff")
            .limit(1)
        )
        if session.scalar(probe) is not None:
            return True
    return False


def _corrections(session: Session, dialect: str, word: str) -> tuple[str | None, list[str]]:
    """For a word that matched nothing: the vocabulary word it is surely a typo
    of ("gagrin" → "gagarin"), if any, and the nearest vocabulary words to offer
    instead.

    Candidates are words sharing a trigram (pg_trgm, or SQLite's FTS5 trigram
    table) or the first two letters; RapidFuzz then decides, the same way on both.
    Only words in the same script count (a Latin word's Cyrillic spelling is
    checked as a word of its own), and a correction must be within one edit —
    two for words of eight letters or more — so "brezhnev" is never taken for
    "naberezhnye" nor "kalinin" for "ukrainian".
    """
    if len(word) < 3:
        return None, []
    candidates: set[str] = set()
    probes = [word] if tr.has_cyrillic(word) else [word, tr.cyrillise(word)]
    for probe in probes:
        candidates |= _candidates(session, dialect, probe)
    allowed = 0 if len(word) < 5 else 1 if len(word) < 8 else 2
    scored = []
    for candidate in candidates:
        same_script = tr.has_cyrillic(candidate) == tr.has_cyrillic(word)
        probe = word if same_script else tr.cyrillise(word)
        if tr.has_cyrillic(candidate) != tr.has_cyrillic(probe):
            continue
        edits = OSA.distance(probe, candidate)
        ratio = fuzz.ratio(probe, candidate)
        scored.append((edits, -ratio, not same_script, candidate))
    scored.sort()
    fixed = next((c for edits, _r, _s, c in scored if edits <= allowed), None)
    nearest = sorted(
        (item for item in scored if -item[1] >= SUGGEST_MIN and item[3] != fixed),
        key=lambda item: (item[1], item[0], item[3]),
    )
    return fixed, [c for *_rest, c in nearest[:SUGGESTIONS]]


def _candidates(session: Session, dialect: str, word: str) -> set[str]:
    candidates: set[str] = set()
    if dialect == "postgresql":
        # The planner underrates the trigram index on a vocabulary this size and
        # scans all of it (~30 ms at 50,000 words, against ~5 ms through the index).
        session.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
        # Looser than pg_trgm's default 0.3, as loose as SQLite's "any trigram in
        # common": suggestions may be far ("brezhnev" → "naberezhnye"); whether
        # one is close enough to correct is decided below, the same on both.
        session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.2', true)"))
        candidates.update(
            session.scalars(
                text(
                    "SELECT term FROM search_terms WHERE term % :w "
                    "ORDER BY similarity(term, :w) DESC, term LIMIT 200"
                ).bindparams(w=word)
            )
        )
        session.execute(text("SELECT set_config('enable_seqscan', 'on', true)"))
        session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.3', true)"))
    else:
        grams = {word[i : i + 3] for i in range(len(word) - 2)}
        match = " OR ".join(f'"{g}"' for g in sorted(grams) if _SAFE.fullmatch(g))
        if match:
            found = session.scalars(
                text("SELECT term FROM search_terms_fts WHERE search_terms_fts MATCH :m LIMIT 500"),
                {"m": match},
            )
            candidates.update(found)
    low, high = word[:2], word[:1] + chr(ord(word[1]) + 1)
    candidates.update(
        session.scalars(
            select(SearchTerm.term)
            .where(SearchTerm.term >= low, SearchTerm.term < high)
            .order_by(SearchTerm.term)
            .limit(500)
        )
    )
    return candidates


def _rank(
    session: Session, candidate_ids: list[int], alternatives: list[list[Spelling]], raw_query: str
) -> list[int]:
    """The candidates in order of relevance: each word's best spelling found in
    the title counts most, then in the body; every word in the title and the
    catalogue number typed as is add to it."""
    # The ids are written into the statement (whole numbers the database gave):
    # bound one by one, each of 300 takes a placeholder and, on PostgreSQL, a
    # cast rendered per request (page p95 49.3 → 39.0 ms, 50,441 pins).
    candidates: Any = bindparam("candidates", candidate_ids, literal_execute=True)
    rows = session.execute(
        select(
            Pin.id, Pin.ref, Pin.search_title, Pin.search_body, Pin.is_synthetic, Pin.year_from
        ).where(Pin.id.in_(candidates))
    ).all()
    wanted_ref = raw_query.strip().lower()
    scored = []
    for pin_id, ref, title, body, synthetic, year in rows:
        title_terms = title.split()
        body_terms = body.split()
        score = 0.0
        everywhere_in_title = True
        for options in alternatives:
            best_title = _best(options, title_terms)
            best_body = _best(options, body_terms)
            everywhere_in_title &= best_title > 0
            # A word in the title counts most; also in the body (themes, issuer,
            # city) means the pin is about it, not merely named after it.
            score += best_title + 0.3 * best_body
        if everywhere_in_title:
            score += 0.5
        if ref.lower() == wanted_ref:
            score += 10
        # Ties: real pins before synthetic ones, then the earliest issue.
        scored.append((-round(score, 6), synthetic, year or 9999, ref, pin_id))
    scored.sort()
    return [row[-1] for row in scored]


def _best(options: list[Spelling], terms: list[str]) -> float:
    best = 0.0
    term_set = set(terms)
    for option in options:
        if option.term in term_set:
            best = max(best, option.weight)
        elif option.prefix and any(t.startswith(option.term) for t in terms):
            best = max(best, 0.8 * option.weight)
    return best


def _load(session: Session, ids: list[int]) -> list[Pin]:
    if not ids:
        return []
    pins = session.scalars(
        select(Pin)
        .where(Pin.id.in_(bindparam("ids", ids, literal_execute=True)))
        .options(selectinload(Pin.themes), selectinload(Pin.photos), selectinload(Pin.titles))
    ).all()
    by_id = {p.id: p for p in pins}
    return [by_id[i] for i in ids if i in by_id]


__all__ = ["SORTS", "SearchQuery", "SearchResult", "search"]
