"""``znachki tradematch``: solve a TradeMaximizer / OLWLG want-list file.

Reads a math-trade want list, finds the maximum number of items that can
change hands in trade loops (then the lowest priority cost, then the most users
trading) and writes TradeMaximizer 1.3c's result format to a file or stdout.
Deliberately imports neither Flask nor SQLAlchemy so it starts fast; the app's
CLI registers it lazily.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import click

__all__ = ["tradematch"]


@click.command("tradematch")
@click.argument("wants", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the result here instead of stdout (only written on success).",
)
@click.option(
    "--max-cycle",
    type=click.IntRange(min=2),
    default=None,
    help="Longest allowed trade loop (exact integer program, CP-SAT).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds for the CP-SAT solve with --max-cycle.",
)
def tradematch(wants: Path, output: Path | None, max_cycle: int | None, time_limit: float) -> None:
    """Find trade loops for the want lists in WANTS ('-' reads stdin)."""
    # A file turns into a few hundred thousand long-lived objects and no
    # cyclic garbage: the collector would only re-scan them, milliseconds per
    # file for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report = _report(wants, max_cycle, time_limit)
    finally:
        if collecting:
            gc.enable()
    if output is None:
        click.echo(report, nl=False)
    else:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(report, encoding="utf-8")
        tmp.replace(output)


def _report(wants: Path, max_cycle: int | None, time_limit: float) -> str:
    """Read, solve and format one want-list file."""
    from marketplace.matching.javatext import decode
    from marketplace.matching.wantlist import WantListError, build_problem, parse_wantlist

    try:
        # Bytes, not text mode: lines end where the reference ends them.
        data = sys.stdin.buffer.read() if str(wants) == "-" else wants.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {wants}: {exc.strerror}") from exc
    text = decode(data)
    try:
        wantlist = parse_wantlist(text)
    except WantListError as exc:
        raise click.ClickException(f"{wants}: {exc}") from exc
    for warning in wantlist.warnings:
        click.echo(f"warning: {wants}: {warning}", err=True)

    started = time.perf_counter()
    problem = build_problem(wantlist)
    spread = problem.has_usernames
    if max_cycle is None:
        from marketplace.matching.circulation import solve_unbounded

        solution = solve_unbounded(problem.graph, spread_owners=spread)
    else:
        from marketplace.matching.capped import solve_capped

        solution = solve_capped(
            problem.graph, max_cycle, time_limit=time_limit, spread_owners=spread
        )
        if solution.status != "OPTIMAL":
            click.echo(
                f"warning: CP-SAT stopped at {solution.status}; items bound"
                f" {solution.bound}, gap {solution.gap:.1%}",
                err=True,
            )

    from marketplace.matching.tmreport import format_report, trade_loops

    loops = trade_loops(problem, solution)
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    return format_report(problem, loops, elapsed_ms=elapsed_ms)


if __name__ == "__main__":
    tradematch()
