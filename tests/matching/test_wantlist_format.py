"""Want-list reader/writer: options, syntax errors, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.matching.wantlist import (
    WantListError,
    build_problem,
    parse_wantlist,
    write_wantlist,
)

PROFILE = settings.get_profile("matching")


def test_options_and_official_names() -> None:
    text = """# comment
#! ALLOW-DUMMIES REQUIRE-COLONS
#! LINEAR-PRIORITIES SMALL-STEP=2 BIG-STEP=5 METRIC=USERS-TRADING ITERATIONS=3 SEED=7
!BEGIN-OFFICIAL-NAMES
A ==> 1. "first" (from ann)
B ==> 2. "second"
!END-OFFICIAL-NAMES
(ann) A : B ; %D
(ann) %D : B
(bob) B : A
"""
    wl = parse_wantlist(text)
    s = wl.settings
    assert s.allow_dummies and s.require_colons
    assert (s.priorities, s.small_step, s.big_step, s.iterations, s.seed) == (
        "LINEAR",
        2,
        5,
        3,
        7,
    )
    assert s.metric == "USERS-TRADING"
    assert wl.official_names == ("A", "B")
    assert [e.item for e in wl.entries] == ["A", "%D", "B"]
    assert wl.entries[0].wants == ("B", ";", "%D")
    problem = build_problem(wl)
    assert problem.names == ["A", "%D for user (ANN)", "B"]
    assert problem.errors == []
    # A -> B at rank 1, A -> %D at rank 1 + 2 (small step) + 5 (big step)
    costs = dict(
        ((problem.graph.transfer_give[t], problem.graph.transfer_want[t]), c)
        for t, c in enumerate(problem.graph.transfer_cost)
    )
    assert costs[(2, 0)] == 1
    assert costs[(1, 0)] == 8


def test_unknown_option_is_a_warning() -> None:
    wl = parse_wantlist("#! FROBNICATE ALLOW-DUMMIES\nA : B\nB : A\n")
    assert wl.settings.allow_dummies
    assert any("FROBNICATE" in w and "line 1" in w for w in wl.warnings)


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("#! REQUIRE-COLONS\nA : B\nB C\n", 3, "Missing colon"),
        ("#! REQUIRE-USERNAMES\n(u) A : B\nB : A\n", 3, "Missing username"),
        ("A : B\n#! ALLOW-DUMMIES\n", 2, "Options"),
        ("A : B # trailing comment\n", 1, "Comments"),
        ("(u A : B\n", 1, "Missing ')'"),
        ("() A : B\n", 1, "empty parentheses"),
        ("A : B : C\n", 1, "more that one colon"),
        ("A B : C\n", 1, "exactly one item before a colon"),
        ("A ; B : C\n", 1, "Semicolon cannot appear before colon"),
        ("#! SEED=abc\n", 1, "SEED argument"),
        ("#! SCALED-PRIORITIES\n", 1, "no longer supported"),
        ("!BEGIN-OFFICIAL-NAMES\nA\nA\n!END-OFFICIAL-NAMES\n", 3, "already defined"),
        ("!END-OFFICIAL-NAMES\n", 1, "without matching"),
        ("\n\n!BEGIN-OFFICIAL-NAMES\nA\n", 3, "without matching"),
        ("A : B (x)\n", 1, "front of a want list"),
    ],
)
def test_malformed_names_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(WantListError) as info:
        parse_wantlist(text)
    assert info.value.line == line
    assert f"(line {line})" in str(info.value)
    assert fragment in str(info.value)


def test_semantic_errors_are_collected_not_fatal() -> None:
    text = """!BEGIN-OFFICIAL-NAMES
