"""Catalogue search latency: 200 realistic queries (Cyrillic, Latin, other
romanisations, typos, two-word queries, catalogue numbers, filters) over a
catalogue of real demo pins plus N synthetic ones; prints p50/p95/max.

    python benchmarks/search_bench.py --database-url URL [--pins 50000] [--page] [--no-facets]

Facet counts are on by default, as the search page always computes them.
`--page` times the whole page instead: each query is a GET of `/pins?…`
through the WSGI app (routing, search, facets, filter options, the template),
as an anonymous visitor. The warm-up runs 20 other queries (another seed), so
no timed query has been run before. No page is served from the app's page
cache (each URL carries a parameter of its own, so every page is computed, as
for a query nobody asked before) unless `--app-cache` is given; what the app
keeps for every page (the filter drop-downs) stays cached, as on a running server.

The database is migrated and filled first if it holds fewer synthetic pins than
asked for.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text

from benchmarks import catalogue_gen
from marketplace.config import Settings

WORDS = """
Gagarin Гагарин gagrin Gagarine Lenin ленин Lenine Olympics Олимпиада Misha Tallinn Таллин
Spartak Спартак Dinamo Komsomol комсомол BAM БАМ Aeroflot аэрофлот Victory Победа Vostok
Lunokhod Луноход theatre Bratsk Братск Kiev Kyiv Odessa Moskva Moscow Москва Leningrad tourist
Турист udarnik ударник otlichnik GTO ГТО metro Smolensk Yaroslavl Novosibirsk pioneer пионер
space kosmos космос Sevastopol Suzdal Vilnius Frunze Komsomoll Olimpiada Lenni Spartk Tbilisi
Baku Yerevan Tashkent Minsk
""".split()
FILTERS = [
    {}, {}, {}, {"theme": "Space"}, {"republic": "RSFSR"}, {"year_from": 1970, "year_to": 1980},
    {"material": "aluminium"}, {"pin_type": "souvenir"}, {"theme": "Sport"},
]  # fmt: skip
DEFAULT_SEED = 7
WARMUP_SEED = 1007


def queries(count: int, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    out: list[dict[str, object]] = []
    for i in range(count):
        kind = i % 10
        if kind < 6:
            q = rng.choice(WORDS)
        elif kind < 9:
            q = f"{rng.choice(WORDS)} {rng.choice(WORDS)}"
        else:
            q = f"SYN-{rng.randint(1, 40000):06d}"
        out.append({"q": q, **rng.choice(FILTERS)})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pins", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--no-facets", dest="facets", action="store_false", help="Leave facet counts out"
    )
    parser.add_argument(
        "--page", action="store_true", help="Time the whole page through the WSGI app"
    )
    parser.add_argument(
        "--app-cache", action="store_true", help="With --page: let the app's cache serve pages"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--verbose", action="store_true", help="List the slowest queries")
    args = parser.parse_args()

    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.catalogue.models import Pin
    from marketplace.catalogue.operations import load_demo_catalogue
    from marketplace.catalogue.search import SearchQuery, search
    from marketplace.core.extensions import db

    settings = Settings.from_env({"ZNACHKI_ENV": "development", "DATABASE_URL": args.database_url})
    app = create_app(settings)
    root = Path(__file__).resolve().parents[1]
    with app.app_context():
        upgrade(directory=str(root / "migrations"), revision="heads")
        session = db.session()
        load_demo_catalogue(session)
        session.commit()
        have = session.scalar(select(func.count(Pin.id)).where(Pin.is_synthetic.is_(True))) or 0
        if have < args.pins:
            catalogue_gen.load(session, args.pins - have)
        total = session.scalar(select(func.count(Pin.id)))
        if db.engine.dialect.name == "postgresql":
            # Merge the GIN pending lists and refresh statistics, as autovacuum
            # does on a running server, so the figures are not of a just-loaded table.
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        session.commit()
        workload = queries(args.queries, args.seed)
        client = app.test_client()
        counter = itertools.count()

        def run(item: dict[str, object]) -> int:
            """One query, as the page or the search alone; the number of hits."""
            if args.page:
                unique = {} if args.app_cache else {"bench": next(counter)}
                response = client.get("/pins?" + urllib.parse.urlencode({**item, **unique}))
                assert response.status_code == 200, response.status_code
                found = re.search(rb'id="result-count">([\d,]+)', response.data)
                return int(found[1].replace(b",", b"")) if found else 0
            result = search(session, SearchQuery(with_facets=args.facets, **item))  # type: ignore[arg-type]
            session.rollback()
            return result.total

        # Warm the database's and the app's caches, as a running server's are,
        # with other queries than the timed ones.
        for item in queries(20, WARMUP_SEED):
            run(item)
        timings = []
        slowest = []
        hits = 0
        for item in workload:
            began = time.perf_counter()
            found = run(item)
            elapsed = (time.perf_counter() - began) * 1000
            timings.append(elapsed)
            slowest.append((elapsed, item, found))
            hits += bool(found)
        timings.sort()
        if args.verbose:
            for elapsed, item, found in sorted(slowest, key=lambda x: -x[0])[:12]:
                print(f"{elapsed:7.1f} ms  {found:5} hits  {item}")
        p95 = timings[int(len(timings) * 0.95) - 1]
        mode = "search"
        if args.page:
            mode = "whole page" + (", app cache on" if args.app_cache else "")
        print(
            f"{db.engine.dialect.name}: {total:,} pins, {len(timings)} queries "
            f"({hits} with results), "
            f"{mode}, "
            f"facets={'on' if args.facets or args.page else 'off'}: "
            f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
        )


if __name__ == "__main__":
    main()
