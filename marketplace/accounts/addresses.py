"""A collector's address book: postal addresses, one of them the default, checked
before they are kept. Trades and orders copy an address (`Address.snapshot`) at the
moment it is given, so later edits never move a parcel already promised."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from marketplace.accounts.models import ADDRESS_FIELDS, Address, User
from marketplace.core.errors import DomainError, InvalidInput, NotFound

MAX_ADDRESSES = 10
REQUIRED = ("name", "line1", "city", "country")
LIMITS = {
    "name": 120, "line1": 200, "line2": 200, "city": 100, "region": 100,
    "postal_code": 20, "country": 2, "phone": 40,
}  # fmt: skip
LABELS = {
    "name": _l("Recipient"), "line1": _l("Street and number"), "line2": _l("Flat, building"),
    "city": _l("City"), "region": _l("Region"), "postal_code": _l("Postal code"),
    "country": _l("Country"), "phone": _l("Phone"),
}  # fmt: skip


def clean_address(fields: Mapping[str, Any]) -> dict[str, str]:
    """Every field checked at once: trimmed, within its length, the required ones
    present, the country a two-letter code."""
    values: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field in ADDRESS_FIELDS:
        raw = fields.get(field)
        value = "" if raw is None else " ".join(str(raw).split())
        if field == "country":
            value = value.upper()
        if any(ord(ch) < 32 for ch in value):
            errors[field] = [_("Control characters are not allowed.")]
        elif len(value) > LIMITS[field]:
            errors[field] = [_("At most %(max)d characters.", max=LIMITS[field])]
        elif field in REQUIRED and not value:
            errors[field] = [_("%(field)s is required.", field=LABELS[field])]
        elif field == "country" and not (len(value) == 2 and value.isascii() and value.isalpha()):
            errors[field] = [_("A two-letter country code, such as EE, UA or DE.")]
        values[field] = value
    if errors:
        raise InvalidInput(errors)
    return values


def snapshot_as_given(fields: Mapping[str, Any]) -> dict[str, str]:
    """An address someone else collected (Stripe Checkout), kept as a snapshot:
    trimmed, cut to our lengths, never refused, because the buyer has already
    paid and the seller needs whatever they gave."""
    values: dict[str, str] = {}
    for field in ADDRESS_FIELDS:
        raw = fields.get(field)
        value = "" if raw is None else " ".join(str(raw).split())
        value = "".join(ch for ch in value if ord(ch) >= 32)
        if field == "country":
            value = value.upper()
        values[field] = value[: LIMITS[field]]
    return values


class AddressBook:
    """The verbs on one collector's addresses."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def addresses(self, user: User) -> list[Address]:
        return list(
            self.session.scalars(
                select(Address)
                .where(Address.user_id == user.id)
                .order_by(Address.is_default.desc(), Address.id)
            )
        )

    def get(self, user: User, address_id: int) -> Address:
        address = self.session.get(Address, address_id)
        if address is None or address.user_id != user.id:
            raise NotFound(_("That address is not in your address book."), field="address_id")
        return address

    def default(self, user_id: int) -> Address | None:
        return self.session.scalar(
            select(Address)
            .where(Address.user_id == user_id)
            .order_by(Address.is_default.desc(), Address.id)
            .limit(1)
        )

    def add(self, user: User, fields: Mapping[str, Any], *, default: bool = False) -> Address:
        values = clean_address(fields)
        count = self.session.scalar(select(func.count()).where(Address.user_id == user.id)) or 0
        if count >= MAX_ADDRESSES:
            raise DomainError(
                _("An address book holds at most %(max)d addresses.", max=MAX_ADDRESSES)
            )
        address = Address(user_id=user.id, **values)
        self.session.add(address)
        self.session.flush()
        if default or count == 0:
            self.make_default(user, address.id)
        return address

    def update(self, user: User, address_id: int, fields: Mapping[str, Any]) -> Address:
        address = self.get(user, address_id)
        merged = {**address.snapshot(), **{k: v for k, v in fields.items() if k in ADDRESS_FIELDS}}
        for name, value in clean_address(merged).items():
            setattr(address, name, value)
        self.session.flush()
        return address

    def make_default(self, user: User, address_id: int) -> Address:
        address = self.get(user, address_id)
        self.session.execute(
            update(Address)
            .where(Address.user_id == user.id, Address.id != address.id)
            .values(is_default=False)
            # Addresses already loaded in this session must see it too, or a
            # later step of the same unit of work (delete's successor) acts on
            # a stale default.
            .execution_options(synchronize_session="evaluate")
        )
        address.is_default = True
        self.session.flush()
        return address

    def delete(self, user: User, address_id: int) -> None:
        """Remove an address; trades and orders keep their own copy. If it was the
        default, the oldest remaining address becomes the default."""
        address = self.get(user, address_id)
        was_default = address.is_default
        self.session.delete(address)
        self.session.flush()
        if was_default:
            successor = self.default(user.id)
            if successor is not None:
                successor.is_default = True
                self.session.flush()

    def ship_to(self, user: User, address_id: int | None = None) -> dict[str, str]:
        """The address a parcel for `user` goes to, as a snapshot: the one they
        chose, else their default; an error that says what to do if they have none."""
        address = self.get(user, address_id) if address_id else self.default(user.id)
        if address is None:
            raise DomainError(
                _("Add a postal address in your account settings first, so parcels can reach you."),
                field="address_id",
            )
        return address.snapshot()
