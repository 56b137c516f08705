"""Plain data for the pin market: collectors' Haves and Wants and the rules
that decide whether a Have satisfies a Want.

Owns :class:`Condition` (the ordered grading scale), :class:`Have`,
:class:`Want`, the :class:`MarketLookup` protocol the matching functions read
through, and :class:`MarketIndex`, its in-memory implementation. The app can
implement :class:`MarketLookup` on indexed SQL queries instead, so that
matching one collector never scans everybody.

Rules (enforced by :func:`acceptable`):

* a Want with a minimum condition accepts only Haves at or above it;
* a Want may name one pin or "any variant of" a catalogue number, i.e. a
  variant group key shared by several pin ids;
* nobody receives a pin they already have (in any condition or status);
* quantities are respected by the solvers (a Have of quantity 3 can be given
  at most three times; each Want receives at most one pin).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol, TypeAlias

__all__ = [
    "CollectorId",
    "Condition",
    "GroupKey",
    "Have",
    "MarketIndex",
    "MarketLookup",
    "PinId",
    "Want",
    "acceptable",
]

CollectorId: TypeAlias = int | str
PinId: TypeAlias = int | str
GroupKey: TypeAlias = str


class Condition(IntEnum):
    """Grading scale, ordered: ``Condition.MINT > Condition.POOR``."""

    POOR = 0
    GOOD = 1
    FINE = 2
    VERY_FINE = 3
    EXCELLENT = 4
    MINT = 5

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").capitalize()

    @classmethod
    def parse(cls, text: str) -> Condition:
        """Accept ``"Very fine"``, ``"VERY_FINE"`` or ``"very-fine"``."""
        key = text.strip().upper().replace(" ", "_").replace("-", "_")
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown condition {text!r}") from None


@dataclass(frozen=True, slots=True)
class Have:
    """``quantity`` copies of ``pin`` in ``condition`` held by ``collector``.

    ``tradeable`` copies may be swapped; ``for_sale`` copies may be bought.
    A Have that is neither is just part of the collection (it still counts as
    "already has this pin").
    """

    collector: CollectorId
    pin: PinId
    quantity: int = 1
    condition: Condition = Condition.FINE
    tradeable: bool = True
    for_sale: bool = False

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise ValueError("quantity must not be negative")


@dataclass(frozen=True, slots=True)
class Want:
    """``collector`` wants one ``pin``, or one pin of variant ``group``.

    Exactly one of ``pin`` and ``group`` is set. ``priority`` runs from 1
    (highest) to 5; ``min_condition`` is the worst condition accepted.
    """

    collector: CollectorId
    pin: PinId | None = None
    group: GroupKey | None = None
    priority: int = 3
    min_condition: Condition = Condition.POOR

    def __post_init__(self) -> None:
        if (self.pin is None) == (self.group is None):
            raise ValueError("a Want names exactly one of pin and group")
        if not 1 <= self.priority <= 5:
            raise ValueError("priority must be between 1 and 5")


class MarketLookup(Protocol):
    """Indexed reads the matching functions need; never a full scan."""

    def haves_of(self, collector: CollectorId) -> Sequence[Have]: ...

    def wants_of(self, collector: CollectorId) -> Sequence[Want]: ...

    def holders_of(self, pin: PinId) -> Sequence[Have]: ...

    def wants_for(self, pin: PinId) -> Sequence[Want]: ...

    def pins_in(self, group: GroupKey) -> Sequence[PinId]: ...

    def group_of(self, pin: PinId) -> GroupKey | None: ...


def acceptable(
    want: Want, have: Have, group_of_pin: GroupKey | None, receiver_pins: Iterable[PinId]
) -> bool:
    """Whether ``have`` may satisfy ``want``: right pin or variant, good
    enough condition, another collector, and a pin the wanter lacks."""
    if have.collector == want.collector:
        return False
    if want.pin is not None:
        if have.pin != want.pin:
            return False
    elif group_of_pin is None or group_of_pin != want.group:
        return False
    if have.condition < want.min_condition:
        return False
    return have.pin not in receiver_pins


@dataclass(slots=True)
class MarketIndex:
    """In-memory :class:`MarketLookup` over a whole population.

    ``pin_groups`` maps each pin to its variant group (catalogue number);
    pins without a group only match Wants that name them.
    """

    haves: Sequence[Have]
    wants: Sequence[Want]
    pin_groups: Mapping[PinId, GroupKey] = field(default_factory=dict)
    _haves_of: dict[CollectorId, list[Have]] = field(init=False, default_factory=dict)
    _wants_of: dict[CollectorId, list[Want]] = field(init=False, default_factory=dict)
    _holders: dict[PinId, list[Have]] = field(init=False, default_factory=dict)
    _wants_pin: dict[PinId, list[Want]] = field(init=False, default_factory=dict)
    _wants_group: dict[GroupKey, list[Want]] = field(init=False, default_factory=dict)
    _group_pins: dict[GroupKey, list[PinId]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        for h in self.haves:
            self._haves_of.setdefault(h.collector, []).append(h)
            self._holders.setdefault(h.pin, []).append(h)
        for w in self.wants:
            self._wants_of.setdefault(w.collector, []).append(w)
            if w.pin is not None:
                self._wants_pin.setdefault(w.pin, []).append(w)
            else:
                assert w.group is not None
                self._wants_group.setdefault(w.group, []).append(w)
        for pin, group in self.pin_groups.items():
            self._group_pins.setdefault(group, []).append(pin)

    @property
    def collectors(self) -> list[CollectorId]:
        return sorted(set(self._haves_of) | set(self._wants_of), key=_sort_key)

    def haves_of(self, collector: CollectorId) -> Sequence[Have]:
        return self._haves_of.get(collector, [])

    def wants_of(self, collector: CollectorId) -> Sequence[Want]:
        return self._wants_of.get(collector, [])

    def holders_of(self, pin: PinId) -> Sequence[Have]:
        return self._holders.get(pin, [])

    def wants_for(self, pin: PinId) -> Sequence[Want]:
        group = self.pin_groups.get(pin)
        direct = self._wants_pin.get(pin, [])
        if group is None:
            return direct
        return [*direct, *self._wants_group.get(group, [])]

    def pins_in(self, group: GroupKey) -> Sequence[PinId]:
        return self._group_pins.get(group, [])

    def group_of(self, pin: PinId) -> GroupKey | None:
        return self.pin_groups.get(pin)


def _sort_key(value: CollectorId) -> tuple[str, str]:
    # Ids may mix ints and strings; order deterministically anyway.
    return (type(value).__name__, f"{value:>20}" if isinstance(value, int) else value)


def candidate_pins(want: Want, lookup: MarketLookup) -> Sequence[PinId]:
    """Pins that could satisfy ``want`` by identity (condition aside)."""
    if want.pin is not None:
        return [want.pin]
    assert want.group is not None
    return lookup.pins_in(want.group)


def pins_held(collector: CollectorId, lookup: MarketLookup) -> set[PinId]:
    return {h.pin for h in lookup.haves_of(collector) if h.quantity > 0}
