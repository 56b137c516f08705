"""The schema only changes through Alembic: the migrated database must match the
models exactly (what `alembic check` verifies), on SQLite and on PostgreSQL."""

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import select

from marketplace.core.extensions import db
from marketplace.core.models import UTCDateTime, include_in_autogenerate, utcnow

PREVIOUS_HEAD = "0008haveholderindex"  # matches kept their pins as JSON documents


def test_models_and_migrations_agree(app_ctx: Flask) -> None:
    conn = db.session.connection()
    context = MigrationContext.configure(
        conn,
        opts={
            "compare_type": True,
            "render_as_batch": True,
            "include_name": include_in_autogenerate,
        },
    )
    diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_database_is_at_head(app_ctx: Flask) -> None:
    from alembic.script import ScriptDirectory
    from flask_migrate import Config

    from tests.support.app import ROOT

    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    current = set(MigrationContext.configure(db.session.connection()).get_current_heads())
    assert current == heads


def test_matches_keep_their_pins_when_the_documents_become_rows(
    request: pytest.FixtureRequest, workdir: Path
) -> None:
    """Matches written in the old shape — pins and score breakdown as JSON
    documents, a long one compressed on PostgreSQL — come through `upgrade heads`
    with every pin as a `match_items` row and the score terms as columns."""
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.lists.operations import Lists
    from marketplace.matches import queries, store
    from marketplace.matches.models import Match, MatchItem, TradeProposal
    from tests.support.app import ROOT, committed_database, make_settings
    from tests.support.catalogue import make_pin

    def old_user(name: str) -> Any:
        """A collector as the old schema stored one (the ORM maps today's columns)."""
        users = sa.table(
            "users", *(sa.column(c) for c in ("id", "email", "display_name", "password_hash")),
            *(sa.column(c) for c in ("email_verified_at", "locale", "timezone")),
            sa.column("is_moderator"), sa.column("created_at", UTCDateTime()),
        )  # fmt: skip
        values = {
            "email": f"{name}@example.org", "display_name": name, "password_hash": "x",
            "locale": "en", "timezone": "UTC", "is_moderator": False, "created_at": utcnow(),
        }  # fmt: skip
        row = db.session.execute(sa.insert(users).values(values).returning(users.c.id)).one()
        return SimpleNamespace(id=row.id, display_name=name)

    url = committed_database(request.config, workdir, "znachki_match_items")
    app = create_app(make_settings(url, workdir), OUTBOX_RELAY=False)
    old = sa.table(
        "matches",
        *(sa.column(name) for name in ("user_id", "kind", "key", "counterpart_id", "proposal_id")),
        *(sa.column(name) for name in ("score", "active", "first_seen_at", "last_seen_at")),
        sa.column("changed_at"),
        sa.column("details", sa.JSON),
        sa.column("explanation", sa.JSON),
    )
    try:
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision=PREVIOUS_HEAD)
            anna, boris, clara = (old_user(n) for n in ("a", "b", "c"))
            lists = Lists(db.session())
            pins = [make_pin(title_en=f"Pin {n}") for n in range(40)]

            def pin_item(giver: Any, receiver: Any, n: int, stars: int = 3) -> dict[str, Any]:
                """A pin as the old documents held it (titles and all)."""
                pin = pins[n]
                have = lists.add_have(giver, pin.id, condition="fine")
                want = lists.add_want(receiver, pin_id=pin.id, priority=stars)
                return {
                    "pin_id": pin.id, "ref": pin.ref, "title": pin.title_en,
                    "variant_group": pin.variant_group, "condition": "fine",
                    "have_id": have.id, "quantity": 1, "tradeable": True, "price": None,
                    "currency": None, "want_id": want.id, "priority": stars,
                    "min_condition": None, "any_variant": False,
                }  # fmt: skip

            proposal = TradeProposal(
                signature="loop", members=[anna.id, boris.id, clara.id], expires_at=utcnow()
            )
            db.session.add(proposal)
            db.session.flush()
            receive, give = [pin_item(boris, anna, 0, 5)], [pin_item(anna, boris, 1, 2)]
            offers = [pin_item(clara, anna, n) for n in range(2, 32)]  # a long document
            ring = [pin_item(clara, anna, 32, 4), pin_item(anna, boris, 33)]
            now = utcnow()
            stamps = {"active": True, "first_seen_at": now, "last_seen_at": now, "changed_at": now}
            documents = [
                (anna, "swap", f"swap:{boris.id}", boris.id, None, 17.0,
                 {"receive": receive, "give": give},
                 {"coverage": 16, "balance": 1.0, "condition": 0.6, "reasons": ["…"]}),
                (boris, "swap", f"swap:{anna.id}", anna.id, None, 2.5,
                 {"receive": give, "give": receive},
                 {"coverage": 2, "balance": 1.0, "condition": 0.6, "reasons": ["…"]}),
                (anna, "offer", f"offer:{clara.id}", clara.id, None, 30.0,
                 {"offers": offers}, {"coverage": 30, "condition": 0.6, "reasons": ["…"]}),
                (anna, "cycle", f"cycle:{proposal.id}", None, proposal.id, 8.0,
                 {"proposal_id": proposal.id, "receive": ring[0], "give": ring[1], "legs": ring,
                  "members": [{"id": anna.id, "name": "a"}], "expires_at": now.isoformat()},
                 {"cycle_length": 3, "priority": 4, "condition": 0.6, "reasons": ["…"]}),
            ]  # fmt: skip
            for user, kind, key, counterpart, proposal_id, score, details, why in documents:
                db.session.execute(
                    sa.insert(old).values(
                        user_id=user.id, kind=kind, key=key, counterpart_id=counterpart,
                        proposal_id=proposal_id, score=score, details=details, explanation=why,
                        **stamps,
                    )
                )  # fmt: skip
            db.session.commit()

            upgrade(directory=str(ROOT / "migrations"), revision="heads")

            found = {
                (m.user_id, m.key): m for m in db.session.scalars(select(Match).order_by(Match.id))
            }
            assert len(found) == len(documents)
            for user, kind, key, counterpart, proposal_id, score, details, why in documents:
                match = found[(user.id, key)]
                assert (match.kind, match.counterpart_id, match.proposal_id, match.score) == (
                    kind, counterpart, proposal_id, score
                )  # fmt: skip
                assert match.active and match.first_seen_at == now
                assert (match.coverage, match.balance, match.condition) == (
                    why.get("coverage"), why.get("balance"), why["condition"]
                )  # fmt: skip
                each = queries.pins_each_way(db.session(), [match.id])[match.id]
                expected_receive = details.get("offers") or details["receive"]
                expected_give = details.get("give", [])
                if kind == "cycle":
                    expected_receive, expected_give = [expected_receive], [expected_give]
                assert each == {"receive": expected_receive, "give": expected_give}
            items = db.session.scalar(select(sa.func.count()).select_from(MatchItem))
            assert items == 2 + 2 + 30 + 2
            # Each fingerprint is the one a refresh finding the same pins makes.
            for match in found.values():
                stored = store.stored_items(db.session(), [match.id])[match.id]
                assert match.items_digest == store.items_digest(stored)
            [view] = queries.shown(db.session(), [found[(anna.id, f"swap:{boris.id}")]])
            assert any("even swap" in reason for reason in view.explanation["reasons"])
    finally:
        app.extensions["db_engine"].dispose()


