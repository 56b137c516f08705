"""The shared factories build what they promise: collectors who can log in, the
real sign-up path, catalogued pins with their first revision, themes found by
path, and Haves and Wants with their traits."""

from __future__ import annotations

from decimal import Decimal

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.catalogue.operations import Catalogue
from marketplace.core.extensions import db
from marketplace.lists.models import Condition
from marketplace.mail.models import MailMessage
from tests.support.catalogue import make_pin
from tests.support.factories import (
    HaveFactory,
    PinFactory,
    ThemeFactory,
    UserFactory,
    WantFactory,
    make_user,
    signed_up_user,
)
from tests.support.web import login


def test_factory_collectors_log_in_with_the_suite_password(client: FlaskClient) -> None:
    make_user("olga@example.org")
    assert login(client, "olga@example.org").status_code == 302
    first, second = UserFactory(), UserFactory(moderator=True)
    assert first.email != second.email and first.id != second.id
    assert (first.is_moderator, second.is_moderator) == (False, True)
    assert UserFactory(verified=False).email_verified_at is None
    assert db.session.scalars(select(MailMessage)).all() == []


def test_signed_up_collector_went_through_the_service(app_ctx: Flask) -> None:
    user = signed_up_user("  Pavel@Example.ORG ", verified=False)
    assert user.email == "pavel@example.org" and user.email_verified_at is None
    kinds = db.session.scalars(select(MailMessage.kind).where(MailMessage.user_id == user.id))
    assert list(kinds) == ["verify_email"]


def test_catalogued_pins_are_validated_and_have_a_first_revision(app_ctx: Flask) -> None:
    first, second = make_pin(), make_pin(ref="ZN-1234а", themes=["Space"])
    assert first.ref != second.ref
    assert second.variant_group == "ZN-1234" and [t.path for t in second.themes] == ["Space"]
    assert [r.number for r in Catalogue(db.session()).history(second)] == [1]


def test_themes_are_found_by_path_and_pins_are_their_own_variant(app_ctx: Flask) -> None:
    space = ThemeFactory(path="Space/Sputnik")
    assert ThemeFactory(path="Space/Sputnik") is space and space.name == "Sputnik"
    pin = PinFactory(title_en="Sputnik", legend="Спутник", themes=[space])
    assert pin.variant_group == pin.ref and pin.themes == [space]
    assert "спутник" in pin.search_title.split()


def test_haves_and_wants_with_their_traits(app_ctx: Flask) -> None:
    have = HaveFactory(for_sale=True)
    assert (have.price, have.currency, have.condition) == (Decimal("12.50"), "EUR", Condition.FINE)
    assert HaveFactory().price is None
    collector = UserFactory()
    want = WantFactory(user=collector)
    assert want.user_id == collector.id and want.pin_id is not None
    pin = PinFactory(ref="OLY-80a", variant_group="OLY-80")
    group = WantFactory(user=collector, wanted=pin, any_variant=True)
    assert (group.pin_id, group.variant_group) == (None, "OLY-80")
