"""The lists API: /me/haves and /me/wants with /{id}, CSV import and export, and
the OpenAPI document describing them."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.catalogue.models import PinTitle
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.lists.models import Have
from marketplace.lists.operations import REFRESH_TASK
from tests.support.factories import make_user
from tests.support.lists import make_pin
from tests.support.web import bearer, token_for

PROBLEM = "application/problem+json"


def auth(client: FlaskClient) -> dict[str, str]:
    make_user()
    return bearer(token_for(client))


def test_haves_crud(client: FlaskClient) -> None:
    headers = auth(client)
    pin = make_pin("GAG-1961", "Gagarin", legend="Гагарин")
    created = client.post(
        "/api/v1/me/haves",
        json={"pin_id": pin.id, "quantity": 2, "condition": "very_fine", "defects": ["bent"],
              "price": "15.00", "currency": "EUR"},
        headers=headers,
    )  # fmt: skip
    assert created.status_code == 201, created.json
    body = created.json
    assert body["condition"] == "very_fine" and body["defects"] == ["bent"]
    assert body["price"] == "15.00" and body["pin_ref"] == "GAG-1961"
    have_id = body["id"]
    duplicate = client.post(
        "/api/v1/me/haves",
        json={"pin_id": pin.id, "condition": "very_fine", "defects": ["bent"]},
        headers=headers,
    )
    assert duplicate.status_code == 409 and duplicate.mimetype == PROBLEM

    patched = client.patch(f"/api/v1/me/haves/{have_id}", json={"quantity": 5}, headers=headers)
    assert patched.status_code == 200 and patched.json["quantity"] == 5
    bad = client.patch(f"/api/v1/me/haves/{have_id}", json={"quantity": -1}, headers=headers)
    assert bad.status_code == 422 and "quantity" in bad.json["errors"]
    unknown = client.patch(f"/api/v1/me/haves/{have_id}", json={"colour": "red"}, headers=headers)
    assert unknown.status_code == 422 and "colour" in unknown.json["errors"]

    listing = client.get("/api/v1/me/haves?sort=quantity", headers=headers)
    assert listing.status_code == 200 and [h["id"] for h in listing.json] == [have_id]
    assert "X-Pagination" in listing.headers
    assert client.delete(f"/api/v1/me/haves/{have_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/me/haves/{have_id}", headers=headers).status_code == 404
    events = db.session.scalar(
        select(func.count(OutboxMessage.id)).where(OutboxMessage.task == REFRESH_TASK)
    )
    assert events == 3  # one per committed request that changed the list


def test_wants_crud_and_auth(client: FlaskClient) -> None:
    assert client.get("/api/v1/me/wants").status_code == 401
    headers = auth(client)
    make_pin("OLY-1a", variant_group="OLY-1")
    created = client.post(
        "/api/v1/me/wants",
        json={"variant_group": "oly-1", "priority": 5, "min_condition": "fine"},
        headers=headers,
    )
    assert created.status_code == 201, created.json
    assert created.json["variant_group"] == "OLY-1" and created.json["pin_id"] is None
    both = client.post(
        "/api/v1/me/wants", json={"pin_id": 1, "variant_group": "OLY-1"}, headers=headers
    )
    assert both.status_code == 422
    want_id = created.json["id"]
    patched = client.patch(
        f"/api/v1/me/wants/{want_id}", json={"max_price": "20", "currency": "RUB"}, headers=headers
    )
    assert patched.status_code == 200 and patched.json["max_price"] == "20.00"
    assert client.delete(f"/api/v1/me/wants/{want_id}", headers=headers).status_code == 204


def test_csv_import_and_export(client: FlaskClient) -> None:
    headers = auth(client)
    make_pin("A-1")
    make_pin("A-2")
    csv_text = "Номер;Кол-во;Состояние\r\nA-1;2;Mint\r\nA-2;1;VF\r\n".encode("cp1251")
    dry = client.post(
        "/api/v1/me/haves/import?dry_run=true",
        data=csv_text,
        content_type="text/csv",
        headers=headers,
    )
    assert dry.status_code == 200, dry.json
    assert dry.json["created"] == 2 and not dry.json["applied"] and dry.json["encoding"] == "cp1251"
    assert db.session.scalar(select(func.count(Have.id))) == 0

    done = client.post(
        "/api/v1/me/haves/import",
        data={"file": (__import__("io").BytesIO(csv_text), "haves.csv")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert done.status_code == 200 and done.json["applied"] and done.json["created"] == 2

    exported = client.get("/api/v1/me/haves/export", headers=headers)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    text = exported.get_data(as_text=True)
    assert text.startswith("\ufeffref,title,legend,quantity,condition")
    assert "A-1,Pin A-1,,2,Mint,,yes,,,\r\n" in text

    refused = client.post(
        "/api/v1/me/haves/import",
        data="ref,quantity\nA-1,1\nZZZ,1\nA-2,-4\n",
        content_type="text/csv",
        headers=headers,
    )
    assert refused.status_code == 422 and refused.mimetype == PROBLEM
    assert refused.json["errors"] == {
        "row 3": ["ref: Unknown catalogue number 'ZZZ'."],
        "row 4": ["quantity: The quantity must be at least 1 (got -4)."],
    }
    partial = client.post(
        "/api/v1/me/haves/import?mode=good_rows",
        data="ref,quantity,condition\nA-1,1,mint\nZZZ,1,mint\n",
        content_type="text/csv",
        headers=headers,
    )
    assert partial.status_code == 200 and partial.json["updated"] == 1
    assert partial.json["report"].startswith("row,column,error,ref,quantity,condition")


def test_oversized_import_is_refused_before_reading(client: FlaskClient) -> None:
    headers = auth(client)
    big = client.post(
        "/api/v1/me/wants/import",
        data=b"a" * (11 * 1024 * 1024),
        content_type="text/csv",
        headers=headers,
    )
    assert big.status_code == 413 and big.mimetype == PROBLEM
    assert "10 MB" in big.json["detail"]
    empty = client.post(
        "/api/v1/me/wants/import", data=b"", content_type="text/csv", headers=headers
    )
    assert empty.status_code == 400 and empty.json["detail"] == "The file is empty."


def test_openapi_describes_the_list_endpoints(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in ("/api/v1/me/haves", "/api/v1/me/haves/{have_id}", "/api/v1/me/wants",
                 "/api/v1/me/wants/{want_id}", "/api/v1/me/haves/import",
                 "/api/v1/me/wants/export"):  # fmt: skip
        assert path in paths, path
    assert set(paths["/api/v1/me/haves/{have_id}"]) >= {"get", "patch", "delete"}
    body = paths["/api/v1/me/haves/import"]["post"]["requestBody"]["content"]
    assert set(body) == {"text/csv", "multipart/form-data"}
    assert "text/csv" in paths["/api/v1/me/haves/export"]["get"]["responses"]["200"]["content"]
    have = spec["components"]["schemas"]["HaveOut"]
    assert have["properties"]["condition"]["enum"][0] == "mint"


def test_photos_of_a_copy(client: FlaskClient) -> None:
    import io

    from tests.support.images import image_bytes

    headers = auth(client)
    pin = make_pin("LAI-1957", "Laika", legend="Лайка")
    have = client.post("/api/v1/me/haves", json={"pin_id": pin.id}, headers=headers).json
    added = client.post(
        f"/api/v1/me/haves/{have['id']}/photos",
        data={"photo": (io.BytesIO(image_bytes("JPEG", (640, 480), exif=True)), "mine.jpg")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert added.status_code == 201, added.json
    photo = added.json["photos"][0]
    assert photo["width"] == 640 and photo["url"].endswith(".webp")
    fake = client.post(
        f"/api/v1/me/haves/{have['id']}/photos",
        data={"photo": (io.BytesIO(b"%PDF-1.4"), "x.jpg")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert fake.status_code == 400 and fake.mimetype == PROBLEM and "photo" in fake.json["errors"]
    gone = client.delete(f"/api/v1/me/haves/{have['id']}/photos/{photo['id']}", headers=headers)
    assert gone.status_code == 204
    assert client.get(f"/api/v1/me/haves/{have['id']}", headers=headers).json["photos"] == []


def test_a_refused_import_reports_rows_as_a_dry_run_does(client: FlaskClient) -> None:
    headers = auth(client)
    make_pin("A-1")
    make_pin("L-1", "Lenin one", legend="Ленин")
    make_pin("L-2", "Lenin two", legend="Ленин")
    text = "ref,legend,quantity\nA-1,,1\nZZZ,,1\n,Ленин,2\n"
    for kind in ("haves", "wants"):
        dry = client.post(
            f"/api/v1/me/{kind}/import?dry_run=true",
            data=text,
            content_type="text/csv",
            headers=headers,
        )
        assert dry.status_code == 200 and not dry.json["applied"], dry.json
        refused = client.post(
            f"/api/v1/me/{kind}/import", data=text, content_type="text/csv", headers=headers
        )
        assert refused.status_code == 422 and refused.mimetype == PROBLEM
        body = refused.json
        assert (
            body["rows"]
            == dry.json["errors"]
            == [{"row": 3, "column": "ref", "message": "Unknown catalogue number 'ZZZ'."}]
        )
        assert body["ambiguous"] == dry.json["ambiguous"]
        assert [a["row"] for a in body["ambiguous"]] == [4]
        assert body["report"] == dry.json["report"]
        assert body["report"].startswith("row,column,error,ref,legend,quantity")
        assert set(body["errors"]) == {"row 3", "row 4"}
    assert db.session.scalar(select(func.count(Have.id))) == 0


def test_openapi_describes_both_kinds_and_the_refusal(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for kind, one in (("haves", "have"), ("wants", "want")):
        assert set(paths[f"/api/v1/me/{kind}"]) == {"get", "post"}
        item = paths[f"/api/v1/me/{kind}/{{{one}_id}}"]
        assert set(item) == {"parameters", "get", "patch", "delete"}
        assert [p["name"] for p in item["parameters"]] == [f"{one}_id"]
        created = paths[f"/api/v1/me/{kind}"]["post"]["responses"]["201"]["content"]
        schema = created["application/json"]["schema"]["$ref"]
        assert schema == f"#/components/schemas/{one.capitalize()}Out"
        refusal = paths[f"/api/v1/me/{kind}/import"]["post"]["responses"]["422"]["content"]
        assert refusal[PROBLEM]["schema"]["$ref"] == "#/components/schemas/ImportRefusedOut"
    refused = spec["components"]["schemas"]["ImportRefusedOut"]["properties"]
    assert refused["rows"]["items"]["$ref"] == "#/components/schemas/ImportRowErrorOut"
    summary = paths["/api/v1/me/wants"]["get"]["summary"]
    assert summary == "The caller's Wants, filtered, sorted and paged (X-Pagination header)."


def test_pins_are_titled_in_the_callers_language(client: FlaskClient) -> None:
    headers = auth(client)
    pin = make_pin(
        "GAG-1961", "Gagarin", legend="Гагарин", titles=[PinTitle(language="uk", title="Гагарін")]
    )
    client.post("/api/v1/me/haves", json={"pin_id": pin.id}, headers=headers)
    client.post("/api/v1/me/wants", json={"pin_id": pin.id}, headers=headers)
    for language, title in (
        ("uk", "Гагарін"),
        ("en", "Gagarin"),
        ("ru", pin.transliteration or "Gagarin"),
    ):
        asked = {**headers, "Accept-Language": language}
        haves = client.get("/api/v1/me/haves", headers=asked).json
        wants = client.get("/api/v1/me/wants", headers=asked).json
        assert haves[0]["pin_title"] == wants[0]["pin_title"] == title