A
B
C
!END-OFFICIAL-NAMES
(u) A : B B X A
(v) B : A
(v) Z : A
(v) B : C
"""
    problem = build_problem(parse_wantlist(text))
    joined = "\n".join(problem.errors)
    assert "Item B is repeated in want list for A." in joined
    assert "Unknown item X (1 occurrence)" in joined
    assert "Item A appears in its own want list." in joined
    assert "Cannot define want list for Z" in joined
    assert "Item B has multiple want lists" in joined
    assert problem.missing_official == ["C"]


_name = st.from_regex(r"[A-Z0-9][A-Z0-9\-]{0,6}", fullmatch=True)
_user = st.from_regex(r"[A-Z][A-Z0-9 ]{0,6}[A-Z0-9]", fullmatch=True)


@st.composite
def wantlists(draw: st.DrawFn) -> str:
    options = draw(
        st.lists(
            st.sampled_from(
                [
                    "ALLOW-DUMMIES",
                    "REQUIRE-COLONS",
                    "HIDE-NONTRADES",
                    "LINEAR-PRIORITIES",
                    "SHOW-MISSING",
                    "ITERATIONS=5",
                    "SMALL-STEP=3",
                ]
            ),
            unique=True,
        )
    )
    items = draw(st.lists(_name, min_size=1, max_size=8, unique=True))
    with_users = draw(st.booleans())
    lines = ["#! " + " ".join(options)] if options else []
    if draw(st.booleans()):
        lines += ["!BEGIN-OFFICIAL-NAMES", *items, "!END-OFFICIAL-NAMES"]
    for item in items:
        wants = draw(st.lists(st.sampled_from([*items, ";"]), max_size=6))
        while wants and wants[0] == ";":
            wants.pop(0)
        head = item
        if with_users:
            head = f"({draw(_user)}) {item}"
        lines.append(f"{head} : {' '.join(wants)}")
    return "\n".join(lines) + "\n"


@PROFILE
@given(wantlists())
def test_parse_write_parse_is_stable(text: str) -> None:
    first = parse_wantlist(text)
    written = write_wantlist(first)
    second = parse_wantlist(written)
    assert second.options == first.options
    assert second.settings == first.settings
    assert second.official_names == first.official_names
    assert [(e.user, e.item, e.wants) for e in second.entries] == [
        (e.user, e.item, e.wants) for e in first.entries
    ]
    assert write_wantlist(second) == written


# --- Files read as TradeMaximizer 1.3c reads them --------------------------
# (lines end only at \n, \r or \r\n; words end only at ASCII whitespace;
# String.trim() drops control characters at either end of a line.)


def test_trailing_ctrl_z_is_the_end_of_the_file() -> None:
    text = "#! REQUIRE-USERNAMES\n(a) A : B\n(b) B : A\n\x1a"
    wl = parse_wantlist(text)
    assert [(e.user, e.item, e.wants) for e in wl.entries] == [
        ("(A)", "A", ("B",)),
        ("(B)", "B", ("A",)),
    ]
    problem = build_problem(wl)
    assert problem.errors == [] and problem.graph.num_transfers == 2


def test_ctrl_z_after_the_last_list_on_its_line() -> None:
    wl = parse_wantlist("#! REQUIRE-USERNAMES\r\n(a) A : B\r\n(b) B : A\x1a\x1a")
    assert wl.entries[-1].wants == ("A",)


@pytest.mark.parametrize(
    "inside", ["\x0b", "\x0c", "\u2028", "\u2029", "\x85", "\x1c", "\x1d", "\x1e"]
)
def test_separators_other_than_cr_and_lf_stay_inside_their_line(inside: str) -> None:
    text = f"(a) A : B{inside}C D\n(b) B : A\n(c x) C : A\n"
    with pytest.raises(WantListError) as info:
        parse_wantlist(text.replace("(c x) C", "(c x C"))
    # Line 3, not a line shifted by a split inside line 1.
    assert info.value.line == 3
    entries = parse_wantlist(text).entries
    assert [e.line for e in entries] == [1, 2, 3]
    # \v and \f are whitespace to Java's \s, the rest are part of a word.
    if inside in "\x0b\x0c":
        assert entries[0].wants == ("B", "C", "D")
    else:
        assert entries[0].wants == (f"B{inside}C", "D")


def test_no_break_space_is_part_of_a_word() -> None:
    entry = parse_wantlist("(a) A : B\u00a0C\u2007D E\n").entries[0]
    assert entry.wants == ("B\u00a0C\u2007D", "E")


def test_byte_order_mark_is_skipped() -> None:
    wl = parse_wantlist("\ufeff#! REQUIRE-COLONS\n# a comment\nA : B\nB : A\n")
    assert wl.settings.require_colons
    assert [e.item for e in wl.entries] == ["A", "B"]
    assert parse_wantlist("\ufeff# only a comment\nA : B\n").entries[0].item == "A"


def test_comment_with_a_line_separator_is_refused_as_the_reference_refuses_it() -> None:
    # Java's "#.*" does not match across U+2028, so the line is a '#' in mid-line.
    with pytest.raises(WantListError) as info:
        parse_wantlist("A : B\n# note\u2028more\n")
    assert info.value.line == 2
    assert "Comments (#...) cannot be used" in info.value.message


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_every_line_ending_numbers_lines_alike(newline: str) -> None:
    text = newline.join(["#! REQUIRE-COLONS", "", "A : B", "B C", ""])
    with pytest.raises(WantListError) as info:
        parse_wantlist(text)
    assert info.value.line == 4


def test_usernames_split_where_the_reference_splits_them() -> None:
    # Spaces stay inside a username; a tab does not (it ends a word there too).
    spaced, tabbed = parse_wantlist("(an n) A : B\n(c\td) X : Y\n").entries
    assert (spaced.user, spaced.item) == ("(AN N)", "A")
    assert (tabbed.user, tabbed.item, tabbed.wants) == ("(C", "D)", ("X", "Y"))
    # A ')' first on a line is no error to the reference (without a colon).
    assert parse_wantlist(")A B\n").entries[0].item == ")A"


# Inside a word: none of these is whitespace to Java's \s.
_JUNK = st.sampled_from(["\u2028", "\u2029", "\x85", "\x1c", "\x1e", "\u00a0", "\x1a", "\x00"])
_WORD = st.text(st.sampled_from("AB12%-"), min_size=1, max_size=4)


@st.composite
def noisy_lines(draw: st.DrawFn) -> list[str]:
    """Want-list lines with control characters and odd separators inside."""
    lines = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", "  ", "\x1a", "# comment\x1c"])))
            continue
        words = draw(st.lists(st.tuples(_WORD, st.lists(_JUNK, max_size=2)), min_size=1))
        text = " ".join(w + "".join(j) for w, j in words)
        lines.append(text.replace(" ", " : ", 1) if draw(st.booleans()) else text)
    return lines


@PROFILE
@given(noisy_lines(), st.sampled_from(["\n", "\r\n", "\r"]), st.booleans(), st.booleans())
def test_lines_are_numbered_by_cr_and_lf_alone(
    lines: list[str], newline: str, bom: bool, ctrl_z: bool
) -> None:
    text = ("\ufeff" if bom else "") + newline.join(lines) + ("\x1a" if ctrl_z else "")
    wl = parse_wantlist(text)
    trimmed = [line.strip("".join(map(chr, range(0x21)))) for line in lines]
    assert [e.line for e in wl.entries] == [
        n for n, line in enumerate(trimmed, start=1) if line and not line.startswith("#")
    ]
    for entry in wl.entries:
        for word in (entry.item, *entry.wants):
            assert word and not any(c in word for c in " \t\n\x0b\x0c\r")


@PROFILE
@given(wantlists(), st.sampled_from(["\r\n", "\r"]), st.sampled_from(["", "\x1a", "\n\x1a"]))
def test_line_endings_bom_and_ctrl_z_change_nothing(text: str, newline: str, tail: str) -> None:
    plain = parse_wantlist(text)
    windows = parse_wantlist("\ufeff" + text.replace("\n", newline) + tail)
    assert windows.entries == plain.entries
    assert windows.settings == plain.settings
    assert windows.official_names == plain.official_names
