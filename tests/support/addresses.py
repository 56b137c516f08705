"""Postal addresses for the tests: added through the address book service, so the
first one becomes the default as it does for a collector, and committed into the
test's outer transaction (a request that answers 4xx rolls back only what came
after). The sample addresses are real-looking, in Cyrillic and Latin letters."""

from __future__ import annotations

from typing import Any

from marketplace.accounts.addresses import AddressBook
from marketplace.accounts.models import Address, User
from marketplace.core.extensions import db

TALLINN = {
    "name": "Иван Петров",
    "line1": "Narva mnt 5",
    "line2": "кв. 12",
    "city": "Tallinn",
    "region": "Harjumaa",
    "postal_code": "10117",
    "country": "EE",
    "phone": "+372 5555 1234",
}
KYIV = {
    "name": "Олена Коваленко",
    "line1": "вул. Хрещатик, 22",
    "city": "Київ",
    "postal_code": "01001",
    "country": "UA",
}


def make_address(user: User, fields: dict[str, Any] | None = None, **changes: Any) -> Address:
    """An address in `user`'s book: `fields` (default TALLINN) with `changes`;
    `default=True` makes it the default."""
    default = bool(changes.pop("default", False))
    address = AddressBook(db.session()).add(
        user, {**(fields or TALLINN), **changes}, default=default
    )
    db.session.commit()
    return address
