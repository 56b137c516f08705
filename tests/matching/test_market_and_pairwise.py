"""Pin market: global solve feasibility and optimum, pairwise swaps/offers."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.matching.market import MarketSolution, solve_market
from marketplace.matching.model import Condition, Have, MarketIndex, Want, acceptable
from marketplace.matching.pairwise import one_way_offers, two_way_swaps

PROFILE = settings.get_profile("matching")
GROUPS = {0: "G1", 1: "G1", 2: "G2", 3: "G2", 4: "G3"}
conditions = st.sampled_from(list(Condition))


@st.composite
def populations(draw: st.DrawFn, max_collectors: int = 4) -> MarketIndex:
    """Small markets; a collector's wants never overlap (distinct pins and
    groups), so every want is its own pin's governing want."""
    n = draw(st.integers(2, max_collectors))
    haves: list[Have] = []
    wants: list[Want] = []
    for c in range(n):
        pins = draw(st.lists(st.integers(0, 4), max_size=2, unique=True))
        for pin in pins:
            haves.append(
                Have(c, pin, draw(st.integers(1, 2)), draw(conditions), draw(st.booleans()))
            )
        held = set(pins)
        targets = draw(st.lists(st.integers(0, 4), max_size=2, unique=True))
        used_groups: set[str] = set()
        for pin in targets:
            if pin in held or GROUPS[pin] in used_groups:
                continue
            used_groups.add(GROUPS[pin])
            if draw(st.booleans()):
                want = Want(
                    c, pin=pin, priority=draw(st.integers(1, 5)), min_condition=draw(conditions)
                )
            else:
                want = Want(
                    c,
                    group=GROUPS[pin],
                    priority=draw(st.integers(1, 5)),
                    min_condition=draw(conditions),
                )
            wants.append(want)
    return MarketIndex(haves, wants, GROUPS)


def check_feasible(index: MarketIndex, solution: MarketSolution) -> None:
    per_have: Counter[int] = Counter()
    per_want: Counter[int] = Counter()
    received: Counter[tuple[object, object]] = Counter()
    gives: Counter[object] = Counter()
    takes: Counter[object] = Counter()
    for cycle in solution.cycles:
        steps = cycle.transfers
        for k, t in enumerate(steps):
            assert t.receiver == steps[(k + 1) % len(steps)].giver
            assert t.have in index.haves_of(t.giver) and t.have.tradeable
            assert t.have.pin == t.pin and t.have.condition == t.condition
            assert t.want in index.wants_of(t.receiver)
            held = {h.pin for h in index.haves_of(t.receiver)}
            assert t.pin not in held, "received a pin already held"
            assert acceptable(t.want, t.have, index.group_of(t.pin), held)
            per_have[id(t.have)] += 1
            per_want[id(t.want)] += 1
            received[(t.receiver, t.pin)] += 1
            gives[t.giver] += 1
            takes[t.receiver] += 1
    by_id = {id(h): h for h in index.haves}
    assert all(n <= by_id[h].quantity for h, n in per_have.items())
    assert all(n <= 1 for n in per_want.values())
    assert all(n <= 1 for n in received.values())
    assert gives == takes


def brute_force(index: MarketIndex) -> int:
    """Most pins moving: every subset of (have, want) pairs that respects the
    rules and lets each collector give exactly as many as they receive."""
    pairs = [
        (h, w)
        for w in index.wants
        for h in index.haves
        if h.tradeable
        and acceptable(w, h, index.group_of(h.pin), {x.pin for x in index.haves_of(w.collector)})
    ]
    best = 0
    for size in range(len(pairs), 0, -1):
        if size <= best:
            break
        for subset in combinations(pairs, size):
            have_use = Counter(id(h) for h, _ in subset)
            if any(n > h.quantity for h, _ in subset for n in [have_use[id(h)]]):
                continue
            if len({id(w) for _, w in subset}) < size:
                continue
            if len({(w.collector, h.pin) for h, w in subset}) < size:
                continue
            out = Counter(h.collector for h, _ in subset)
            inn = Counter(w.collector for _, w in subset)
            if out == inn:
                best = size
                break
    return best


