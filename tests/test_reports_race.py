"""Reports under real concurrency, on committed data: a member's clicks on
"report" arriving at the same instant — each in a thread of its own with its own
app context, session and connection, committed as a request is — file one open
report, and every click is answered with that report. The migration that makes
this a rule of the table answers duplicates filed before it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.extensions import db
from marketplace.reports.models import Report
from marketplace.reports.operations import Reports
from tests.support.app import ROOT, app_on_own_database, migrate, wipe
from tests.support.factories import make_user
from tests.support.trade_races import at_once, wide_engine

CLICKS = {"postgresql": 24, "sqlite": 6}


@pytest.fixture(scope="module")
def race_app(request: pytest.FixtureRequest, workdir: Path) -> Iterator[Flask]:
    with app_on_own_database(request.config, workdir, "znachki_reports_race") as app:
        migrate(app)
        wide_engine(app, 32)
        yield app


def members(app: Flask) -> tuple[int, int]:
    """A reporter and the member whose profile they report, committed."""
    wipe(app)
    with app.app_context():
        reporter = make_user("olga@example.org", name="Ольга")
        reported = make_user("spammer@example.org", name="Spam Shop")
        db.session.commit()
        return reporter.id, reported.id


def file_as_a_request(app: Flask, reporter_id: int, profile_id: int) -> tuple[int, bool]:
    with app.app_context():
        try:
            reporter = db.session.get(User, reporter_id)
            assert reporter is not None
            report, new = Reports(db.session()).file(reporter, "profile", profile_id, "spam")
            db.session.commit()
            return report.id, new
        finally:
            db.session.remove()


def open_reports(app: Flask) -> list[tuple[int, str]]:
    with app.app_context():
        rows = db.session.execute(select(Report.id, Report.status).order_by(Report.id)).all()
        db.session.remove()
        return [(r.id, r.status) for r in rows]


def test_clicks_at_the_same_instant_file_one_open_report(race_app: Flask) -> None:
    reporter, profile = members(race_app)
    clicks = CLICKS[race_app.extensions["db_engine"].dialect.name]

    answers = at_once(clicks, lambda _: file_as_a_request(race_app, reporter, profile))

    stored = open_reports(race_app)
    assert len(stored) == 1 and stored[0][1] == "open"
    assert {report_id for report_id, _new in answers} == {stored[0][0]}
    assert sum(new for _id, new in answers) == 1


def test_an_answered_report_may_be_followed_by_a_new_one(race_app: Flask) -> None:
    reporter, profile = members(race_app)
    first, _ = file_as_a_request(race_app, reporter, profile)
    with race_app.app_context():
        report = db.session.get(Report, first)
        assert report is not None
        report.status = "dismissed"
        db.session.commit()
        db.session.remove()

    second, new = file_as_a_request(race_app, reporter, profile)

    assert new and second != first
    assert open_reports(race_app) == [(first, "dismissed"), (second, "open")]


def test_duplicates_filed_before_the_rule_are_answered_by_the_migration(
    request: pytest.FixtureRequest, workdir: Path
) -> None:
    """`0014openreports` keeps the earliest open report of each member and item
    open and dismisses the later ones with a note naming it; other members' and
    answered reports are left as they were."""
    from flask_migrate import downgrade, upgrade

    directory = str(ROOT / "migrations")
    own_database = app_on_own_database(request.config, workdir, "znachki_reports_migration")
    with own_database as app, app.app_context():
        upgrade(directory=directory, revision="heads")
        olga = make_user("olga@example.org", name="Ольга")
        ivan = make_user("ivan@example.org", name="Иван")
        shop = make_user("spammer@example.org", name="Spam Shop")
        db.session.commit()
        downgrade(directory=directory, revision="0013titles")
        rows = [
            (olga.id, "open"), (olga.id, "open"), (olga.id, "open"),
            (ivan.id, "open"), (olga.id, "warned"),
        ]  # fmt: skip
        with db.engine.begin() as conn:
            for reporter_id, status in rows:
                conn.execute(
                    sa.insert(Report.__table__).values(
                        reporter_id=reporter_id, target_kind="profile", target_id=shop.id,
                        target_user_id=shop.id, reason="spam", details="", status=status,
                        created_at=sa.func.current_timestamp(), resolution_note="",
                    )
                )  # fmt: skip
        db.session.remove()

        upgrade(directory=directory, revision="heads")

        found = db.session.execute(
            select(Report.reporter_id, Report.status, Report.resolution_note).order_by(Report.id)
        ).all()
        first = db.session.scalar(select(sa.func.min(Report.id)))
        note = f"Filed again while report {first} was open."
        assert [tuple(row) for row in found] == [
            (olga.id, "open", ""),
            (olga.id, "dismissed", note),
            (olga.id, "dismissed", note),
            (ivan.id, "open", ""),
            (olga.id, "warned", ""),
        ]
        db.session.remove()
