"""The JSON API: sign-up, tokens as bearer credentials, problem documents for
every kind of bad input, and the generated OpenAPI document."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.accounts.models import ApiToken, User
from marketplace.core.extensions import db
from marketplace.mail.models import MailMessage
from tests.support.factories import PASSWORD, make_user
from tests.support.web import bearer, token_for

PROBLEM = "application/problem+json"


def test_sign_up_answers_alike_for_new_and_taken_addresses(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    body = {"password": PASSWORD, "display_name": "Mart"}
    new = client.post("/api/v1/users", json={**body, "email": "mart@example.ee"})
    taken = client.post("/api/v1/users", json={**body, "email": "ivan@example.org"})
    assert new.status_code == taken.status_code == 202
    assert new.json == taken.json
    kinds = dict(db.session.execute(select(MailMessage.to_addr, MailMessage.kind)).all())
    assert kinds == {"ivan@example.org": "account_exists", "mart@example.ee": "verify_email"}


def test_token_lifecycle(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    token = token_for(client)
    assert token.startswith("znk_")
    stored = db.session.scalar(select(ApiToken))
    assert stored is not None and token not in stored.secret_hash  # hashed at rest

    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.json["email"] == "ivan@example.org"
    listing = client.get("/api/v1/tokens", headers=bearer(token)).json
    assert [t["name"] for t in listing] == ["cli"] and "token" not in listing[0]

    assert (
        client.delete(f"/api/v1/tokens/{listing[0]['id']}", headers=bearer(token)).status_code
        == 204
    )
    refused = client.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.mimetype == PROBLEM
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_wrong_password_and_unknown_user_get_the_same_problem(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    wrong = client.post("/api/v1/tokens", json={"email": "ivan@example.org", "password": "x" * 12})
    unknown = client.post("/api/v1/tokens", json={"email": "no@example.org", "password": "x" * 12})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["detail"] == unknown.json["detail"]


def test_token_endpoint_is_throttled(client: FlaskClient) -> None:
    make_user("ivan@example.org")
    body = {"email": "ivan@example.org", "password": "x" * 12}
    statuses = [client.post("/api/v1/tokens", json=body).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert client.post("/api/v1/tokens", json=body).mimetype == PROBLEM


def test_malformed_json_is_a_400_problem(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/users", data='{"email": "a@b.c",', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert "not valid JSON" in response.json["detail"]


def test_unknown_fields_and_wrong_types_are_named(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": "a@example.org", "password": 12345, "display_name": "A", "admin": True},
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    errors = response.json["errors"]
    assert "admin" in errors and "password" in errors
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_missing_fields_are_named(client: FlaskClient) -> None:
    response = client.post("/api/v1/users", json={})
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"email", "password", "display_name"}


def test_json_body_that_is_not_an_object(client: FlaskClient) -> None:
    response = client.post("/api/v1/users", json=["a", "b"])
    assert response.status_code == 422 and response.mimetype == PROBLEM


def test_domain_errors_become_problems(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": "same@example.org", "password": "same@example.org", "display_name": "S"},
    )
    assert response.status_code == 400
    assert response.json["errors"] == {"password": ["Your password cannot be your email address."]}


def test_unknown_api_path_is_a_problem(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.mimetype == PROBLEM


def test_openapi_document_describes_the_api(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert {"/api/v1/users", "/api/v1/tokens", "/api/v1/tokens/{token_id}", "/api/v1/me"} <= set(
        paths
    )
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert paths["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    signup_schema = paths["/api/v1/users"]["post"]["requestBody"]["content"]["application/json"]
    assert signup_schema["schema"]["$ref"].endswith("/SignUpIn")


def test_problems_speak_the_callers_language(client: FlaskClient) -> None:
    bad = {"email": "a@example.org", "password": 12345, "admin": True}
    russian = client.post("/api/v1/users", json=bad, headers={"Accept-Language": "ru-RU,ru;q=0.9"})
    assert russian.status_code == 422 and russian.mimetype == PROBLEM
    body = russian.json
    assert body["title"] == "Не удалось обработать"
    assert body["detail"] == "Тело запроса или параметры неверны; см. errors."
    assert body["errors"]["display_name"] == ["Обязательное поле не заполнено."]
    assert body["errors"]["password"] == ["Это не строка."]
    assert body["errors"]["admin"] == ["Неизвестное поле."]
    ukrainian = client.post("/api/v1/users", json={"email": "x" * 300}, headers={
        "Accept-Language": "uk"})  # fmt: skip
    assert ukrainian.json["errors"]["display_name"] == ["Обов'язкове поле не заповнене."]
    # No Accept-Language: English, as before.
    english = client.post("/api/v1/users", json=bad).json
    assert english["title"] == "Unprocessable Entity"
    assert english["errors"]["display_name"] == ["Missing data for required field."]
    assert english["errors"]["admin"] == ["Unknown field."]
    unauthorised = client.get("/api/v1/me", headers={"Accept-Language": "et"})
    assert unauthorised.status_code == 401
    assert unauthorised.json["title"] == "Sisselogimine on vajalik"
    assert unauthorised.json["detail"].startswith("Saada kehtiv isiklik juurdepääsuvõti")
