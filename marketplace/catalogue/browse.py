"""Browsing the catalogue by counts: the facet counts beside search results, the
option lists of the filters, and the theme, place and series overviews.

Everything is counted by the database (`GROUP BY`, one pass), never by loading
pins.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session, selectinload

from marketplace.catalogue.models import Pin, Series, Theme, pin_themes

FACETS = ("theme", "republic", "city", "material", "pin_type", "series", "maker", "decade")
FACET_VALUES = 30  # values listed per attribute facet, most pins first
ATTRIBUTES = ("republic", "city", "material", "pin_type", "maker")  # facets of one column

Facets = dict[str, list[tuple[str, int]]]  # facet → (value, pins) in the order shown
# facet → (value, label, pins) as counted, in no order; a series' label is its name.
Tallies = dict[str, list[tuple[str, str, int]]]


@dataclass(frozen=True)
class Ranking:
    """Which of the matched pins to list, found in the same pass as the counts:
    `columns` (labelled) are read with each matched pin, `order` gives the order
    over them (it is handed the matched rows' columns), and the ids from
    position `start` (0 first) are returned, `count` of them. `keys` names the
    same order for the in-memory index (`facet_index.FacetIndex.counted`)."""

    columns: Sequence[Any]
    order: Callable[[Any], Sequence[Any]]
    start: int
    count: int
    keys: tuple[str, ...] = ()


@dataclass
class Counted:
    facets: Facets
    total: int  # every matched pin, never capped
    ids: list[int]  # those the ranking asked for, in its order


def facet_counts(session: Session, match_ids: Select[Any]) -> Facets:
    """Counts per filter value over everything the query matched (`counted`)."""
    return counted(session, match_ids).facets


def counted(session: Session, match_ids: Select[Any], ranking: Ranking | None = None) -> Counted:
    """Counts per filter value over everything the query matched, how many it
    matched and, given a `ranking`, which of them to list, counted by the
    database in one statement: the matched pins' attributes are read once (a
    materialised CTE) and grouped per facet, so what comes back is one row per
    value, never one per pin. Attribute lists keep the FACET_VALUES most
    frequent values; decades and themes are listed whole."""
    attributes = [getattr(Pin, name) for name in ATTRIBUTES]
    matched = (
        match_ids.with_only_columns(
            Pin.id,
            *attributes,
            Pin.series_id,
            (Pin.year_from // 10 * 10).label("decade"),
            *(ranking.columns if ranking else ()),
        )
        .cte("matched")
        .prefix_with("MATERIALIZED")
    )

    def grouped(name: str, column: Any) -> Select[Any]:
        return (
            select(
                literal(name).label("facet"),
                cast(column, String).label("value"),
                null_text().label("label"),
                func.count().label("n"),
            )
            .where(column.is_not(None))
            .group_by(column)
        )

    parts: list[Any] = [grouped(c.key, matched.c[c.key]) for c in attributes]
    parts.append(grouped("decade", matched.c.decade))
    parts.append(
        select(literal("series"), cast(Series.id, String), Series.name, func.count())
        .select_from(matched)
        .join(Series, Series.id == matched.c.series_id)
        .group_by(Series.id, Series.name)
    )
    # Themes of the matched pins looked up by pin: joined the other way round,
    # PostgreSQL hashes all of pin_themes (9.3 → 6.8 ms for "Gagarin", 50,441 pins).
    parts.append(
        select(literal("theme"), Theme.path, null_text(), func.count())
        .select_from(pin_themes)
        .join(Theme, Theme.id == pin_themes.c.theme_id)
        .where(pin_themes.c.pin_id.in_(select(matched.c.id)))
        .group_by(Theme.path)
    )
    # The total and the pins to list ride along: finding the matched pins again
    # for them costs a second and third pass (on PostgreSQL a capped count even
    # picks a plan that scans the table: 17-23 ms for "Odessa").
    total = select(literal("total"), null_text(), null_text(), func.count()).select_from(matched)
    parts.append(total)
    if ranking is not None:
        position = func.row_number().over(order_by=list(ranking.order(matched.c)))
        ranked = select(matched.c.id, position.label("position")).subquery()
        parts.append(
            select(literal("ranked"), cast(ranked.c.id, String), null_text(), ranked.c.position)
            .where(ranked.c.position > ranking.start)
            .where(ranked.c.position <= ranking.start + ranking.count)
        )
    by_facet: Tallies = {name: [] for name in (*FACETS, "total", "ranked")}
    for facet, value, label, count in session.execute(union_all(*parts)):
        by_facet[facet].append((str(value), label or "", int(count)))
    ids = [int(pin) for pin, _label, _position in sorted(by_facet["ranked"], key=lambda i: i[2])]
    return Counted(shown(by_facet), by_facet["total"][0][2], ids)


def shown(tallies: Tallies) -> Facets:
    """The counts in the order the page lists them: attribute values and series
    most pins first (then by value, a series by name), the FACET_VALUES first
    of each; decades in time order and themes most pins first, all of them."""

    def most_first(name: str, by: int) -> list[tuple[str, str, int]]:
        return sorted(tallies.get(name, []), key=lambda item: (-item[2], item[by]))

    facets: Facets = {}
    for name in ATTRIBUTES:
        facets[name] = [(value, n) for value, _l, n in most_first(name, 0)[:FACET_VALUES]]
    series = most_first("series", 1)[:FACET_VALUES]
    facets["series"] = [(f"{sid}:{name}", n) for sid, name, n in series]
    decades = sorted(tallies.get("decade", []), key=lambda item: int(item[0]))
    facets["decade"] = [(decade, n) for decade, _l, n in decades]
    facets["theme"] = [(path, n) for path, _l, n in most_first("theme", 0)]
    return facets


def null_text() -> Any:
    return cast(null(), String)


FACET_COLUMNS = ("republic", "city", "material", "pin_type", "maker", "series", "decade")


# -- browsing ----------------------------------------------------------------------


def theme_counts(session: Session) -> list[tuple[Theme, int]]:
    """Every theme with the number of pins in it or beneath it."""
    themes = list(session.scalars(select(Theme).order_by(Theme.path)))
    direct: dict[int, int] = dict(
        session.execute(
            select(pin_themes.c.theme_id, func.count(func.distinct(pin_themes.c.pin_id))).group_by(
                pin_themes.c.theme_id
            )
        ).all()
    )
    result = []
    for theme in themes:
        if "/" in theme.path:
            count = direct.get(theme.id, 0)
        else:
            below = [
                t.id for t in themes if t.path == theme.path or t.path.startswith(theme.path + "/")
            ]
            count = (
                session.scalar(
                    select(func.count(func.distinct(pin_themes.c.pin_id))).where(
                        pin_themes.c.theme_id.in_(below)
                    )
                )
                or 0
            )
        result.append((theme, int(count)))
    return result


def place_counts(session: Session) -> list[tuple[str, list[tuple[str, int]], int]]:
    """Republics, each with its cities and counts, most pins first."""
    rows = session.execute(
        select(Pin.republic, Pin.city, func.count())
        .where(Pin.republic.is_not(None))
        .group_by(Pin.republic, Pin.city)
    ).all()
    republics: dict[str, dict[str, int]] = {}
    for republic, city, count in rows:
        republics.setdefault(str(republic), {})[city or ""] = int(count)
    out = []
    for republic, cities in republics.items():
        named = sorted(((c, n) for c, n in cities.items() if c), key=lambda x: (-x[1], x[0]))
        out.append((republic, named, sum(cities.values())))
    out.sort(key=lambda item: (-item[2], item[0]))
    return out


def series_overview(session: Session) -> list[tuple[Series, int]]:
    rows = session.execute(
        select(Series, func.count(Pin.id))
        .join(Pin, Pin.series_id == Series.id, isouter=True)
        .group_by(Series.id)
        .order_by(Series.name)
    ).all()
    return [(series, int(count)) for series, count in rows]


def series_members(session: Session, series: Series) -> tuple[list[Pin], list[int]]:
    """Members in number order, and the numbers this catalogue has no pin for."""
    members = list(
        session.scalars(
            select(Pin)
            .where(Pin.series_id == series.id)
            .order_by(Pin.series_number.is_(None), Pin.series_number, Pin.ref)
            .options(selectinload(Pin.photos), selectinload(Pin.titles))
        )
    )
    numbers = {p.series_number for p in members if p.series_number}
    size = series.set_size or max(numbers, default=0)
    return members, [n for n in range(1, size + 1) if n not in numbers]


def filter_options(session: Session) -> dict[str, list[str]]:
    """Values for the filter drop-downs."""
    options: dict[str, list[str]] = {}
    for name in ("republic", "material", "pin_type"):
        column = getattr(Pin, name)
        options[name] = [
            v
            for v in session.scalars(
                select(column).where(column.is_not(None)).distinct().order_by(column)
            )
        ]
    options["theme"] = list(session.scalars(select(Theme.path).order_by(Theme.path)))
    return options
