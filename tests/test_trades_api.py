"""The trades API: a swap proposed, countered, accepted, posted and received, and a
ring from the solve carried round its loop, each entirely through /api/v1 with one
token per collector; the errors (a copy not yours 403, not theirs 404, not free
409, out of turn 409, a stranger 404 on every route, bad bodies 422 that change
nothing); addresses shown only on the parcel the caller posts; listing by group
and page; and the OpenAPI document, which every response here is checked against."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema
from sqlalchemy import func, select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.lists.models import Have, Want
from marketplace.trades import api as trades_api
from marketplace.trades.models import Trade, TradeEvent
from tests.support.factories import UserFactory, WantFactory
from tests.support.openapi import assert_documented
from tests.support.trades import AddressFactory, copy_of, proposed_ring, trader
from tests.support.web import api_token, bearer

API = "/api/v1/trades"
JSON_TYPES = ("application/json", "application/problem+json")
ACTIONS = ("accept", "decline", "counter", "cancel", "ship", "receive", "dispute")
MAX_ID = 2**31 - 1
SERIAL = itertools.count()


def _template(url: str) -> str:
    """The document's path for a URL: ids become their parameters."""
    path = url.split("?", 1)[0]
    path = re.sub(r"^/api/v1/trades/rings/[^/]+", "/api/v1/trades/rings/{proposal_id}", path)
    return re.sub(r"^/api/v1/trades/(\d+)", "/api/v1/trades/{trade_id}", path)


@dataclass
class Collector:
    """A collector talking to the API with their own token; every answer they get
    is checked against the OpenAPI document."""

    client: FlaskClient
    user: User
    spec: dict[str, Any]

    def __post_init__(self) -> None:
        # Plain values: an error response ends the session the user was read in.
        self.id, self.name = self.user.id, self.user.display_name
        self.headers = bearer(api_token(self.user))

    def call(self, method: str, url: str, body: Any = None) -> Any:
        kwargs = {} if body is None else {"json": body}
        response = self.client.open(url, method=method, headers=self.headers, **kwargs)
        assert response.mimetype in JSON_TYPES, (response.status_code, response.data[:200])
        assert_documented(self.spec, _template(url), method, response)
        return response

    def propose(self, counterpart: Collector, **body: Any) -> Any:
        return self.call("POST", API, {"counterpart_id": counterpart.id, **body})

    def get(self, trade_id: int) -> dict[str, Any]:
        response = self.call("GET", f"{API}/{trade_id}")
        assert response.status_code == 200, response.json
        return dict(response.json)

    def listed(self, group: str = "all") -> list[int]:
        response = self.call("GET", f"{API}?group={group}&page_size=100")
        assert response.status_code == 200, response.json
        return [t["id"] for t in response.json]

    def try_(self, trade_id: int, action: str, **body: Any) -> Any:
        return self.call("POST", f"{API}/{trade_id}/{action}", body)

    def act(self, trade_id: int, action: str, **body: Any) -> dict[str, Any]:
        response = self.try_(trade_id, action, **body)
        assert response.status_code == 200, response.json
        return dict(response.json)


def collectors(client: FlaskClient, *names: str) -> list[Collector]:
    spec = client.get("/api/v1/openapi.json").json
    return [
        Collector(client, trader(name, f"{name.lower()}.{next(SERIAL)}@example.org"), spec)
        for name in names
    ]


def line(have_id: int, quantity: int = 1) -> dict[str, int]:
    return {"have_id": have_id, "quantity": quantity}


def copies(owner: Collector, *quantities: int) -> list[int]:
    """Fresh tradeable copies in the owner's Haves (their ids), one pin each,
    committed: a refused request rolls back whatever was only flushed."""
    ids = [copy_of(owner.user, quantity).id for quantity in quantities]
    db.session.commit()
    return ids


