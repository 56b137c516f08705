"""Collectors ready to trade (a verified account with a default postal address),
the trades service as views get it, and the copies that make a swap or a ring."""

from __future__ import annotations

from typing import Any

import factory

from marketplace.accounts.models import Address, User
from marketplace.core.registry import find_service
from marketplace.lists.models import Have
from marketplace.trades.operations import Line, Trades
from tests.support.factories import HaveFactory, ModelFactory, PinFactory, UserFactory


class AddressFactory(ModelFactory):
    """A default postal address for `user`."""

    class Meta:
        model = Address

    class Params:
        user = factory.SubFactory(UserFactory)

    user_id = factory.SelfAttribute("user.id")
    name = factory.LazyAttribute(lambda o: o.user.display_name)
    line1 = factory.Sequence(lambda n: f"ул. Ленина, д. {n + 1}")
    city = "Tallinn"
    postal_code = "10111"
    country = "EE"
    is_default = True


def trader(name: str, email: str | None = None) -> User:
    """A collector with a verified account and a default address."""
    user: User = UserFactory(display_name=name, email=email or f"{name.lower()}@example.org")
    AddressFactory(user=user, name=name)
    return user


def trades() -> Trades:
    service: Trades = find_service(Trades)
    return service


def copy_of(user: User, quantity: int = 1, **fields: Any) -> Have:
    """A tradeable copy of a fresh pin in `user`'s Haves."""
    have: Have = HaveFactory(user=user, pin=PinFactory(), quantity=quantity, **fields)
    return have


def lines(*haves: Have, quantity: int = 1) -> list[Line]:
    return [Line(h.id, quantity) for h in haves]
