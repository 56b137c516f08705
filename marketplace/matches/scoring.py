"""Scores and their wording: the one number each match ranks by (it sorts like
the engine's rank key), the terms it is made of (a match stores them as columns:
coverage, balance, condition), and "why it ranks here" — the explanation the
pages, the API and nothing else show, worded when a match is read, from those
terms and the match's pins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marketplace.matching import model as engine
from marketplace.matching.pairwise import Offer, OneWayOffer, SwapScore, priority_weight


@dataclass(frozen=True, slots=True)
class Terms:
    """What a match ranks by, as stored: its score and the terms behind it."""

    score: float
    coverage: int | None
    balance: float | None
    condition: float


def to_engine_priority(stars: int) -> int:
    """Collectors give a want 1 to 5 stars, 5 the most wanted (the lists pages sort
    and draw it so); the engine ranks 1 first, as TradeMaximizer does."""
    return 6 - stars


def swap_terms(score: SwapScore) -> Terms:
    """One number that sorts like the engine's rank key: coverage first (whole
    numbers), then balance, then condition."""
    return Terms(
        round(score.coverage + 0.5 * score.balance + 0.001 * score.condition, 6),
        score.coverage,
        score.balance,
        score.condition,
    )


def offer_terms(offer: OneWayOffer) -> Terms:
    """An offer ranks by the weighted wants it fills (one pin per want), then by
    its best copy's grade."""
    best: dict[int, Offer] = {}
    for o in offer.offers:  # sorted best first: keep one pin per want
        best.setdefault(id(o.want), o)
    coverage = sum(priority_weight(o.want.priority) for o in best.values())
    condition = max(int(o.have.condition) for o in offer.offers) / int(engine.Condition.MINT)
    return Terms(round(coverage + 0.001 * condition, 6), coverage, None, round(condition, 6))


def cycle_terms(stars: int, condition: engine.Condition) -> Terms:
    """A place in a cycle ranks by the stars of the want it fills, then grade."""
    grade = int(condition) / int(engine.Condition.MINT)
    score = round(priority_weight(to_engine_priority(stars)) + 0.001 * grade, 6)
    return Terms(score, None, None, round(grade, 6))


def grade_words(value: float) -> str:
    labels = ["poor", "good", "fine", "very fine", "excellent", "mint"]
    return labels[max(0, min(5, round(value * 5)))]


def _star_words(stars: Sequence[int]) -> str:
    counts: dict[int, int] = {}
    for s in stars:
        counts[s] = counts.get(s, 0) + 1
    return ", ".join(
        f"{n} with {s} star{'s' if s > 1 else ''}" for s, n in sorted(counts.items(), reverse=True)
    )


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
        reasons = [
            f"Fills {len(receive)} of your wants ({_star_words(stars)}); "
            f"coverage {coverage} (a 5-star want counts 16, each star less half).",
            f"You give {len(give)} and receive {len(receive)}: balance {balance:.0%}"
            + (" (an even swap)." if balance >= 1 else "."),
            f"What you receive is {grade_words(condition)} on average ({condition:.0%} of mint).",
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
            f"Has {len(stars)} of your wants ({_star_words(stars)}); coverage {coverage}.",
            f"{tradeable} offered for trade, {for_sale} for sale.",
            f"Best copy is {grade_words(condition)}.",
        ]
    else:
        stars = []
        priority = receive[0]["priority"] if receive else 0
        extra = {"priority": priority}
        reasons = [
            f"A loop of {cycle_length} collectors: each sends one pin and receives one.",
            f"You receive a pin you gave {priority} stars, in {grade_words(condition)} condition.",
            "Found by the nightly solve that makes the most pins change hands.",
        ]
    return {
        "coverage": coverage,
        "covered_priorities": stars,
        "balance": terms.balance,
        "condition": condition,
        "cycle_length": cycle_length if kind == "cycle" else None,
        "reasons": reasons,
        **extra,
    }
