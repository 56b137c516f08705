"""The catalogue as records: validating pin data, creating and editing pins with a
revision for every change (and reverting to any of them), keeping each pin's search
spellings and the search vocabulary up to date, catalogue import/export (CSV and
JSON, all-or-nothing with per-row errors), and loading the demo catalogue."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.catalogue import transliteration as tr
from marketplace.catalogue.models import (
    ATTACHMENTS,
    FINISHES,
    FIRST_YEAR,
    MATERIALS,
    PIN_TYPES,
    REPUBLICS,
    TECHNIQUES,
    Pin,
    PinRevision,
    SearchTerm,
    Series,
    Theme,
)
from marketplace.core.errors import DomainError, Forbidden, InvalidInput, NotFound

DEMO_FILE = Path(__file__).resolve().parents[1] / "demo_data" / "pins.json"

# The theme tree: path → Russian name. Children follow their parent.
THEMES: dict[str, str] = {
    "Space": "Космос", "Sport": "Спорт", "Sport/Olympics-80": "Олимпиада-80",
    "Sport/Clubs": "Спортивные клубы", "Sport/GTO": "ГТО", "Tourism": "Туризм",
    "Cities": "Города", "Cities/Hero cities": "Города-герои",
    "Cities/Golden Ring": "Золотое кольцо",
    "Lenin": "Ленин", "Military": "Армия и флот", "Military/WWII": "Великая Отечественная война",
    "Military/Classification": "Классность", "Party": "Партия",
    "Party/Congresses": "Съезды КПСС", "Komsomol": "Комсомол", "Pioneers": "Пионеры",
    "Anniversaries": "Юбилеи", "Anniversaries/October Revolution": "Октябрьская революция",
    "Anniversaries/USSR": "Образование СССР", "Anniversaries/Victory": "Победа",
    "Transport": "Транспорт", "Transport/Aviation": "Авиация",
    "Transport/Railways": "Железная дорога", "Transport/Automobiles": "Автомобили",
    "Industry": "Промышленность", "Industry/Construction": "Стройки",
    "Industry/Energy": "Энергетика", "Education": "Образование", "Theatre": "Театр",
    "Culture": "Культура", "Science": "Наука", "Labour": "Труд", "Societies": "Общества",
    "Women": "Женщины", "Nature": "Природа", "Fire and rescue": "Пожарные и спасатели",
    "Security services": "Органы безопасности", "International": "Международные",
}  # fmt: skip

# Soviet-era and present-day names of places, so either finds the other's pins.
PLACE_ALIASES: dict[str, str] = {
    "Kyiv": "Kiev Киев", "Kiev": "Kyiv Київ", "Odesa": "Odessa Одесса", "Odessa": "Odesa Одеса",
    "Kharkiv": "Kharkov Харьков", "Lviv": "Lvov Львов", "Tallinn": "Tallin Таллин",
    "Almaty": "Alma-Ata Алма-Ата", "Alma-Ata": "Almaty Алматы", "Bishkek": "Frunze Фрунзе",
    "Chisinau": "Kishinev Кишинёв", "Saint Petersburg": "Leningrad Ленинград",
    "Leningrad": "Saint Petersburg Петербург", "Volgograd": "Stalingrad Сталинград",
    "Nizhny Novgorod": "Gorky Горький", "Yekaterinburg": "Sverdlovsk Свердловск",
    "Samara": "Kuibyshev Куйбышев", "Tver": "Kalinin Калинин", "Vilnius": "Vilnyus Вильнюс",
    "Dnipro": "Dnepropetrovsk Днепропетровск", "Ashgabat": "Ashkhabad Ашхабад",
    "Minsk": "Мінск", "Riga": "Rīga",
}  # fmt: skip

# Editable fields and how each is read from a form, CSV cell or JSON value.
TEXT_FIELDS = (
    "title_en", "legend", "legend_lang", "translation_en", "issuer", "occasion", "city",
    "maker", "maker_mark", "hallmark", "reverse_markings", "authenticity_notes", "notes_en",
)  # fmt: skip
CHOICE_FIELDS: dict[str, tuple[str, ...]] = {
    "pin_type": PIN_TYPES,
    "material": MATERIALS,
    "finish": FINISHES,
    "technique": TECHNIQUES,
    "attachment": ATTACHMENTS,
    "republic": REPUBLICS,
}
NUMBER_FIELDS = ("height_mm", "width_mm", "thickness_mm", "weight_g")
BOOL_FIELDS = ("awarded_with_document", "known_copies")
EXPORT_COLUMNS = (
    "ref", "variant_group", "printed_refs", "title_en", "legend", "legend_lang",
    "translation_en", "issuer", "occasion", "themes", "pin_type", "series_name",
    "series_number", "series_size", "year_from", "year_to", "city", "republic", "maker",
    "maker_mark", "material", "finish", "hallmark", "technique", "attachment", "height_mm",
    "width_mm", "thickness_mm", "weight_g", "reverse_markings", "awarded_with_document",
    "authenticity_notes", "known_copies", "notes_en",
)  # fmt: skip
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_list(value: Any) -> list[str]:
    if _blank(value):
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if not _blank(v)]
    return [part.strip() for part in str(value).split("|") if part.strip()]


def clean_pin_data(raw: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Check and normalise pin data from any source. Raises InvalidInput naming
    every wrong field; `partial` accepts a subset of fields (corrections, PATCH)."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}

    def fail(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if "ref" in raw or not partial:
        ref = str(raw.get("ref") or "").strip()
        if not ref:
            fail("ref", "Give the catalogue number, e.g. 17108а or ZN-0042.")
        elif len(ref) > 40 or any(ch.isspace() for ch in ref):
            fail("ref", "A catalogue number has no spaces and at most 40 characters.")
        data["ref"] = ref
        group = str(raw.get("variant_group") or "").strip() or ref.rstrip("абвгдежзиклмн")
        data["variant_group"] = group or ref
    if ("title_en" in raw or not partial) and _blank(raw.get("title_en")):
        fail("title_en", "Give a short English title collectors would search for.")
    for field in TEXT_FIELDS:
        if field in raw:
            value = raw[field]
            data[field] = None if _blank(value) else str(value).strip()
    for field, choices in CHOICE_FIELDS.items():
        if field in raw:
            value = None if _blank(raw[field]) else str(raw[field]).strip()
            if value is not None and value not in choices:
                fail(field, f"Choose one of: {', '.join(choices)}.")
            data[field] = value
    for field in NUMBER_FIELDS:
        if field in raw:
            if _blank(raw[field]):
                data[field] = None
                continue
            try:
                number = Decimal(str(raw[field]).replace(",", "."))
            except InvalidOperation:
                fail(field, "Enter a number, e.g. 24.5.")
                continue
            if not number.is_finite() or number <= 0 or number >= 10000:
                fail(field, "Enter a positive size or weight.")
            data[field] = number
    for field in BOOL_FIELDS:
        if field in raw:
            value = raw[field]
            if _blank(value):
                data[field] = None
            elif isinstance(value, bool):
                data[field] = value
            elif str(value).strip().lower() in {"yes", "true", "1", "да", "y"}:
                data[field] = True
            elif str(value).strip().lower() in {"no", "false", "0", "нет", "n"}:
                data[field] = False
            else:
                fail(field, "Answer yes or no (or leave empty if unknown).")
    this_year = datetime.now(UTC).year
    for field in ("year_from", "year_to", "series_number", "series_size"):
        if field not in raw:
            continue
        if _blank(raw[field]):
            data[field] = None
            continue
        try:
            number_value = int(str(raw[field]).strip())
        except ValueError:
            fail(field, "Enter a whole number.")
            continue
        if field.startswith("year") and not FIRST_YEAR <= number_value <= this_year:
            fail(field, f"A year between {FIRST_YEAR} and {this_year}, please.")
        elif field.startswith("series") and number_value < 1:
            fail(field, "Numbers in a series start at 1.")
        data[field] = number_value
    if (
        data.get("year_from") is not None
        and data.get("year_to") is not None
        and data["year_to"] < data["year_from"]
    ):
        fail("year_to", "The last year cannot come before the first.")
    if "year_from" in data and data.get("year_to") is None and "year_to" not in raw:
        data["year_to"] = data["year_from"]
    if "printed_refs" in raw:
        data["printed_refs"] = _as_list(raw["printed_refs"])
    if "themes" in raw:
        themes = _as_list(raw["themes"])
        unknown = [t for t in themes if t not in THEMES]
        if unknown:
            fail(
                "themes", f"Unknown theme {unknown[0]!r}; themes are e.g. Space, Sport/Olympics-80."
            )
        data["themes"] = themes
    if "series_name" in raw:
        name = None if _blank(raw["series_name"]) else str(raw["series_name"]).strip()
        if name and len(name) > 200:
            fail("series_name", "At most 200 characters.")
        data["series_name"] = name
    if data.get("legend") and not data.get("legend_lang"):
        data["legend_lang"] = "ru" if tr.has_cyrillic(data["legend"]) else None
    for field, limit in (("title_en", 200), ("issuer", 300), ("occasion", 300), ("city", 100)):
        if data.get(field) and len(data[field]) > limit:
            fail(field, f"At most {limit} characters.")
    if errors:
        raise InvalidInput(errors)
    return data


class Catalogue:
    """Catalogue records on one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- reading -------------------------------------------------------------------

    def get(self, pin_id: int) -> Pin:
        pin = self.session.scalar(
            select(Pin)
            .where(Pin.id == pin_id)
            .options(selectinload(Pin.themes), selectinload(Pin.photos), selectinload(Pin.series))
        )
        if pin is None:
            raise NotFound("No pin with that number.")
        return pin

    def by_ref(self, ref: str) -> Pin | None:
        return self.session.scalar(select(Pin).where(func.lower(Pin.ref) == ref.strip().lower()))

    def variants(self, pin: Pin) -> list[Pin]:
        return list(
            self.session.scalars(
                select(Pin)
                .where(Pin.variant_group == pin.variant_group, Pin.id != pin.id)
                .order_by(Pin.ref)
            )
        )

    def history(self, pin: Pin) -> list[PinRevision]:
        return list(
            self.session.scalars(
                select(PinRevision)
                .where(PinRevision.pin_id == pin.id)
                .order_by(PinRevision.number.desc())
            )
        )

    # -- writing -------------------------------------------------------------------

    def create(
        self, data: Mapping[str, Any], user: User | None, *, action: str = "create",
        comment: str | None = None,
    ) -> Pin:  # fmt: skip
        clean = clean_pin_data(data)
        if self.by_ref(clean["ref"]) is not None:
            raise InvalidInput({"ref": [f"Catalogue number {clean['ref']} is already taken."]})
        pin = Pin(ref=clean["ref"], variant_group=clean["variant_group"], title_en="")
        self.session.add(pin)
        self._apply(pin, clean)
        self.session.flush()
        self._record(pin, action, user, {k: [None, v] for k, v in snapshot(pin).items()}, comment)
        return pin

    def update(
        self, pin: Pin, data: Mapping[str, Any], user: User | None, *,
        action: str = "edit", comment: str | None = None,
    ) -> Pin:  # fmt: skip
        clean = clean_pin_data(data, partial=True)
        renamed = "ref" in clean and clean["ref"].lower() != pin.ref.lower()
        if renamed and self.by_ref(clean["ref"]) is not None:
            raise InvalidInput({"ref": [f"Catalogue number {clean['ref']} is already taken."]})
        before = snapshot(pin)
        self._apply(pin, clean)
        self.session.flush()
        after = snapshot(pin)
        changes = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
        if changes:
            pin.version += 1
            self._record(pin, action, user, changes, comment)
        return pin

    def revert(self, pin: Pin, number: int, user: User) -> Pin:
        if not user.is_moderator:
            raise Forbidden("Only moderators can revert a pin.")
        revision = self.session.scalar(
            select(PinRevision).where(PinRevision.pin_id == pin.id, PinRevision.number == number)
        )
        if revision is None:
            raise NotFound("No such revision of this pin.")
        return self.update(
            pin, revision.snapshot, user, action="revert", comment=f"Reverted to revision {number}"
        )

    def _apply(self, pin: Pin, clean: Mapping[str, Any]) -> None:
        for field in (
            "ref", "variant_group", "printed_refs", "year_from", "year_to", "series_number",
            *TEXT_FIELDS, *CHOICE_FIELDS, *NUMBER_FIELDS, *BOOL_FIELDS,
        ):  # fmt: skip
            if field in clean:
                setattr(pin, field, clean[field])
        if "themes" in clean:
            pin.themes = self._themes(clean["themes"])
        if "series_name" in clean:
            pin.series = self._series(clean["series_name"], clean.get("series_size"))
        elif clean.get("series_size") and pin.series is not None:
            pin.series.set_size = clean["series_size"]
        if pin.legend:
            pin.transliteration = (
                tr.transliterate(pin.legend, pin.legend_lang or "ru")
                if tr.has_cyrillic(pin.legend)
                else None
            )
        index_pin(self.session, pin)

    def _themes(self, paths: Iterable[str]) -> list[Theme]:
        ensure_themes(self.session)
        wanted = list(dict.fromkeys(paths))
        found = {
            t.path: t for t in self.session.scalars(select(Theme).where(Theme.path.in_(wanted)))
        }
        return [found[p] for p in wanted if p in found]

    def _series(self, name: str | None, size: int | None) -> Series | None:
        if not name:
            return None
        series = self.session.scalar(select(Series).where(Series.name == name))
        if series is None:
            series = Series(name=name, set_size=size)
            self.session.add(series)
        elif size:
            series.set_size = size
        return series

    def _record(
        self, pin: Pin, action: str, user: User | None, changes: dict[str, Any],
        comment: str | None,
    ) -> None:  # fmt: skip
        number = (
            self.session.scalar(
                select(func.max(PinRevision.number)).where(PinRevision.pin_id == pin.id)
            )
            or 0
        ) + 1
        self.session.add(
            PinRevision(
                pin_id=pin.id,
                number=number,
                action=action,
                user_id=user.id if user else None,
                snapshot=snapshot(pin),
                changes=_json_safe(changes),
                comment=comment,
            )
        )

    # -- import and export -----------------------------------------------------------

    def import_records(
        self, records: list[dict[str, Any]], user: User | None
    ) -> tuple[int, int, list[tuple[int, str, str]]]:
        """All or nothing: every row is checked first; if any row is wrong, nothing
        is written and every error comes back as (row, column, message). Rows whose
        ref exists update that pin; others create one. Returns (created, updated, [])."""
        errors: list[tuple[int, str, str]] = []
        seen: dict[str, int] = {}
        cleaned: list[dict[str, Any]] = []
        for row_number, record in enumerate(records, start=2):
            try:
                clean = clean_pin_data(record)
            except InvalidInput as exc:
                errors.extend((row_number, f, m) for f, ms in exc.errors.items() for m in ms)
                continue
            key = clean["ref"].lower()
            if key in seen:
                errors.append((row_number, "ref", f"Same catalogue number as row {seen[key]}."))
            seen[key] = row_number
            cleaned.append(record)
        if errors:
            return 0, 0, errors
        existing = {
            p.ref.lower(): p
            for p in self.session.scalars(select(Pin).where(func.lower(Pin.ref).in_(list(seen))))
        }
        created = updated = 0
        for record in cleaned:
            pin = existing.get(str(record["ref"]).strip().lower())
            if pin is None:
                self.create(record, user, action="import")
                created += 1
            else:
                self.update(pin, record, user, action="import")
                updated += 1
        return created, updated, []

    def export_records(self) -> list[dict[str, Any]]:
        pins = self.session.scalars(
            select(Pin)
            .where(Pin.is_synthetic.is_(False))
            .options(selectinload(Pin.themes), selectinload(Pin.series))
            .order_by(Pin.ref)
        )
        return [record_of(pin) for pin in pins]


