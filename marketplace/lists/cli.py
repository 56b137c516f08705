"""`znachki lists import|export`: a collector's Have or Want list from and to CSV,
with a progress bar. The command is the unit of work: it commits on success. It
talks in the shell's language (LANG), English by default."""

from __future__ import annotations

from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext, ngettext
from sqlalchemy import func, select

from marketplace.core.i18n import speaks_environment_language

lists_group = AppGroup("lists", help="Collectors' Have and Want lists as CSV.")

_kind = click.option(
    "--kind", type=click.Choice(["haves", "wants"]), required=True, help="Which list."
)
_user = click.option("--user", "email", required=True, help="The collector's email address.")


def _collector(email: str) -> Any:
    from marketplace.accounts.models import User
    from marketplace.core.extensions import db

    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(gettext("No collector with the address %(email)s.", email=email))
    return user


@lists_group.command("import")
@_user
@_kind
@click.option(
    "--mode",
    type=click.Choice(["all_or_nothing", "good_rows"]),
    default="all_or_nothing",
    show_default=True,
    help="Refuse the file if any row is bad, or import the good rows.",
)
@click.option("--dry-run", is_flag=True, help="Check and match every row; change nothing.")
@click.option("--encoding", type=click.Choice(["utf-8", "utf-8-sig", "cp1251"]), default=None)
@click.option("--report", type=click.File("w", encoding="utf-8"), help="Write rejected rows here.")
@click.argument("path", type=click.File("rb"))
@speaks_environment_language
def import_list(
    email: str, kind: str, mode: str, dry_run: bool, encoding: str | None, report: Any, path: Any
) -> None:
    """Import PATH (CSV) into a collector's Haves or Wants."""
    from marketplace.core.errors import DomainError
    from marketplace.core.extensions import db
    from marketplace.lists.csv_import import import_bytes

    user = _collector(email)
    data = path.read()
    label = gettext("importing haves") if kind == "haves" else gettext("importing wants")
    with click.progressbar(length=100, label=label) as bar:
        last = [0]

        def progress(done: int, total: int) -> None:
            percent = 100 * done // max(total, 1)
            bar.update(percent - last[0])
            last[0] = percent

        try:
            result = import_bytes(
                db.session(), user, kind, data, mode=mode, dry_run=dry_run,
                encoding=encoding, progress=progress,
            )  # fmt: skip
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
    for error in result.errors[:50]:
        click.echo(
            gettext(
                "row %(row)s, column %(column)s: %(message)s",
                row=error.row,
                column=error.column or "-",
                message=error.message,
            ),
            err=True,
        )
    for amb in result.ambiguous[:50]:
        refs = ", ".join(c.ref for c in amb.candidates[:10])
        click.echo(
            gettext(
                "row %(row)s: several pins match '%(text)s' (%(refs)s)",
                row=amb.row,
                text=amb.text,
                refs=refs,
            ),
            err=True,
        )
    hidden = len(result.errors) + len(result.ambiguous) - 100
    if hidden > 0:
        more = ngettext("… and %(num)d more problem", "… and %(num)d more problems", hidden)
        click.echo(more, err=True)
    if report is not None and result.report:
        report.write(result.report)
    counts = {"new": result.created, "updated": result.updated, "total": result.total}
    if dry_run:
        db.session.rollback()
        click.echo(
            ngettext(
                "dry run: would import %(new)d new, %(updated)d updated, of %(total)d row; "
                "nothing changed",
                "dry run: would import %(new)d new, %(updated)d updated, of %(total)d rows; "
                "nothing changed",
                result.total,
                **counts,
            )
        )
        return
    if not result.applied and not result.ok:
        db.session.rollback()
        raise click.ClickException(
            ngettext(
                "nothing imported: %(num)d row has problems",
                "nothing imported: %(num)d rows have problems",
                result.error_rows + len(result.ambiguous),
            )
        )
    db.session.commit()
    click.echo(
        ngettext(
            "imported %(new)d new, %(updated)d updated, of %(total)d row",
            "imported %(new)d new, %(updated)d updated, of %(total)d rows",
            result.total,
            **counts,
        )
    )


@lists_group.command("export")
@_user
@_kind
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-")
@speaks_environment_language
def export_list(email: str, kind: str, output: Any) -> None:
    """Write a collector's Haves or Wants as CSV (imports back to the same list)."""
    from marketplace.core.extensions import db
    from marketplace.lists.csv_import import export_csv

    output.write(export_csv(db.session(), _collector(email).id, kind))
