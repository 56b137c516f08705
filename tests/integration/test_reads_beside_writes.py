"""Pages are served while another process writes. On SQLite a unit of work that
writes holds the database's one write lock until it commits; a request that only
reads (GET to a view not marked `writes_on_get`) begins a deferred transaction
instead and reads a snapshot, so it neither waits for the writer nor sees what
the writer has not committed. A request that writes still waits its turn."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from marketplace.catalogue.models import Pin

pytestmark = pytest.mark.integration

# Far less than SQLite's busy timeout (30 s): a page that waited for the lock
# would still be waiting when this is up.
PATIENCE_S = 10


def _in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        result["response"] = call()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_a_page_is_served_while_a_writer_holds_the_lock(live_app: Flask) -> None:
    writer = live_app.extensions["db_engine"].connect()
    writer.begin()  # not a request: on SQLite, BEGIN IMMEDIATE (the write lock)
    try:
        pending = Pin(
            ref="LOCK-0001", variant_group="LOCK-0001", printed_refs=[],
            title_en="Lockheld Lunokhod", is_synthetic=False,
        )  # fmt: skip
        with Session(bind=writer) as session:
            session.add(pending)
            session.flush()
        page, shown = _in_thread(lambda: live_app.test_client().get("/pins?q=Lockheld"))
        page.join(PATIENCE_S)
        served_while_locked = not page.is_alive()
        sign_in = {"email": "nobody@example.org", "password": "not-a-password", "name": "t"}
        saved, posted = _in_thread(
            lambda: live_app.test_client().post("/api/v1/tokens", json=sign_in)
        )
        saved.join(1)
        post_waited = saved.is_alive()
    finally:
        writer.rollback()
        writer.close()
    page.join(60)
    saved.join(60)
    assert served_while_locked, "the page waited for the writer"
    assert shown["response"].status_code == 200
    assert b"LOCK-0001" not in shown["response"].data  # not committed: not shown
    if writer.dialect.name == "sqlite":
        assert post_waited, "a request that writes did not wait for the lock"
    assert posted["response"].status_code == 401
