"""Feedback through the API: given on a completed trade or a delivered order by
its parties only (strangers 404, too early 409, twice 409), both sides read
back, the rater's edit, the rated member's one reply, and the public counts
(overall and over twelve months) with the paged list. Every answer is checked
against the OpenAPI document."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.feedback.models import Feedback
from tests.support.feedback import accepted_swap, completed_swap, delivered_order, paid_order
from tests.support.openapi import assert_documented
from tests.support.trades import trader
from tests.support.web import api_token, bearer

PATHS = (
    (r"^/api/v1/(trades|orders)/\d+/feedback$", r"/api/v1/\1/{\1_id}/feedback"),
    (r"^/api/v1/feedback/\d+", "/api/v1/feedback/{feedback_id}"),
    (r"^/api/v1/collectors/\d+/feedback$", "/api/v1/collectors/{user_id}/feedback"),
)


def _template(url: str) -> str:
    path = url.split("?", 1)[0]
    for pattern, replacement in PATHS:
        path = re.sub(pattern, replacement, path)
    return path.replace("{trades_id}", "{trade_id}").replace("{orders_id}", "{order_id}")


class Caller:
    """One collector with a token; every answer is held to the document."""

    def __init__(self, client: FlaskClient, user: User | None, spec: dict[str, Any]) -> None:
        self.client, self.spec = client, spec
        self.headers = bearer(api_token(user)) if user is not None else {}

    def __call__(self, method: str, url: str, body: Any = None) -> Any:
        kwargs = {} if body is None else {"json": body}
        response = self.client.open(url, method=method, headers=self.headers, **kwargs)
        assert_documented(self.spec, _template(url), method, response)
        return response


@pytest.fixture()
def spec(client: FlaskClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/api/v1/openapi.json").json
    return document


def test_a_completed_trade_takes_feedback_from_its_parties_once(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    ivan, olga, stranger = trader("Ivan"), trader("Olga"), trader("Pyotr")
    early = accepted_swap(ivan, olga)
    trade = completed_swap(ivan, olga)
    ids = {"ivan": ivan.id, "olga": olga.id}
    as_ivan, as_olga = Caller(client, ivan, spec), Caller(client, olga, spec)
    as_stranger = Caller(client, stranger, spec)
    url = f"/api/v1/trades/{trade.id}/feedback"
    body = {"rated_id": ids["olga"], "rating": "positive", "comment": "<b>Fast</b> & kind"}

    assert as_stranger("GET", url).status_code == 404
    assert as_stranger("POST", url, {**body, "rated_id": ids["ivan"]}).status_code == 404
    too_early = as_ivan("POST", f"/api/v1/trades/{early.id}/feedback", body)
    assert too_early.status_code == 409 and "completed" in too_early.json["detail"]
    assert as_ivan("POST", url, {**body, "rating": "great"}).status_code == 422

    made = as_ivan("POST", url, body)
    assert made.status_code == 201, made.json
    assert made.json["comment"] == "<b>Fast</b> & kind"
    assert made.json["rated"]["id"] == ids["olga"]
    again = as_ivan("POST", url, {**body, "rating": "negative"})
    assert again.status_code == 409 and "already" in again.json["detail"]
    assert as_olga("POST", url, {"rated_id": ids["ivan"], "rating": "neutral"}).status_code == 201

    both = as_olga("GET", url).json
    assert both["finished"] is True and both["to_rate"] == []
    assert sorted((f["rater"]["id"], f["rating"]) for f in both["feedback"]) == sorted(
        [(ids["ivan"], "positive"), (ids["olga"], "neutral")]
    )
    assert as_ivan("GET", url).json["feedback"] == both["feedback"]


def test_edit_within_the_window_and_one_reply(client: FlaskClient, spec: dict[str, Any]) -> None:
    ivan, olga = trader("Ivan"), trader("Olga")
    trade = completed_swap(ivan, olga)
    as_ivan, as_olga = Caller(client, ivan, spec), Caller(client, olga, spec)
    made = as_ivan(
        "POST", f"/api/v1/trades/{trade.id}/feedback", {"rated_id": olga.id, "rating": "negative"}
    ).json
    url = f"/api/v1/feedback/{made['id']}"

    assert as_olga("PATCH", url, {"rating": "positive"}).status_code == 403
    assert as_ivan("PATCH", url, {}).status_code == 422
    edited = as_ivan("PATCH", url, {"rating": "positive", "comment": "All good in the end"})
    assert edited.status_code == 200 and edited.json["rating"] == "positive"

    assert as_ivan("POST", f"{url}/reply", {"reply": "Me?"}).status_code == 403
    replied = as_olga("POST", f"{url}/reply", {"reply": "Спасибо"})
    assert replied.status_code == 200 and replied.json["reply"] == "Спасибо"
    assert as_olga("POST", f"{url}/reply", {"reply": "Again"}).status_code == 409

    stored = db.session.get(Feedback, made["id"])
    assert stored is not None
    stored.created_at -= timedelta(days=31)
    db.session.commit()
    late = as_ivan("PATCH", url, {"rating": "neutral"})
    assert late.status_code == 409 and "30 days" in late.json["detail"]


def test_orders_take_feedback_once_delivered(client: FlaskClient, spec: dict[str, Any]) -> None:
    buyer, seller, stranger = trader("Anna"), trader("Boris"), trader("Pyotr")
    paid = paid_order(buyer, seller)
    order = delivered_order(buyer, seller)
    as_buyer, as_seller = Caller(client, buyer, spec), Caller(client, seller, spec)
    body = {"rated_id": seller.id, "rating": "positive"}
    assert as_buyer("POST", f"/api/v1/orders/{paid.id}/feedback", body).status_code == 409
    url = f"/api/v1/orders/{order.id}/feedback"
    assert Caller(client, stranger, spec)("GET", url).status_code == 404
    assert as_buyer("POST", url, body).status_code == 201
    assert as_buyer("POST", url, body).status_code == 409
    wrong = as_seller("POST", url, {"rated_id": seller.id, "rating": "positive"})
    assert wrong.status_code == 400
    assert as_seller("POST", url, {"rated_id": buyer.id, "rating": "positive"}).status_code == 201
    assert len(as_seller("GET", url).json["feedback"]) == 2


def test_a_collectors_ratings_are_public_counted_and_paged(
    client: FlaskClient, spec: dict[str, Any]
) -> None:
    olga = trader("Olga")
    raters = [trader(f"Rater{n}") for n in range(3)]
    for n, rater in enumerate(raters):
        trade = completed_swap(rater, olga)
        rating = "negative" if n == 0 else "positive"
        made = Caller(client, rater, spec)(
            "POST", f"/api/v1/trades/{trade.id}/feedback",
            {"rated_id": olga.id, "rating": rating, "comment": f"number {n}"},
        )  # fmt: skip
        assert made.status_code == 201
    first = db.session.scalar(select(Feedback).where(Feedback.comment == "number 0"))
    assert first is not None
    first.created_at -= timedelta(days=400)
    db.session.commit()

    anyone = Caller(client, None, spec)
    answer = anyone("GET", f"/api/v1/collectors/{olga.id}/feedback?page_size=2")
    assert answer.status_code == 200
    body = answer.json
    assert body["overall"] == {"positive": 2, "neutral": 0, "negative": 1, "total": 3,
                               "positive_percent": 67}  # fmt: skip
    assert body["last_12_months"]["negative"] == 0 and body["last_12_months"]["total"] == 2
    assert [f["comment"] for f in body["feedback"]] == ["number 2", "number 1"]
    assert json.loads(answer.headers["X-Pagination"])["total"] == 3
    second = anyone("GET", f"/api/v1/collectors/{olga.id}/feedback?page=2&page_size=2").json
    assert [f["comment"] for f in second["feedback"]] == ["number 0"]
    assert anyone("GET", "/api/v1/collectors/999999/feedback").status_code == 404
