"""Who may see a photo, whoever knows its file name.

A collector's photo of their copy: the owner always; anyone when the copy is on
sale (its listing page shows it) or the owner's public page shows their Haves;
another collector when the copy is in one of their matches or trades. A photo on
a catalogue submission: its submitter and the moderators until it is approved,
then everyone. Everyone else gets the same 404 as for a name that does not exist,
through the pages' session or an API token alike."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient

from marketplace.accounts.models import User
from marketplace.catalogue.media import catalogue_photo_dir
from marketplace.catalogue.models import Submission
from marketplace.catalogue.moderation import Moderation
from marketplace.core.extensions import db
from marketplace.core.photos import store_photo
from marketplace.lists.models import Have, HavePhoto
from marketplace.lists.operations import Lists
from marketplace.lists.photos import have_photo_dir
from marketplace.matches.refresh import refresh_collector
from tests.support.catalogue import make_pin
from tests.support.factories import HaveFactory, UserFactory, WantFactory, make_user
from tests.support.images import image_bytes
from tests.support.trades import copy_of, lines, trader, trades
from tests.support.web import api_token, bearer, login

pytestmark = pytest.mark.usefixtures("app_ctx")


def signed_in(app: Flask, user: User) -> FlaskClient:
    client = app.test_client()
    login(client, user.email)
    return client


def have_photo(owner: User, have: Have) -> HavePhoto:
    photo = Lists(db.session()).add_photo(owner, have.id, image_bytes(), have_photo_dir())
    db.session.commit()  # a 404 rolls back only what came after
    return photo


def urls(photo: HavePhoto) -> list[str]:
    return [f"/lists/photos/{photo.filename}", f"/lists/photos/{photo.thumbnail}"]


def status(client: FlaskClient, url: str, **kwargs: object) -> int:
    with client.get(url, **kwargs) as response:  # type: ignore[arg-type]
        return response.status_code


def assert_hidden(client: FlaskClient, url: str, **kwargs: object) -> None:
    """Refused exactly as a name that does not exist is."""
    with client.get(url, **kwargs) as refused:  # type: ignore[arg-type]
        missing = client.get(url.rsplit("/", 1)[0] + "/no-such-photo.webp", **kwargs)  # type: ignore[arg-type]
        assert refused.status_code == missing.status_code == 404
        # (the header's logout form carries a CSRF token signed with the second)
        assert _unsigned(refused.get_data()) == _unsigned(missing.get_data())


def _unsigned(page: bytes) -> bytes:
    return re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token"', page)


# -- a collector's photos of their copies ----------------------------------------------


def test_a_private_copy_photo_is_seen_by_its_owner_only(app: Flask, client: FlaskClient) -> None:
    owner, stranger = make_user("owner@example.org"), make_user("stranger@example.org")
    photo = have_photo(owner, HaveFactory(user=owner))
    token = api_token(owner)
    mine, theirs = signed_in(app, owner), signed_in(app, stranger)
    for url in urls(photo):
        with mine.get(url) as shown:
            assert shown.status_code == 200 and shown.mimetype == "image/webp"
            # Browsers keep it only to ask again: whether it may be seen can change.
            assert shown.headers["Cache-Control"] == "private, no-cache"
        # The API's photo URLs work with the API's token.
        assert status(client, url, headers=bearer(token)) == 200
        assert_hidden(theirs, url)
        assert_hidden(client, url)
        assert_hidden(client, url, headers=bearer(api_token(stranger)))


@pytest.mark.parametrize(("shows", "public"), [("haves", True), ("both", True),
                                               ("wants", False), ("none", False)])  # fmt: skip
def test_a_public_page_that_shows_haves_shows_their_photos(
    client: FlaskClient, shows: str, public: bool
) -> None:
    owner = make_user("owner@example.org")
    photo = have_photo(owner, HaveFactory(user=owner))
    Lists(db.session()).set_public(owner, shows)
    db.session.commit()
    for url in urls(photo):
        if public:
            assert status(client, url) == 200
        else:
            assert_hidden(client, url)


def test_a_copy_on_sale_shows_its_photos_to_anyone(client: FlaskClient) -> None:
    owner = make_user("owner@example.org")
    have = HaveFactory(user=owner)
    photo = have_photo(owner, have)
    assert_hidden(client, urls(photo)[1])
    have.price, have.currency = Decimal("9.00"), "EUR"
    db.session.commit()
    assert status(client, urls(photo)[1]) == 200  # as on its listing page


def test_a_copy_in_a_match_shows_its_photos_to_the_collector_matched(app: Flask) -> None:
    anna, boris = make_user("anna@example.org"), make_user("boris@example.org")
    carol = make_user("carol@example.org")
    gagarin, vostok = make_pin(title_en="Gagarin"), make_pin(title_en="Vostok")
    annas = HaveFactory(user=anna, pin=gagarin)
    HaveFactory(user=boris, pin=vostok)
    WantFactory(user=anna, wanted=vostok)
    WantFactory(user=boris, wanted=gagarin)
    photo = have_photo(anna, annas)
    assert_hidden(signed_in(app, boris), urls(photo)[1])

    refresh_collector(db.session(), anna.id)  # the swap, for both of them
    db.session.commit()
    assert status(signed_in(app, boris), urls(photo)[1]) == 200
    assert_hidden(signed_in(app, carol), urls(photo)[1])


def test_a_copy_in_a_trade_shows_its_photos_to_the_other_party(app: Flask) -> None:
    ivan, olga, pavel = trader("Ivan"), trader("Olga"), trader("Pavel")
    mine, theirs = copy_of(ivan), copy_of(olga)
    ivans, olgas = have_photo(ivan, mine), have_photo(olga, theirs)
    trades().propose(ivan, olga.id, give=lines(mine), take=lines(theirs))
    db.session.commit()
    assert status(signed_in(app, olga), urls(ivans)[0]) == 200
    assert status(signed_in(app, ivan), urls(olgas)[0]) == 200
    assert_hidden(signed_in(app, pavel), urls(ivans)[0])


# -- catalogue photos and submissions --------------------------------------------------


def submitted_photo(member: User) -> tuple[Submission, str]:
    moderation = Moderation(db.session(), catalogue_photo_dir())
    submission = moderation.submit(member, {"ref": "ZN-7001", "title_en": "Belka and Strelka"})
    stored = store_photo(image_bytes("PNG", (90, 90)), storage_dir=catalogue_photo_dir())
    moderation.add_photo(submission, "obverse", stored, member)
    db.session.commit()
    return submission, stored.thumbnail


def test_a_pending_submission_photo_is_seen_by_its_submitter_and_moderators(
    app: Flask, client: FlaskClient
) -> None:
    member, other = make_user("member@example.org"), make_user("other@example.org")
    moderator = UserFactory(email="mod@example.org", moderator=True)
    submission, name = submitted_photo(member)
    url = f"/media/{name}"
    assert status(signed_in(app, member), url) == 200
    assert status(client, url, headers=bearer(api_token(member))) == 200
    assert status(signed_in(app, moderator), url) == 200
    assert_hidden(signed_in(app, other), url)
    assert_hidden(client, url)

    # Rejected, it stays between the member and the moderators.
    Moderation(db.session(), catalogue_photo_dir()).reject(submission, moderator, "Blurry.")
    db.session.commit()
    assert status(signed_in(app, member), url) == 200
    assert_hidden(client, url)


def test_an_approved_photo_is_public(client: FlaskClient) -> None:
    member = make_user("member@example.org")
    moderator = UserFactory(email="mod@example.org", moderator=True)
    submission, name = submitted_photo(member)
    Moderation(db.session(), catalogue_photo_dir()).approve(submission, moderator)
    db.session.commit()
    with client.get(f"/media/{name}") as shown:
        assert shown.status_code == 200 and shown.mimetype == "image/webp"
        assert "public" in shown.headers["Cache-Control"]


def test_a_file_no_photo_names_is_not_served(client: FlaskClient) -> None:
    """A file left behind (a replaced photo, a failed upload) is nobody's to see."""
    stray = store_photo(image_bytes(), storage_dir=catalogue_photo_dir())
    assert (catalogue_photo_dir() / stray.filename).exists()
    assert_hidden(client, f"/media/{stray.filename}")
