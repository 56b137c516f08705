"""TradeMaximizer 1.3c result files.

Owns the text layout of TradeMaximizer's output (header, options, ERRORS,
TRADE LOOPS, ITEM SUMMARY and the statistics lines) so that a result from
``znachki tradematch`` compares line by line with the reference solver's.
Only the first line differs: it names this program. A capped solve adds two
lines after the statistics: the cap and the certificate (optimal, or the best
bound on trades and the gap, and why the proof stopped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marketplace.matching.exchange import Circulation
from marketplace.matching.wantlist import TradeProblem

__all__ = ["HEADER", "TradeLoops", "certificate_lines", "format_report", "trade_loops"]

HEADER = "TradeMaximizer Version 1.3c (znachki tradematch)"


@dataclass(frozen=True, slots=True)
class TradeLoops:
    """Cycles of real items (dummies elided), each as agent ids in order:
    ``loop[k]`` receives ``loop[k + 1]`` (cyclically)."""

    loops: list[list[int]]
    cost: int  # sum of the priority cost of each real item's incoming transfer

    @property
    def trades(self) -> int:
        return sum(len(loop) for loop in self.loops)


def trade_loops(problem: TradeProblem, solution: Circulation) -> TradeLoops:
    """Turn a circulation into TradeMaximizer's loops: dummies elided, each
    loop starting at its earliest item, loops in order of first item."""
    graph = problem.graph
    receives: dict[int, int] = {}  # agent -> agent whose item it receives
    cost_in: dict[int, int] = {}
    for cycle in solution.cycles:
        for t in cycle:
            r = graph.receiver(t)
            receives[r] = graph.giver(t)
            cost_in[r] = graph.transfer_cost[t]
    dummy = problem.dummy
    loops: list[list[int]] = []
    seen: set[int] = set()
    cost = 0
    for start in sorted(receives):
        if start in seen or dummy[start]:
            continue
        loop: list[int] = []
        v = start
        while v not in seen:
            seen.add(v)
            loop.append(v)
            cost += cost_in[v]
            nxt = receives[v]
            while dummy[nxt]:
                seen.add(nxt)
                nxt = receives[nxt]
            v = nxt
        loops.append(loop)
    return TradeLoops(loops=loops, cost=cost)


def _java_sorted(lines: Sequence[str]) -> list[str]:
    # Java sorts strings by UTF-16 code units; this matches it outside the
    # astral planes, which item names do not use.
    return sorted(lines)


def certificate_lines(cap: int, solution: Circulation) -> list[str]:
    """What a capped solve proved, for the end of the result file."""
    lines = [f"Cycle cap   = {cap} items per loop (dummy items not counted)"]
    if solution.status == "OPTIMAL":
        lines.append("Certificate = optimal (trades, then total cost, then users trading)")
        return lines
    why = "; ".join(solution.notes) or "the proof is incomplete"
    if solution.bound is not None and solution.items < solution.bound:
        lines.append(
            f"Certificate = not proven optimal: at most {solution.bound} trades,"
            f" gap {solution.gap:.1%} ({why})"
        )
    else:
        lines.append(
            f"Certificate = trades optimal; total cost or users trading not proven ({why})"
        )
    return lines


def format_report(
    problem: TradeProblem,
    loops: TradeLoops,
    *,
    elapsed_ms: int | None = None,
    certificate: Sequence[str] | None = None,
) -> str:
    """The full result file, as TradeMaximizer 1.3c would print it."""
    opts = problem.wantlist.settings
    names, users, dummy = problem.names, problem.users, problem.dummy

    def show(v: int) -> str:
        user = users[v]
        if user is None or dummy[v]:
            return names[v]
        return f"{names[v]} {user}" if opts.sort_by_item else f"{user} {names[v]}"

    shown = [show(v) for v in range(len(names))]
    width = max((len(s) for s, d in zip(shown, dummy, strict=True) if not d), default=1)
    width = max(width, 1)

    def pad(s: str) -> str:
        return s.ljust(width)

    out: list[str] = [HEADER]
    if problem.wantlist.options:
        out.append("Options: " + " ".join(problem.wantlist.options))
    out.append("")
    if opts.show_missing and problem.missing_official:
        out.extend(
            f"**** Missing want list for official name {n}" for n in problem.missing_official
        )
        out.append("")
    if opts.show_errors and problem.errors:
        out.append("ERRORS:")
        out.extend(_java_sorted(problem.errors))
        out.append("")

    sends_to: dict[int, int] = {}
    for loop in loops.loops:
        for k, v in enumerate(loop):
            sends_to[loop[(k + 1) % len(loop)]] = v
    loop_lines: list[str] = []
    summary: list[str] = []
    trading: set[int] = set()
    for loop in loops.loops:
        for k, v in enumerate(loop):
            got = loop[(k + 1) % len(loop)]
            trading.add(v)
            loop_lines.append(f"{pad(shown[v])} receives {shown[got]}")
            summary.append(
                f"{pad(shown[v])} receives {pad(shown[got])} and sends to {shown[sends_to[v]]}"
            )
        loop_lines.append("")
    if opts.show_nontrades:
        summary.extend(
            f"{pad(shown[v])}             does not trade"
            for v in range(len(names))
            if not dummy[v] and v not in trading
        )
    trades = loops.trades
    if opts.show_loops:
        out.append(f"TRADE LOOPS ({trades} total trades):")
        out.append("")
        out.extend(loop_lines)
    if opts.show_summary:
        out.append(f"ITEM SUMMARY ({trades} total trades):")
        out.append("")
        out.extend(_java_sorted(summary))
        out.append("")

    real = problem.real_items
    line = f"Num trades  = {trades} of {real} items"
    if real:
        line += f" ({trades / real * 100:.1f}%)"
    out.append(line)
    if opts.show_stats:
        line = f"Total cost  = {loops.cost}"
        if trades:
            line += f" (avg {loops.cost / trades:.2f})"
        out.append(line)
        out.append(f"Num groups  = {len(loops.loops)}")
        sizes = sorted((len(loop) for loop in loops.loops), reverse=True)
        out.append("Group sizes =" + "".join(f" {s}" for s in sizes))
        out.append(f"Sum squares = {sum(s * s for s in sizes)}")
    if certificate:
        out.extend(certificate)
    if opts.show_elapsed_time and elapsed_ms is not None:
        out.append(f"Elapsed time = {elapsed_ms}ms")
    return "\n".join(out) + "\n"