def owned(user_id: int) -> dict[int, int]:
    """pin id → copies in the collector's Haves, as the database has them now."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Have.pin_id, Have.quantity).where(Have.user_id == user_id)
    ).all()
    return {pin_id: quantity for pin_id, quantity in rows}


@contextmanager
def unchanged() -> Iterator[None]:
    """Every trade, its history and the copies' reservations are as they were."""

    def state() -> Any:
        db.session.expire_all()
        trades = db.session.execute(
            select(Trade.id, Trade.status, Trade.version).order_by(Trade.id)
        ).all()
        events = db.session.scalar(select(func.count(TradeEvent.id)))
        haves = db.session.execute(
            select(Have.id, Have.quantity, Have.reserved).order_by(Have.id)
        ).all()
        return trades, events, haves

    before = state()
    yield
    assert state() == before


def test_a_swap_goes_from_proposal_through_a_counter_to_completion(client: FlaskClient) -> None:
    ivan, olga = collectors(client, "Ivan", "Olga")
    mine, extra = copies(ivan, 1, 1)
    (theirs,) = copies(olga, 3)
    pins = {name: db.session.get(Have, i).pin_id for name, i in
            (("mine", mine), ("extra", extra), ("theirs", theirs))}  # fmt: skip
    WantFactory(user=olga.user, wanted=db.session.get(Have, mine).pin)

    proposed = ivan.propose(olga, give=[line(mine)], take=[line(theirs, 2)], note="Привет!")
    assert proposed.status_code == 201, proposed.json
    trade = proposed.json
    tid = trade["id"]
    assert (trade["kind"], trade["status"], trade["version"]) == ("swap", "proposed", 1)
    assert trade["actions"] == ["counter", "cancel"] and trade["waiting_for"] == ["Olga"]
    assert [(p["display_name"], p["accepted"]) for p in trade["parties"]] == [
        ("Ivan", True), ("Olga", False)
    ]  # fmt: skip
    assert {(i["have_id"], i["quantity"], i["giver_id"]) for i in trade["items"]} == {
        (mine, 1, ivan.id), (theirs, 2, olga.id)
    }  # fmt: skip
    assert trade["versions"][0]["note"] == "Привет!" and trade["parcels"] == []
    assert [h["action"] for h in trade["history"]] == ["proposed"]

    assert tid in olga.listed("act") and tid not in olga.listed("open")
    assert tid in ivan.listed("open") and tid not in ivan.listed("act")
    assert olga.get(tid)["actions"] == ["accept", "counter", "decline"]

    countered = olga.act(
        tid, "counter", give=[line(theirs)], take=[line(mine), line(extra)], note="и ещё этот"
    )
    assert countered["version"] == 2 and countered["waiting_for"] == ["Ivan"]
    assert [v["author"] for v in countered["versions"]] == ["Ivan", "Olga"]
    assert [len(v["items"]) for v in countered["versions"]] == [2, 3]
    assert countered["actions"] == ["counter", "cancel"]
    assert olga.try_(tid, "accept").status_code == 409  # her own terms
    assert ivan.get(tid)["actions"] == ["accept", "counter", "decline"]

    accepted = ivan.act(tid, "accept")
    assert accepted["status"] == "accepted" and accepted["waiting_for"] == []
    assert all(i["reserved"] for i in accepted["items"])
    assert accepted["actions"] == ["ship", "receive", "cancel"]

    posted = ivan.act(tid, "ship", tracking="RA 123456789 EE")
    to_olga = next(p for p in posted["parcels"] if p["receiver_id"] == olga.id)
    assert to_olga["tracking"] == "RA 123456789 EE" and to_olga["shipped_at"] is not None
    assert posted["actions"] == ["receive", "dispute"]
    assert olga.try_(tid, "cancel").status_code == 409  # a parcel is on its way
    olga.act(tid, "ship")
    olga.act(tid, "receive", **{"from": ivan.id})
    assert ivan.get(tid)["status"] == "accepted"
    done = ivan.act(tid, "receive")
    assert done["status"] == "completed" and done["completed_at"] is not None
    assert done["actions"] == []
    assert [h["action"] for h in done["history"]] == [
        "proposed", "countered", "accepted", "shipped", "shipped", "received", "received",
        "completed",
    ]  # fmt: skip
    assert tid in ivan.listed("finished") and tid in olga.listed("finished")

    assert owned(ivan.id) == {pins["theirs"]: 1}
    assert owned(olga.id) == {pins["theirs"]: 2, pins["mine"]: 1, pins["extra"]: 1}
    assert db.session.scalars(select(Want).where(Want.user_id == olga.id)).all() == []