def record_of(pin: Pin) -> dict[str, Any]:
    """A pin as one flat record (the import/export format)."""
    record = {column: getattr(pin, column, None) for column in EXPORT_COLUMNS}
    record["themes"] = [t.path for t in pin.themes]
    record["series_name"] = pin.series.name if pin.series else None
    record["series_size"] = pin.series.set_size if pin.series else None
    return _json_safe(record)


def snapshot(pin: Pin) -> dict[str, Any]:
    return record_of(pin)


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def records_to_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        row = dict(record)
        for key in ("printed_refs", "themes"):
            row[key] = "|".join(row.get(key) or [])
        for key in BOOL_FIELDS:
            if row.get(key) is not None:
                row[key] = "yes" if row[key] else "no"
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def parse_catalogue_file(data: bytes, filename: str) -> list[dict[str, Any]]:
    """Records from an uploaded CSV or JSON catalogue file; raises DomainError
    with the line or row at fault."""
    if len(data) > MAX_IMPORT_BYTES:
        raise DomainError(
            f"The file is larger than {MAX_IMPORT_BYTES // 1_048_576} MB.", field="file"
        )
    if not data.strip():
        raise DomainError("The file is empty.", field="file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DomainError(
            f"The file is not UTF-8 (byte {exc.start}); save it as UTF-8 and try again.",
            field="file",
        ) from None
    if filename.lower().endswith(".json") or text.lstrip().startswith("["):
        try:
            records = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DomainError(
                f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.", field="file"
            ) from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise DomainError("A JSON catalogue is a list of objects.", field="file")
        return records
    reader = csv.DictReader(io.StringIO(text))
    missing = {"ref", "title_en"} - set(reader.fieldnames or [])
    if missing:
        raise DomainError(
            f"The header row lacks the column(s): {', '.join(sorted(missing))}.", field="file"
        )
    unknown = set(reader.fieldnames or []) - set(EXPORT_COLUMNS)
    if unknown:
        raise DomainError(f"Unknown column(s): {', '.join(sorted(unknown))}.", field="file")
    return [{k: v for k, v in row.items() if k is not None} for row in reader]


