"""Catalogue records, photos, submissions and moderation, pages and API."""

from __future__ import annotations

import io
import json
import zlib

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from marketplace.catalogue.models import Pin, PinPhoto, PinRevision, Submission
from marketplace.catalogue.operations import (
    Catalogue,
    clean_pin_data,
    load_demo_catalogue,
    parse_catalogue_file,
    records_to_csv,
)
from marketplace.core.errors import DomainError, InvalidInput
from marketplace.core.extensions import db
from marketplace.core.photos import MAX_BYTES, store_photo
from tests.support.catalogue import gagarin_catalogue, make_pin
from tests.support.factories import make_user
from tests.support.images import image_bytes
from tests.support.web import login, post_form


def moderator(email: str = "mod@example.org"):  # type: ignore[no-untyped-def]
    user = make_user(email)
    user.is_moderator = True
    db.session.flush()
    return user


# -- validation ------------------------------------------------------------------------


def test_every_wrong_field_is_named() -> None:
    with pytest.raises(InvalidInput) as info:
        clean_pin_data(
            {"ref": "", "title_en": "", "year_from": "1700", "material": "plutonium",
             "themes": ["Space", "Nonsense"], "weight_g": "heavy"}
        )  # fmt: skip
    assert set(info.value.errors) == {
        "ref",
        "title_en",
        "year_from",
        "material",
        "themes",
        "weight_g",
    }


def test_years_out_of_order_and_in_the_future() -> None:
    with pytest.raises(InvalidInput) as info:
        clean_pin_data({"ref": "A", "title_en": "A", "year_from": "1980", "year_to": "1970"})
    assert "year_to" in info.value.errors
    with pytest.raises(InvalidInput) as info:
        clean_pin_data({"ref": "A", "title_en": "A", "year_from": "2999"})
    assert "year_from" in info.value.errors


def test_variant_suffix_gives_the_group() -> None:
    assert clean_pin_data({"ref": "17108а", "title_en": "x"})["variant_group"] == "17108"


# -- records and history -------------------------------------------------------------


def test_every_change_is_a_revision_and_can_be_reverted(app_ctx: Flask) -> None:
    mod = moderator()
    pin = make_pin(ref="H-1", title_en="Bratsk GES", year_from=1961, material="aluminium")
    catalogue = Catalogue(db.session())
    catalogue.update(pin, {"title_en": "Bratsk hydro-electric station", "year_from": "1967"}, mod)
    catalogue.update(pin, {"material": "tombac"}, mod)
    revisions = catalogue.history(pin)
    assert [r.number for r in revisions] == [3, 2, 1]
    assert revisions[1].changes["title_en"] == ["Bratsk GES", "Bratsk hydro-electric station"]
    assert revisions[1].user_id == mod.id
    catalogue.revert(pin, 1, mod)
    assert (pin.title_en, pin.year_from, pin.material) == ("Bratsk GES", 1961, "aluminium")
    assert catalogue.history(pin)[0].action == "revert"
    assert pin.version == 4


def test_only_moderators_revert(app_ctx: Flask) -> None:
    member = make_user()
    pin = make_pin()
    with pytest.raises(DomainError):
        Catalogue(db.session()).revert(pin, 1, member)


def test_duplicate_ref_is_a_field_error(app_ctx: Flask) -> None:
    make_pin(ref="DUP-1")
    with pytest.raises(InvalidInput) as info:
        make_pin(ref="dup-1")
    assert "already taken" in info.value.errors["ref"][0]


# -- photos ---------------------------------------------------------------------------


def test_photo_is_reencoded_without_exif(app_ctx: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    stored = store_photo(image_bytes("JPEG", (800, 600), exif=True), storage_dir=tmp_path)
    with Image.open(tmp_path / stored.filename) as saved:
        assert saved.format == "WEBP" and not saved.getexif()
    assert b"SecretCam" not in (tmp_path / stored.filename).read_bytes()
    with Image.open(tmp_path / stored.thumbnail) as thumb:
        assert max(thumb.size) <= 320
    assert len(stored.filename) > 20 and stored.filename.endswith(".webp")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"GIF89a" + b"\0" * 100, "not a readable"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a readable"),
        (b"%PDF-1.4 not an image", "not a readable"),
    ],
)
def test_bad_files_are_refused(tmp_path, data: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError, match=message):
        store_photo(data, storage_dir=tmp_path)


def test_other_image_formats_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError, match="GIF images are not accepted"):
        store_photo(image_bytes("GIF"), storage_dir=tmp_path)