def test_a_ring_from_the_solve_goes_round_its_loop_to_completion(client: FlaskClient) -> None:
    anna, boris, vera, gleb = collectors(client, "Anna", "Boris", "Vera", "Gleb")
    members = [anna, boris, vera]
    proposal, loop = proposed_ring([m.user for m in members])
    pins, first_copy = [c.pin_id for c in loop], loop[0].id
    url = f"{API}/rings/{proposal.id}"

    opened = boris.call("POST", url)
    assert opened.status_code == 201, opened.json
    tid = opened.json["id"]
    assert opened.json["kind"] == "ring" and opened.json["actions"] == ["accept", "decline"]
    again = anna.call("POST", url)
    assert again.status_code == 200 and again.json["id"] == tid  # one trade per loop
    assert gleb.call("POST", url).status_code == 404
    assert gleb.call("POST", f"{API}/rings/{MAX_ID}").status_code == 404
    assert anna.try_(tid, "counter", give=[line(first_copy)]).status_code == 409

    anna.act(tid, "accept")
    second = boris.act(tid, "accept")
    assert second["status"] == "proposed" and second["waiting_for"] == ["Vera"]
    assert vera.act(tid, "accept")["status"] == "accepted"

    for n, member in enumerate(members):
        seen = member.act(tid, "ship")
        for parcel in seen["parcels"]:
            if parcel["giver_id"] == member.id:
                receiver = members[(n + 1) % 3].name
                assert parcel["ship_to"] and parcel["ship_to"][0] == receiver
            else:
                assert parcel["ship_to"] is None
    for member in members[:2]:
        assert member.act(tid, "receive")["status"] == "accepted"
    assert vera.act(tid, "receive")["status"] == "completed"
    for n, member in enumerate(members):
        assert owned(member.id) == {pins[(n - 1) % 3]: 1}


def test_each_collector_sees_only_the_address_they_post_to(client: FlaskClient) -> None:
    ivan, olga = collectors(client, "Ivan", "Olga")
    (mine,), (theirs,) = copies(ivan, 1), copies(olga, 1)
    dacha = AddressFactory(user=olga.user, name="Ольга на даче", is_default=False).id
    someone_elses = AddressFactory(user=ivan.user, is_default=False).id
    tid = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    assert all(p["ship_to"] is None for p in ivan.get(tid)["parcels"])

    refused = olga.try_(tid, "accept", address_id=someone_elses)
    assert refused.status_code == 404 and "address_id" in refused.json["errors"]
    olga.act(tid, "accept", address_id=dacha)

    for me, other in ((ivan, olga), (olga, ivan)):
        parcels = me.get(tid)["parcels"]
        posted = next(p for p in parcels if p["giver_id"] == me.id)
        coming = next(p for p in parcels if p["receiver_id"] == me.id)
        assert posted["receiver_id"] == other.id and posted["ship_to"]
        assert coming["ship_to"] is None
    assert ivan.get(tid)["parcels"][0]["ship_to"][0] == "Ольга на даче"
    to_ivan = next(p for p in olga.get(tid)["parcels"] if p["receiver_id"] == ivan.id)
    assert to_ivan["ship_to"][0] == "Ivan"


def test_a_moderator_reads_a_dispute_without_addresses_and_never_acts(
    client: FlaskClient,
) -> None:
    ivan, olga = collectors(client, "Ivan", "Olga")
    moderator = Collector(client, UserFactory(moderator=True), ivan.spec)
    (mine,), (theirs,) = copies(ivan, 1), copies(olga, 1)
    tid = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    olga.act(tid, "accept")
    assert moderator.call("GET", f"{API}/{tid}").status_code == 404  # not disputed yet
    ivan.act(tid, "ship")
    olga.act(tid, "dispute", reason="Пришёл сломанный")

    seen = moderator.get(tid)
    assert seen["status"] == "disputed" and seen["actions"] == []
    assert all(p["ship_to"] is None for p in seen["parcels"])
    assert tid not in moderator.listed()
    with unchanged():
        assert moderator.try_(tid, "receive").status_code == 404


