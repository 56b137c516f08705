"""Reports through the API: filing one (201, the same open one again 200), the
caller's reports with their status, 404 for what the caller cannot see, 422
naming the field for a bad reason or oneself; the moderators' queue and
resolutions (403 for everyone else, 409 for an answered report), with their
effects: a hidden message, a withdrawn listing, a suspended member's token."""

from __future__ import annotations

from flask import Flask

from marketplace.core.extensions import db
from marketplace.lists.models import Have
from marketplace.messages.models import Message
from tests.support.reports import direct_thread, listing_of
from tests.support.trades import trader
from tests.support.web import api_token, bearer


def test_filing_and_reading_my_reports(app_ctx: Flask) -> None:
    anna, boris, vera = trader("Anna"), trader("Boris"), trader("Vera")
    message = direct_thread(boris, anna, "Buy my fakes")
    client, headers = app_ctx.test_client(), bearer(api_token(anna))
    body = {"kind": "message", "id": message.id, "reason": "spam", "details": "Again"}
    made = client.post("/api/v1/reports", json=body, headers=headers)
    assert made.status_code == 201, made.json
    assert made.json["status"] == "open" and made.json["target_id"] == message.id
    again = client.post("/api/v1/reports", json={**body, "reason": "fraud"}, headers=headers)
    assert again.status_code == 200 and again.json["id"] == made.json["id"]
    mine = client.get("/api/v1/me/reports", headers=headers)
    assert [(r["id"], r["status"], r["reason"]) for r in mine.json] == [
        (made.json["id"], "open", "spam")
    ]

    vera_headers = bearer(api_token(vera))
    unreadable = client.post("/api/v1/reports", json=body, headers=vera_headers)
    assert unreadable.status_code == 404
    missing = client.post("/api/v1/reports", json={**body, "id": 999999}, headers=vera_headers)
    assert missing.status_code == 404
    bad = client.post("/api/v1/reports", json={**body, "reason": "boring"}, headers=headers)
    assert bad.status_code == 422 and "reason" in bad.json["errors"]
    myself = {"kind": "profile", "id": anna.id, "reason": "other"}
    refused = client.post("/api/v1/reports", json=myself, headers=headers)
    assert refused.status_code == 422 and "id" in refused.json["errors"]
    too_long = client.post("/api/v1/reports", json={**body, "details": "x" * 2001}, headers=headers)
    assert too_long.status_code == 422 and "details" in too_long.json["errors"]
    assert client.post("/api/v1/reports", json=body).status_code == 401


def test_moderators_resolve_and_others_get_403(app_ctx: Flask) -> None:
    anna, boris, seller = trader("Anna"), trader("Boris"), trader("Petr")
    nina = trader("Nina")
    nina.is_moderator = True
    message = direct_thread(boris, anna, "<svg onload=alert(1)>")
    copy = listing_of(seller)
    client = app_ctx.test_client()
    anna_headers, mod_headers = bearer(api_token(anna)), bearer(api_token(nina))
    seller_token = api_token(seller)
    filed = [
        client.post("/api/v1/reports", json=b, headers=anna_headers).json["id"]
        for b in (
            {"kind": "message", "id": message.id, "reason": "abuse"},
            {"kind": "listing", "id": copy.id, "reason": "counterfeit"},
        )
    ]
    assert client.get("/api/v1/moderation/reports", headers=anna_headers).status_code == 403
    forbidden = client.post(
        f"/api/v1/moderation/reports/{filed[0]}/resolve",
        json={"action": "hide"},
        headers=anna_headers,
    )
    assert forbidden.status_code == 403

    queue = client.get("/api/v1/moderation/reports", headers=mod_headers)
    assert queue.status_code == 200
    assert [r["id"] for r in queue.json] == filed  # oldest first
    assert queue.json[0]["item"]["text"] == "<svg onload=alert(1)>"
    assert queue.json[0]["member"]["id"] == boris.id

    hidden = client.post(
        f"/api/v1/moderation/reports/{filed[0]}/resolve",
        json={"action": "hide", "note": "abusive"},
        headers=mod_headers,
    )
    assert hidden.status_code == 200 and hidden.json["status"] == "hidden"
    assert hidden.json["resolution_note"] == "abusive"
    db.session.expire_all()
    assert db.session.get(Message, message.id).hidden_at is not None
    twice = client.post(
        f"/api/v1/moderation/reports/{filed[0]}/resolve",
        json={"action": "dismiss"},
        headers=mod_headers,
    )
    assert twice.status_code == 409
    unknown = client.post(
        f"/api/v1/moderation/reports/{filed[1]}/resolve",
        json={"action": "ban"},
        headers=mod_headers,
    )
    assert unknown.status_code == 422 and "action" in unknown.json["errors"]

    suspended = client.post(
        f"/api/v1/moderation/reports/{filed[1]}/resolve",
        json={"action": "suspend", "note": "Sells fakes"},
        headers=mod_headers,
    )
    assert suspended.status_code == 200 and suspended.json["member"]["suspended"] is True
    assert client.get("/api/v1/me", headers=bearer(seller_token)).status_code == 401
    db.session.expire_all()
    assert db.session.get(Have, copy.id).price is not None  # suspended, not hidden
    mine = client.get("/api/v1/me/reports", headers=anna_headers)
    assert {r["status"] for r in mine.json} == {"hidden", "suspended"}
