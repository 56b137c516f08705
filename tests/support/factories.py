"""factory_boy factories for the rows tests need: collectors, themes, pins, Haves
and Wants.

Every factory writes through the app's scoped session (`db.session`), so rows land
in whatever the current app context holds: the savepoint session of a unit test,
or the plain session of an integration test. They *flush* and never commit: the
row gets its id at once (tests use `user.id`, `pin.id` straight away), and what
is kept is the test's decision, as in the app, where only request and task
boundaries commit. A unit test's outer transaction rolls everything back; an
integration test commits when it means to.

`make_user` and `signed_up_user` are the two ways to a collector: the factory
(fast, no mail, no tokens) and the real sign-up service (normalised address,
verification mail and token queued) for tests about that path.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from factory.alchemy import SESSION_PERSISTENCE_FLUSH, SQLAlchemyModelFactory
from flask import current_app

from marketplace.accounts.models import User
from marketplace.accounts.operations import Accounts
from marketplace.catalogue.models import Pin, Theme
from marketplace.catalogue.operations import Catalogue, ensure_themes
from marketplace.catalogue.transliteration import join_terms
from marketplace.core.extensions import db
from marketplace.core.models import utcnow
from marketplace.core.registry import find_service
from marketplace.lists.models import Condition, Have, Want

PASSWORD = "correct horse battery"


class ModelFactory(SQLAlchemyModelFactory):
    """Binds every factory to the app's scoped session, flushing on create."""

    class Meta:
        abstract = True
        sqlalchemy_session = db.session
        sqlalchemy_session_persistence = SESSION_PERSISTENCE_FLUSH


def _password_hash(password: str) -> str:
    # The app's own hasher (cheap argon2id parameters in testing), so the
    # collector can log in with `password` through the real login form.
    return str(current_app.config["PASSWORD_HASHER"].hash(password))


class UserFactory(ModelFactory):
    """A collector with a verified address and the suite's `PASSWORD`.
    `verified=False` leaves the address unverified (the account cannot log in);
    the `moderator` trait makes a catalogue moderator."""

    class Meta:
        model = User

    class Params:
        password = PASSWORD
        verified = True
        moderator = factory.Trait(is_moderator=True)

    email = factory.Sequence(lambda n: f"collector{n}@example.org")
    display_name = factory.Sequence(lambda n: f"Collector {n}")
    password_hash = factory.LazyAttribute(lambda o: _password_hash(o.password))
    email_verified_at = factory.Maybe(
        "verified", yes_declaration=factory.LazyFunction(utcnow), no_declaration=None
    )


class ThemeFactory(ModelFactory):
    """A theme by path, created on first use and found afterwards."""

    class Meta:
        model = Theme
        sqlalchemy_get_or_create = ("path",)

    path = factory.Sequence(lambda n: f"Theme {n}")
    name = factory.LazyAttribute(lambda o: o.path.rsplit("/", 1)[-1])


class PinFactory(ModelFactory):
    """A pin row written straight into the catalogue table: no validation, no
    revision, search text from its title and legend only. Each pin is its own
    variant group unless given one; `themes` takes Theme rows."""

    class Meta:
        model = Pin

    ref = factory.Sequence(lambda n: f"T-{n:05d}")
    variant_group = factory.SelfAttribute("ref")
    title_en = factory.LazyAttribute(lambda o: f"Pin {o.ref}")
    legend = None
    search_title = factory.LazyAttribute(lambda o: join_terms([o.title_en, o.legend or ""]))
    search_body = ""
    themes = factory.LazyFunction(list)


class CataloguePinFactory(ModelFactory):
    """A pin entered through the catalogue service, as the moderators' form does:
    fields checked and normalised (`themes` are paths, the variant group derived
    from the ref), indexed for search, its first revision recorded. A ref that
    is taken raises the service's InvalidInput."""

    class Meta:
        model = Pin

    # Its own prefix: PinFactory counts separately, and one test may use both.
    ref = factory.Sequence(lambda n: f"C-{n:05d}")
    title_en = factory.Sequence(lambda n: f"Test pin {n}")

    @classmethod
    def _create(cls, model_class: type[Pin], *args: Any, **kwargs: Any) -> Pin:
        session = db.session()
        ensure_themes(session)
        return Catalogue(session).create(kwargs, None)


class HaveFactory(ModelFactory):
    """Copies of a pin in a collector's Haves, written straight into the table
    (no list-change event for matching). Pass `user=` (a new collector by
    default) and `pin=`; the `for_sale` trait gives it an asking price."""

    class Meta:
        model = Have

    class Params:
        user = factory.SubFactory(UserFactory)
        for_sale = factory.Trait(price=Decimal("12.50"), currency="EUR")

    user_id = factory.SelfAttribute("user.id")
    pin = factory.SubFactory(PinFactory)
    quantity = 1
    condition = Condition.FINE


class WantFactory(ModelFactory):
    """A pin in a collector's Wants, written straight into the table. The
    `any_variant` trait wants any variant of the pin's catalogue number instead
    of the pin itself."""

    class Meta:
        model = Want

    class Params:
        user = factory.SubFactory(UserFactory)
        wanted = factory.SubFactory(PinFactory)
        any_variant = factory.Trait(
            pin=None, variant_group=factory.SelfAttribute("wanted.variant_group")
        )

    user_id = factory.SelfAttribute("user.id")
    pin = factory.SelfAttribute("wanted")
    variant_group = None
    priority = 3


def make_user(
    email: str = "ivan@example.org",
    password: str = PASSWORD,
    *,
    verified: bool = True,
    name: str = "Иван",
) -> User:
    """A collector from the factory, named as most tests name theirs."""
    user: User = UserFactory(email=email, password=password, verified=verified, display_name=name)
    return user


def signed_up_user(
    email: str = "ivan@example.org",
    password: str = PASSWORD,
    *,
    verified: bool = True,
    name: str = "Иван",
) -> User:
    """A collector created through the real sign-up service (address normalised,
    password checked and hashed, verification token and mail queued), then
    marked verified unless `verified=False`."""
    user = find_service(Accounts).sign_up(email, password, name)
    assert user is not None
    if verified:
        user.email_verified_at = utcnow()
    db.session.flush()
    return user
