"""Synthetic catalogues for benchmarks: plausible pins (Cyrillic legends, cities,
themes, series, years, materials) in any number, every one marked `is_synthetic`
and given an `SYN-` catalogue number so it can never pass for a real pin.

    python benchmarks/catalogue_gen.py --database-url URL --count 50000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from marketplace.catalogue import transliteration as tr
from marketplace.catalogue.models import MATERIALS, PIN_TYPES, Pin, PinTheme, Theme
from marketplace.catalogue.operations import THEMES, add_terms, ensure_themes

CITIES = [
    ("Москва", "Moscow", "RSFSR"),
    ("Ленинград", "Leningrad", "RSFSR"),
    ("Киев", "Kiev", "Ukrainian SSR"),
    ("Минск", "Minsk", "Byelorussian SSR"),
    ("Таллин", "Tallinn", "Estonian SSR"),
    ("Рига", "Riga", "Latvian SSR"),
    ("Вильнюс", "Vilnius", "Lithuanian SSR"),
    ("Тбилиси", "Tbilisi", "Georgian SSR"),
    ("Ереван", "Yerevan", "Armenian SSR"),
    ("Баку", "Baku", "Azerbaijan SSR"),
    ("Ташкент", "Tashkent", "Uzbek SSR"),
    ("Алма-Ата", "Alma-Ata", "Kazakh SSR"),
    ("Фрунзе", "Frunze", "Kirghiz SSR"),
    ("Душанбе", "Dushanbe", "Tajik SSR"),
    ("Ашхабад", "Ashkhabad", "Turkmen SSR"),
    ("Кишинёв", "Kishinev", "Moldavian SSR"),
    ("Одесса", "Odessa", "Ukrainian SSR"),
    ("Волгоград", "Volgograd", "RSFSR"),
    ("Новосибирск", "Novosibirsk", "RSFSR"),
    ("Владивосток", "Vladivostok", "RSFSR"),
    ("Суздаль", "Suzdal", "RSFSR"),
    ("Братск", "Bratsk", "RSFSR"),
    ("Севастополь", "Sevastopol", "Ukrainian SSR"),
    ("Смоленск", "Smolensk", "RSFSR"),
    ("Ярославль", "Yaroslavl", "RSFSR"),
]
SUBJECTS = [
    ("Гагарин", "Gagarin", "Space"),
    ("Ленин", "Lenin", "Lenin"),
    ("Олимпиада-80", "Olympics-80", "Sport/Olympics-80"),
    ("Спартак", "Spartak", "Sport/Clubs"),
    ("Динамо", "Dynamo", "Sport/Clubs"),
    ("ГТО", "GTO", "Sport/GTO"),
    ("Комсомол", "Komsomol", "Komsomol"),
    ("Пионер", "Pioneer", "Pioneers"),
    ("БАМ", "BAM", "Transport/Railways"),
    ("Аэрофлот", "Aeroflot", "Transport/Aviation"),
    ("Победа", "Victory", "Anniversaries/Victory"),
    ("Октябрь", "October", "Anniversaries/October Revolution"),
    ("Турист", "Tourist", "Tourism"),
    ("Космос", "Space", "Space"),
    ("Луноход", "Lunokhod", "Space"),
    ("Восток", "Vostok", "Space"),
    ("Театр", "Theatre", "Theatre"),
    ("ГЭС", "Hydro station", "Industry/Energy"),
    ("Метро", "Metro", "Transport"),
    ("Ударник", "Shock worker", "Labour"),
    ("Отличник", "Excellent worker", "Labour"),
    ("8 Марта", "8 March", "Women"),
    ("Пожарная охрана", "Fire service", "Fire and rescue"),
]
FORMS = [
    ("{s} {c}", "{S}, {C}"), ("{c} — {s}", "{C}: {S}"), ("{n} лет {s}", "{N} years of {S}"),
    ("Слава {s}!", "Glory to {S}!"), ("{s} {y}", "{S} {Y}"), ("{c} {y}", "{C} {Y}"),
]  # fmt: skip


def synthetic_rows(count: int, seed: int, start: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for i in range(start, start + count):
        city_ru, city_en, republic = rng.choice(CITIES)
        subject_ru, subject_en, theme = rng.choices(SUBJECTS, weights=range(len(SUBJECTS), 0, -1))[
            0
        ]
        year = rng.randint(1950, 1991)
        years = rng.choice([10, 20, 25, 30, 40, 50, 60, 70])
        form_ru, form_en = rng.choice(FORMS)
        values = {"s": subject_ru, "c": city_ru, "n": years, "y": year,
                  "S": subject_en, "C": city_en, "N": years, "Y": year}  # fmt: skip
        legend = form_ru.format(**values)
        rows.append(
            {
                "ref": f"SYN-{i:06d}", "variant_group": f"SYN-{i:06d}", "printed_refs": [],
                "title_en": form_en.format(**values), "legend": legend, "legend_lang": "ru",
                "transliteration": tr.transliterate(legend), "translation_en": None,
                "issuer": None, "occasion": None, "pin_type": rng.choice(PIN_TYPES),
                "year_from": year, "year_to": year, "city": city_en, "republic": republic,
                "material": rng.choice(MATERIALS[:4]), "maker": None, "is_synthetic": True,
                "theme": theme, "version": 1,
            }
        )  # fmt: skip
    return rows


def load(session: Session, count: int, seed: int = 1, batch: int = 2000) -> None:
    ensure_themes(session)
    themes = {t.path: t.id for t in session.scalars(select(Theme))}
    start = (session.scalar(select(func.count(Pin.id)).where(Pin.is_synthetic.is_(True))) or 0) + 1
    done = 0
    began = time.perf_counter()
    for offset in range(0, count, batch):
        rows = synthetic_rows(min(batch, count - offset), seed + offset, start + offset)
        vocabulary: set[str] = set()
        for row in rows:
            row["search_title"] = tr.join_terms([row["title_en"], row["legend"]])
            row["search_body"] = tr.join_terms(
                [row["ref"], row["city"], row["republic"], row["theme"].replace("/", " ")]
            )
            vocabulary.update(row["search_title"].split(), row["search_body"].split())
        theme_of = {row["ref"]: row.pop("theme") for row in rows}
        session.execute(insert(Pin), rows)
        ids = dict(
            session.execute(select(Pin.ref, Pin.id).where(Pin.ref.in_(list(theme_of)))).all()
        )
        session.execute(
            insert(PinTheme),
            [{"pin_id": ids[ref], "theme_id": themes[t]} for ref, t in theme_of.items()],
        )
        add_terms(session, vocabulary)
        session.commit()
        done += len(rows)
        rate = done / (time.perf_counter() - began)
        print(f"\r{done:>7}/{count} synthetic pins ({rate:,.0f}/s)", end="", file=sys.stderr)
    print(file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--replace", action="store_true", help="Delete earlier synthetic pins first"
    )
    args = parser.parse_args()
    from marketplace.core.db import make_engine

    engine = make_engine(args.database_url)
    with Session(engine) as session:
        if args.replace:
            session.execute(delete(Pin).where(Pin.is_synthetic.is_(True)))
            session.commit()
        load(session, args.count, args.seed)
    assert THEMES  # the generator draws only on the real theme tree


if __name__ == "__main__":
    main()
