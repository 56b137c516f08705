"""One CSV row to the values of a list entry, every cell checked by the same value
checks as the forms and the API; a bad cell becomes a RowError naming its row, its
column and what is wrong."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from marketplace.catalogue.transliteration import fold
from marketplace.core.errors import DomainError
from marketplace.lists.models import Condition
from marketplace.lists.operations import (
    HAVES,
    ListKind,
    check_notes,
    check_priority,
    check_quantity,
    parse_condition,
    parse_defects,
    parse_money,
)

YES = {"yes", "y", "true", "1", "да", "д", "x", "+"}
NO = {"no", "n", "false", "0", "нет", "н", "-"}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Parsed:
    row: int
    values: dict[str, Any]
    ref: str | None = None
    any_variant: bool = False
    text: str | None = None  # legend or title, for matching without a number
    text_column: str | None = None
    pin_id: int | None = None
    variant_group: str | None = None
    action: str = ""


def _flag(value: str, default: bool) -> bool:
    key = fold(value).strip()
    if not key:
        return default
    if key in YES:
        return True
    if key in NO:
        return False
    raise DomainError(_("'%(value)s' is not yes or no.", value=value))


def parse_row(
    kind: ListKind, number: int, cells: list[str], header: list[str], mapping: dict[str, str]
) -> Parsed:
    """One row's values, checked; a bad cell raises `RowFault` carrying its RowError."""
    index = {name: header.index(column) for name, column in mapping.items()}
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        raise RowFault(
            number,
            None,
            _(
                "The row has %(cells)d cells but the header has %(columns)d.",
                cells=len(cells),
                columns=len(header),
            ),
        )

    def raw(name: str) -> str:
        i = index.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    def checked(name: str, check: Callable[[], Any]) -> Any:
        try:
            return check()
        except DomainError as exc:
            column = mapping.get(exc.field or name) or mapping.get(name)
            raise RowFault(number, column, exc.message) from None

    parsed = Parsed(row=number, values={})
    parsed.ref = raw("ref") or None
    legend, title = raw("legend"), raw("title")
    if legend:
        parsed.text, parsed.text_column = legend, mapping.get("legend")
    elif title:
        parsed.text, parsed.text_column = title, mapping.get("title")
    if not parsed.ref and not parsed.text:
        column = mapping.get("ref") or mapping.get("legend") or mapping.get("title")
        raise RowFault(number, column, _("Give a catalogue number, a legend or a title."))
    v = parsed.values
    if kind is HAVES:
        v["quantity"] = checked("quantity", lambda: check_quantity(raw("quantity") or 1))
        v["condition"] = checked(
            "condition", lambda: parse_condition(raw("condition") or Condition.FINE)
        )
        v["defects"] = checked("defects", lambda: parse_defects(raw("defects")))
        v["tradeable"] = checked("tradeable", lambda: _flag(raw("tradeable"), True))
        v["price"], v["currency"] = checked(
            "price", lambda: parse_money(raw("price"), raw("currency"))
        )
    else:
        parsed.any_variant = checked("any_variant", lambda: _flag(raw("any_variant"), False))
        if parsed.any_variant and not parsed.ref:
            raise RowFault(number, mapping.get("ref"), _("'Any variant' needs a catalogue number."))
        v["priority"] = checked("priority", lambda: check_priority(raw("priority") or 3))
        v["min_condition"] = checked(
            "min_condition",
            lambda: (
                parse_condition(raw("min_condition"), "min_condition")
                if raw("min_condition")
                else None
            ),
        )
        v["max_price"], v["currency"] = checked(
            "max_price", lambda: parse_money(raw("max_price"), raw("currency"), field="max_price")
        )
    v["notes"] = checked("notes", lambda: check_notes(raw("notes")))
    return parsed


class RowFault(Exception):
    def __init__(self, row: int, column: str | None, message: str) -> None:
        super().__init__(message)
        self.error = RowError(row, column, message)