def test_copies_not_yours_not_theirs_or_not_free_are_refused(client: FlaskClient) -> None:
    ivan, olga, petr = collectors(client, "Ivan", "Olga", "Petr")
    (mine,), (theirs,), (stranger,) = copies(ivan, 1), copies(olga, 2), copies(petr, 1)
    with unchanged():
        not_mine = ivan.propose(olga, give=[line(stranger)], take=[line(theirs)])
        assert not_mine.status_code == 403 and "give" in not_mine.json["errors"]
        not_theirs = ivan.propose(olga, give=[line(mine)], take=[line(stranger)])
        assert not_theirs.status_code == 404 and "take" in not_theirs.json["errors"]
        too_many = ivan.propose(olga, give=[line(mine)], take=[line(theirs, 3)])
        assert too_many.status_code == 409 and "Only 2" in too_many.json["detail"]
        nobody = ivan.call("POST", API, {"counterpart_id": MAX_ID, "give": [line(mine)]})
        assert nobody.status_code == 404 and "counterpart_id" in nobody.json["errors"]
        myself = ivan.propose(ivan, give=[line(mine)])
        assert myself.status_code == 400 and "counterpart_id" in myself.json["errors"]

    tid = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    with unchanged():
        assert olga.try_(tid, "counter", give=[line(mine)]).status_code == 403
        assert olga.try_(tid, "counter", take=[line(stranger)]).status_code == 404
        assert olga.try_(tid, "counter", give=[line(theirs, 5)]).status_code == 409


def test_nobody_acts_out_of_turn(client: FlaskClient) -> None:
    ivan, olga = collectors(client, "Ivan", "Olga")
    (mine,), (theirs,) = copies(ivan, 1), copies(olga, 1)
    tid = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    with unchanged():
        for who, action, body in (
            (ivan, "accept", {}),  # his own terms
            (ivan, "decline", {}),  # waiting for Olga
            (olga, "ship", {}),  # nothing agreed yet
            (olga, "receive", {}),
            (olga, "dispute", {"reason": "где посылка?"}),
        ):
            refused = who.try_(tid, action, **body)
            assert refused.status_code == 409, (action, refused.json)
            assert refused.mimetype == "application/problem+json"
    olga.act(tid, "accept")
    with unchanged():
        assert olga.try_(tid, "counter", give=[line(theirs)]).status_code == 409
        assert olga.try_(tid, "accept").status_code == 409
        assert olga.try_(tid, "dispute", reason="nothing came").status_code == 409
    ivan.act(tid, "ship")
    with unchanged():
        assert ivan.try_(tid, "ship").status_code == 409  # posted already


def test_cancel_withdraws_a_proposal_or_calls_off_an_agreed_trade(client: FlaskClient) -> None:
    ivan, olga = collectors(client, "Ivan", "Olga")
    (mine,), (theirs,) = copies(ivan, 1), copies(olga, 1)

    first = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    withdrawn = ivan.act(first, "cancel", reason="передумал")
    assert withdrawn["status"] == "cancelled" and withdrawn["close_reason"] == "передумал"

    second = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    olga.act(second, "accept")
    called_off = olga.act(second, "cancel")
    assert called_off["status"] == "cancelled"
    db.session.expire_all()
    assert db.session.get(Have, mine).reserved == db.session.get(Have, theirs).reserved == 0

    third = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    assert olga.act(third, "decline", reason="нет")["status"] == "declined"

    fourth = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    olga.act(fourth, "accept")
    ivan.act(fourth, "ship")
    disputed = olga.act(fourth, "dispute", reason="Пришёл сломанный")
    assert disputed["status"] == "disputed" and disputed["actions"] == []
    assert [t for t in olga.listed("open")] == [fourth]
    assert sorted(olga.listed("finished")) == [first, second, third]


