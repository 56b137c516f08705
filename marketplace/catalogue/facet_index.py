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

from marketplace.catalogue.browse import ATTRIBUTES, Counted, Tallies, shown
from marketplace.catalogue.models import Pin, Series, Theme, pin_themes

_NO_YEAR = np.iinfo(np.int64).max  # sorts after every year, as NULLS LAST does


@dataclass(frozen=True)
class _Coded:
    """One facet: a code per row (a pin; for themes, a pin's theme), -1 for
    none, and the value each code stands for."""

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

    def counts(
        self, positions: np.ndarray, labels: dict[str, str] | None = None
    ) -> list[tuple[str, str, int]]:
        """(value, label, pins) of each value the pins at `positions` hold."""
        codes = self.codes[positions]
        tally = np.bincount(codes[codes >= 0], minlength=len(self.values))
        labels = labels or {}
        return [
            (self.values[i], labels.get(self.values[i], ""), int(tally[i]))
            for i in np.nonzero(tally)[0]
        ]


@dataclass(frozen=True)
class FacetIndex:
    ids: np.ndarray  # every pin id, ascending; a pin's position is its index here
    attributes: dict[str, _Coded]
    decade: _Coded
    series: _Coded  # values: series ids
    series_names: dict[str, str]  # series id → its name
    themes: _Coded  # over (pin, theme) pairs: values are theme paths
    theme_pin: np.ndarray  # the pin position of each pair
    keys: dict[str, np.ndarray]  # sort keys by name (`Ranking.keys`), ascending

    @classmethod
    def build(cls, session: Session) -> FacetIndex:
        attributes_read = (getattr(Pin, a) for a in ATTRIBUTES)
        read = select(Pin.id, *attributes_read, Pin.series_id, Pin.year_from, Pin.is_synthetic)
        rows = session.execute(read.order_by(Pin.id)).all()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        columns = list(zip(*rows, strict=True)) if rows else [()] * 9
        attributes = {name: _Coded.of(columns[1 + i]) for i, name in enumerate(ATTRIBUTES)}
        names = {str(i): str(n) for i, n in session.execute(select(Series.id, Series.name))}
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
        kept = held(pair_pins)
        return cls(
            ids=ids,
            attributes=attributes,
            decade=decade,
            series=_Coded.of(columns[6]),
            series_names=names,
            themes=_Coded.of([path for (_, path), keep in zip(pairs, kept, strict=True) if keep]),
            theme_pin=np.searchsorted(ids, pair_pins[kept]),
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
        tallies: Tallies = {name: c.counts(positions) for name, c in self.attributes.items()}
        tallies["series"] = self.series.counts(positions, self.series_names)
        tallies["decade"] = self.decade.counts(positions)
        member = np.zeros(len(self.ids), dtype=bool)
        member[positions] = True
        tallies["theme"] = self.themes.counts(np.nonzero(member[self.theme_pin])[0])
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
        return Counted(shown(tallies), len(positions), self.ids[page].tolist())
