"""The global solve: the market split into strongly connected components (cycles
never cross them), one `solve_component` task per component, each component's
multi-party cycles stored as `TradeProposal`s with their legs and as its members'
`cycle` matches, and the run closed when its last component is done.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from marketplace.accounts.blocks import any_blocked
from marketplace.accounts.models import User
from marketplace.accounts.reputation import standings
from marketplace.catalogue.models import Pin
from marketplace.core import outbox
from marketplace.core.models import utcnow
from marketplace.lists.models import Have, Want
from marketplace.matches.market import (
    HAVE_COLUMNS,
    WANT_COLUMNS,
    RowHave,
    RowWant,
    chunks,
    have_of,
    want_of,
)
from marketplace.matches.models import Match, SolveRun, TradeLeg, TradeProposal
from marketplace.matches.refresh import rows_of
from marketplace.matches.scoring import cycle_terms, to_engine_priority
from marketplace.matches.store import Outcome, Wanted, item_refs, store
from marketplace.matching import model as engine
from marketplace.matching.market import TradeCycle

log = logging.getLogger(__name__)

COMPONENT_TASK = "workers.tasks.solve_component"
PROPOSAL_DAYS = 7  # how long a ring waits for its members (RING_DEADLINE_DAYS)
DEFAULT_TIME_LIMIT = 60.0
# The nightly solve's graph bound (a product rule): each collector receives at most
# DEFAULT_TOP_K candidate transfers, from their most wanted wants first (see
# `marketplace.matching.market.build_market`). The solve is exact on that graph.
DEFAULT_TOP_K = 20
# Rings prefer members who have shown others they trade: among rings that move as
# many pins for as well-loved wants, the engine takes the one whose members give
# the least tie-break, 0 (reputation 1) … RING_TIE_LEVELS (a new member). Few
# levels keep the engine's folded integer costs small.
RING_TIE_LEVELS = 4


@dataclass(frozen=True, slots=True)
class Planned:
    """A global solve run and its components (collector ids), one task each."""

    run_id: int
    components: list[list[int]]


def load_market(session: Session, collectors: Sequence[int] | None = None) -> engine.MarketIndex:
    """Everybody's lists (or just `collectors`') as an in-memory index; the pin
    groups of every pin a Have or Want names."""
    # Copies promised to a trade or a checkout are not on offer.
    have_query = select(*HAVE_COLUMNS).where(Have.quantity > Have.reserved)
    want_query = select(*WANT_COLUMNS)
    haves: list[engine.Have] = []
    wants: list[engine.Want] = []
    batches: Iterable[list[int] | None] = [None] if collectors is None else chunks(collectors)
    for batch in batches:
        hq = have_query if batch is None else have_query.where(Have.user_id.in_(batch))
        wq = want_query if batch is None else want_query.where(Want.user_id.in_(batch))
        haves.extend(have_of(r) for r in session.execute(hq.order_by(Have.id)))
        wants.extend(want_of(r) for r in session.execute(wq.order_by(Want.id)))
    pins = {int(h.pin) for h in haves} | {int(w.pin) for w in wants if w.pin is not None}
    groups = sorted({w.group for w in wants if w.group is not None})
    pin_groups: dict[engine.PinId, str] = {}
    for batch_pins in chunks(sorted(pins)):
        query = select(Pin.id, Pin.variant_group).where(Pin.id.in_(batch_pins))
        pin_groups.update((p, g) for p, g in session.execute(query))
    for batch_groups in chunks(groups):
        query = select(Pin.id, Pin.variant_group).where(Pin.variant_group.in_(batch_groups))
        pin_groups.update((p, g) for p, g in session.execute(query))
    return engine.MarketIndex(haves, wants, pin_groups)


def run_global_solve(
    session: Session,
    cap: int = 3,
    time_limit: float = DEFAULT_TIME_LIMIT,
    top_k: int | None = DEFAULT_TOP_K,
) -> Planned:
    """Start a run: split the market into strongly connected components (cycles
    never cross them) and queue one `solve_component` task per component."""
    from marketplace.matching.market import build_market

    if cap < 2:
        raise ValueError("the cycle cap is at least 2")
    index = load_market(session)
    traders = sorted(
        {int(h.collector) for h in index.haves if h.tradeable}
        & {int(w.collector) for w in index.wants}
    )
    market = build_market(traders, index, top_k=top_k)
    del index
    components = [
        sorted(int(market.collectors[a]) for a in component.agents)
        for component in market.graph.components()
    ]
    components.sort(key=len, reverse=True)
    run = SolveRun(
        cycle_cap=cap,
        time_limit_s=time_limit,
        collectors=len(traders),
        components=len(components),
    )
    session.add(run)
    session.flush()
    for number, members in enumerate(components):
        outbox.enqueue(
            session, COMPONENT_TASK, run_id=run.id, component=number, collector_ids=members
        )
    if not components:
        _finish(session, run.id)
    log.info("solve run %s: %d collectors, %d components", run.id, len(traders), len(components))
    return Planned(run.id, components)


def ring_tie_break(session: Session, collector_ids: Sequence[int]) -> dict[engine.CollectorId, int]:
    """Each collector's tie-break for the engine, from their standing (one read)."""
    return {
        user_id: round((1 - standing.score) * RING_TIE_LEVELS)
        for user_id, standing in standings(session, collector_ids).items()
    }