def test_pin_titles_by_language_come_and_go_with_their_migration(
    request: pytest.FixtureRequest, workdir: Path
) -> None:
    """`0013titles` adds the per-language titles table and its downgrade takes it
    away again, leaving the pins; upgrading once more gives an empty table that
    the ORM writes titles into."""
    from flask_migrate import downgrade, upgrade

    from marketplace.catalogue.models import Pin, PinTitle
    from tests.support.app import ROOT, app_on_own_database
    from tests.support.catalogue import make_pin

    directory = str(ROOT / "migrations")
    own_database = app_on_own_database(request.config, workdir, "znachki_pin_titles")
    with own_database as app, app.app_context():
        upgrade(directory=directory, revision="heads")
        make_pin(ref="ZN-0004", title_en="Young marksman", title_et="Noor laskur")
        db.session.commit()
        assert db.session.scalar(select(PinTitle.title)) == "Noor laskur"
        db.session.remove()

        downgrade(directory=directory, revision="0012trust")
        tables = sa.inspect(db.engine).get_table_names()
        assert "pin_titles" not in tables and "pins" in tables
        assert db.session.scalar(select(sa.func.count()).select_from(Pin.__table__)) == 1
        db.session.remove()

        upgrade(directory=directory, revision="heads")
        assert db.session.scalar(select(sa.func.count()).select_from(PinTitle)) == 0
        pin = db.session.scalar(select(Pin))
        assert pin is not None
        pin.titles.append(PinTitle(language="uk", title="Юний стрілець"))
        db.session.commit()
        assert pin.title_in("uk") == "Юний стрілець"
