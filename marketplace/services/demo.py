"""Demo data for `make run`: a handful of verified collectors to log in as."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace.models import User, utcnow

DEMO_PASSWORD = "znachki-demo-1961"  # noqa: S105 - development data, printed on purpose

DEMO_COLLECTORS = [
    ("ivan@demo.znachki.local", "Иван Петров", "ru", "Europe/Moscow"),
    ("olena@demo.znachki.local", "Олена Коваленко", "uk", "Europe/Kyiv"),
    ("mart@demo.znachki.local", "Mart Tamm", "et", "Europe/Tallinn"),
    ("professor@demo.znachki.local", "Prof. Anna Sokolova", "en", "Europe/London"),
    ("sasha@demo.znachki.local", "Sasha (15)", "ru", "Asia/Novosibirsk"),
]


def seed_demo_collectors(session: Session, hasher: PasswordHasher) -> list[tuple[str, str]]:
    existing = set(session.scalars(select(User.email)))
    created = []
    password_hash = hasher.hash(DEMO_PASSWORD)
    for email, name, locale, tz in DEMO_COLLECTORS:
        if email in existing:
            continue
        session.add(
            User(
                email=email,
                display_name=name,
                password_hash=password_hash,
                locale=locale,
                timezone=tz,
                email_verified_at=utcnow(),
            )
        )
        created.append((email, DEMO_PASSWORD))
    session.flush()
    return created
