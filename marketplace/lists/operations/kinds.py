"""The two kinds of list, Haves and Wants, as descriptors: what tells one from the
other (model, fields, sorts, messages, how a new entry or a change is checked, what
matching must hear about a changed entry) so that every verb, page, API resource and
CSV step is written once and handed a kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, TypedDict

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_babel.speaklater import LazyString
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from marketplace.catalogue.models import Pin
from marketplace.core.errors import Conflict, DomainError, NotFound
from marketplace.lists.models import Condition, Have, Want
from marketplace.lists.operations.values import (
    check_notes,
    check_priority,
    check_quantity,
    parse_condition,
    parse_defects,
    parse_money,
)

HAVE_SORTS: dict[str, tuple[Any, ...]] = {
    "added": (Have.id.desc(),),
    "ref": (Pin.ref,),
    "title": (Pin.title_en, Pin.ref),
    "condition": (Have.condition.desc(), Pin.ref),
    "quantity": (Have.quantity.desc(), Pin.ref),
    "price": (Have.price.desc(), Pin.ref),
}
WANT_SORTS: dict[str, tuple[Any, ...]] = {
    "added": (Want.id.desc(),),
    "priority": (Want.priority.desc(), Want.id.desc()),
    "ref": (func.coalesce(Pin.ref, Want.variant_group),),
    "title": (Pin.title_en, Want.variant_group),
}


class PinsChanged(TypedDict, total=False):
    """What matching must refresh after entries changed (`note_list_change`)."""

    have_pins: list[int]
    want_pins: list[int]
    want_groups: list[str]


def catalogue_pin(session: Session, pin_id: int) -> Pin:
    pin = session.get(Pin, pin_id)
    if pin is None:
        raise NotFound(_("There is no pin %(id)s in the catalogue.", id=pin_id), field="pin_id")
    return pin


def catalogue_variant_group(session: Session, text: str) -> str:
    """The catalogue's spelling of a variant group, matched case-insensitively."""
    group = session.scalar(
        select(Pin.variant_group)
        .where(func.lower(Pin.variant_group) == text.strip().lower())
        .limit(1)
    )
    if group is None:
        raise NotFound(_("No catalogue number '%(ref)s'.", ref=text), field="variant_group")
    return group


def _money_change(
    changes: Mapping[str, Any], amount_field: str, amount: Any, currency: Any
) -> tuple[Any, Any]:
    """A change of amount or currency, checked against what the entry has: a new
    amount without a currency drops the old currency (it must be given again)."""
    return parse_money(
        changes.get(amount_field, amount),
        changes.get("currency", currency if amount_field not in changes else None),
        field=amount_field,
    )