@dataclass(frozen=True, slots=True)
class ComponentResult:
    items: int
    collectors_trading: int
    proposals: int
    status: str
    gap: float
    seconds: float
    outcome: Outcome


def _signature(cycle: TradeCycle) -> str:
    """The same loop found again, whichever member it starts from."""
    legs = sorted(
        f"{t.giver}>{t.receiver}:{getattr(t.have, 'have_id', t.pin)}" for t in cycle.transfers
    )
    return hashlib.sha256("|".join(legs).encode()).hexdigest()


def propose_ring(
    session: Session, run_id: int | None, cycle: TradeCycle, now: datetime, days: int
) -> TradeProposal:
    """The ring's proposal: found again (by its signature) or new. A solve run
    (`run_id`) claims it and restarts its deadline; a ring found fresh after a list
    change (`run_id` None) leaves an open proposal as it is."""
    signature = _signature(cycle)
    expires = now + timedelta(days=days)
    if run_id is None:
        # Two fresh searches (one per member whose lists changed) may find the same
        # ring at once: its members' rows, locked in id order, make the second
        # wait for the first's commit and then find its proposal instead of
        # adding another. (SQLite writers are serialised already.)
        members = sorted({int(c) for c in cycle.collectors})
        session.execute(
            select(User.id).where(User.id.in_(members)).order_by(User.id).with_for_update()
        )
    found = session.scalar(
        select(TradeProposal)
        .where(
            TradeProposal.signature == signature,
            TradeProposal.status.in_(("proposed", "superseded")),
        )
        .order_by(TradeProposal.id.desc())
        .limit(1)
    )
    if found is not None and run_id is None and found.status == "proposed":
        return found
    if found is not None:
        found.status, found.solve_run_id, found.expires_at = "proposed", run_id, expires
        return found
    proposal = TradeProposal(
        solve_run_id=run_id,
        signature=signature,
        status="proposed",
        members=[int(c) for c in cycle.collectors],
        created_at=now,
        expires_at=expires,
    )
    for position, t in enumerate(cycle.transfers):
        assert isinstance(t.have, RowHave) and isinstance(t.want, RowWant)
        proposal.legs.append(
            TradeLeg(
                position=position,
                giver_id=int(t.giver),
                receiver_id=int(t.receiver),
                have_id=t.have.have_id,
                want_id=t.want.want_id,
                pin_id=int(t.pin),
            )
        )
    session.add(proposal)
    session.flush()
    return proposal


def cycle_rows(proposal: TradeProposal, cycle: TradeCycle) -> list[Wanted]:
    """Each member's place in the cycle: the pin they receive and the one they give."""
    given = {t.giver: t for t in cycle.transfers}
    wanted = []
    for t in cycle.transfers:
        assert isinstance(t.want, RowWant)
        mine = item_refs(
            [rows_of(t.have, t.want)], [rows_of(given[t.receiver].have, given[t.receiver].want)]
        )
        terms = cycle_terms(to_engine_priority(t.want.priority), t.have.condition)
        key = f"cycle:{proposal.id}"
        wanted.append(Wanted(int(t.receiver), "cycle", key, None, mine, terms, proposal.id))
    return wanted


