"""Search relevance on the demo catalogue: what a collector types, in Russian,
Ukrainian, Estonian and English, under several romanisations, with typos, against
the pins a collector expects (benchmarks/data/search_relevance.json).

For each query it takes the first page (24 pins) and measures
  recall@24  — the share of the expected pins on that page (of at most 24), and
  precision  — the share of the page's pins that are expected; a query that
               expects nothing scores 1 for an empty page and 0 otherwise.
It prints both overall and per group and per language, and the queries that
miss the targets (recall@24 ≥ 0.95 overall; no page more than half unrelated).

    python benchmarks/search_relevance.py [--database-url URL] [--verbose]

Without --database-url it builds a throwaway SQLite database; a PostgreSQL URL
must name an empty database or one already holding the demo catalogue.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parent / "data" / "search_relevance.json"
PAGE = 24
RECALL_TARGET = 0.95
PRECISION_FLOOR = 0.5  # no page may be more than half unrelated


@dataclass(frozen=True)
class Case:
    q: str
    lang: str
    group: str
    concept: str
    relevant: frozenset[str]


@dataclass
class Outcome:
    case: Case
    found: list[str]
    recall: float | None  # None: the query expects no pins
    precision: float
    notice: str = ""


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @staticmethod
    def _mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 1.0

    def recall(self, outcomes: list[Outcome] | None = None) -> float:
        chosen = self.outcomes if outcomes is None else outcomes
        return self._mean([o.recall for o in chosen if o.recall is not None])

    def precision(self, outcomes: list[Outcome] | None = None) -> float:
        chosen = self.outcomes if outcomes is None else outcomes
        return self._mean([o.precision for o in chosen])

    def mostly_unrelated(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.precision < PRECISION_FLOOR]

    def by(self, key: str) -> dict[str, list[Outcome]]:
        groups: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in self.outcomes:
            groups[getattr(outcome.case, key)].append(outcome)
        return dict(sorted(groups.items()))

    def lines(self, *, verbose: bool = False) -> list[str]:
        out = [
            f"{len(self.outcomes)} queries: recall@{PAGE} {self.recall():.3f}, "
            f"precision {self.precision():.3f}, "
            f"{len(self.mostly_unrelated())} pages more than half unrelated"
        ]
        for key in ("lang", "group"):
            out.append(f"by {key}:")
            for name, chosen in self.by(key).items():
                out.append(
                    f"  {name:<17} {len(chosen):>3} queries  recall@{PAGE} "
                    f"{self.recall(chosen):.3f}  precision {self.precision(chosen):.3f}"
                )
        misses = [
            o
            for o in self.outcomes
            if (o.recall is not None and o.recall < 1) or o.precision < PRECISION_FLOOR
        ]
        if misses:
            out.append("queries below target:")
            for o in misses:
                recall = "  -  " if o.recall is None else f"{o.recall:.2f}"
                shown = ", ".join(o.found[:6]) + (" …" if len(o.found) > 6 else "")
                out.append(
                    f"  {o.case.q!r:<24} recall {recall} precision {o.precision:.2f}"
                    f"  [{shown}]{'  ' + o.notice if o.notice else ''}"
                )
        if verbose:
            out.append("every query:")
            for o in self.outcomes:
                recall = "  -  " if o.recall is None else f"{o.recall:.2f}"
                out.append(f"  {o.case.q!r:<24} {recall} {o.precision:.2f} {len(o.found)} pins")
        return out


def load_cases(path: Path = DATA) -> list[Case]:
    data = json.loads(path.read_text(encoding="utf-8"))
    concepts = data["concepts"]
    return [
        Case(
            q=item["q"],
            lang=item["lang"],
            group=item["group"],
            concept=item["concept"],
            relevant=frozenset(concepts[item["concept"]]["relevant"]),
        )
        for item in data["queries"]
    ]


def evaluate(session: Any, cases: list[Case] | None = None) -> Report:
    """Run every case through the catalogue search on `session`."""
    from marketplace.catalogue.search import SearchQuery, search

    report = Report()
    for case in cases if cases is not None else load_cases():
        result = search(session, SearchQuery(q=case.q, per_page=PAGE))
        found = [pin.ref for pin in result.pins]
        hits = sum(ref in case.relevant for ref in found)
        if case.relevant:
            recall: float | None = hits / min(PAGE, len(case.relevant))
            precision = hits / len(found) if found else 0.0
        else:
            recall, precision = None, 0.0 if found else 1.0
        notice = ""
        corrections = getattr(result, "corrections", None)
        if corrections:
            notice = "corrected " + ", ".join(f"{a}→{b}" for a, b in corrections.items())
        report.outcomes.append(Outcome(case, found, recall, precision, notice))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: a throwaway SQLite database")
    parser.add_argument("--verbose", action="store_true", help="list every query")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.catalogue.operations import load_demo_catalogue
    from marketplace.config import Settings
    from marketplace.core.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/relevance.sqlite3"
        settings = Settings.from_env({"ZNACHKI_ENV": "development", "DATABASE_URL": url})
        app = create_app(settings, OUTBOX_RELAY=False)
        root = Path(__file__).resolve().parents[1]
        with app.app_context():
            upgrade(directory=str(root / "migrations"), revision="heads")
            session = db.session()
            load_demo_catalogue(session)
            session.commit()
            report = evaluate(session)
            print(f"{db.engine.dialect.name}, demo catalogue:")
            for line in report.lines(verbose=args.verbose):
                print(line)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
