"""Scores and their wording: the one number each match ranks by (it sorts like
the engine's rank key, then the counterpart's reputation), the terms it is made
of (a match stores them as columns: coverage, balance, reputation, condition),
and "why it ranks here" — the explanation the
pages, the API and nothing else show, worded when a match is read, from those
terms and the match's pins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import format_decimal, format_percent, gettext, ngettext

from marketplace.core.i18n import N_
from marketplace.matching import model as engine
from marketplace.matching.pairwise import Offer, OneWayOffer, SwapScore, priority_weight


@dataclass(frozen=True, slots=True)
class Terms:
    """What a match ranks by, as stored: its score and the terms behind it."""

    score: float
    coverage: int | None
    balance: float | None
    condition: float
    # The counterpart's standing (`Standing.score`, 0 … 1); None for rings and
    # rows stored before reputation counted.
    reputation: float | None = None


# How much the counterpart's reputation weighs. Coverage moves in whole numbers
# (the least wanted want counts 1) and dominates: balance (x0.5) and reputation
# (x0.3) together add less than 1, so no reputation lifts a swap above one that
# fills more of your wants. But 0.3 outweighs a balance difference of up to 0.6
# (say an even swap against a two-for-one) and any difference in condition
# (x0.001): between otherwise equal or slightly better swaps, the collector with
# completed trades and good feedback comes first.
REPUTATION_WEIGHT = 0.3


def to_engine_priority(stars: int) -> int:
    """Collectors give a want 1 to 5 stars, 5 the most wanted (the lists pages sort
    and draw it so); the engine ranks 1 first, as TradeMaximizer does."""
    return 6 - stars


def swap_terms(score: SwapScore, reputation: float = 0.0) -> Terms:
    """One number: coverage first (whole numbers), then balance and the
    counterpart's reputation (see REPUTATION_WEIGHT), then condition."""
    rep = round(reputation, 6)
    value = score.coverage + 0.5 * score.balance + REPUTATION_WEIGHT * rep
    return Terms(
        round(value + 0.001 * score.condition, 6),
        score.coverage,
        score.balance,
        score.condition,
        rep,
    )


def offer_terms(offer: OneWayOffer, reputation: float = 0.0) -> Terms:
    """An offer ranks by the weighted wants it fills (one pin per want), then by
    the holder's reputation, then by its best copy's grade."""
    best: dict[int, Offer] = {}
    for o in offer.offers:  # sorted best first: keep one pin per want
        best.setdefault(id(o.want), o)
    coverage = sum(priority_weight(o.want.priority) for o in best.values())
    condition = max(int(o.have.condition) for o in offer.offers) / int(engine.Condition.MINT)
    rep = round(reputation, 6)
    score = round(coverage + REPUTATION_WEIGHT * rep + 0.001 * condition, 6)
    return Terms(score, coverage, None, round(condition, 6), rep)


def cycle_terms(stars: int, condition: engine.Condition) -> Terms:
    """A place in a cycle ranks by the stars of the want it fills, then grade."""
    grade = int(condition) / int(engine.Condition.MINT)
    score = round(priority_weight(to_engine_priority(stars)) + 0.001 * grade, 6)
    return Terms(score, None, None, round(grade, 6))


GRADE_WORDS = (N_("poor"), N_("good"), N_("fine"), N_("very fine"), N_("excellent"), N_("mint"))


def grade_words(value: float) -> str:
    """An average grade (0 poor … 1 mint) as the nearest grade's word, in the reader's
    language."""
    return gettext(GRADE_WORDS[max(0, min(5, round(value * 5)))])


def _star_words(stars: Sequence[int]) -> str:
    counts: dict[int, int] = {}
    for s in stars:
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(
        ngettext("%(count)d with %(num)d star", "%(count)d with %(num)d stars", s, count=n)
        for s, n in sorted(counts.items(), reverse=True)
    )