def test_a_stranger_gets_not_found_on_every_trade_route(client: FlaskClient) -> None:
    ivan, olga, petr = collectors(client, "Ivan", "Olga", "Petr")
    (mine,), (theirs,), (his,) = copies(ivan, 1), copies(olga, 1), copies(petr, 1)
    tid = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    bodies = {
        "accept": {},
        "decline": {"reason": "no"},
        "counter": {"give": [line(his)], "take": [line(mine)]},
        "cancel": {},
        "ship": {"tracking": "X1"},
        "receive": {},
        "dispute": {"reason": "?"},
    }
    assert set(bodies) == set(ACTIONS)
    for stage in ("proposed", "accepted"):
        with unchanged():
            assert petr.call("GET", f"{API}/{tid}").status_code == 404
            for action, body in bodies.items():
                response = petr.try_(tid, action, **body)
                assert response.status_code == 404, (stage, action, response.json)
            assert tid not in petr.listed()
        if stage == "proposed":
            olga.act(tid, "accept")
    with unchanged():
        for missing in (tid + 1000, MAX_ID):
            assert ivan.call("GET", f"{API}/{missing}").status_code == 404
            assert ivan.try_(missing, "accept").status_code == 404
        assert ivan.call("GET", f"{API}/{MAX_ID + 1}").status_code == 404
        assert ivan.call("GET", f"{API}/0").status_code == 404


def test_calls_without_a_token_are_refused(client: FlaskClient) -> None:
    (ivan,) = collectors(client, "Ivan")
    ivan.headers = {}
    assert ivan.call("GET", API).status_code == 401
    assert ivan.call("POST", API, {"counterpart_id": 1}).status_code == 401
    assert ivan.call("POST", f"{API}/rings/1").status_code == 401
    assert ivan.call("GET", f"{API}/1").status_code == 401
    for action in ACTIONS:
        assert ivan.try_(1, action).status_code == 401


LONG = "я" * 2001


def test_bad_bodies_are_refused_field_by_field_and_change_nothing(client: FlaskClient) -> None:
    ivan, olga = collectors(client, "Ivan", "Olga")
    (mine,), (theirs,) = copies(ivan, 1), copies(olga, 1)
    tid = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    ok = {"counterpart_id": olga.id, "give": [line(mine)], "take": [line(theirs)]}
    m = mine
    proposals: list[tuple[Any, str]] = [
        ({}, "counterpart_id"),
        ({**ok, "counterpart_id": 0}, "counterpart_id"),
        ({**ok, "counterpart_id": MAX_ID + 1}, "counterpart_id"),
        ({**ok, "counterpart_id": "Ольга"}, "counterpart_id"),
        ({**ok, "give": [{"have_id": m, "quantity": 0}]}, "give"),
        ({**ok, "give": [{"have_id": m, "quantity": 10_001}]}, "give"),
        ({**ok, "give": [{"have_id": -1}]}, "give"),
        ({**ok, "give": [{"quantity": 1}]}, "give"),
        ({**ok, "give": [{"have_id": m, "colour": "red"}]}, "give"),
        ({**ok, "give": [line(mine), line(mine)]}, "give"),
        ({**ok, "give": [{"have_id": n} for n in range(1, 102)]}, "give"),
        ({**ok, "give": "all of them"}, "give"),
        ({**ok, "take": [{"have_id": MAX_ID + 1}]}, "take"),
        ({"counterpart_id": olga.id}, "give"),  # nothing moves
        ({**ok, "note": LONG}, "note"),
        ({**ok, "address_id": 0}, "address_id"),
        ({**ok, "colour": "red"}, "colour"),
    ]
    actions: list[tuple[str, Any, str]] = [
        ("counter", {"give": [line(theirs)], "take": [line(mine)], "extra": 1}, "extra"),
        ("counter", {}, "give"),
        ("counter", {"counterpart_id": ivan.id, "give": [line(theirs)]}, "counterpart_id"),
        ("accept", {"address_id": -5}, "address_id"),
        ("accept", {"address": "Moscow"}, "address"),
        ("decline", {"reason": LONG}, "reason"),
        ("cancel", {"reason": 7}, "reason"),
        ("ship", {"tracking": "9" * 101}, "tracking"),
        ("ship", {"to": 0}, "to"),
        ("receive", {"from": "Ivan"}, "from"),
        ("receive", {"sender": ivan.id}, "sender"),
        ("dispute", {}, "reason"),
        ("dispute", {"reason": "   "}, "reason"),
        ("dispute", {"reason": LONG}, "reason"),
    ]
    with unchanged():
        for body, field in proposals:
            response = ivan.call("POST", API, body)
            assert response.status_code == 422, (body, response.json)
            assert field in response.json["errors"], (body, response.json)
        for action, body, field in actions:
            response = olga.call("POST", f"{API}/{tid}/{action}", body)
            assert response.status_code == 422, (action, body, response.json)
            assert field in response.json["errors"], (action, body, response.json)
        for body in ([], "accept", 42):
            response = olga.call("POST", f"{API}/{tid}/accept", body)
            assert response.status_code == 422, (body, response.json)
        assert ivan.call("GET", f"{API}?group=mine").status_code == 422
        assert ivan.call("GET", f"{API}?page=0").status_code == 422


