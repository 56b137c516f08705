"""The demo catalogue, loaded once into a database of its own (committed, so
every relevance test reads the same catalogue without loading it again)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from marketplace import create_app
from marketplace.catalogue.operations import load_demo_catalogue
from marketplace.core.extensions import db
from tests.support.app import RequestClient, committed_database, make_settings, migrate


@pytest.fixture(scope="module")
def demo_app(request: pytest.FixtureRequest, workdir: Path) -> Iterator[Flask]:
    url = committed_database(request.config, workdir, "znachki_relevance")
    app = create_app(make_settings(url, workdir), OUTBOX_RELAY=False)
    app.test_client_class = RequestClient
    migrate(app)
    with app.app_context():
        load_demo_catalogue(db.session())
        db.session.commit()
        db.session.remove()
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture()
def demo(demo_app: Flask) -> Iterator[Flask]:
    """An app context on the demo catalogue; whatever a test writes is rolled back."""
    with demo_app.app_context():
        yield demo_app
        db.session.rollback()
        db.session.remove()