# -- search spellings ------------------------------------------------------------


def index_pin(session: Session, pin: Pin) -> None:
    """Store every spelling the pin can be found under, and add new spellings to
    the vocabulary used for typo correction."""
    lang = pin.legend_lang or "ru"
    title = tr.join_terms([pin.title_en, pin.legend or "", pin.translation_en or ""], lang)
    body = tr.join_terms(
        [
            pin.ref, " ".join(pin.printed_refs or []), pin.issuer or "", pin.occasion or "",
            pin.city or "", PLACE_ALIASES.get(pin.city or "", ""), pin.republic or "",
            pin.maker or "", pin.maker_mark or "",
            pin.series.name if pin.series else "", pin.notes_en or "",
            " ".join(t.path.replace("/", " ") + " " + (t.name_ru or "") for t in pin.themes),
        ],
        lang,
    )  # fmt: skip
    pin.search_title, pin.search_body = title, body
    add_terms(session, set(title.split()) | set(body.split()))


def add_terms(session: Session, terms: set[str]) -> None:
    rows = [{"term": t} for t in terms if 1 < len(t) <= 100]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(SearchTerm).values(rows).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(SearchTerm).values(rows).on_conflict_do_nothing()
    else:  # pragma: no cover - only the two supported databases
        stmt = insert(SearchTerm).values(rows)
    session.execute(stmt)


