"""The shapes of the lists API: each kind's entries in, changed and out, the filters
of a listing, and a CSV import's request and report (the same report whether the
import was a dry run, applied, or refused)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from marketplace.core.api import Flag
from marketplace.lists.csv_import import MODES
from marketplace.lists.models import DEFECTS, Condition
from marketplace.lists.operations import HAVE_SORTS, MAX_NOTES, MAX_QUANTITY, WANT_SORTS

CONDITIONS = [c.slug for c in sorted(Condition, reverse=True)]
DEFECT_NAMES = [d.slug for d in DEFECTS]
_condition = validate.OneOf(CONDITIONS)
_money: dict[str, Any] = {"as_string": True, "places": 2, "allow_none": True}
# Amounts in are taken as sent: `places` would round 0.001 EUR to 0.00 before the
# lists service could refuse it (it knows each currency's minor unit).
_money_in: dict[str, Any] = {"as_string": True, "allow_none": True}


class HaveIn(Schema):
    pin_id = fields.Integer(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_QUANTITY))
    condition = fields.String(
        load_default="fine",
        validate=_condition,
        metadata={"description": "Mint > Excellent > Very fine > Fine > Good > Poor"},
    )
    defects = fields.List(fields.String(validate=validate.OneOf(DEFECT_NAMES)), load_default=[])
    tradeable = Flag(load_default=True)
    price = fields.Decimal(load_default=None, **_money_in)
    currency = fields.String(load_default=None, allow_none=True, validate=validate.Length(equal=3))
    notes = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_NOTES)
    )


class HavePatch(Schema):
    quantity = fields.Integer(validate=validate.Range(min=1, max=MAX_QUANTITY))
    condition = fields.String(validate=_condition)
    defects = fields.List(fields.String(validate=validate.OneOf(DEFECT_NAMES)))
    tradeable = Flag()
    price = fields.Decimal(**_money_in)
    currency = fields.String(allow_none=True, validate=validate.Length(equal=3))
    notes = fields.String(allow_none=True, validate=validate.Length(max=MAX_NOTES))


_PHOTO_ACCESS = (
    "Fetched with your token (or a signed-in session). Others may fetch it only while "
    "the copy is for sale, on your public page, or in their match or trade; anyone "
    "else gets 404."
)


class HavePhotoOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True, metadata={"description": _PHOTO_ACCESS})
    thumbnail_url = fields.String(required=True, metadata={"description": _PHOTO_ACCESS})
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)


class HaveOut(Schema):
    id = fields.Integer(required=True)
    pin_id = fields.Integer(required=True)
    pin_ref = fields.String(required=True)
    pin_title = fields.String(
        required=True,
        metadata={"description": "The pin's title in the caller's language (Accept-Language)"},
    )
    quantity = fields.Integer(required=True)
    condition = fields.String(required=True, validate=_condition)
    defects = fields.List(fields.String(), required=True)
    tradeable = fields.Boolean(required=True)
    price = fields.Decimal(required=True, **_money)
    currency = fields.String(required=True, allow_none=True)
    notes = fields.String(required=True, allow_none=True)
    photos = fields.List(fields.Nested(HavePhotoOut), required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class WantIn(Schema):
    pin_id = fields.Integer(load_default=None, allow_none=True)
    variant_group = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "Catalogue number: any variant of it will do"},
    )
    priority = fields.Integer(load_default=3, validate=validate.Range(min=1, max=5))
    min_condition = fields.String(load_default=None, allow_none=True, validate=_condition)
    max_price = fields.Decimal(load_default=None, **_money_in)
    currency = fields.String(load_default=None, allow_none=True, validate=validate.Length(equal=3))
    notes = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=MAX_NOTES)
    )

    @validates_schema
    def one_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("pin_id") is None) == (data.get("variant_group") is None):
            raise ValidationError(_("Give exactly one of pin_id and variant_group."), "pin_id")


class WantPatch(Schema):
    priority = fields.Integer(validate=validate.Range(min=1, max=5))
    min_condition = fields.String(allow_none=True, validate=_condition)
    max_price = fields.Decimal(**_money_in)
    currency = fields.String(allow_none=True, validate=validate.Length(equal=3))
    notes = fields.String(allow_none=True, validate=validate.Length(max=MAX_NOTES))


class WantOut(Schema):
    id = fields.Integer(required=True)
    pin_id = fields.Integer(required=True, allow_none=True)
    variant_group = fields.String(required=True, allow_none=True)
    pin_ref = fields.String(required=True, allow_none=True)
    pin_title = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The pin's title in the caller's language (Accept-Language)"},
    )
    priority = fields.Integer(required=True)
    min_condition = fields.String(required=True, allow_none=True)
    max_price = fields.Decimal(required=True, **_money)
    currency = fields.String(required=True, allow_none=True)
    notes = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class HaveQuery(Schema):
    sort = fields.String(load_default="added", validate=validate.OneOf(list(HAVE_SORTS)))
    theme = fields.String(validate=validate.Length(max=200))
    series_id = fields.Integer()
    condition = fields.String(
        validate=_condition, metadata={"description": "At least this condition"}
    )


class WantQuery(HaveQuery):
    sort = fields.String(load_default="added", validate=validate.OneOf(list(WANT_SORTS)))
    condition = fields.String(
        validate=_condition, metadata={"description": "This minimum condition"}
    )


class ImportQuery(Schema):
    mode = fields.String(load_default="all_or_nothing", validate=validate.OneOf(MODES))
    dry_run = Flag(load_default=False)
    encoding = fields.String(
        validate=validate.OneOf(["utf-8", "utf-8-sig", "cp1251"]),
        metadata={"description": "Detected when absent (UTF-8, UTF-8 with BOM, Windows-1251)"},
    )
    mapping = fields.String(
        metadata={"description": 'JSON object field → column heading, e.g. {"ref": "Номер"}'}
    )
    choice = fields.List(
        fields.String(validate=validate.Regexp(r"^\d+:\d+$")),
        load_default=[],
        metadata={"description": "row:pin_id, resolving an ambiguous row"},
    )


class ImportRowErrorOut(Schema):
    row = fields.Integer(required=True)
    column = fields.String(required=True, allow_none=True)
    message = fields.String(required=True)


class ImportCandidateOut(Schema):
    id = fields.Integer(required=True)
    ref = fields.String(required=True)
    title = fields.String(required=True)


class ImportAmbiguityOut(Schema):
    row = fields.Integer(required=True)
    column = fields.String(required=True, allow_none=True)
    text = fields.String(required=True)
    candidates = fields.List(fields.Nested(ImportCandidateOut), required=True)


class ImportOut(Schema):
    kind = fields.String(required=True)
    mode = fields.String(required=True)
    dry_run = fields.Boolean(required=True)
    applied = fields.Boolean(required=True)
    encoding = fields.String(required=True)
    delimiter = fields.String(required=True)
    total = fields.Integer(required=True, metadata={"description": "Data rows in the file"})
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    error_rows = fields.Integer(required=True)
    errors = fields.List(fields.Nested(ImportRowErrorOut), required=True)
    ambiguous = fields.List(fields.Nested(ImportAmbiguityOut), required=True)
    report = fields.String(
        required=True, allow_none=True, metadata={"description": "CSV of the rows not imported"}
    )


CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
}


class ImportRefusedOut(Schema):
    """The problem document of a refused import, with the same per-row report as a
    dry run: `rows` and `ambiguous` are shaped as ImportOut's `errors` and
    `ambiguous`. A request refused before the file is read (a bad field) is a
    plain problem: `errors` by field, and no `rows`, `ambiguous` or `report`."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        required=True,
        metadata={"description": '"row N" → ["column: reason", …], or a field → its messages'},
    )
    rows = fields.List(fields.Nested(ImportRowErrorOut))
    ambiguous = fields.List(fields.Nested(ImportAmbiguityOut))
    report = fields.String(metadata={"description": "CSV of the rows not imported"})


def csv_response(description: str) -> dict[str, Any]:
    content = {"text/csv": {"schema": {"type": "string"}}}
    return {"200": {"description": description, "content": content}}