def test_the_listing_is_grouped_and_paged_newest_first(client: FlaskClient) -> None:
    ivan, olga = collectors(client, "Ivan", "Olga")
    ids = [ivan.propose(olga, take=[line(c)]).json["id"] for c in copies(olga, 1, 1, 1, 1, 1)]
    ivan.act(ids[0], "cancel")
    olga.act(ids[1], "accept")

    page = ivan.call("GET", f"{API}?page=1&page_size=2")
    assert [t["id"] for t in page.json] == [ids[1], ids[0]]  # the latest changed first
    assert '"total": 5' in page.headers["X-Pagination"]
    assert "versions" not in page.json[0] and "history" not in page.json[0]
    rest = ivan.call("GET", f"{API}?page=2&page_size=2").json
    assert [t["id"] for t in rest] == [ids[4], ids[3]]
    assert ivan.call("GET", f"{API}?page=99999&page_size=100").json == []
    assert ivan.call("GET", f"{API}?page=999999999999&page_size=100").status_code == 422

    assert ivan.listed("act") == [ids[1]]  # agreed: his parcel to post
    assert ivan.listed("open") == [ids[4], ids[3], ids[2]]
    assert ivan.listed("finished") == [ids[0]]
    assert olga.listed("act") == [ids[1], ids[4], ids[3], ids[2]]
    act = olga.call("GET", f"{API}?group=act&page=2&page_size=3")
    assert [t["id"] for t in act.json] == [ids[2]]
    assert '"total": 4' in act.headers["X-Pagination"]