def ensure_themes(session: Session) -> None:
    """Create the theme tree once (idempotent)."""
    have = set(session.scalars(select(Theme.path)))
    if len(have) >= len(THEMES):
        return
    by_path = {t.path: t for t in session.scalars(select(Theme))}
    for path, name_ru in THEMES.items():
        if path in by_path:
            continue
        parent_path, _, name = path.rpartition("/")
        theme = Theme(
            path=path, name=name, name_ru=name_ru,
            parent_id=by_path[parent_path].id if parent_path else None,
        )  # fmt: skip
        session.add(theme)
        session.flush()
        by_path[path] = theme


# -- demo catalogue ----------------------------------------------------------------


def load_demo_catalogue(session: Session, path: Path = DEMO_FILE) -> int:
    """Load the demo catalogue (real pins, facts left empty where unknown);
    idempotent: pins already present by ref are left alone."""
    records = json.loads(path.read_text(encoding="utf-8"))
    ensure_themes(session)
    existing = {r.lower() for r in session.scalars(select(Pin.ref))}
    catalogue = Catalogue(session)
    added = 0
    for raw in records:
        if raw["ref"].lower() in existing:
            continue
        record = dict(raw)
        series = record.pop("series", None) or {}
        record["series_name"] = series.get("name")
        record["series_number"] = series.get("number")
        record["series_size"] = series.get("size")
        catalogue.create(record, None, action="import", comment="demo catalogue")
        added += 1
    return added
