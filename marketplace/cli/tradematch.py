"""``znachki tradematch``: solve a TradeMaximizer / OLWLG want-list file.

Reads a math-trade want list, finds the maximum number of items that can
change hands in trade loops (then the lowest priority cost, then the most users
trading) and writes TradeMaximizer 1.3c's result format to a file or stdout.
With ``--max-cycle`` the loops are short and the result carries a
certificate: proven optimal, or the best bound and the gap. ``--json`` prints
the figures and the certificate as JSON. Deliberately imports neither Flask
nor SQLAlchemy so it starts fast; the app's CLI registers it lazily. What it says
to the person running it (warnings, refusals) is in the shell's language (LANG),
read from the catalogues only when there is something to say.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["tradematch"]

MAX_CAP = 8
TRANSLATIONS = Path(__file__).resolve().parent.parent.parent / "translations"


def gettext(message: str, **values: Any) -> str:
    """`message` in the shell's language (LC_ALL, LC_MESSAGES, LANG), with its
    values; English when the shell asks for a language without a catalogue."""
    from babel.support import NullTranslations, Translations

    from marketplace.core.shell_language import environment_language

    language = environment_language()
    catalogue: NullTranslations = NullTranslations()
    if language and language != "en":
        catalogue = Translations.load(str(TRANSLATIONS), [language])
    text = catalogue.gettext(message)
    return text % values if values else text


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
    type=click.IntRange(min=2, max=MAX_CAP),
    default=None,
    help="Longest allowed trade loop, in real items (dummies do not count); exact"
    " integer program with a certificate of optimality.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds for the whole run with --max-cycle; a result it cuts short says so.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the figures and the certificate as JSON on stdout (the result file"
    " then goes only to --output).",
)
def tradematch(
    wants: Path, output: Path | None, max_cycle: int | None, time_limit: float, as_json: bool
) -> None:
    """Find trade loops for the want lists in WANTS ('-' reads stdin)."""
    # A file turns into a few hundred thousand long-lived objects and no
    # cyclic garbage: the collector would only re-scan them, milliseconds per
    # file for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report, summary = _solve(wants, max_cycle, time_limit)
    finally:
        if collecting:
            gc.enable()
    if output is not None:
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(report, encoding="utf-8")
        tmp.replace(output)
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False))
    elif output is None:
        click.echo(report, nl=False)


def _solve(wants: Path, max_cycle: int | None, time_limit: float) -> tuple[str, dict[str, Any]]:
    """Read, solve and format one want-list file: (result file, JSON summary)."""
    from marketplace.matching.javatext import decode
    from marketplace.matching.wantlist import WantListError, build_problem, parse_wantlist

    started = time.monotonic()
    try:
        # Bytes, not text mode: lines end where the reference ends them.
        data = sys.stdin.buffer.read() if str(wants) == "-" else wants.read_bytes()
    except OSError as exc:
        raise click.ClickException(
            gettext("cannot read %(file)s: %(reason)s", file=wants, reason=exc.strerror)
        ) from exc
    try:
        wantlist = parse_wantlist(decode(data))
    except WantListError as exc:
        raise click.ClickException(f"{wants}: {exc}") from exc
    for warning in wantlist.warnings:
        click.echo(gettext("warning: %(file)s: %(warning)s", file=wants, warning=warning), err=True)

    solving = time.perf_counter()
    problem = build_problem(wantlist)
    spread = problem.has_usernames
    try:
        if max_cycle is None:
            from marketplace.matching.circulation import solve_unbounded

            solution = solve_unbounded(problem.graph, spread_owners=spread)
        else:
            from marketplace.matching.rings import RingLimits, solve_rings

            left = time_limit - (time.monotonic() - started)
            solution = solve_rings(
                problem.graph,
                max_cycle,
                spread_owners=spread,
                limits=RingLimits(time_limit=max(left, 0.01)),
            )
    except OverflowError as exc:
        raise click.ClickException(
            gettext(
                "%(file)s: the priorities are too far apart to rank exactly (%(reason)s)",
                file=wants,
                reason=exc,
            )
        ) from exc
    except MemoryError as exc:
        raise click.ClickException(
            gettext("%(file)s: out of memory; try a smaller --max-cycle", file=wants)
        ) from exc
    except RuntimeError as exc:  # a solver that gave up: say so, not a traceback
        raise click.ClickException(
            gettext("%(file)s: the solver failed: %(reason)s", file=wants, reason=exc)
        ) from exc

    from marketplace.matching.tmreport import certificate_lines, format_report, trade_loops

    loops = trade_loops(problem, solution)
    elapsed_ms = round((time.perf_counter() - solving) * 1000)
    certificate = None if max_cycle is None else certificate_lines(max_cycle, solution)
    if certificate is not None and solution.status != "OPTIMAL":
        gap = certificate[-1].split("= ", 1)[1]
        click.echo(gettext("warning: %(file)s: %(warning)s", file=wants, warning=gap), err=True)
    report = format_report(problem, loops, elapsed_ms=elapsed_ms, certificate=certificate)
    summary = _summary(problem, loops, solution, max_cycle, time.monotonic() - started)
    return report, summary


def _summary(
    problem: Any, loops: Any, solution: Any, max_cycle: int | None, seconds: float
) -> dict[str, Any]:
    sizes = sorted((len(loop) for loop in loops.loops), reverse=True)
    users = {problem.users[v] for loop in loops.loops for v in loop} - {None}
    summary: dict[str, Any] = {
        "items": problem.real_items,
        "trades": loops.trades,
        "users_trading": len(users) if problem.has_usernames else None,
        "groups": len(sizes),
        "longest_cycle": sizes[0] if sizes else 0,
        "sum_squares": sum(s * s for s in sizes),
        "total_cost": loops.cost,
        "max_cycle": max_cycle,
        "seconds": round(seconds, 3),
    }
    if max_cycle is not None:
        summary["certificate"] = {
            "status": "optimal" if solution.status == "OPTIMAL" else "not proven",
            "trades_bound": solution.bound,
            "gap": round(solution.gap, 6),
            "cost_bound": solution.cost_bound,
            "users_trading_bound": solution.owners_bound if problem.has_usernames else None,
            "notes": list(solution.notes),
        }
    return summary


if __name__ == "__main__":
    tradematch()
