"""Reading matches back for the pages, the API and the mail: a collector's matches
best first (`matches_for`), each with its pins each way as read now — titles,
conditions, priorities and prices joined from the catalogue and the lists, the
cycle's members and legs from its proposal, and "why it ranks here" worded from
the stored score terms (`shown`, `pins_each_way`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import get_locale
from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased, selectinload

from marketplace.accounts.models import Block, User
from marketplace.catalogue.models import Pin
from marketplace.catalogue.titles import title_column
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page
from marketplace.lists.models import Condition, Have, Want
from marketplace.matches.market import chunks
from marketplace.matches.models import (
    MATCH_KINDS,
    Match,
    MatchItem,
    SolveRun,
    TradeLeg,
    TradeProposal,
)
from marketplace.matches.scoring import Terms, explain

PER_PAGE = 20


def matches_for(
    session: Session,
    user_id: int,
    *,
    kind: str | None = None,
    active: bool | None = True,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[Match]:
    """A collector's matches, best first within each kind (swaps, offers, cycles),
    none with a collector either of them blocked."""
    query = select(Match).where(Match.user_id == user_id, not_blocked(user_id))
    if kind is not None:
        query = query.where(Match.kind == kind)
    if active is not None:
        query = query.where(Match.active.is_(active))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    order = case({k: n for n, k in enumerate(MATCH_KINDS)}, value=Match.kind)
    items = session.scalars(
        query.options(selectinload(Match.counterpart))
        .order_by(order, Match.score.desc(), Match.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(items, total, page, per_page)


def not_blocked(
    user_id: int | ColumnElement[int] | InstrumentedAttribute[int],
) -> ColumnElement[bool]:
    """A condition on `Match`: no block stands between the collector (an id, or
    `Match.user_id` for many collectors' matches at once) and anyone in the match
    — a swap's or offer's counterpart, or any two members of a ring.

    Read-time, so a refresh or a solve that finds the pair again never shows it;
    the pages, the API and the mail all read matches through it."""
    counterpart = exists().where(
        or_(
            and_(Block.blocker_id == user_id, Block.blocked_id == Match.counterpart_id),
            and_(Block.blocked_id == user_id, Block.blocker_id == Match.counterpart_id),
        )
    )
    # Every member of a ring gives one leg, so its givers are its members.
    one, other = aliased(TradeLeg), aliased(TradeLeg)
    ring = exists().where(
        one.proposal_id == Match.proposal_id,
        other.proposal_id == Match.proposal_id,
        Block.blocker_id == one.giver_id,
        Block.blocked_id == other.giver_id,
    )
    return and_(~counterpart, or_(Match.proposal_id.is_(None), ~ring))


def is_new(match: Match, days: int = 3) -> bool:
    """First seen in the last few days: what the pages mark as new."""
    return match.first_seen_at >= utcnow() - timedelta(days=days)


# A pin of a match as the pages, the API and the mail show it: the pin (titled
# for the reader), the copy (the giver's Have) and the want it fills (the
# receiver's Want).
def _pin_columns() -> tuple[Any, ...]:
    return (
        Pin.id,
        Pin.ref,
        title_column(get_locale()),  # the reader's title (pages and API ask in their language)
        Pin.variant_group,
        Have.id,
        Have.condition,
        Have.quantity,
        Have.tradeable,
        Have.price,
        Have.currency,
        Want.id,
        Want.priority,
        Want.min_condition,
        Want.pin_id,
    )


def _pin(row: Sequence[Any]) -> dict[str, Any]:
    (pin_id, ref, title, group, have_id, condition, quantity, tradeable, price, currency,
     want_id, stars, min_condition, wanted_pin) = row  # fmt: skip
    return {
        "pin_id": pin_id,
        "ref": ref,
        "title": title,
        "variant_group": group,
        "condition": None if condition is None else Condition(condition).slug,
        "have_id": have_id,
        "quantity": quantity,
        "tradeable": tradeable,
        "price": None if price is None else str(Decimal(price).quantize(Decimal("0.01"))),
        "currency": currency,
        "want_id": want_id,
        "priority": stars,
        # The engine counts "at least poor" as no minimum.
        "min_condition": (
            Condition(min_condition).slug if min_condition and min_condition > 1 else None
        ),
        "any_variant": want_id is not None and wanted_pin is None,
    }


def pins_each_way(
    session: Session, match_ids: Sequence[int]
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """match id → {"receive": [...], "give": [...]}: its pins as shown, in order."""
    found: dict[int, dict[str, list[dict[str, Any]]]] = {
        i: {"receive": [], "give": []} for i in match_ids
    }
    query = (
        select(MatchItem.match_id, MatchItem.direction, *_pin_columns())
        .join(Pin, Pin.id == MatchItem.pin_id)
        .join(Have, Have.id == MatchItem.have_id)
        .join(Want, Want.id == MatchItem.want_id)
        .order_by(MatchItem.match_id, MatchItem.direction, MatchItem.position)
    )
    for batch in chunks(sorted(set(match_ids))):
        for match_id, direction, *row in session.execute(
            query.where(MatchItem.match_id.in_(batch))
        ):
            found[match_id][direction].append(_pin(row))
    return found


def cycles_of(session: Session, proposal_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """proposal id → its members in loop order and its legs, with names, as shown."""
    cycles: dict[int, dict[str, Any]] = {}
    proposals = session.scalars(
        select(TradeProposal).where(TradeProposal.id.in_(sorted(set(proposal_ids))))
    ).all()
    people = {int(m) for p in proposals for m in p.members}
    names: dict[int, str] = {
        user_id: name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(sorted(people)))
        )
    }
    for p in proposals:
        cycles[p.id] = {
            "proposal_id": p.id,
            "members": [{"id": int(m), "name": names.get(int(m), "")} for m in p.members],
            "legs": [],
            "expires_at": p.expires_at,
        }
    giver, receiver = aliased(User), aliased(User)
    legs = (
        select(
            TradeLeg.proposal_id,
            TradeLeg.position,
            giver.id,
            giver.display_name,
            receiver.id,
            receiver.display_name,
            *_pin_columns(),
        )
        .join(giver, giver.id == TradeLeg.giver_id)
        .join(receiver, receiver.id == TradeLeg.receiver_id)
        .join(Pin, Pin.id == TradeLeg.pin_id)
        .outerjoin(Have, Have.id == TradeLeg.have_id)
        .outerjoin(Want, Want.id == TradeLeg.want_id)
        .where(TradeLeg.proposal_id.in_(sorted(cycles)))
        .order_by(TradeLeg.proposal_id, TradeLeg.position)
    )
    for (
        proposal_id,
        position,
        giver_id,
        giver_name,
        receiver_id,
        receiver_name,
        *row,
    ) in session.execute(legs):
        cycles[proposal_id]["legs"].append(
            {
                "position": position,
                "giver_id": giver_id,
                "giver": giver_name,
                "receiver_id": receiver_id,
                "receiver": receiver_name,
                **_pin(row),
            }
        )
    return cycles


@dataclass(frozen=True, slots=True)
class ShownMatch:
    """A match as the pages and the API show it."""

    match: Match
    receive: list[dict[str, Any]]
    give: list[dict[str, Any]]
    cycle: dict[str, Any] | None
    explanation: dict[str, Any]
    new: bool
    # The collector's other live matches promising one of the same copies: only
    # one of them can go ahead, and the page says so beside each.
    shares: tuple[dict[str, Any], ...] = ()

    @property
    def pin_ids(self) -> set[int]:
        legs = self.cycle["legs"] if self.cycle else []
        return {int(i["pin_id"]) for i in (*self.receive, *self.give, *legs)}


def shown(session: Session, matches: Sequence[Match]) -> list[ShownMatch]:
    """These matches with their pins, cycles and explanations, in a few queries."""
    pins = pins_each_way(session, [m.id for m in matches])
    proposals = [m.proposal_id for m in matches if m.kind == "cycle" and m.proposal_id]
    cycles = cycles_of(session, proposals) if proposals else {}
    views = []
    for m in matches:
        cycle = cycles.get(m.proposal_id) if m.kind == "cycle" and m.proposal_id else None
        receive, give = pins[m.id]["receive"], pins[m.id]["give"]
        terms = Terms(m.score, m.coverage, m.balance, m.condition, m.reputation)
        length = len(cycle["legs"]) if cycle else None
        explanation = explain(m.kind, terms, receive, give, length)
        views.append(ShownMatch(m, receive, give, cycle, explanation, is_new(m)))
    shares = sharing_copies(session, views)
    return [replace(v, shares=shares.get(v.match.id, ())) for v in views]


def sharing_copies(
    session: Session, views: Sequence[ShownMatch]
) -> dict[int, tuple[dict[str, Any], ...]]:
    """match id → the owner's other active matches that promise one of its copies
    (a swap and a ring both giving away one pin), each with whom and which pin."""
    copies: dict[int, set[int]] = {}
    for v in views:
        for item in (*v.receive, *v.give):
            copies.setdefault(int(item["have_id"]), set()).add(v.match.id)
    if not views or not copies:
        return {}
    owners = sorted({v.match.user_id for v in views})
    other = aliased(User)
    query = (
        select(MatchItem.have_id, Match.id, Match.kind, Match.proposal_id, other.display_name)
        .join(Match, Match.id == MatchItem.match_id)
        .outerjoin(other, other.id == Match.counterpart_id)
        .where(Match.user_id.in_(owners), Match.active.is_(True), Match.kind != "offer")
        .order_by(Match.id)
    )
    titles = {int(i["have_id"]): i["title"] for v in views for i in (*v.receive, *v.give)}
    found: dict[int, dict[int, dict[str, Any]]] = {}
    for batch in chunks(sorted(copies)):
        for have_id, match_id, kind, proposal_id, name in session.execute(
            query.where(MatchItem.have_id.in_(batch))
        ):
            for mine in copies[have_id]:
                if mine == match_id:
                    continue
                entry = found.setdefault(mine, {}).setdefault(
                    match_id,
                    {"match_id": match_id, "kind": kind, "with": name,
                     "proposal_id": proposal_id, "pins": []},
                )  # fmt: skip
                if titles[have_id] not in entry["pins"]:
                    entry["pins"].append(titles[have_id])
    return {mine: tuple(others.values()) for mine, others in found.items()}


def pictures(session: Session, views: Sequence[ShownMatch]) -> dict[int, Pin]:
    """The pins these matches show, with their photos, from one query."""
    ids = sorted({p for v in views for p in v.pin_ids})
    query = select(Pin).where(Pin.id.in_(ids)).options(selectinload(Pin.photos))
    return {p.id: p for p in session.scalars(query)}


def shows_have(session: Session, viewer_id: int, have_id: int) -> bool:
    """Whether one of the collector's current matches (with no one blocked)
    includes the copy (so its photos are theirs to see)."""
    found = session.scalar(
        select(MatchItem.match_id)
        .join(Match, Match.id == MatchItem.match_id)
        .where(
            MatchItem.have_id == have_id,
            Match.user_id == viewer_id,
            Match.active.is_(True),
            not_blocked(viewer_id),
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class SolveSchedule:
    """When rings were last looked for and when they next will be: the latest
    finished global solve, one running now (with its progress), and when beat
    starts the next (the last start plus the schedule's interval; None before
    the first, which beat starts one interval after it starts)."""

    last: SolveRun | None
    running: SolveRun | None
    next_at: datetime | None
    every: timedelta


def solve_schedule(session: Session, every: timedelta) -> SolveSchedule:
    runs = list(session.scalars(select(SolveRun).order_by(SolveRun.started_at.desc()).limit(5)))
    running = next((r for r in runs if r.status == "running"), None)
    last = next((r for r in runs if r.status == "finished"), None)
    latest = runs[0] if runs else None
    next_at = None
    if latest is not None:
        next_at = latest.started_at + every
        # Overdue (beat was down): the next one starts as soon as beat runs.
        next_at = max(next_at, utcnow())
    return SolveSchedule(last=last, running=running, next_at=next_at, every=every)
