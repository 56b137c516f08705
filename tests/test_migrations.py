"""The schema only changes through Alembic: the migrated database must match the
models exactly (what `alembic check` verifies), on SQLite and on PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from marketplace.core.extensions import db
from marketplace.core.models import include_in_autogenerate


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
