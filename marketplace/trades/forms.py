"""The terms form of the swap pages (a proposal or a counter): which copies each
way and how many, a note, and where parcels to the author go. Only the shape is
read here; the trades service checks the copies against the lists and its
errors are shown above the form, which keeps what was chosen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from marketplace.trades.operations import Line


def whole_number(raw: object) -> int | None:
    """A form value as a whole number, or None if it is empty or not one."""
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


@dataclass
class TermsForm:
    """Chosen copies (have id → quantity) each way, relative to whoever fills it
    in: `give` from their Haves, `take` from the other collector's."""

    give: dict[int, int] = field(default_factory=dict)
    take: dict[int, int] = field(default_factory=dict)
    note: str = ""
    address_id: int | None = None

    @classmethod
    def prefilled(
        cls, give: Iterable[tuple[int, int]] = (), take: Iterable[tuple[int, int]] = ()
    ) -> TermsForm:
        return cls(dict(give), dict(take))

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> TermsForm:
        """Checkbox `give`/`take` (a have id each), quantity `qty_<have id>`; a
        quantity that is not a number becomes 0, which the service refuses with
        its own message, so the form comes back with the choice intact."""

        def side(name: str) -> dict[int, int]:
            chosen: dict[int, int] = {}
            for raw in form.getlist(name):
                have_id = whole_number(raw)
                if have_id is not None:
                    chosen[have_id] = whole_number(form.get(f"qty_{have_id}", "1")) or 0
            return chosen

        address = whole_number(form.get("address_id", ""))
        return cls(side("give"), side("take"), form.get("note", ""), address)

    @property
    def give_lines(self) -> list[Line]:
        return [Line(have_id, quantity) for have_id, quantity in self.give.items()]

    @property
    def take_lines(self) -> list[Line]:
        return [Line(have_id, quantity) for have_id, quantity in self.take.items()]
