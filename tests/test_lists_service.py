"""Have and Want lists through the service: rules, conditions, outbox events,
series completion, jars."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select

from marketplace.catalogue.models import Series
from marketplace.core.errors import Conflict, DomainError, NotFound
from marketplace.core.extensions import db
from marketplace.core.outbox import OutboxMessage
from marketplace.lists.models import Condition, Have, Want
from marketplace.lists.operations import (
    HAVES,
    REFRESH_TASK,
    WANTS,
    ListFilters,
    ListKind,
    Lists,
    list_kind,
    parse_condition,
)
from tests.support.factories import make_user
from tests.support.lists import make_pin, theme


def refresh_events(user_id: int) -> int:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.task == REFRESH_TASK))
    return sum(1 for r in rows if r.payload["user_id"] == user_id)


def test_condition_scale_is_ordered_and_parsed_generously(app_ctx: Flask) -> None:
    assert Condition.MINT > Condition.EXCELLENT > Condition.VERY_FINE > Condition.FINE
    assert Condition.FINE > Condition.GOOD > Condition.POOR
    assert parse_condition("Very fine") is Condition.VERY_FINE
    assert parse_condition("VF") is Condition.VERY_FINE
    assert parse_condition("very_fine") is Condition.VERY_FINE
    assert parse_condition("XF") is Condition.EXCELLENT
    with pytest.raises(DomainError, match="Unknown condition 'Superb'"):
        parse_condition("Superb")


def test_add_edit_delete_have_with_one_event_per_transaction(app_ctx: Flask) -> None:
    user = make_user()
    pin = make_pin("GAG-1961")
    lists = Lists(db.session())
    have = lists.add_have(
        user, pin.id, quantity=2, condition="mint", defects="missing_nut", price="12.5",
        currency="eur",
    )  # fmt: skip
    lists.add_have(user, pin.id, condition="fine")
    assert have.price == Decimal("12.50") and have.currency == "EUR"
    assert [d.slug for d in have.defect_list] == ["missing_nut"]
    assert refresh_events(user.id) == 1  # two changes, one transaction, one event

    with pytest.raises(Conflict):
        lists.add_have(user, pin.id, condition="mint", defects="missing_nut")
    merged = lists.add_have(user, pin.id, condition="mint", defects="missing_nut", merge=True)
    assert merged.id == have.id and merged.quantity == 3

    with pytest.raises(DomainError, match="at least 1"):
        lists.update_have(user, have.id, quantity=-1)
    with pytest.raises(DomainError) as exc:
        lists.update_have(user, have.id, quantity=5, price="3")
    assert exc.value.field == "currency"
    db.session.refresh(have)
    assert have.quantity == 3  # nothing applied when one value is wrong
    with pytest.raises(Conflict):
        lists.update_have(user, have.id, condition="fine", defects="")
    lists.update_have(user, have.id, price=None)
    assert have.price is None and have.currency is None
    lists.delete_have(user, have.id)
    assert db.session.get(Have, have.id) is None


def test_a_new_transaction_gets_a_new_event(app_ctx: Flask) -> None:
    user = make_user()
    pin = make_pin("A-1")
    lists = Lists(db.session())
    lists.add_have(user, pin.id)
    db.session.commit()
    lists.add_want(user, pin_id=make_pin("A-2").id)
    assert refresh_events(user.id) == 2


def test_wants_exact_pin_or_any_variant_and_move_to_haves(app_ctx: Flask) -> None:
    user = make_user()
    a = make_pin("OLY80-1a", variant_group="OLY80-1")
    b = make_pin("OLY80-1b", variant_group="OLY80-1")
    lists = Lists(db.session())
    want = lists.add_want(user, variant_group="oly80-1", priority=5, min_condition="vf")
    assert want.variant_group == "OLY80-1" and want.min_condition is Condition.VERY_FINE
    with pytest.raises(DomainError, match="from 1 to 5"):
        lists.add_want(user, pin_id=a.id, priority=9)
    with pytest.raises(DomainError, match="No catalogue number"):
        lists.add_want(user, variant_group="NOPE")
    exact = lists.add_want(user, pin_id=a.id)
    with pytest.raises(Conflict):
        lists.add_want(user, pin_id=a.id)

    with pytest.raises(DomainError, match="Choose which variant"):
        lists.move_to_haves(user, want.id)
    have = lists.move_to_haves(user, want.id, pin_id=b.id, condition="excellent")
    assert have.pin_id == b.id and have.condition is Condition.EXCELLENT
    lists.move_to_haves(user, exact.id)
    assert db.session.scalars(select(Want).where(Want.user_id == user.id)).all() == []


def test_filters_sorting_and_paging(app_ctx: Flask) -> None:
    user = make_user()
    sport, space = theme("Sport"), theme("Space")
    lists = Lists(db.session())
    for i in range(7):
        pin = make_pin(f"P-{i}", themes=[sport if i % 2 else space])
        lists.add_have(user, pin.id, condition=Condition(1 + i % 6), quantity=i + 1)
    page = lists.haves(user.id, ListFilters(sort="quantity", per_page=3, page=2))
    assert page.total == 7 and page.pages == 3
    assert [h.quantity for h in page.items] == [4, 3, 2]
    sport_only = lists.haves(user.id, ListFilters(theme="Sport", sort="ref"))
    assert [h.pin.ref for h in sport_only.items] == ["P-1", "P-3", "P-5"]
    good = lists.haves(user.id, ListFilters(condition=Condition.EXCELLENT))
    assert {h.condition for h in good.items} == {Condition.EXCELLENT, Condition.MINT}


def test_series_completion_and_want_missing(app_ctx: Flask) -> None:
    user = make_user()
    series = Series(name="Города СССР", set_size=5)
    db.session.add(series)
    db.session.flush()
    pins = {n: make_pin(f"GOR-{n}", series_id=series.id, series_number=n) for n in (1, 2, 3, 4)}
    make_pin("GOR-4v", series_id=series.id, series_number=4, variant_group="GOR-4")
    lists = Lists(db.session())
    lists.add_have(user, pins[1].id)
    lists.add_want(user, pin_id=pins[2].id)
    [progress] = lists.series_completion(user.id)
    assert progress.size == 5 and progress.owned == [1] and progress.missing == [2, 3, 4, 5]
    assert progress.wanted == [2] and progress.addable == 2  # 3 and 4; 5 has no pin
    assert lists.want_missing(user, series.id) == 2
    wanted = db.session.scalars(select(Want.pin_id).where(Want.user_id == user.id)).all()
    assert sorted(wanted) == sorted([pins[2].id, pins[3].id, pins[4].id])
    assert lists.want_missing(user, series.id) == 0


def test_jars_and_republics(app_ctx: Flask) -> None:
    user = make_user()
    a = make_pin("J-1", themes=[theme("Sport/Olympics-80"), theme("Sport/Football")])
    b = make_pin("J-2", themes=[theme("Space")], republic="Ukrainian SSR")
    lists = Lists(db.session())
    lists.add_have(user, a.id, quantity=3)
    lists.add_have(user, b.id)
    jars = {bar.label: (bar.pins, bar.copies) for bar in lists.jars(user.id)}
    assert jars == {"Sport": (1, 3), "Space": (1, 1)}
    republics = {bar.label: bar.copies for bar in lists.by_republic(user.id)}
    assert republics == {"Unknown": 3, "Ukrainian SSR": 1}


@pytest.mark.parametrize("kind", [HAVES, WANTS], ids=lambda k: k.name)
def test_one_set_of_verbs_serves_both_kinds(app_ctx: Flask, kind: ListKind) -> None:
    user, other = make_user(), make_user("olena@example.org")
    pins = [make_pin(f"K-{i}", f"Kind pin {i}") for i in range(3)]
    lists = Lists(db.session())
    entries = [
        lists.add(kind, user, pin_id=pin.id, notes=f"note {i}") for i, pin in enumerate(pins)
    ]
    assert {type(e) for e in entries} == {kind.model}
    assert refresh_events(user.id) == 1
    with pytest.raises(Conflict):
        lists.add(kind, user, pin_id=pins[0].id)
    with pytest.raises(NotFound, match=f"not in your {kind.label}"):
        lists.get(kind, other, entries[0].id)

    changed = lists.update(kind, user, entries[1].id, notes="  changed  ")
    assert changed.notes == "changed"
    with pytest.raises(DomainError) as exc:
        lists.update(kind, user, entries[1].id, notes="x" * 5000)
    assert exc.value.field == "notes"

    page = lists.browse(kind, user.id, ListFilters(sort="added", per_page=2))
    assert page.total == 3 and [e.id for e in page.items] == [entries[2].id, entries[1].id]
    assert lists.remove(kind, user, entries[0].id) == []
    assert lists.browse(kind, user.id, ListFilters()).total == 2
    assert lists.remove_all(kind, user) == 2
    assert lists.browse(kind, user.id, ListFilters()).total == 0
    payloads = [
        m.payload for m in db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.task == REFRESH_TASK)
        )
    ]  # fmt: skip
    assert payloads == [{"user_id": user.id, "full": True}]  # "remove all" asks for all
    with pytest.raises(DomainError, match="haves or wants"):
        list_kind("trades")
    assert list_kind(kind.name) is kind


def test_every_condition_alias_names_one_documented_grade() -> None:
    """The whole alias table: each alias (and each grade's own name and label)
    reads as its grade, no alias is under two grades, and each Russian short form
    reads as its full word (отл is отличное: Excellent, not Mint)."""
    from marketplace.lists.models import CONDITION_HELP
    from marketplace.lists.operations.values import CONDITION_ALIASES, parse_condition

    assert set(CONDITION_ALIASES) == set(Condition) == set(CONDITION_HELP)
    seen: dict[str, Condition] = {}
    for grade, aliases in CONDITION_ALIASES.items():
        for alias in (grade.slug, grade.label, *aliases):
            assert parse_condition(alias) is grade, alias
            assert parse_condition(alias.upper()) is grade, alias
            assert seen.setdefault(alias.lower(), grade) is grade, alias
    for full, short in [
        ("отличное", "отл"), ("хорошее", "хор"), ("очень хорошее", "оч. хор"),
        ("удовлетворительное", "удовл"), ("плохое", "плох"), ("идеальное", "идеал"),
    ]:  # fmt: skip
        assert parse_condition(full) is parse_condition(short), (full, short)
    assert parse_condition("отличное") is Condition.EXCELLENT
