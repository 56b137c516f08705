"""CSV import and export of lists: encodings, delimiters, mapping, matching by
number and by legend, per-row errors, both modes, the staged import task, and
Hypothesis round trips."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.lists import csv_import as csvio
from marketplace.lists.models import Condition, Have, ListImport, Want
from marketplace.lists.operations import REFRESH_TASK, Lists
from tests.support.factories import make_user
from tests.support.lists import make_pin

HEADER = "ref,quantity,condition,defects,tradeable,price,currency,notes\n"


def snapshot(user_id: int, kind: str) -> list[tuple[Any, ...]]:
    if kind == "haves":
        rows = db.session.scalars(select(Have).where(Have.user_id == user_id))
        return sorted(
            (h.pin_id, h.quantity, int(h.condition), h.defects, h.tradeable, h.price, h.currency,
             h.notes)
            for h in rows
        )  # fmt: skip
    wants = db.session.scalars(select(Want).where(Want.user_id == user_id))
    return sorted(
        (w.pin_id or 0, w.variant_group or "", w.priority, int(w.min_condition or 0),
         w.max_price, w.currency, w.notes)
        for w in wants
    )  # fmt: skip


def run(user: Any, kind: str, text: str | bytes, **kwargs: Any) -> csvio.ImportResult:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return csvio.import_bytes(db.session(), user, kind, data, **kwargs)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters(app_ctx: Flask, encoding: str, delimiter: str) -> None:
    user = make_user()
    make_pin("VLKSM-1", "Komsomol", legend="ВЛКСМ 50 лет")
    header = delimiter.join(["Номер", "Кол-во", "Состояние", "Примечание"])
    row = delimiter.join(["vlksm-1", "2", "Отличное", "Из коллекции деда"])
    result = run(user, "haves", (header + "\r\n" + row + "\r\n").encode(encoding))
    assert result.ok and result.applied, result.errors
    assert result.encoding == encoding and result.delimiter == delimiter
    [have] = db.session.scalars(select(Have).where(Have.user_id == user.id)).all()
    assert have.quantity == 2 and have.notes == "Из коллекции деда"
    assert have.condition is Condition.EXCELLENT  # «отличное», as its short form «отл»


def test_bad_files_get_precise_messages(app_ctx: Flask) -> None:
    user = make_user()
    with pytest.raises(DomainError, match="empty"):
        run(user, "haves", b"")
    with pytest.raises(DomainError, match="header row but no data"):
        run(user, "haves", "ref,quantity\n\n")
    with pytest.raises(csvio.FileTooLarge, match="limit is 10 MB"):
        run(user, "haves", b"x" * (csvio.MAX_IMPORT_BYTES + 1))
    with pytest.raises(DomainError, match="not a text CSV"):
        run(user, "haves", "ref\nA\n".encode("utf-16"))
    with pytest.raises(DomainError, match="Map at least one"):
        run(user, "haves", "foo,bar\n1,2\n")


def test_row_errors_name_row_column_and_reason(app_ctx: Flask) -> None:
    user = make_user()
    make_pin("A-1")
    make_pin("A-2")
    text = HEADER + (
        "A-1,2,mint,,yes,,,\n"  # row 2: fine
        "NOPE-9,1,mint,,,,,\n"  # row 3: unknown number
        "A-2,-3,mint,,,,,\n"  # row 4: negative quantity
        "A-2,1,superb,,,,,\n"  # row 5: unknown condition
        "a-1,5,Mint,,,,,\n"  # row 6: duplicate of row 2
        "A-2,1,good,chips|bent,no,10.5,,\n"  # row 7: price without currency
    )
    result = run(user, "haves", text)
    assert not result.applied and snapshot(user.id, "haves") == []  # nothing half-imported
    got = [(e.row, e.column, e.message) for e in result.errors]
    assert got == [
        (3, "ref", "Unknown catalogue number 'NOPE-9'."),
        (4, "quantity", "The quantity must be at least 1 (got -3)."),
        (5, "condition", "Unknown condition 'superb'; use one of Mint, Excellent, Very fine, "
         "Fine, Good, Poor."),
        (6, "ref", "Duplicate of row 2 (same pin, condition and defects)."),
        (7, "currency", "Give the currency as a three-letter code such as EUR, USD or RUB."),
    ]  # fmt: skip
    assert (
        db.session.scalar(select(OutboxMessage).where(OutboxMessage.task == REFRESH_TASK)) is None
    )

    good = run(user, "haves", text, mode="good_rows")
    assert good.applied and good.created == 1 and good.error_rows == 5
    assert snapshot(user.id, "haves")[0][:3] == (db.session.scalar(select(Have.pin_id)), 2, 6)
    report = list(csv.reader(io.StringIO(good.report or "")))
    assert report[0][:3] == ["row", "column", "error"]
    assert [r[0] for r in report[1:]] == ["3", "4", "5", "6", "7"]
    assert report[1][3] == "NOPE-9"  # the original row follows, ready to fix


def test_matching_by_legend_transliteration_and_confirmation(app_ctx: Flask) -> None:
    user = make_user()
    gagarin = make_pin("GAG-1", "Gagarin, first in space", legend="Юрий Гагарин 12 апреля 1961")
    make_pin("LEN-1", "Lenin portrait", legend="Ленин")
    make_pin("LEN-2", "Lenin with flag", legend="Ленин знамя")
    text = (
        "title,legend,condition\n"
        ",Юрий Гагарин 12 апреля 1961,mint\n"  # exact legend
        "Gagarin first in space,,good\n"  # title words
        ",Lenin,fine\n"  # transliteration: two candidates
    )
    preview = run(user, "haves", text, dry_run=True)
    assert not preview.applied and [p.pin_id for p in preview.preview] == [gagarin.id] * 2
    [amb] = preview.ambiguous
    assert amb.row == 4 and {c.ref for c in amb.candidates} == {"LEN-1", "LEN-2"}
    refused = run(user, "haves", text)
    assert not refused.applied  # an unconfirmed row refuses the file (all or nothing)
    chosen = {3: amb.candidates[0].id}  # the Lenin row of this second file
    result = run(user, "wants", "legend\nЮрий Гагарин 12 апреля 1961\nLenin\n", choices=chosen)
    assert result.applied, (result.errors, result.ambiguous)
    assert {w.pin_id for w in db.session.scalars(select(Want))} == {
        gagarin.id,
        amb.candidates[0].id,
    }
    with pytest.raises(DomainError):
        run(user, "wants", "legend\nНичего такого\n", mapping={"title": "nope"})
    nothing = run(user, "wants", "legend\nНичего такого\n", mode="good_rows")
    assert nothing.errors[0].message == "No pin in the catalogue matches 'Ничего такого'."


def test_reimport_updates_instead_of_duplicating(app_ctx: Flask) -> None:
    user = make_user()
    make_pin("A-1")
    run(user, "haves", "ref,quantity\nA-1,1\n")
    second = run(user, "haves", "ref,quantity\nA-1,4\n")
    assert (second.created, second.updated) == (0, 1)
    assert [row[1] for row in snapshot(user.id, "haves")] == [4]


def test_mapping_is_remembered(app_ctx: Flask) -> None:
    user = make_user()
    make_pin("A-1")
    mapping = {"ref": "Код", "quantity": "Штук"}
    run(user, "haves", "Код,Штук\nA-1,3\n", mapping=mapping)
    assert csvio.remembered_mapping(db.session(), user.id, "haves") == mapping
    run(user, "haves", "Штук,Код\n7,A-1\n")  # the same columns, remembered
    assert [row[1] for row in snapshot(user.id, "haves")] == [7]


def test_staged_import_runs_as_the_task(app_ctx: Flask) -> None:
    from marketplace.lists.tasks import run_list_import

    user = make_user()
    make_pin("A-1")
    imports = csvio.StagedImports(db.session())
    job = imports.upload(user, "haves", "ref;qty\nA-1;2\nB-9;1\n".encode("cp1251"), "my.csv")
    assert job.mapping == {"ref": "ref", "quantity": "qty"} and job.delimiter == ";"
    preview = imports.preview(user, job.id)
    assert preview.created == 1 and preview.error_rows == 1 and not preview.applied
    imports.start(user, job.id, "good_rows", {})
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.task == csvio.RUN_TASK))
    assert message is not None and message.payload == {"import_id": job.id}
    assert run_list_import.run(job.id, outbox_id=message.id) == "imported"
    done = db.session.get(ListImport, job.id)
    assert done is not None and (done.status, done.created_rows, done.error_rows) == ("done", 1, 1)
    assert done.errors == [
        {"row": 3, "column": "ref", "message": "Unknown catalogue number 'B-9'."}
    ]
    assert run_list_import.run(job.id, outbox_id=message.id) == "skipped"  # redelivery


# -- Hypothesis ----------------------------------------------------------------------

NOTES = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"))
    | st.sampled_from(",;\t\"\n'=+-@"),
    max_size=30,
).map(str.strip)
MONEY = st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2, allow_nan=False)
HAVE = st.fixed_dictionaries(
    {
        "pin": st.integers(0, 5),
        "quantity": st.integers(1, 500),
        "condition": st.sampled_from(list(Condition)),
        "defects": st.integers(0, 127),
        "tradeable": st.booleans(),
        "price": st.none() | MONEY,
        "currency": st.sampled_from(["EUR", "RUB", "USD"]),
        "notes": NOTES,
    }
)
WANT = st.fixed_dictionaries(
    {
        "pin": st.integers(0, 5),
        "variant": st.booleans(),
        "priority": st.integers(1, 5),
        "min_condition": st.none() | st.sampled_from(list(Condition)),
        "max_price": st.none() | MONEY,
        "currency": st.sampled_from(["EUR", "RUB"]),
        "notes": NOTES,
    }
)
FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _pins() -> list[Any]:
    return [
        make_pin(f"RT-{i}", f"Round trip {i}", legend=f"Значок {i}", variant_group=f"RT-{i}")
        for i in range(6)
    ]


@FUZZ
@given(entries=st.lists(HAVE, min_size=1, max_size=12))
def test_haves_export_imports_back_identically(
    app_ctx: Flask, entries: list[dict[str, Any]]
) -> None:
    with db.session.begin_nested() as outer:
        pins = _pins()
        alice, bob = make_user("alice@example.org"), make_user("bob@example.org")
        lists = Lists(db.session())
        for e in entries:
            lists.add_have(
                alice, pins[e["pin"]].id, quantity=e["quantity"], condition=e["condition"],
                defects=e["defects"], tradeable=e["tradeable"], price=e["price"],
                currency=e["currency"] if e["price"] is not None else None, notes=e["notes"],
                merge=True,
            )  # fmt: skip
        exported = csvio.export_csv(db.session(), alice.id, "haves")
        result = run(bob, "haves", exported)
        assert result.ok, (result.errors, exported)
        assert snapshot(bob.id, "haves") == snapshot(alice.id, "haves")
        again = run(alice, "haves", exported)  # onto itself: nothing changes
        assert again.created == 0 and snapshot(alice.id, "haves") == snapshot(bob.id, "haves")
        outer.rollback()


@FUZZ
@given(
    entries=st.lists(WANT, min_size=1, max_size=10, unique_by=lambda e: (e["pin"], e["variant"]))
)
def test_wants_export_imports_back_identically(
    app_ctx: Flask, entries: list[dict[str, Any]]
) -> None:
    with db.session.begin_nested() as outer:
        pins = _pins()
        alice, bob = make_user("alice@example.org"), make_user("bob@example.org")
        lists = Lists(db.session())
        for e in entries:
            target = (
                {"variant_group": pins[e["pin"]].variant_group}
                if e["variant"]
                else {"pin_id": pins[e["pin"]].id}
            )
            lists.add_want(
                alice, priority=e["priority"], min_condition=e["min_condition"],
                max_price=e["max_price"], currency=e["currency"] if e["max_price"] is not None
                else None, notes=e["notes"], **target,
            )  # fmt: skip
        exported = csvio.export_csv(db.session(), alice.id, "wants")
        result = run(bob, "wants", exported)
        assert result.ok, (result.errors, exported)
        assert snapshot(bob.id, "wants") == snapshot(alice.id, "wants")
        outer.rollback()


CELL = st.text(
    st.characters(codec="cp1251", exclude_categories=("Cs", "Cc")) | st.sampled_from(',;\t"'),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(CELL, min_size=3, max_size=3), min_size=1, max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_generated_csv_parses_back_in_every_encoding_and_delimiter(
    rows: list[list[str]], encoding: str, delimiter: str
) -> None:
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        return
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["Номер", "Название", "Количество"])
    writer.writerows(rows)
    parsed = csvio.read_csv(out.getvalue().encode(encoding))
    assert parsed.delimiter == delimiter
    assert parsed.header == ["Номер", "Название", "Количество"]
    assert [cells for _, cells in parsed.rows] == rows


def test_one_path_stage_preview_then_apply(app_ctx: Flask) -> None:
    user = make_user()
    pin = make_pin("A-1")
    session = db.session()
    data = "Номер;Приоритет\nA-1;5\nB-9;2\n".encode("cp1251")
    staged = csvio.stage(session, user.id, "wants", data)
    assert staged.mapping == {"ref": "Номер", "priority": "Приоритет"}
    assert (staged.csv_file.encoding, staged.csv_file.delimiter) == ("cp1251", ";")
    dry = csvio.preview(session, user.id, staged, mode="good_rows")
    assert (dry.created, dry.applied, dry.dry_run) == (1, False, True)
    assert [e.as_dict() for e in dry.problems()] == [
        {"row": 3, "column": "Номер", "message": "Unknown catalogue number 'B-9'."}
    ]
    assert snapshot(user.id, "wants") == []  # a preview changes nothing
    refused = csvio.apply(session, user.id, staged)  # all or nothing, by default
    assert refused.refused and not refused.applied and snapshot(user.id, "wants") == []
    done = csvio.apply(session, user.id, staged, mode="good_rows")
    assert done.applied and done.created == 1 and done.problems() == dry.problems()
    assert done.report == dry.report
    assert snapshot(user.id, "wants") == [(pin.id, "", 5, 0, None, None, None)]


def test_the_upload_guard_refuses_a_declared_oversize_before_reading(app_ctx: Flask) -> None:
    from marketplace.lists.uploads import read_upload, refuse_declared_oversize

    declared = {"CONTENT_LENGTH": str(csvio.MAX_IMPORT_BYTES + 1024 * 1024)}
    with app_ctx.test_request_context("/", method="POST", environ_overrides=declared):
        with pytest.raises(csvio.FileTooLarge, match="larger than the 10 MB limit") as exc:
            refuse_declared_oversize()
        assert exc.value.status == 413
    with app_ctx.test_request_context("/", method="POST", data="ref\nA-1\n"):
        refuse_declared_oversize()
        with pytest.raises(DomainError, match="multipart field 'photo'"):
            read_upload("photo", what="the image", body_allowed=False)
        assert read_upload("file", what="the CSV", body_allowed=True) == b"ref\nA-1\n"