def test_oversized_upload_is_413(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as info:
        store_photo(b"\xff" * (MAX_BYTES + 1), storage_dir=tmp_path)
    assert info.value.status == 413


def test_decompression_bomb_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A valid PNG header claiming 50,000 × 50,000 pixels, with almost no data.
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = (50_000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(DomainError, match="too many pixels"):
        store_photo(bomb, storage_dir=tmp_path)


# -- submissions and moderation ----------------------------------------------------------


def test_submission_through_the_page_with_photos_then_approval(
    client: FlaskClient, app: Flask
) -> None:
    make_user("ivan@example.org")
    mod = moderator()
    existing = make_pin(ref="ZN-9001", title_en="Gagarin 1961", legend="Ю. А. ГАГАРИН 1961")
    login(client)
    response = post_form(
        client,
        "/pins/submit",
        {
            "ref": "ZN-9002", "title_en": "Gagarin, first flight", "legend": "Ю.А. Гагарин 1961",
            "themes": ["Space"], "year_from": "1961", "material": "aluminium",
            "obverse": (io.BytesIO(image_bytes("PNG", (300, 300))), "front.png"),
        },
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 302
    submission = db.session.scalar(select(Submission))
    assert submission is not None and submission.status == "pending"
    assert len(submission.photos) == 1

    client.application.test_client()
    mod_client = app.test_client()
    login(mod_client, "mod@example.org")
    review = mod_client.get(f"/moderation/{submission.id}").get_data(as_text=True)
    assert "Likely duplicates" in review and existing.ref in review and "similar legend" in review
    approved = post_form(mod_client, f"/moderation/{submission.id}", {"approve": "Approve"})
    assert approved.status_code == 302
    pin = db.session.scalar(select(Pin).where(Pin.ref == "ZN-9002"))
    assert pin is not None and pin.photo("obverse") is not None
    assert (
        db.session.scalar(select(PinRevision.action).where(PinRevision.pin_id == pin.id))
        == "submission"
    )
    assert mod.is_moderator


def test_submission_errors_are_per_field(client: FlaskClient) -> None:
    make_user()
    make_pin(ref="ZN-9003")
    login(client)
    response = post_form(
        client,
        "/pins/submit",
        {"ref": "ZN-9003", "title_en": "x", "year_from": "1492",
         "obverse": (io.BytesIO(b"not an image"), "fake.jpg")},
        content_type="multipart/form-data",
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="ref-error"' in page and "already taken" in page
    assert 'id="year_from-error"' in page
    assert db.session.scalar(select(func.count(Submission.id))) == 0


def test_fake_photo_is_a_field_error_and_nothing_is_kept(client: FlaskClient) -> None:
    make_user()
    login(client)
    response = post_form(
        client,
        "/pins/submit",
        {"ref": "ZN-9004", "title_en": "x", "obverse": (io.BytesIO(b"MZ\x90\x00 evil"), "pin.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert 'id="obverse-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Submission.id))) == 0
    assert db.session.scalar(select(func.count(PinPhoto.id))) == 0


def test_rejection_needs_a_reason_and_the_member_sees_it(client: FlaskClient, app: Flask) -> None:
    make_user()
    moderator()
    pin = make_pin(ref="ZN-9005", title_en="Old title")
    login(client)
    post_form(client, f"/pins/{pin.id}/correct", {"ref": "ZN-9005", "title_en": "New title"},
              content_type="multipart/form-data")  # fmt: skip
    submission = db.session.scalar(select(Submission))
    assert submission is not None and submission.kind == "correction"
    assert submission.data == {"title_en": "New title"}
    mod_client = app.test_client()
    login(mod_client, "mod@example.org")
    refused = post_form(
        mod_client, f"/moderation/{submission.id}", {"reject": "Reject", "reason": ""}
    )
    assert refused.status_code == 422
    post_form(mod_client, f"/moderation/{submission.id}", {"reject": "Reject", "reason": "Source?"})
    assert submission.status == "rejected"
    assert "Source?" in client.get("/submissions").get_data(as_text=True)
    assert pin.title_en == "Old title"


def test_members_cannot_moderate(client: FlaskClient) -> None:
    make_user()
    login(client)
    assert client.get("/moderation").status_code == 403


# -- import and export -------------------------------------------------------------------


def test_import_is_all_or_nothing_with_row_errors(app_ctx: Flask) -> None:
    good = {"ref": "I-1", "title_en": "One", "themes": "Space|Sport"}
    bad = {"ref": "I-2", "title_en": "", "year_from": "nineteen"}
    dup = {"ref": "i-1", "title_en": "Again"}
    created, updated, errors = Catalogue(db.session()).import_records([good, bad, dup], None)
    assert (created, updated) == (0, 0)
    assert (3, "title_en") in [(r, c) for r, c, _ in errors]
    assert (3, "year_from") in [(r, c) for r, c, _ in errors]
    assert (4, "ref") in [(r, c) for r, c, _ in errors]
    assert db.session.scalar(select(func.count(Pin.id))) == 0


def test_export_imports_back_identically(app_ctx: Flask) -> None:
    gagarin_catalogue()
    catalogue = Catalogue(db.session())
    exported = catalogue.export_records()
    csv_text = records_to_csv(exported)
    for record in parse_catalogue_file(csv_text.encode(), "c.csv"):
        pin = catalogue.by_ref(record["ref"])
        assert pin is not None
        before = pin.version
        catalogue.update(pin, record, None)
        assert pin.version == before, record["ref"]  # nothing changed
    assert catalogue.export_records() == exported


def test_catalogue_file_errors() -> None:
    with pytest.raises(DomainError, match="empty"):
        parse_catalogue_file(b"  ", "x.csv")
    with pytest.raises(DomainError, match="line 1"):
        parse_catalogue_file(b"[{", "x.json")
    with pytest.raises(DomainError, match="lacks"):
        parse_catalogue_file(b"ref,name\nA,B\n", "x.csv")
    with pytest.raises(DomainError, match="not UTF-8"):
        parse_catalogue_file("ref,title_en\nА,Б\n".encode("cp1251"), "x.csv")


# -- demo catalogue ----------------------------------------------------------------------


def test_demo_catalogue_loads_and_has_the_seed_pins(app_ctx: Flask) -> None:
    from marketplace.catalogue.search import SearchQuery, search

    assert load_demo_catalogue(db.session()) >= 300
    for q in ("OSVOD", "Sharpshooter", "Tourist of the USSR", "MOPR", "Khalkhin Gol",
              "Wrangel", "Bolshoi", "Bratsk", "Laika", "Gagarin", "Olympics", "congress delegate",
              "cactus", "8 March"):  # fmt: skip
        assert search(db.session(), SearchQuery(q=q)).total > 0, q
    assert load_demo_catalogue(db.session()) == 0  # idempotent


# -- pages and API ---------------------------------------------------------------------


@pytest.mark.parametrize("q", ["Gagarin", "Гагарин", "gagrin"])
def test_same_first_pin_on_the_page_and_in_the_api(client: FlaskClient, q: str) -> None:
    gagarin_catalogue()
    api = client.get("/api/v1/pins", query_string={"q": q}).json
    first = api["items"][0]
    page = client.get("/pins", query_string={"q": q}).get_data(as_text=True)
    assert page.index(first["ref"]) < min(page.index(item["ref"]) for item in api["items"][1:])
    assert (
        first["ref"]
        == client.get("/api/v1/pins", query_string={"q": "Gagarin"}).json["items"][0]["ref"]
    )


def test_browsing_pages(client: FlaskClient) -> None:
    pins = gagarin_catalogue()
    Catalogue(db.session()).update(
        pins["lenin"], {"series_name": "Leaders", "series_number": "2", "series_size": "3"}, None
    )
    assert "Hero cities" in client.get("/themes").get_data(as_text=True)
    places = client.get("/places").get_data(as_text=True)
    assert "Ukrainian SSR" in places and "Kyiv" in places
    series_page = client.get(f"/series/{pins['lenin'].series_id}").get_data(as_text=True)
    assert "№ 1" in series_page and "not yet in the catalogue" in series_page
    pin_page = client.get(f"/pins/{pins['tourist'].id}").get_data(as_text=True)
    assert (
        "ТУРИСТ СССР" in pin_page
        and "TURIST SSSR" in pin_page
        and "Drawing, not a photo" in pin_page
    )
    svg = client.get(f"/pins/{pins['tourist'].id}/stand-in.svg")
    assert svg.mimetype == "image/svg+xml" and b"NOT A PHOTO" in svg.data


def test_api_pin_and_filters_and_facets(client: FlaskClient) -> None:
    pins = gagarin_catalogue()
    body = client.get(f"/api/v1/pins/{pins['gagarin'].id}").json
    assert body["legend"] == "Ю. А. ГАГАРИН 1961" and body["themes"] == ["Space"]
    assert client.get("/api/v1/pins/999999").status_code == 404
    result = client.get("/api/v1/pins", query_string={"theme": "Space", "facets": "true"}).json
    assert result["total"] == 3 and "theme" in result["facets"]
    bad = client.get("/api/v1/pins", query_string={"material": "plutonium", "per_page": 1000})
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"material", "per_page"}


def test_api_submission_and_moderation(client: FlaskClient) -> None:
    make_user()
    moderator()
    from tests.support.web import bearer, token_for

    member, mod = bearer(token_for(client)), bearer(token_for(client, "mod@example.org"))
    created = client.post(
        "/api/v1/submissions",
        json={
            "data": {"ref": "API-1", "title_en": "Laika", "themes": ["Space"], "year_from": 1957}
        },
        headers=member,
    )
    assert created.status_code == 201, created.json
    sid = created.json["id"]
    photo = client.post(
        f"/api/v1/submissions/{sid}/photos",
        data={"side": "obverse", "photo": (io.BytesIO(image_bytes()), "laika.png")},
        headers=member,
        content_type="multipart/form-data",
    )
    assert photo.status_code == 201 and len(photo.json["photos"]) == 1
    assert (
        client.post(f"/api/v1/submissions/{sid}/approve", json={}, headers=member).status_code
        == 403
    )
    approved = client.post(
        f"/api/v1/submissions/{sid}/approve",
        json={"edits": {"title_en": "Laika 1957"}},
        headers=mod,
    )
    assert approved.status_code == 200 and approved.json["title_en"] == "Laika 1957"
    assert approved.json["photos"][0]["side"] == "obverse"
    unknown = client.post(
        "/api/v1/submissions", json={"data": {"ref": "X", "colour": "red"}}, headers=member
    )
    assert unknown.status_code == 422 and "colour" in json.dumps(unknown.json["errors"])


def test_api_import_and_export(client: FlaskClient) -> None:
    moderator()
    from tests.support.web import bearer, token_for

    mod = bearer(token_for(client, "mod@example.org"))
    rows = [
        {"ref": "J-1", "title_en": "One"},
        {"ref": "J-2", "title_en": "Two", "year_from": "1980"},
    ]
    done = client.post("/api/v1/catalogue/import", json=rows, headers=mod)
    assert done.status_code == 200 and done.json == {"created": 2, "updated": 0, "dry_run": False}
    failed = client.post(
        "/api/v1/catalogue/import", json=[{"ref": "J-3", "title_en": ""}], headers=mod
    )
    assert failed.status_code == 422 and "row 2: title_en" in failed.json["errors"]
    exported = client.get("/api/v1/catalogue/export", query_string={"format": "csv"}, headers=mod)
    assert exported.mimetype == "text/csv" and "J-2" in exported.get_data(as_text=True)


def test_the_member_is_mailed_each_decision(app_ctx: Flask) -> None:
    from marketplace.catalogue.media import catalogue_photo_dir
    from marketplace.catalogue.moderation import Moderation
    from marketplace.core.outbox import OutboxMessage
    from marketplace.mail.models import MailMessage

    member = make_user("olga@example.org")
    mod = moderator()
    service = Moderation(db.session(), catalogue_photo_dir(), "http://znachki.test")
    new = service.submit(member, {"ref": "ZN-9010", "title_en": "Laika 1957", "legend": "ЛАЙКА"})
    pin = service.approve(new, mod)
    approved = db.session.scalars(select(MailMessage).where(MailMessage.to_addr == member.email))
    mail = approved.one()
    assert mail.kind == "submission_reviewed"
    assert mail.subject == "In the catalogue: ZN-9010 Laika 1957"
    assert f"http://znachki.test/pins/{pin.id}" in mail.body_text
    assert f'href="http://znachki.test/pins/{pin.id}"' in mail.body_html

    correction = service.submit(member, {"title_en": "Laika, Sputnik-2"}, pin=pin)
    service.reject(correction, mod, "The legend says only ЛАЙКА.")
    mails = db.session.scalars(
        select(MailMessage).where(MailMessage.to_addr == member.email).order_by(MailMessage.id)
    ).all()
    assert len(mails) == 2
    rejected = mails[1]
    assert rejected.subject == "Not added to the catalogue: ZN-9010 Laika 1957"
    assert "The legend says only ЛАЙКА." in rejected.body_text
    assert "http://znachki.test/submissions" in rejected.body_text
    # Sent through the outbox, after the transaction commits.
    assert db.session.scalar(select(func.count(OutboxMessage.id))) >= 2
