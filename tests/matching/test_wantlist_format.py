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
