"""The `znachki` command line.

`znachki tradematch` loads only the matching engine, so it starts in milliseconds;
every other command builds the app through Flask's CLI (and so is also reachable as
`flask --app marketplace …`), including Flask-Migrate's `znachki db …`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from flask import Flask
    from flask.cli import FlaskGroup

# Commands that must not pay for importing the web stack.
LIGHT_COMMANDS = {"tradematch": "marketplace.cli.tradematch:tradematch"}


class ZnachkiCLI(click.Group):
    _flask: FlaskGroup | None = None

    def _flask_group(self) -> FlaskGroup:
        if self._flask is None:
            from flask.cli import FlaskGroup

            from marketplace import create_app

            self._flask = FlaskGroup(create_app=lambda: create_app(), add_version_option=False)
        return self._flask

    def _script_info(self, ctx: click.Context) -> None:
        from flask.cli import ScriptInfo

        from marketplace import create_app

        if not isinstance(ctx.obj, ScriptInfo):
            ctx.obj = ScriptInfo(create_app=lambda: create_app(), set_debug_flag=False)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._script_info(ctx)
        return sorted(set(LIGHT_COMMANDS) | set(self._flask_group().list_commands(ctx)))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LIGHT_COMMANDS:
            module, _, attr = LIGHT_COMMANDS[name].partition(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        self._script_info(ctx)
        return self._flask_group().get_command(ctx, name)


main = ZnachkiCLI(help="Znachki Exchange: trade matching and marketplace for Soviet pins.")


def register_app_commands(app: Flask) -> None:
    """Commands that need the app (database, settings); added by `create_app`."""

    @app.cli.command("seed-demo")
    def seed_demo() -> None:
        """Load demo collectors (development only; idempotent)."""
        from marketplace.cli.demo import seed_demo_collectors
        from marketplace.core.extensions import db

        settings = app.config["SETTINGS"]
        if not settings.is_development:
            raise click.ClickException("seed-demo only runs with ZNACHKI_ENV=development")
        from marketplace.catalogue.operations import load_demo_catalogue
        from marketplace.cli.demo import DEMO_MODERATOR, DEMO_PASSWORD, seed_demo_lists
        from marketplace.core.celery_app import after_commit

        pins = load_demo_catalogue(db.session())
        created = seed_demo_collectors(db.session(), app.config["PASSWORD_HASHER"])
        entries = seed_demo_lists(db.session())
        if entries:
            # Rings are found by the global solve (nightly); run one now so the
            # demo ring of three collectors is there to see at once.
            from marketplace.matches.solve import run_global_solve

            run_global_solve(db.session(), cap=app.config["MATCH_CYCLE_CAP"])
        db.session.commit()
        after_commit(app)  # the worker computes the demo collectors' matches
        click.echo(f"demo catalogue: {pins} pins added; demo lists: {entries} entries")
        for email, password in created:
            if email != DEMO_MODERATOR[0]:
                click.echo(f"demo collector: {email} / {password}")
        if not created:
            click.echo("demo collectors already present")
        click.echo(f"demo moderator: {DEMO_MODERATOR[0]} / {DEMO_PASSWORD} (reviews /moderation)")

    @app.cli.group("catalogue")
    def catalogue_group() -> None:
        """The pin catalogue: demo data, import, export, synthetic data."""

    @catalogue_group.command("load-demo")
    def load_demo() -> None:
        """Load the demo catalogue of real pins (idempotent)."""
        from marketplace.catalogue.operations import load_demo_catalogue
        from marketplace.core.extensions import db

        added = load_demo_catalogue(db.session())
        db.session.commit()
        click.echo(f"{added} pins added")

    @catalogue_group.command("reindex")
    def reindex() -> None:
        """Index every pin's search spellings again (after an upgrade that
        changes them: new romanisations, name equivalents)."""
        from marketplace.catalogue.operations import reindex_all
        from marketplace.core.extensions import db

        count = reindex_all(db.session())
        db.session.commit()
        click.echo(f"{count} pins indexed")

    @catalogue_group.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check the file, change nothing.")
    def import_catalogue(path: str, dry_run: bool) -> None:
        """Import a catalogue CSV or JSON file: all rows or none."""
        from pathlib import Path

        from marketplace.catalogue.operations import Catalogue, parse_catalogue_file
        from marketplace.core.errors import DomainError
        from marketplace.core.extensions import db

        try:
            records = parse_catalogue_file(Path(path).read_bytes(), path)
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        created, updated, errors = Catalogue(db.session()).import_records(records, None)
        if errors:
            db.session.rollback()
            for row, column, message in errors:
                click.echo(f"row {row}, column {column}: {message}", err=True)
            raise click.ClickException(f"{len(errors)} problem(s); nothing was imported")
        if dry_run:
            db.session.rollback()
            click.echo(f"file is fine: {created} new, {updated} updated (dry run, nothing changed)")
            return
        db.session.commit()
        click.echo(f"imported: {created} new, {updated} updated")

    @catalogue_group.command("export")
    @click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
    @click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-")
    def export_catalogue(fmt: str, output: Any) -> None:
        """Export the catalogue (without synthetic pins)."""
        import json

        from marketplace.catalogue.operations import Catalogue, records_to_csv
        from marketplace.core.extensions import db

        records = Catalogue(db.session()).export_records()
        if fmt == "json":
            output.write(json.dumps(records, ensure_ascii=False, indent=1))
        else:
            output.write(records_to_csv(records))

    @app.cli.group("users")
    def users_group() -> None:
        """Members: who may moderate the catalogue."""

    @users_group.command("grant-moderator")
    @click.argument("email")
    def grant_moderator(email: str) -> None:
        """Let the member with EMAIL review catalogue submissions (/moderation)."""
        from marketplace.cli.demo import set_moderator
        from marketplace.core.extensions import db

        user = set_moderator(db.session(), email, moderator=True)
        if user is None:
            raise click.ClickException(f"no member with the email {email}")
        db.session.commit()
        click.echo(f"{user.email} can now moderate the catalogue at /moderation")

    @users_group.command("revoke-moderator")
    @click.argument("email")
    def revoke_moderator(email: str) -> None:
        """Take moderation away from the member with EMAIL."""
        from marketplace.cli.demo import set_moderator
        from marketplace.core.extensions import db

        user = set_moderator(db.session(), email, moderator=False)
        if user is None:
            raise click.ClickException(f"no member with the email {email}")
        db.session.commit()
        click.echo(f"{user.email} no longer moderates the catalogue")

    from marketplace.lists.cli import lists_group

    app.cli.add_command(lists_group)

    @app.cli.command("relay-outbox")
    def relay_outbox_command() -> None:
        """Publish unpublished outbox rows now (the beat does this every few seconds)."""
        from marketplace.core import outbox
        from marketplace.core.extensions import db

        count = outbox.publish_pending(
            db.session(), outbox.celery_publisher(app.extensions["celery"])
        )
        db.session.commit()
        click.echo(f"published {count} outbox messages")
