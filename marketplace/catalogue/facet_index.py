"""The catalogue's facet columns held in memory: the counts beside a search and
the order of its results, computed over the matched pins' ids with numpy
instead of a second pass over their rows in the database.

A broad word matches thousands of pins ("ленин": 3,962 of 50,441). Counting
them per facet in SQL reads every matched row again and groups it eight
times; here each facet is a column of small integer codes, one per pin, so
the counts are one `bincount` each and the orders one `lexsort`. The database
still decides what matches (full-text index, filters); only the ids (and, for
relevance, whether every word is in the title) come back.

Built from the committed catalogue, one query per column, and kept per
process under the catalogue's version (`caching.facet_index`), so a committed
change to the catalogue builds it afresh. Orders by catalogue number and by
title are read from the database (`ORDER BY`), so they follow its collation
exactly as the SQL path does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.catalogue.browse import FACET_VALUES, Counted, Facets
from marketplace.catalogue.models import Pin, Series, Theme, pin_themes

ATTRIBUTES = ("republic", "city", "material", "pin_type", "maker")
_NO_YEAR = np.iinfo(np.int64).max  # sorts after every year, as NULLS LAST does


@dataclass(frozen=True)
class _Coded:
    """One facet: a code per pin (-1: none) and the value each code stands for."""

    codes: np.ndarray
    values: list[str]

    @classmethod
    def of(cls, column: Sequence[object]) -> _Coded:
        values = sorted({str(v) for v in column if v is not None})
        code = {v: i for i, v in enumerate(values)}
        codes = np.fromiter(
            (-1 if v is None else code[str(v)] for v in column), dtype=np.int32, count=len(column)
        )
        return cls(codes, values)

    def counts(self, positions: np.ndarray) -> list[tuple[str, int]]:
        codes = self.codes[positions]
        tally = np.bincount(codes[codes >= 0], minlength=len(self.values))
        return [(self.values[i], int(tally[i])) for i in np.nonzero(tally)[0]]


@dataclass(frozen=True)
class FacetIndex:
    ids: np.ndarray  # every pin id, ascending; a pin's position is its index here
    attributes: dict[str, _Coded]
    decade: _Coded
    series: _Coded  # values: "id:name"
    series_names: dict[str, str]  # "id:name" → name, for the order shown
    theme_pin: np.ndarray  # (pin position, theme code) pairs
    theme_code: np.ndarray
    themes: list[str]  # theme paths by code
    keys: dict[str, np.ndarray]  # sort keys by name (`Ranking.keys`), ascending

    @classmethod
    def build(cls, session: Session) -> FacetIndex:
        attributes_read = (getattr(Pin, a) for a in ATTRIBUTES)
        read = select(Pin.id, *attributes_read, Pin.series_id, Pin.year_from, Pin.is_synthetic)
        rows = session.execute(read.order_by(Pin.id)).all()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        columns = list(zip(*rows, strict=True)) if rows else [()] * 9
        attributes = {name: _Coded.of(columns[1 + i]) for i, name in enumerate(ATTRIBUTES)}
        names = dict(session.execute(select(Series.id, Series.name)).all())
        series_values = [None if s is None else f"{s}:{names[s]}" for s in columns[6]]
        years = columns[7]
        decade = _Coded.of([None if y is None else y // 10 * 10 for y in years])
        year = np.fromiter((_NO_YEAR if y is None else y for y in years), np.int64, len(rows))
        newest_first = np.where(year == _NO_YEAR, _NO_YEAR, -year)
        synthetic = np.fromiter((bool(s) for s in columns[8]), dtype=np.int8, count=len(rows))

        # Each query reads its own snapshot (READ COMMITTED): rows of pins
        # created or deleted in between are left out, and the commit that made
        # them bumps the version, so the next search builds afresh anyway.
        def held(pin_ids: np.ndarray) -> np.ndarray:
            return np.isin(pin_ids, ids)

        def rank(*order: Any) -> np.ndarray:
            ordered = np.fromiter(session.scalars(select(Pin.id).order_by(*order)), np.int64)
            ordered = ordered[held(ordered)]
            result = np.full(len(ids), len(ids), dtype=np.int64)
            result[np.searchsorted(ids, ordered)] = np.arange(len(ordered))
            return result

        pairs = session.execute(
            select(pin_themes.c.pin_id, Theme.path).join(Theme, Theme.id == pin_themes.c.theme_id)
        ).all()
        pair_pins = np.fromiter((p for p, _ in pairs), np.int64, len(pairs))
        pairs = [pair for pair, keep in zip(pairs, held(pair_pins), strict=True) if keep]
        themes = sorted({path for _pin, path in pairs})
        theme_code = {path: i for i, path in enumerate(themes)}
        return cls(
            ids=ids,
            attributes=attributes,
            decade=decade,
            series=_Coded.of(series_values),
            series_names={v: v.split(":", 1)[1] for v in series_values if v is not None},
            theme_pin=np.searchsorted(ids, np.fromiter((p for p, _ in pairs), np.int64)),
            theme_code=np.fromiter((theme_code[t] for _, t in pairs), np.int32, len(pairs)),
            themes=themes,
            keys={
                "synthetic": synthetic,
                "year": year,
                "year_desc": newest_first,
                "ref": rank(Pin.ref),
                "title": rank(Pin.title_en, Pin.ref),
            },
        )

    def positions(self, ids: Sequence[int]) -> np.ndarray | None:
        """Where each pin is held; None if one is not (created since the build)."""
        wanted = np.asarray(ids, dtype=np.int64)
        if not len(wanted):
            return np.zeros(0, dtype=np.int64)
        if not len(self.ids):
            return None
        found = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        return found if np.array_equal(self.ids[found], wanted) else None

    def counted(
        self,
        positions: np.ndarray,
        keys: Sequence[str],
        start: int,
        count: int,
        in_title: np.ndarray | None = None,
    ) -> Counted:
        """What `browse.counted` answers, over the pins at `positions`: facets,
        total, and the ids from `start` in the order `keys` name (first key
        first; "in_title" puts pins with every word in their title first)."""
        facets: Facets = {}
        for name, coded in self.attributes.items():
            facets[name] = sorted(coded.counts(positions), key=lambda i: (-i[1], i[0]))[
                :FACET_VALUES
            ]
        names = self.series_names
        series = sorted(self.series.counts(positions), key=lambda i: (-i[1], names[i[0]]))
        facets["series"] = series[:FACET_VALUES]
        facets["decade"] = sorted(self.decade.counts(positions), key=lambda i: int(i[0]))
        member = np.zeros(len(self.ids), dtype=bool)
        member[positions] = True
        codes = self.theme_code[member[self.theme_pin]]
        tally = np.bincount(codes, minlength=len(self.themes))
        themes = [(self.themes[i], int(tally[i])) for i in np.nonzero(tally)[0]]
        facets["theme"] = sorted(themes, key=lambda i: (-i[1], i[0]))
        columns = []
        for key in keys:
            if key == "in_title":
                flags = np.zeros(len(positions), np.int8) if in_title is None else in_title
                columns.append(-flags.astype(np.int8))
            else:
                columns.append(self.keys[key][positions])
        # lexsort sorts by its last key first.
        order = np.lexsort(columns[::-1]) if columns else np.arange(len(positions))
        page = positions[order[start : start + count]]
        return Counted(facets, len(positions), self.ids[page].tolist())