@PROFILE
@given(populations())
def test_market_solution_is_feasible_and_optimal(index: MarketIndex) -> None:
    solution = solve_market(index.collectors, index)
    check_feasible(index, solution)
    assert solution.items == sum(len(c.transfers) for c in solution.cycles)
    assert solution.items == brute_force(index)


@settings(PROFILE, max_examples=30)
@given(populations(max_collectors=5), st.integers(2, 3))
def test_capped_market_respects_cap(index: MarketIndex, cap: int) -> None:
    solution = solve_market(index.collectors, index, max_cycle_length=cap, time_limit=5)
    check_feasible(index, solution)
    assert all(len(c.transfers) <= cap for c in solution.cycles)
    assert solution.status == "OPTIMAL"
    assert solution.items <= solve_market(index.collectors, index).items


def _market() -> MarketIndex:
    haves = [
        Have("ann", 1, 1, Condition.MINT),
        Have("ann", 2, 2, Condition.FINE),
        Have("bob", 10, 1, Condition.EXCELLENT),
        Have("bob", 11, 1, Condition.POOR),
        Have("cy", 10, 1, Condition.GOOD),
        Have("cy", 12, 1, Condition.MINT, tradeable=False, for_sale=True),
        Have("dee", 2, 1, Condition.MINT, tradeable=False),  # dee already has pin 2
    ]
    wants = [
        Want("ann", pin=10, priority=1, min_condition=Condition.FINE),
        Want("ann", group="LENIN", priority=4),
        Want("bob", pin=1, priority=2),
        Want("bob", pin=2, priority=5),
        Want("cy", pin=2, priority=1),
        Want("dee", pin=1, priority=1),
        Want("dee", pin=2, priority=1),
    ]
    return MarketIndex(haves, wants, {11: "LENIN", 12: "LENIN", 13: "LENIN"})


def test_two_way_swaps_ranked_with_explanation() -> None:
    swaps = two_way_swaps("ann", _market())
    # cy's pin 10 is only Good (ann wants Fine or better) and its Lenin pin
    # is for sale, not tradeable: no swap with cy.
    assert [s.partner for s in swaps] == ["bob"]
    (bob,) = swaps
    # bob fills ann's priority-1 want (Excellent >= Fine) and her "any Lenin"
    assert [(i.pin, i.want.priority) for i in bob.receive] == [(10, 1), (11, 4)]
    assert {i.pin for i in bob.give} == {1, 2}
    assert bob.score.coverage == 16 + 2
    assert bob.score.covered_priorities == (1, 4)
    assert bob.score.balance == 1.0
    assert bob.score.condition == round((4 + 0) / 10, 6)


def test_swaps_rank_by_coverage_then_balance() -> None:
    index = MarketIndex(
        [
            Have("me", 1),
            Have("me", 2),
            Have("x", 10),
            Have("y", 10),
            Have("y", 11),
        ],
        [
            Want("me", pin=10, priority=1),
            Want("me", pin=11, priority=5),
            Want("x", pin=1),
            Want("x", pin=2),
            Want("y", pin=1),
        ],
    )
    swaps = two_way_swaps("me", index)
    assert [s.partner for s in swaps] == ["y", "x"]  # y covers more of my list
    assert swaps[0].score.coverage == 16 + 1
    assert swaps[0].score.balance == 0.5
    assert swaps[1].score.balance == 0.5


def test_two_way_swaps_skip_pins_already_held_and_conditions() -> None:
    swaps = {s.partner: s for s in two_way_swaps("ann", _market())}
    # dee holds pin 2 already, so ann cannot give it to dee; dee has nothing
    # tradeable for ann anyway
    assert "dee" not in swaps


def test_one_way_offers_include_sales() -> None:
    offers = one_way_offers("ann", _market())
    holders = [o.holder for o in offers]
    assert holders[0] == "bob"  # priority-1 want filled
    cy = next(o for o in offers if o.holder == "cy")
    assert {o.have.pin for o in cy.offers} == {12}  # pin 10 is too worn
    assert cy.offers[0].have.for_sale