class ListKind:
    """What one kind of list is; subclasses are the two kinds, used as singletons."""

    name: ClassVar[str]  # "haves" or "wants": URL segment, CSV kind, ListImport.kind
    label: ClassVar[str]  # "Haves" or "Wants"
    model: ClassVar[type[Any]]
    sorts: ClassVar[dict[str, tuple[Any, ...]]]
    csv_fields: ClassVar[tuple[str, ...]]
    # In the reader's language, so kept lazy until raised (str() at the raise).
    duplicate_message: ClassVar[LazyString]  # adding an entry already listed
    conflict_message: ClassVar[LazyString]  # changing an entry into one already listed
    conflict_field: ClassVar[str]

    @property
    def not_found_message(self) -> str:
        if self.name == "haves":
            return _("That entry is not in your Haves.")
        return _("That entry is not in your Wants.")

    def new_values(self, session: Session, fields: Mapping[str, Any]) -> dict[str, Any]:
        """The columns of a new entry from what the collector gave, every one checked."""
        raise NotImplementedError

    def changed_values(self, entry: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        """The columns a change sets, every one checked before any is applied."""
        raise NotImplementedError

    def same_entry(
        self, user_id: int, values: Mapping[str, Any]
    ) -> tuple[ColumnElement[bool], ...]:
        """Where-clauses finding the entry that new `values` would duplicate."""
        raise NotImplementedError

    def merged_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """What adding `values` to that duplicate changes in it."""
        raise NotImplementedError

    def listing(self, user_id: int) -> Select[Any]:
        """The collector's entries joined to their pins (for filters and sorts)."""
        raise NotImplementedError

    def condition_clause(self, condition: Condition) -> ColumnElement[bool]:
        raise NotImplementedError

    def listing_options(self) -> tuple[LoaderOption, ...]:
        return ()

    def detail_options(self) -> tuple[LoaderOption, ...]:
        return ()

    def pins_changed(self, entries: Iterable[Any]) -> PinsChanged:
        """`note_list_change` arguments naming what matching must refresh."""
        raise NotImplementedError

    def files_of(self, entry: Any) -> list[str]:
        """Stored files that go with the entry (removed after it is deleted)."""
        return []

    def check_removable(self, entry: Any) -> None:
        """Refuse to remove an entry that others count on (a promised copy)."""

    def removable(self) -> ColumnElement[bool] | None:
        """Where-clause for the entries "remove all" may take (None: every one)."""
        return None

    def __repr__(self) -> str:
        return f"<list kind {self.name}>"


class HaveKind(ListKind):
    name = "haves"
    label = "Haves"
    model = Have
    sorts = HAVE_SORTS
    csv_fields = (
        "ref", "title", "legend", "quantity", "condition", "defects", "tradeable", "price",
        "currency", "notes",
    )  # fmt: skip
    duplicate_message = _l("You already list this pin in this condition; change that entry.")
    conflict_message = _l("You already list this pin in that condition with those defects.")
    conflict_field = "condition"

    def new_values(self, session: Session, fields: Mapping[str, Any]) -> dict[str, Any]:
        pin_id = fields["pin_id"]
        catalogue_pin(session, pin_id)
        quantity = check_quantity(fields.get("quantity", 1))
        grade = parse_condition(fields.get("condition", Condition.FINE))
        mask = parse_defects(fields.get("defects", 0))
        amount, code = parse_money(fields.get("price"), fields.get("currency"))
        return {
            "pin_id": pin_id,
            "quantity": quantity,
            "condition": grade,
            "defects": mask,
            "tradeable": fields.get("tradeable", True),
            "price": amount,
            "currency": code,
            "notes": check_notes(fields.get("notes")),
        }

    def changed_values(self, entry: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "quantity" in changes:
            values["quantity"] = check_quantity(changes["quantity"])
            if values["quantity"] < entry.reserved:
                raise Conflict(
                    ngettext(
                        "%(num)d of these copies is promised to a trade or a checkout; "
                        "keep at least %(num)d.",
                        "%(num)d of these copies are promised to a trade or a checkout; "
                        "keep at least %(num)d.",
                        entry.reserved,
                    ),
                    field="quantity",
                )
        promised_terms = {"condition", "defects"} & set(changes)
        if entry.reserved and promised_terms:
            raise Conflict(
                _(
                    "Copies promised to a trade or a checkout keep the condition they were "
                    "promised in."
                ),
                field=sorted(promised_terms)[0],
            )
        if "condition" in changes:
            values["condition"] = parse_condition(changes["condition"])
        if "defects" in changes:
            values["defects"] = parse_defects(changes["defects"])
        if "tradeable" in changes:
            values["tradeable"] = bool(changes["tradeable"])
        if "price" in changes or "currency" in changes:
            values["price"], values["currency"] = _money_change(
                changes, "price", entry.price, entry.currency
            )
        if "notes" in changes:
            values["notes"] = check_notes(changes["notes"])
        return values

    def same_entry(
        self, user_id: int, values: Mapping[str, Any]
    ) -> tuple[ColumnElement[bool], ...]:
        return (
            Have.user_id == user_id,
            Have.pin_id == values["pin_id"],
            Have.condition == values["condition"],
            Have.defects == values["defects"],
        )

    def merged_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {"quantity": Have.quantity + values["quantity"]}

    def listing(self, user_id: int) -> Select[Any]:
        return select(Have).join(Pin, Pin.id == Have.pin_id).where(Have.user_id == user_id)

    def condition_clause(self, condition: Condition) -> ColumnElement[bool]:
        return Have.condition >= condition  # "at least this good"

    def listing_options(self) -> tuple[LoaderOption, ...]:
        return (selectinload(Have.photos), selectinload(Have.pin))

    def detail_options(self) -> tuple[LoaderOption, ...]:
        return (selectinload(Have.photos),)

    def pins_changed(self, entries: Iterable[Any]) -> PinsChanged:
        return {"have_pins": [e.pin_id for e in entries]}

    def files_of(self, entry: Any) -> list[str]:
        return [name for p in entry.photos for name in (p.filename, p.thumbnail)]

    def check_removable(self, entry: Any) -> None:
        if entry.reserved:
            raise Conflict(
                ngettext(
                    "%(num)d of these copies is promised to a trade or a checkout; "
                    "remove it once that is settled.",
                    "%(num)d of these copies are promised to a trade or a checkout; "
                    "remove them once that is settled.",
                    entry.reserved,
                )
            )

    def removable(self) -> ColumnElement[bool] | None:
        return Have.reserved == 0


class WantKind(ListKind):
    name = "wants"
    label = "Wants"
    model = Want
    sorts = WANT_SORTS
    csv_fields = (
        "ref", "any_variant", "title", "legend", "priority", "min_condition", "max_price",
        "currency", "notes",
    )  # fmt: skip
    duplicate_message = _l("That pin is already in your Wants.")
    conflict_message = _l("That pin is already in your Wants.")
    conflict_field = "pin_id"

    def new_values(self, session: Session, fields: Mapping[str, Any]) -> dict[str, Any]:
        pin_id, variant_group = fields.get("pin_id"), fields.get("variant_group")
        if (pin_id is None) == (not variant_group):
            raise DomainError(
                _("Want either one pin or any variant of a catalogue number."), field="pin_id"
            )
        group = None
        if pin_id is not None:
            catalogue_pin(session, pin_id)
        else:
            group = catalogue_variant_group(session, str(variant_group))
        amount, code = parse_money(
            fields.get("max_price"), fields.get("currency"), field="max_price"
        )
        min_condition = fields.get("min_condition")
        return {
            "pin_id": pin_id,
            "variant_group": group,
            "priority": check_priority(fields.get("priority", 3)),
            "min_condition": None
            if min_condition in (None, "")
            else parse_condition(min_condition, "min_condition"),
            "max_price": amount,
            "currency": code,
            "notes": check_notes(fields.get("notes")),
        }

    def changed_values(self, entry: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        if "priority" in changes:
            values["priority"] = check_priority(changes["priority"])
        if "min_condition" in changes:
            value = changes["min_condition"]
            values["min_condition"] = (
                None if value in (None, "") else parse_condition(value, "min_condition")
            )
        if "max_price" in changes or "currency" in changes:
            values["max_price"], values["currency"] = _money_change(
                changes, "max_price", entry.max_price, entry.currency
            )
        if "notes" in changes:
            values["notes"] = check_notes(changes["notes"])
        return values

    def same_entry(
        self, user_id: int, values: Mapping[str, Any]
    ) -> tuple[ColumnElement[bool], ...]:
        target = (
            Want.pin_id == values["pin_id"]
            if values["pin_id"] is not None
            else Want.variant_group == values["variant_group"]
        )
        return (Want.user_id == user_id, target)

    def merged_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {}  # already wanted: the entry stays as it is

    def listing(self, user_id: int) -> Select[Any]:
        return select(Want).outerjoin(Pin, Pin.id == Want.pin_id).where(Want.user_id == user_id)

    def condition_clause(self, condition: Condition) -> ColumnElement[bool]:
        return Want.min_condition == condition  # "this minimum condition"

    def listing_options(self) -> tuple[LoaderOption, ...]:
        return (selectinload(Want.pin),)

    def pins_changed(self, entries: Iterable[Any]) -> PinsChanged:
        entries = list(entries)
        return {
            "want_pins": [e.pin_id for e in entries if e.pin_id is not None],
            "want_groups": [e.variant_group for e in entries if e.variant_group],
        }


HAVES = HaveKind()
WANTS = WantKind()
KINDS: dict[str, ListKind] = {HAVES.name: HAVES, WANTS.name: WANTS}


def list_kind(kind: str | ListKind) -> ListKind:
    """The kind named `kind` ("haves" or "wants"), or a DomainError on the kind field."""
    if isinstance(kind, ListKind):
        return kind
    if kind not in KINDS:
        raise DomainError(_("The list is either haves or wants."), field="kind")
    return KINDS[kind]