def test_the_openapi_document_describes_every_trade_route(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    item = "/api/v1/trades/{trade_id}"
    expected = {
        "/api/v1/trades": {"get", "post"},
        "/api/v1/trades/rings/{proposal_id}": {"post"},
        item: {"get"},
        **{f"{item}/{action}": {"post"} for action in ACTIONS},
    }
    schemas = spec["components"]["schemas"]

    def ref(content: dict[str, Any]) -> str:
        schema = content["application/json"]["schema"]
        return str(schema.get("$ref") or schema["items"]["$ref"]).rsplit("/", 1)[-1]

    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert operation["security"] == [{"bearerAuth": []}]
            assert operation["summary"], (path, method)
            ok = operation["responses"].get("200") or operation["responses"]["201"]
            listing = (path, method) == ("/api/v1/trades", "get")
            assert ref(ok["content"]) == ("TradeSummaryOut" if listing else "TradeOut")
            errors = ("401", "404", "default") if path != "/api/v1/trades" else ("401", "default")
            for status in errors:
                problem = operation["responses"][status]["content"]["application/problem+json"]
                assert problem["schema"]["$ref"].endswith("/TradeProblemOut")
            if method == "post" and "rings" not in path:
                body = operation["requestBody"]["content"]["application/json"]["schema"]
                assert body["$ref"].rsplit("/", 1)[-1] in schemas
                assert "422" in operation["responses"]

    bodies = {
        path: paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        for path in expected
        if "post" in expected[path] and "rings" not in path
    }
    assert bodies["/api/v1/trades"].endswith("/TradeProposalIn")
    assert bodies[f"{item}/counter"].endswith("/TradeTermsIn")
    assert bodies[f"{item}/dispute"].endswith("/TradeDisputeIn")
    assert schemas["TradeDisputeIn"]["required"] == ["reason"]
    assert paths[f"{item}/accept"]["post"]["requestBody"]["required"] is False
    assert "from" in schemas["TradeReceiveIn"]["properties"]
    line_in = schemas["TradeLineIn"]["properties"]
    assert (line_in["have_id"]["minimum"], line_in["have_id"]["maximum"]) == (1, MAX_ID)
    assert (line_in["quantity"]["minimum"], line_in["quantity"]["maximum"]) == (1, 10_000)
    assert schemas["TradeTermsIn"]["properties"]["give"]["maxItems"] == 100
    assert schemas["TradeTermsIn"]["properties"]["note"]["maxLength"] == 2000
    assert schemas["TradeShipIn"]["properties"]["tracking"]["maxLength"] == 100
    out = schemas["TradeOut"]
    for name, nested in (
        ("parties", "TradePartyOut"), ("items", "TradeItemOut"), ("versions", "TradeVersionOut"),
        ("parcels", "TradeParcelOut"), ("history", "TradeEventOut"),
    ):  # fmt: skip
        assert out["properties"][name]["items"]["$ref"].endswith(f"/{nested}")
        assert name in out["required"]
    ours = [n for n, o in vars(trades_api).items() if isinstance(o, type) and issubclass(o, Schema)]
    assert len(ours) > 10
    for name in set(ours) - {"Schema", "TradeProblemOut", "TradeListQuery"}:  # query: inlined
        assert schemas[name]["additionalProperties"] is False, name  # unknown fields refused
    group = next(p for p in paths["/api/v1/trades"]["get"]["parameters"] if p["name"] == "group")
    assert group["schema"]["enum"] == ["act", "open", "finished", "all"]
    trade_id = paths[item]["parameters"][0]["schema"]
    assert (trade_id["minimum"], trade_id["maximum"]) == (1, MAX_ID)


# Any JSON a client might send: whatever it is, the answer is documented, never a
# server error, and a stranger's or a bad one changes nothing.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
LINES = st.lists(
    st.fixed_dictionaries({"have_id": st.integers(-3, 40)}, optional={"quantity": JSON}),
    max_size=3,
)
BODY = st.fixed_dictionaries(
    {},
    optional={
        "counterpart_id": st.integers(-3, 40) | JSON, "give": LINES | JSON, "take": LINES,
        "note": JSON, "address_id": JSON, "reason": JSON, "tracking": JSON, "to": JSON,
        "from": JSON,
    },
) | JSON  # fmt: skip


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=BODY, action=st.sampled_from(("propose", *ACTIONS)))
def test_any_body_gets_a_documented_answer(app_ctx: Flask, body: Any, action: str) -> None:
    # Requests commit, so each example makes collectors of its own rather than
    # rolling back; the test's outer transaction drops them all at the end.
    ivan, olga, petr = collectors(app_ctx.test_client(), "Ivan", "Olga", "Petr")
    (mine,), (theirs,) = copies(ivan, 1), copies(olga, 1)
    tid = ivan.propose(olga, give=[line(mine)], take=[line(theirs)]).json["id"]
    if action == "propose":
        answer = olga.call("POST", API, body)
        assert answer.status_code in (201, 400, 403, 404, 409, 422), answer.json
        return
    with unchanged():
        answer = petr.call("POST", f"{API}/{tid}/{action}", body)
        assert answer.status_code in (404, 422), answer.json
    answer = olga.call("POST", f"{API}/{tid}/{action}", body)
    assert answer.status_code in (200, 400, 403, 404, 409, 422), answer.json
