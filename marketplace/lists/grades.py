"""Grades and defects as a reader of the page names them, in their language.

`Condition.label` and `Defect.label` stay the English words the CSV import reads
and the export writes (a file moves between languages); pages show these instead,
through the `condition_name` and `defect_name` filters the list pages register for
every template."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.lists.models import Condition, Defect

CONDITION_NAMES = {
    Condition.MINT: _l("Mint"), Condition.EXCELLENT: _l("Excellent"),
    Condition.VERY_FINE: _l("Very fine"), Condition.FINE: _l("Fine"),
    Condition.GOOD: _l("Good"), Condition.POOR: _l("Poor"),
}  # fmt: skip
CONDITION_HELP = {
    Condition.MINT: _l("As issued: no wear, full gilding and enamel, original pin or nut."),
    Condition.EXCELLENT: _l("Barely handled: tiny marks only under a loupe."),
    Condition.VERY_FINE: _l("Light wear on high points; enamel complete."),
    Condition.FINE: _l("Visible wear or rubbing of gilding; still displays well."),
    Condition.GOOD: _l("Heavy wear, small enamel losses."),
    Condition.POOR: _l("Damaged: large losses, corrosion; a space-filler."),
}
DEFECT_NAMES = {
    Defect.ENAMEL_CHIPS: _l("Enamel chips"), Defect.MISSING_PIN: _l("Missing pin"),
    Defect.MISSING_NUT: _l("Missing nut"), Defect.BENT: _l("Bent"),
    Defect.REPAIRED: _l("Repaired"), Defect.WORN_GILDING: _l("Worn gilding"),
    Defect.CORROSION: _l("Corrosion"),
}  # fmt: skip


def condition_name(value: Condition | str | int | None) -> str:
    """A grade (the enum, its slug as matches keep it, or its number) in words."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        key = value.upper().replace(" ", "_")
        if key not in Condition.__members__:
            return value
        value = Condition[key]
    return str(CONDITION_NAMES[Condition(value)])


def defect_name(defect: Defect) -> str:
    return str(DEFECT_NAMES.get(defect, defect.label))
