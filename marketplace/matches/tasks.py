"""Match refreshes after list changes and the global solve, component by component."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from flask import current_app
from sqlalchemy.exc import OperationalError

from marketplace.core import outbox
from marketplace.core.extensions import db
from marketplace.core.tasks import db_task, first_delivery
from marketplace.matches import solve
from marketplace.matches.fresh_rings import find_rings_through
from marketplace.matches.refresh import MatchLimits, refresh_after_change

log = logging.getLogger(__name__)


@db_task("refresh_collector_matches", max_retries=5, time_limit=120)
def refresh_collector_matches(user_id: int, outbox_id: int | None = None, **changes: Any) -> str:
    """Refresh one collector's swaps and offers after a list change (queued by the
    list services); both sides of every swap are kept in step. An event that says
    what changed (`have_pins`, `want_pins`, `want_groups`) refreshes only that;
    one without (just the user id, or `full`) refreshes everything."""
    if not first_delivery(outbox_id):
        return "skipped"
    limits = MatchLimits.from_config(current_app.config)
    outcome = refresh_after_change(db.session(), user_id, limits=limits, **changes)
    # Rings through the collector come next, in their own task, so the swaps and
    # offers are current without waiting for the ring search.
    outbox.enqueue(
        db.session(),
        RINGS_TASK,
        user_id=user_id,
        have_pins=changes.get("have_pins") or [],
        want_pins=changes.get("want_pins") or [],
    )
    new, back, gone = len(outcome.new), len(outcome.reactivated), len(outcome.deactivated)
    return f"{new} new, {back} back, {gone} gone"


RINGS_TASK = "workers.tasks.find_collector_rings"


@db_task("find_collector_rings", max_retries=5, time_limit=120)
def find_collector_rings(
    user_id: int,
    outbox_id: int | None = None,
    have_pins: list[int] | None = None,
    want_pins: list[int] | None = None,
) -> str:
    """Find and store the short rings through a collector whose lists changed
    (`marketplace.matches.fresh_rings`); new ones are mailed like any match."""
    if not first_delivery(outbox_id):
        return "skipped"
    config = current_app.config
    found = find_rings_through(
        db.session(),
        user_id,
        cap=int(config.get("MATCH_CYCLE_CAP", 3)),
        ring_days=int(config.get("RING_DEADLINE_DAYS", solve.PROPOSAL_DAYS)),
        have_pins=have_pins or (),
        want_pins=want_pins or (),
    )
    return f"{found.stored} rings of {found.loops} loops among {found.candidates} collectors"


@db_task("global_solve", max_retries=3, time_limit=1800)
def global_solve() -> int:
    """Beat: start a global solve with the configured cycle cap; one
    `solve_component` task per strongly connected component follows the commit."""
    config = current_app.config
    planned = solve.run_global_solve(
        db.session(),
        cap=int(config.get("MATCH_CYCLE_CAP", 3)),
        time_limit=float(config.get("MATCH_SOLVE_SECONDS", solve.DEFAULT_TIME_LIMIT)),
    )
    return planned.run_id


@db_task("solve_component", max_retries=3, time_limit=1800, bind=True)
def solve_component(
    self: Task,
    run_id: int,
    component: int,
    collector_ids: list[int],
    outbox_id: int | None = None,
) -> str:
    """Solve one component of a run and store its cycles as proposals. A component
    that cannot be solved (past its soft time limit, a solver error, the database
    still failing after the last retry) is recorded as failed, so the run closes."""
    if not first_delivery(outbox_id):
        return "skipped"
    session = db.session()
    try:
        with session.begin_nested():  # on failure only the solve's writes are undone
            result = solve.solve_component(
                session,
                run_id,
                collector_ids,
                ring_days=int(current_app.config.get("RING_DEADLINE_DAYS", solve.PROPOSAL_DAYS)),
            )
    except Exception as exc:
        if isinstance(exc, OperationalError) and self.request.retries < self.max_retries:
            raise  # autoretry_for: the database may be back in a moment
        log.exception("solve run %s component %s failed", run_id, component)
        solve.component_failed(session, run_id, len(collector_ids), type(exc).__name__)
        return "failed"
    log.info(
        "solve run %s component %s: %d items, %d proposals, %s in %.1fs",
        run_id, component, result.items, result.proposals, result.status, result.seconds,
    )  # fmt: skip
    return result.status
