"""Demo data for `make run`: a handful of verified collectors to log in as, one of
them a catalogue moderator; and granting moderation (`znachki users`)."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace.accounts.models import Address, User
from marketplace.core.models import utcnow

DEMO_PASSWORD = "znachki-demo-1961"  # noqa: S105 - development data, printed on purpose

DEMO_DOMAIN = "demo.znachki.example.org"
DEMO_COLLECTORS = [
    ("ivan@demo.znachki.example.org", "Иван Петров", "ru", "Europe/Moscow"),
    ("olena@demo.znachki.example.org", "Олена Коваленко", "uk", "Europe/Kyiv"),
    ("mart@demo.znachki.example.org", "Mart Tamm", "et", "Europe/Tallinn"),
    ("professor@demo.znachki.example.org", "Prof. Anna Sokolova", "en", "Europe/London"),
    ("sasha@demo.znachki.example.org", "Sasha (15)", "ru", "Asia/Novosibirsk"),
]
# Reviews catalogue submissions at /moderation (a fresh install has no other).
DEMO_MODERATOR = ("nina@demo.znachki.example.org", "Нина Орлова (moderator)", "ru", "Europe/Moscow")
# A postal address each (made up), so the demo collectors can trade at once.
DEMO_ADDRESSES = {
    "ivan": ("Иван Петров", "ул. Тверская, д. 7, кв. 12", "Москва", "125009", "RU"),
    "olena": ("Олена Коваленко", "вул. Хрещатик, 22", "Київ", "01001", "UA"),
    "mart": ("Mart Tamm", "Pikk 5-3", "Tallinn", "10123", "EE"),
    "professor": ("Anna Sokolova", "12 Gower Street", "London", "WC1E 6BT", "GB"),
    "sasha": ("Александр Смирнов", "Красный проспект, 30", "Новосибирск", "630099", "RU"),
}  # fmt: skip


def seed_demo_collectors(session: Session, hasher: PasswordHasher) -> list[tuple[str, str]]:
    existing = set(session.scalars(select(User.email)))
    created = []
    password_hash = hasher.hash(DEMO_PASSWORD)
    for email, name, locale, tz in [*DEMO_COLLECTORS, DEMO_MODERATOR]:
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
                is_moderator=email == DEMO_MODERATOR[0],
            )
        )
        created.append((email, DEMO_PASSWORD))
    session.flush()
    seed_demo_addresses(session)
    return created


def set_moderator(session: Session, email: str, *, moderator: bool) -> User | None:
    """Grant or take away catalogue moderation; None if no member has `email`."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is not None:
        user.is_moderator = moderator
        session.flush()
    return user


def seed_demo_addresses(session: Session) -> None:
    """A default address for each demo collector who has none."""
    for login, (name, line1, city, postal_code, country) in DEMO_ADDRESSES.items():
        user = session.scalar(select(User).where(User.email == f"{login}@{DEMO_DOMAIN}"))
        if user is None or session.scalar(select(Address.id).where(Address.user_id == user.id)):
            continue
        session.add(
            Address(user_id=user.id, name=name, line1=line1, city=city,
                    postal_code=postal_code, country=country, is_default=True)
        )  # fmt: skip
    session.flush()


def seed_demo_lists(session: Session) -> int:
    """Give the demo collectors Have and Want lists that make every kind of match:
    a two-way swap (Ivan ↔ Olena), a ring of three (Mart → Anna → Sasha → Mart),
    one-way offers, priced copies for sale, and a large collection (Anna's).
    Runs once: collectors who already have lists are left alone."""
    from marketplace.catalogue.models import Pin
    from marketplace.lists.models import Have
    from marketplace.lists.operations import Lists

    users = {
        u.email.split("@")[0]: u
        for u in session.scalars(select(User).where(User.email.like(f"%@{DEMO_DOMAIN}")))
    }
    if any(key not in users for key in ("ivan", "olena", "mart", "professor", "sasha")):
        return 0
    if session.scalar(select(Have.id).where(Have.user_id == users["ivan"].id).limit(1)):
        return 0
    pins = list(
        session.scalars(select(Pin.id).where(Pin.is_synthetic.is_(False)).order_by(Pin.ref))
    )
    if len(pins) < 200:
        return 0
    lists = Lists(session)
    ivan, olena, mart, anna, sasha = (
        users[k] for k in ("ivan", "olena", "mart", "professor", "sasha")
    )
    added = 0

    def have(user: User, index: int, **extra: object) -> None:
        nonlocal added
        lists.add_have(user, pins[index], **extra)  # type: ignore[arg-type]
        added += 1

    def want(user: User, index: int, stars: int = 3) -> None:
        nonlocal added
        lists.add_want(user, pin_id=pins[index], priority=stars)
        added += 1

    # Two-way: Ivan and Olena each have what the other wants.
    have(ivan, 10)
    have(ivan, 11)
    want(ivan, 20, 5)
    want(ivan, 21, 4)
    have(olena, 20)
    have(olena, 21)
    want(olena, 10, 5)
    want(olena, 11, 3)
    # A ring: Mart gives Anna, Anna gives Sasha, Sasha gives Mart.
    have(mart, 30)
    want(anna, 30, 4)
    have(anna, 31)
    want(sasha, 31, 5)
    have(sasha, 32)
    want(mart, 32, 5)
    # The professor's large collection: 150 pins, a few of them for sale.
    for index in range(40, 190):
        priced = {"price": "12.50", "currency": "EUR"} if index % 25 == 0 else {}
        have(anna, index, tradeable=index % 7 != 0, **priced)
    # One-way: Sasha (forty pins, a teenager) wants some of the professor's.
    for index in (45, 60, 75):
        want(sasha, index, 4)
    for index in range(190, 230):
        have(sasha, index)
    return added