def reputation_words(reputation: float | None) -> list[str]:
    """The counterpart's reputation term in words (nothing for rows without it)."""
    if reputation is None:
        return []
    if reputation <= 0:
        return [gettext("No completed trades or feedback yet: reputation 0%, so it adds nothing.")]
    return [
        gettext(
            "Reputation %(share)s from completed trades and positive feedback: "
            "it adds %(points)s to the score.",
            share=format_percent(reputation),
            points=format_decimal(round(REPUTATION_WEIGHT * reputation, 2), format="0.00"),
        )
    ]


def explain(
    kind: str,
    terms: Terms,
    receive: Sequence[Mapping[str, Any]],
    give: Sequence[Mapping[str, Any]],
    cycle_length: int | None = None,
) -> dict[str, Any]:
    """The score breakdown of a match and the same in plain words, from its stored
    terms and its pins as read (`receive`, `give`: dicts with `want_id`,
    `priority` in stars, `tradeable`, `price`). Beside the terms every kind has,
    the counts its words use (`receive_count`, `for_sale`, …)."""
    coverage, balance, condition = terms.coverage, terms.balance, terms.condition
    extra: dict[str, Any]
    if kind == "swap":
        extra = {"receive_count": len(receive), "give_count": len(give)}
        stars = sorted((int(i["priority"]) for i in receive), reverse=True)
        balance = balance or 0.0
        given = {"give": len(give), "receive": len(receive), "balance": format_percent(balance)}
        reasons = [
            ngettext(
                "Fills %(num)d of your wants (%(stars)s); "
                "coverage %(coverage)s (a 5-star want counts 16, each star less half).",
                "Fills %(num)d of your wants (%(stars)s); "
                "coverage %(coverage)s (a 5-star want counts 16, each star less half).",
                len(receive),
                stars=_star_words(stars),
                coverage=coverage,
            ),
            gettext(
                "You give %(give)d and receive %(receive)d: balance %(balance)s (an even swap).",
                **given,
            )
            if balance >= 1
            else gettext(
                "You give %(give)d and receive %(receive)d: balance %(balance)s.", **given
            ),
            gettext(
                "What you receive is %(grade)s on average (%(share)s of mint).",
                grade=grade_words(condition),
                share=format_percent(condition),
            ),
            *reputation_words(terms.reputation),
        ]
    elif kind == "offer":
        per_want = {i["want_id"]: int(i["priority"]) for i in receive}
        stars = sorted(per_want.values(), reverse=True)
        tradeable = sum(1 for i in receive if i["tradeable"])
        for_sale = sum(1 for i in receive if i["price"] is not None)
        extra = {
            "best_priority": max(stars, default=0),
            "tradeable": tradeable,
            "for_sale": for_sale,
        }
        reasons = [
            ngettext(
                "Has %(num)d of your wants (%(stars)s); coverage %(coverage)s.",
                "Has %(num)d of your wants (%(stars)s); coverage %(coverage)s.",
                len(stars),
                stars=_star_words(stars),
                coverage=coverage,
            ),
            gettext(
                "%(trade)d offered for trade, %(sale)d for sale.",
                trade=tradeable,
                sale=for_sale,
            ),
            gettext("Best copy is %(grade)s.", grade=grade_words(condition)),
            *reputation_words(terms.reputation),
        ]
    else:
        stars = []
        priority = receive[0]["priority"] if receive else 0
        extra = {"priority": priority}
        reasons = [
            ngettext(
                "A loop of %(num)d collector: each sends one pin and receives one.",
                "A loop of %(num)d collectors: each sends one pin and receives one.",
                int(cycle_length or 0),
            ),
            ngettext(
                "You receive a pin you gave %(num)d star, in %(grade)s condition.",
                "You receive a pin you gave %(num)d stars, in %(grade)s condition.",
                int(priority),
                grade=grade_words(condition),
            ),
            gettext("Found by the nightly solve that makes the most pins change hands."),
            gettext(
                "Among rings as good, the solve prefers members with completed trades and "
                "positive feedback."
            ),
        ]
    return {
        "coverage": coverage,
        "covered_priorities": stars,
        "balance": terms.balance,
        "reputation": terms.reputation,
        "condition": condition,
        "cycle_length": cycle_length if kind == "cycle" else None,
        "reasons": reasons,
        **extra,
    }
