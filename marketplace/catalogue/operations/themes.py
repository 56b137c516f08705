"""The catalogue's theme tree (Space, Sport/Olympics-80, …) with each theme's
Russian name, created in the database once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.catalogue.models import Theme

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
