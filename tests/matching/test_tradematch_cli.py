"""``tradematch`` on the real math-trade files and on malformed input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from marketplace.cli.tradematch import tradematch

FILES = [
    "tm_ask_2007",
    "tm_xmas_2007",
    "tm_onewant",
    "olwlg_286103",
    "olwlg_286870",
    "ftm_BR2024May",
]


def users_trading(report: str) -> int:
    loops = report.split("TRADE LOOPS", 1)[1].split("ITEM SUMMARY", 1)[0]
    return len({m.group(1) for m in re.finditer(r"^\((.*?)\)", loops, re.M)})


@pytest.mark.parametrize("name", FILES)
def test_reference_trade_counts(
    name: str, mathtrade_dir: Path, expected: dict[str, dict], tmp_path: Path
) -> None:
    out = tmp_path / "result.txt"
    result = CliRunner().invoke(tradematch, [str(mathtrade_dir / f"{name}.txt"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = out.read_text(encoding="utf-8")
    reference = expected[name]["reference_trademaximizer_1_3c"]
    match = re.search(r"^Num trades  = (\d+) of (\d+) items", report, re.M)
    assert match is not None
    assert int(match.group(1)) == reference["trades"]
    assert int(match.group(2)) == expected[name]["items"]
    fast = expected[name]["reference_fasttrademaximizer"]
    if fast is not None and fast.get("users_trading") is not None:
        assert users_trading(report) >= fast["users_trading"]
    assert f"TRADE LOOPS ({reference['trades']} total trades):" in report
    sizes = [int(s) for s in re.search(r"^Group sizes =(.*)$", report, re.M)[1].split()]
    squares = int(re.search(r"^Sum squares = (\d+)$", report, re.M)[1])
    assert sum(sizes) == reference["trades"]
    assert squares == sum(s * s for s in sizes)


def test_malformed_file_is_rejected_and_nothing_written(tmp_path: Path) -> None:
    wants = tmp_path / "bad.txt"
    wants.write_text("#! REQUIRE-COLONS\n(ann) A : B\n(bob) B A\n", encoding="utf-8")
    out = tmp_path / "out.txt"
    result = CliRunner().invoke(tradematch, [str(wants), "-o", str(out)])
    assert result.exit_code != 0
    assert "line 3" in result.output
    assert "Missing colon" in result.output
    assert not out.exists()


def test_unknown_option_warns_on_stderr(tmp_path: Path) -> None:
    wants = tmp_path / "w.txt"
    wants.write_text("#! FROBNICATE\n(ann) A : B\n(bob) B : A\n", encoding="utf-8")
    result = CliRunner().invoke(tradematch, [str(wants)])
    assert result.exit_code == 0
    assert 'unknown option "FROBNICATE"' in result.stderr
    assert "FROBNICATE" not in result.stdout.split("\n", 2)[2]
    assert "Num trades  = 2 of 2 items (100.0%)" in result.stdout


def test_report_layout_matches_trademaximizer(tmp_path: Path) -> None:
    wants = tmp_path / "w.txt"
    wants.write_text(
        "#! ALLOW-DUMMIES\n(ann) A : B\n(bob) B : C\n(cy) C : A\n(dee) D : A\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(tradematch, [str(wants), "--max-cycle", "3"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[1:3] == ["Options: ALLOW-DUMMIES", ""]
    assert lines[3:8] == [
        "TRADE LOOPS (3 total trades):",
        "",
        "(ANN) A receives (BOB) B",
        "(BOB) B receives (CY) C",
        "(CY) C  receives (ANN) A",
    ]
    assert "(DEE) D             does not trade" in lines
    assert "(ANN) A receives (BOB) B and sends to (CY) C" in lines
    assert lines[-7:] == [
        "Num trades  = 3 of 4 items (75.0%)",
        "Total cost  = 3 (avg 1.00)",
        "Num groups  = 1",
        "Group sizes = 3",
        "Sum squares = 9",
        "Cycle cap   = 3 items per loop (dummy items not counted)",
        "Certificate = optimal (trades, then total cost, then users trading)",
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"#! REQUIRE-USERNAMES\n(a) A : B\n(b) B : A\n\x1a",
        b"\xef\xbb\xbf#! REQUIRE-USERNAMES\r\n(a) A : B\r\n(b) B : A\r\n",
        b"#! REQUIRE-USERNAMES\r(a) A : B\x0b\r(b) B : A\r",
    ],
    ids=["ctrl-z", "bom-crlf", "cr-and-vertical-tab"],
)
def test_files_saved_on_windows_trade_as_the_reference_trades_them(
    data: bytes, tmp_path: Path
) -> None:
    wants = tmp_path / "w.txt"
    wants.write_bytes(data)
    result = CliRunner().invoke(tradematch, [str(wants)])
    assert result.exit_code == 0, result.output
    assert "Num trades  = 2 of 2 items (100.0%)" in result.stdout


def test_warnings_speak_the_shells_language(tmp_path: Path) -> None:
    wants = tmp_path / "w.txt"
    wants.write_text("#! FROBNICATE\n(ann) A : B\n(bob) B : A\n", encoding="utf-8")
    shell = {"LC_ALL": None, "LC_MESSAGES": None, "LANG": "uk_UA.UTF-8"}
    result = CliRunner().invoke(tradematch, [str(wants)], env=shell)
    assert result.exit_code == 0
    assert result.stderr.startswith(f"попередження: {wants}: ")
    # The result file keeps TradeMaximizer's own (English) format.
    assert "Num trades  = 2 of 2 items (100.0%)" in result.stdout