def solve_component(
    session: Session,
    run_id: int,
    collector_ids: Sequence[int],
    time_limit: float | None = None,
    top_k: int | None = DEFAULT_TOP_K,
    ring_days: int = PROPOSAL_DAYS,
) -> ComponentResult:
    """Solve one component with the run's cycle cap, store its cycles as
    proposals and the members' cycle matches, and close the run if it was the
    last component."""
    from marketplace.matching.capped import CycleLimitExceeded
    from marketplace.matching.market import solve_market

    began = time.perf_counter()
    run = session.get(SolveRun, run_id)
    if run is None:
        raise LookupError(f"no solve run {run_id}")
    limit = run.time_limit_s if time_limit is None else time_limit
    index = load_market(session, sorted(collector_ids))
    note = None
    try:
        solution = solve_market(
            sorted(collector_ids),
            index,
            max_cycle_length=run.cycle_cap,
            time_limit=limit,
            top_k=top_k,
            tie_break=ring_tie_break(session, collector_ids),
        )
        cycles, status, gap = solution.cycles, solution.status, solution.gap
        items, trading = solution.items, solution.collectors_trading
        if status != "OPTIMAL":
            note = (
                f"{len(collector_ids)} collectors: {status} after {limit:g} s, "
                f"{items} items, gap {gap:.4f}"
            )
    except CycleLimitExceeded as exc:
        # Too many candidate loops for the exact program: record it, propose nothing.
        cycles, status, gap, items, trading = (), "SKIPPED", 1.0, 0, 0
        note = f"{len(collector_ids)} collectors: {exc}"
    now = utcnow()
    wanted: list[Wanted] = []
    rings = 0
    for cycle in cycles:
        if len(set(cycle.collectors)) < 3:
            # Two collectors giving each other pins are a two-way swap, which the
            # pairwise matches already show and mail: never the same deal twice.
            continue
        if any_blocked(session, (int(c) for c in cycle.collectors)):
            continue  # two of its members block each other: no ring between them
        proposal = propose_ring(session, run_id, cycle, now, ring_days)
        wanted.extend(cycle_rows(proposal, cycle))
        rings += 1
    outcome = store(session, wanted, now)
    seconds = time.perf_counter() - began
    values: dict[str, Any] = {
        "components_done": SolveRun.components_done + 1,
        "items_traded": SolveRun.items_traded + items,
        "collectors_trading": SolveRun.collectors_trading + trading,
        "proposals": SolveRun.proposals + rings,
        "max_gap": case((SolveRun.max_gap < gap, gap), else_=SolveRun.max_gap),
    }
    if status != "OPTIMAL":
        values["optimal"] = False
    session.execute(update(SolveRun).where(SolveRun.id == run_id).values(**values))
    if note:
        session.refresh(run)
        run.notes = [*run.notes, note]
    session.flush()
    session.refresh(run)
    if run.components_done >= run.components:
        _finish(session, run_id)
    return ComponentResult(items, trading, rings, status, gap, seconds, outcome)


def component_failed(session: Session, run_id: int, size: int, reason: str) -> None:
    """A component's solve gave up for good (a worker killed at the time limit, a
    solver error): count it as done without proposals, so the run still closes,
    and say why in the run's notes."""
    session.execute(
        update(SolveRun)
        .where(SolveRun.id == run_id)
        .values(components_done=SolveRun.components_done + 1, optimal=False)
    )
    run = session.get(SolveRun, run_id)
    if run is None:
        raise LookupError(f"no solve run {run_id}")
    session.refresh(run)
    run.notes = [*run.notes, f"{size} collectors: failed, {reason}"[:500]]
    session.flush()
    if run.components_done >= run.components:
        _finish(session, run_id)


def _finish(session: Session, run_id: int) -> None:
    """Close a run: proposals an earlier run made and this one did not find again
    are superseded, and their members' cycle matches turn inactive."""
    run = session.get(SolveRun, run_id)
    assert run is not None
    now = utcnow()
    stale = session.scalars(
        select(TradeProposal.id).where(
            TradeProposal.status == "proposed",
            or_(TradeProposal.solve_run_id != run_id, TradeProposal.solve_run_id.is_(None)),
        )
    ).all()
    for batch in chunks(stale):
        session.execute(
            update(TradeProposal).where(TradeProposal.id.in_(batch)).values(status="superseded")
        )
        session.execute(
            update(Match)
            .where(Match.proposal_id.in_(batch), Match.active.is_(True))
            .values(active=False, changed_at=now)
        )
    run.status = "finished"
    run.finished_at = now
    run.seconds = round((now - run.started_at).total_seconds(), 3)
    session.flush()
