"""The messages API: a trade's thread opened and written by both parties through
/api/v1 with a token each, read oldest first (which marks it read), unread
counts up and back to zero, the inbox; 404 for anyone not in a thread on every
route, 403 between blocked collectors, 422 for bad bodies naming the field; and
every answer held to the OpenAPI document."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from marketplace.accounts import blocks
from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.messages.models import Message
from tests.support.messages import order_between, trade_between
from tests.support.openapi import assert_documented
from tests.support.trades import trader
from tests.support.web import api_token, bearer

API = "/api/v1/threads"
SERIAL = itertools.count()


def _template(url: str) -> str:
    path = url.split("?", 1)[0]
    return re.sub(r"^/api/v1/threads/(\d+)", "/api/v1/threads/{thread_id}", path)


@dataclass
class Collector:
    """A collector talking to the API with their own token; every answer is
    checked against the document."""

    client: FlaskClient
    user: User
    spec: dict[str, Any]

    def __post_init__(self) -> None:
        self.id, self.name = self.user.id, self.user.display_name
        self.headers = bearer(api_token(self.user))

    def call(self, method: str, url: str, body: Any = None) -> Any:
        kwargs = {} if body is None else {"json": body}
        response = self.client.open(url, method=method, headers=self.headers, **kwargs)
        assert_documented(self.spec, _template(url), method, response)
        return response

    def open(self, **body: Any) -> Any:
        return self.call("POST", API, body)

    def write(self, thread_id: int, body: Any) -> Any:
        return self.call("POST", f"{API}/{thread_id}/messages", {"body": body})

    def unread(self) -> int:
        response = self.call("GET", f"{API}/unread")
        assert response.status_code == 200
        return int(response.json["unread"])


def collectors(client: FlaskClient, *names: str) -> list[Collector]:
    spec = client.get("/api/v1/openapi.json").json
    made = [trader(n, f"{n.lower()}.{next(SERIAL)}@example.org") for n in names]
    return [Collector(client, u, spec) for u in made]


def test_both_parties_write_and_read_a_trade_thread(client: FlaskClient) -> None:
    ivan, olena = collectors(client, "Ivan", "Olena")
    trade_id = trade_between(ivan.user, olena.user).id
    db.session.commit()
    opened = ivan.open(kind="trade", trade_id=trade_id)
    assert opened.status_code == 201
    thread = opened.json
    assert thread["kind"] == "trade" and thread["trade_id"] == trade_id
    assert {m["user_id"] for m in thread["members"]} == {ivan.id, olena.id}
    same = olena.open(kind="trade", trade_id=trade_id)
    assert same.status_code == 200 and same.json["id"] == thread["id"]

    url = f"{API}/{thread['id']}/messages"
    payload = '<img src=x onerror=alert(1)> "quoted" & Привет'
    sent = ivan.write(thread["id"], payload)
    assert sent.status_code == 201
    assert sent.json["body"] == payload and sent.json["author_id"] == ivan.id
    assert ivan.write(thread["id"], "second").status_code == 201
    assert olena.unread() == 2 and ivan.unread() == 0

    inbox = olena.call("GET", API)
    assert inbox.status_code == 200
    assert json.loads(inbox.headers["X-Pagination"])["total"] == 1
    (entry,) = inbox.json
    assert entry["unread"] == 2 and entry["counterparts"] == [ivan.name]
    assert entry["last_message"]["body"] == "second"

    read = olena.call("GET", url)
    assert read.status_code == 200
    assert [m["body"] for m in read.json] == [payload, "second"]  # oldest first
    assert olena.unread() == 0
    assert olena.write(thread["id"], "Да!").status_code == 201
    assert ivan.unread() == 1
    shown = ivan.call("GET", f"{API}/{thread['id']}")
    assert shown.status_code == 200 and shown.json["unread"] == 1
    paged = ivan.call("GET", f"{url}?page=2&page_size=2")
    assert [m["body"] for m in paged.json] == ["Да!"]
    assert json.loads(paged.headers["X-Pagination"])["total"] == 3


def test_nobody_else_reads_or_writes_a_thread(client: FlaskClient) -> None:
    ivan, olena, boris = collectors(client, "Ivan", "Olena", "Boris")
    trade_id = trade_between(ivan.user, olena.user).id
    order_id = order_between(ivan.user, olena.user).id
    db.session.commit()
    thread_id = ivan.open(kind="trade", trade_id=trade_id).json["id"]
    assert ivan.write(thread_id, "private").status_code == 201
    missing = 2**31 - 1
    for url, method, body in (
        (f"{API}/{thread_id}", "GET", None),
        (f"{API}/{thread_id}/messages", "GET", None),
        (f"{API}/{thread_id}/messages", "POST", {"body": "hi"}),
        (f"{API}/{missing}", "GET", None),
        (f"{API}/{missing}/messages", "POST", {"body": "hi"}),
        (API, "POST", {"kind": "trade", "trade_id": trade_id}),
        (API, "POST", {"kind": "order", "order_id": order_id}),
    ):
        response = boris.call(method, url, body)
        assert response.status_code == 404, (method, url)
        assert response.mimetype == "application/problem+json"
    stranger = boris.call("GET", f"{API}/{thread_id}").json
    nothing = boris.call("GET", f"{API}/{missing}").json
    assert stranger == nothing  # the same answer as for a thread that does not exist
    assert boris.unread() == 0
    assert boris.call("GET", API).json == []
    assert db.session.scalar(select(func.count(Message.id))) == 1


def test_blocked_collectors_cannot_message(client: FlaskClient) -> None:
    ivan, olena = collectors(client, "Ivan", "Olena")
    direct = ivan.open(kind="direct", user_id=olena.id)
    assert direct.status_code == 201 and direct.json["kind"] == "direct"
    assert olena.open(kind="direct", user_id=ivan.id).json["id"] == direct.json["id"]
    blocks.block(db.session(), olena.id, ivan.id)
    db.session.commit()
    for who, other in ((ivan, olena), (olena, ivan)):
        refused = who.open(kind="direct", user_id=other.id)
        assert refused.status_code == 403
        assert "blocked" in refused.json["detail"]
        assert who.write(direct.json["id"], "hello").status_code == 403
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_bad_bodies_are_refused_naming_the_field(client: FlaskClient) -> None:
    ivan, olena = collectors(client, "Ivan", "Olena")
    thread_id = ivan.open(kind="direct", user_id=olena.id).json["id"]
    cases = [
        ({}, "body"),
        ({"body": None}, "body"),
        ({"body": 12}, "body"),
        ({"body": "   \n "}, "body"),
        ({"body": "я" * 5001}, "body"),
    ]
    for body, field in cases:
        response = ivan.call("POST", f"{API}/{thread_id}/messages", body)
        assert response.status_code == 422, body
        assert field in response.json["errors"], response.json
    for body, field in [
        ({}, "kind"),
        ({"kind": "letter", "user_id": olena.id}, "kind"),
        ({"kind": "direct"}, "user_id"),
        ({"kind": "trade", "user_id": olena.id}, "trade_id"),
        ({"kind": "order"}, "order_id"),
        ({"kind": "direct", "user_id": ivan.id}, "user_id"),
    ]:
        response = ivan.call("POST", API, body)
        assert response.status_code == 422, body
        assert field in response.json["errors"], response.json
    assert ivan.open(kind="direct", user_id=2**31 - 1).status_code == 404
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_the_document_describes_every_messages_route(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    assert set(paths[API]) >= {"get", "post"}
    assert {"200", "201"} <= set(paths[API]["post"]["responses"])
    assert "get" in paths[f"{API}/unread"] and "get" in paths[f"{API}/{{thread_id}}"]
    assert set(paths[f"{API}/{{thread_id}}/messages"]) >= {"get", "post"}
    assert "X-Pagination" in paths[API]["get"]["responses"]["200"]["headers"]
