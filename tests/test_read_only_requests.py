"""Which units of work only read (`core.db.reads_only`): requests by a safe
method, unless their view is marked `writes_on_get` or they asked for the write
lock; and the guard that makes a write in such a request fail under testing, so
no GET view writes unmarked."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask, g
from sqlalchemy import select, text, update

from marketplace.accounts.models import ApiToken
from marketplace.core.db import WriteInReadOnlyRequest, reads_only, take_write_lock
from marketplace.core.extensions import db
from marketplace.lists.models import CollectionPage
from tests.support.factories import make_user
from tests.support.web import api_token, bearer, login


def test_safe_methods_only_read_and_the_rest_write(app_ctx: Flask) -> None:
    for method in ("GET", "HEAD", "OPTIONS"):
        with app_ctx.test_request_context("/pins", method=method):
            assert reads_only(), method
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        with app_ctx.test_request_context("/api/v1/me/haves", method=method):
            assert not reads_only(), method
    assert not reads_only()  # a task or a command: no request at all


def test_views_that_write_when_opened_are_marked_and_take_the_lock(app_ctx: Flask) -> None:
    marked = {
        rule.endpoint
        for rule in app_ctx.url_map.iter_rules()
        if getattr(app_ctx.view_functions[rule.endpoint], "writes_on_get", False)
    }
    # Pages and API resources alike keep the mark through their decorators.
    assert {"accounts.verify", "messages.thread", "trades.ring"} <= marked
    assert "api_messages.list_messages" in marked
    with app_ctx.test_request_context("/account/verify/a-secret"):
        assert not reads_only()
    with app_ctx.test_request_context("/pins"):
        assert reads_only()
        take_write_lock(db.session())
        assert not reads_only()


def test_a_write_in_a_request_that_only_reads_fails(app_ctx: Flask) -> None:
    with app_ctx.test_request_context("/pins"):
        assert db.session.execute(text("SELECT 1")).scalar() == 1
        with pytest.raises(WriteInReadOnlyRequest, match=r"GET /pins \(catalogue.pins\)"):
            db.session.execute(text("UPDATE pins SET version = version WHERE id = 0"))
    db.session.rollback()
    with app_ctx.test_request_context("/pins", method="POST"):
        db.session.execute(text("UPDATE pins SET version = version WHERE id = 0"))


def test_a_token_records_its_use_once_a_minute(app_ctx: Flask) -> None:
    token = api_token(make_user("ivan@example.org"))
    client = app_ctx.test_client()

    def last_used() -> datetime:
        db.session.expire_all()
        used = db.session.scalar(select(ApiToken.last_used_at))
        assert used is not None
        return used

    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    first = last_used()
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert last_used() == first  # within the minute: the request only read
    db.session.execute(update(ApiToken).values(last_used_at=first - timedelta(minutes=2)))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert last_used() > first
    assert not g.get("takes_write_lock")  # each request had its own `g`


def test_the_lists_overview_writes_only_to_make_the_collection_page(app_ctx: Flask) -> None:
    """The first visit makes the page (taking the write lock then); later visits
    only read, or the guard would fail them."""
    ivan = make_user("ivan@example.org")
    client = app_ctx.test_client()
    login(client)
    assert db.session.get(CollectionPage, ivan.id) is None
    assert client.get("/lists/").status_code == 200
    made = db.session.scalar(select(CollectionPage).where(CollectionPage.user_id == ivan.id))
    assert made is not None
    assert client.get("/lists/").status_code == 200
    assert db.session.scalar(select(CollectionPage.slug)) == made.slug
