"""The `znachki lists` commands: a 10,000-row import with a progress bar, the
export, and the export imported back to identical lists."""

from __future__ import annotations

import random
from pathlib import Path

from flask import Flask

from benchmarks import catalogue_gen
from marketplace.core.extensions import db
from marketplace.lists.csv_import import export_csv
from marketplace.lists.models import Condition
from tests.support.factories import make_user


def test_ten_thousand_rows_import_export_and_reimport(app_ctx: Flask, tmp_path: Path) -> None:
    ivan = make_user("ivan@example.org")
    catalogue_gen.load(db.session(), 10_000, seed=3)
    rng = random.Random(5)
    conditions = [c.label for c in Condition]
    rows = ["ref;quantity;condition;tradeable"] + [
        f"syn-{i:06d};{rng.randrange(1, 5)};{rng.choice(conditions)};да" for i in range(1, 10_001)
    ]
    source = tmp_path / "haves.csv"
    source.write_bytes("\n".join(rows).encode("cp1251"))
    runner = app_ctx.test_cli_runner()

    result = runner.invoke(
        args=["lists", "import", "--user", ivan.email, "--kind", "haves", str(source)]
    )
    assert result.exit_code == 0, result.output
    assert "imported 10000 new, 0 updated, of 10000 rows" in result.output
    assert "importing haves" in result.output  # the progress bar

    exported = tmp_path / "export.csv"
    result = runner.invoke(
        args=["lists", "export", "--user", ivan.email, "--kind", "haves", "-o", str(exported)]
    )
    assert result.exit_code == 0, result.output
    first = exported.read_text(encoding="utf-8")
    assert first.count("\n") == 10_001

    result = runner.invoke(
        args=["lists", "import", "--user", ivan.email, "--kind", "haves", str(exported)]
    )
    assert result.exit_code == 0, result.output
    assert "0 new, 10000 updated" in result.output
    assert export_csv(db.session(), ivan.id, "haves").replace("\r\n", "\n") == first


def test_a_bad_file_changes_nothing_and_names_the_row(app_ctx: Flask, tmp_path: Path) -> None:
    ivan = make_user("ivan@example.org")
    catalogue_gen.load(db.session(), 3, seed=4)
    source = tmp_path / "bad.csv"
    source.write_text("ref,quantity,condition\nSYN-000001,2,Fine\nSYN-000002,-1,Fine\n")
    result = app_ctx.test_cli_runner().invoke(
        args=["lists", "import", "--user", ivan.email, "--kind", "haves", str(source)]
    )
    assert result.exit_code != 0
    assert "row 3, column quantity" in result.output
    assert export_csv(db.session(), ivan.id, "haves").count("\n") == 1  # the header only


RUSSIAN_SHELL = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": "ru_RU.UTF-8"}


def test_the_command_speaks_the_shells_language(app_ctx: Flask, tmp_path: Path) -> None:
    ivan = make_user("ivan@example.org")
    catalogue_gen.load(db.session(), 3, seed=4)
    source = tmp_path / "haves.csv"
    source.write_text("ref,quantity,condition\nSYN-000001,2,Fine\nSYN-000002,1,Fine\n")
    runner = app_ctx.test_cli_runner()
    args = ["lists", "import", "--user", ivan.email, "--kind", "haves", str(source)]
    result = runner.invoke(args=[*args, "--dry-run"], env=RUSSIAN_SHELL)
    assert result.exit_code == 0, result.output
    assert "импорт списка «Есть»" in result.output  # the progress bar
    assert "было бы импортировано новых 2, обновлено 0 из 2 строк" in result.output
    missing = runner.invoke(args=[*args[:3], "ghost@example.org", *args[4:]], env=RUSSIAN_SHELL)
    assert "Нет коллекционера с адресом ghost@example.org." in missing.output
    # A shell that asks for no language, or one we do not offer, gets English.
    for shell in ({**RUSSIAN_SHELL, "LANG": "C.UTF-8"}, {**RUSSIAN_SHELL, "LANG": "de_DE.UTF-8"}):
        english = runner.invoke(args=[*args, "--dry-run"], env=shell)
        assert (
            "dry run: would import 2 new, 0 updated, of 2 rows; nothing changed" in english.output
        )
