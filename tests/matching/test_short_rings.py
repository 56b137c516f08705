"""Short rings with a certificate: the capped solve against brute force, the
cap counting real items only, and what a result says when it is not proven."""

from __future__ import annotations

import json
from itertools import product
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.cli.tradematch import tradematch
from marketplace.matching.exchange import ExchangeGraph
from marketplace.matching.ringgraph import collapse, short_cycles
from marketplace.matching.rings import RingLimits, solve_rings
from marketplace.matching.tmreport import certificate_lines
from tests.support.rings import brute_force, check_feasible, item_trades

PROFILE = settings.get_profile("matching")


@settings(PROFILE, max_examples=120, derandomize=True)
@given(item_trades(), st.integers(2, 4))
def test_capped_rings_match_brute_force(graph: ExchangeGraph, cap: int) -> None:
    solution = solve_rings(graph, cap)
    check_feasible(graph, solution.cycles)
    for cycle in solution.cycles:
        assert sum(graph.agent_counts[graph.receiver(t)] for t in cycle) <= cap
    assert solution.status == "OPTIMAL"
    assert (solution.items, -solution.cost, solution.owners_trading) == brute_force(graph, cap)
    assert solution.bound == solution.items
    assert solution.cost_bound == solution.cost
    assert solution.owners_bound == solution.owners_trading


def run(tmp_path: Path, text: str, *options: str) -> tuple[int, str, str]:
    wants = tmp_path / "w.txt"
    wants.write_text(text, encoding="utf-8")
    out = tmp_path / "out.txt"
    result = CliRunner().invoke(tradematch, [str(wants), "-o", str(out), *options])
    report = out.read_text(encoding="utf-8") if out.exists() else ""
    return result.exit_code, report, result.output


def test_dummies_do_not_count_towards_the_cap(tmp_path: Path) -> None:
    text = "#! ALLOW-DUMMIES\n(a) A : %D\n(a) %D : B\n(b) B : C\n(c) C : A\n"
    code, report, _ = run(tmp_path, text, "--max-cycle", "3")
    assert code == 0
    assert "TRADE LOOPS (3 total trades):" in report
    assert "Certificate = optimal" in report
    # Two real items are one too many for a cap of 2, dummy or not.
    code, report, _ = run(tmp_path, text, "--max-cycle", "2")
    assert code == 0 and "Num trades  = 0 of 3 items" in report


def test_a_dummy_is_used_by_one_ring_at_most() -> None:
    # Owner 0 gives A or B for one item through %D; C and E both want A/B.
    # Without the dummy's capacity two 2-rings would trade 4 items.
    #   0:A  1:B  2:%D (owner 0)  3:C  4:E
    graph = ExchangeGraph(
        agent_owner=[0, 0, 0, 1, 2],
        agent_counts=[True, True, False, True, True],
        give_agent=list(range(5)),
        give_capacity=[1] * 5,
        want_agent=list(range(5)),
        want_capacity=[1] * 5,
    )
    # %D -> A, %D -> B; C -> %D, E -> %D; A -> C, B -> E
    for giver, receiver in [(2, 0), (2, 1), (3, 2), (4, 2), (0, 3), (1, 4)]:
        graph.transfer_give.append(giver)
        graph.transfer_want.append(receiver)
        graph.transfer_cost.append(1)
    solution = solve_rings(graph, 2)
    check_feasible(graph, solution.cycles)
    assert solution.items == 2 and solution.status == "OPTIMAL"


def test_json_states_the_certificate(tmp_path: Path) -> None:
    text = "(a) A : B\n(b) B : C\n(c) C : A D\n(d) D : C\n"
    wants = tmp_path / "w.txt"
    wants.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(tradematch, [str(wants), "--max-cycle", "3", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["trades"] == 3 and summary["users_trading"] == 3
    assert summary["certificate"] == {
        "status": "optimal",
        "trades_bound": 3,
        "gap": 0.0,
        "cost_bound": 3,
        "users_trading_bound": 3,
        "notes": [],
    }


def test_an_unproven_result_says_so_with_its_bound() -> None:
    # Every item can trade in one long loop; listing stops after one short cycle.
    n = 6
    graph = ExchangeGraph(
        agent_owner=list(range(n)),
        agent_counts=[True] * n,
        give_agent=list(range(n)),
        give_capacity=[1] * n,
        want_agent=list(range(n)),
        want_capacity=[1] * n,
    )
    for i in range(n):
        for j in (i + 1, i + 2):
            graph.transfer_give.append(j % n)
            graph.transfer_want.append(i)
            graph.transfer_cost.append(1)
    solution = solve_rings(graph, 3, limits=RingLimits(max_cycles=1))
    assert solution.status == "FEASIBLE"
    assert solution.bound == 6 and solution.items < 6
    lines = certificate_lines(3, solution)
    assert lines[1].startswith("Certificate = not proven optimal: at most 6 trades, gap")
    assert "more than 1 cycles" in lines[1]


@pytest.mark.parametrize("cap", [2, 5, 8])
def test_every_cap_finishes_within_the_time_limit(
    cap: int, mathtrade_dir: Path, tmp_path: Path
) -> None:
    wants = mathtrade_dir / "tm_onewant.txt"
    out = tmp_path / "out.txt"
    args = [str(wants), "-o", str(out), "--max-cycle", str(cap), "--time-limit", "8", "--json"]
    result = CliRunner().invoke(tradematch, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["seconds"] < 8 + 2
    assert summary["longest_cycle"] <= cap
    assert "Certificate = " in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("cap", ["1", "9"])
def test_caps_outside_two_to_eight_are_refused_cleanly(cap: str, tmp_path: Path) -> None:
    code, _, output = run(tmp_path, "A : B\nB : A\n", "--max-cycle", cap)
    assert code == 2 and "Traceback" not in output
    assert "--max-cycle" in output


def test_a_cut_cycle_list_keeps_every_shorter_ring() -> None:
    # Six items that all want each other: 15 two-rings, 40 three-rings, 90 four-rings.
    n = 6
    graph = ExchangeGraph(
        agent_owner=list(range(n)),
        agent_counts=[True] * n,
        give_agent=list(range(n)),
        give_capacity=[1] * n,
        want_agent=list(range(n)),
        want_capacity=[1] * n,
    )
    for giver, receiver in product(range(n), repeat=2):
        if giver != receiver:
            graph.transfer_give.append(giver)
            graph.transfer_want.append(receiver)
            graph.transfer_cost.append(1)
    ring = collapse(graph)
    full = short_cycles(ring, 4, max_cycles=1000)
    assert full.complete and [len(c) for c in full.cycles].count(4) == 90
    cut = short_cycles(ring, 4, max_cycles=80)
    assert not cut.complete and len(cut.cycles) == 80
    lengths = [len(c) for c in cut.cycles]
    assert (lengths.count(2), lengths.count(3), lengths.count(4)) == (15, 40, 25)
    # The four-rings that fit are shared out, not all from the first item.
    assert len({c[0] for c in cut.cycles if len(c) == 4}) > 1
