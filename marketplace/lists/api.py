"""API resources for the caller's trade lists: `/me/haves` and `/me/wants` (list,
create, read, change, delete), CSV `/import` and `/export` for each."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g, request, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from marketplace.core.api import BEARER, problem_response, token_required
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.lists import csv_import as csvio
from marketplace.lists.models import DEFECTS, Condition, Have, Want
from marketplace.lists.operations import HAVE_SORTS, WANT_SORTS, ListFilters, Lists, defect_slugs
from marketplace.lists.photos import have_photo_dir, remove_have_photo_files

blp = Blueprint("api_lists", __name__, description="The caller's Have and Want lists")

CONDITIONS = [c.slug for c in sorted(Condition, reverse=True)]
DEFECT_NAMES = [d.slug for d in DEFECTS]
_condition = validate.OneOf(CONDITIONS)
_money: dict[str, Any] = {"as_string": True, "places": 2, "allow_none": True}


class HaveIn(Schema):
    pin_id = fields.Integer(required=True)
    quantity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    condition = fields.String(
        load_default="fine",
        validate=_condition,
        metadata={"description": "Mint > Excellent > Very fine > Fine > Good > Poor"},
    )
    defects = fields.List(fields.String(validate=validate.OneOf(DEFECT_NAMES)), load_default=[])
    tradeable = fields.Boolean(load_default=True)
    price = fields.Decimal(load_default=None, **_money)
    currency = fields.String(load_default=None, allow_none=True, validate=validate.Length(equal=3))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class HavePatch(Schema):
    quantity = fields.Integer(validate=validate.Range(min=1, max=100_000))
    condition = fields.String(validate=_condition)
    defects = fields.List(fields.String(validate=validate.OneOf(DEFECT_NAMES)))
    tradeable = fields.Boolean()
    price = fields.Decimal(**_money)
    currency = fields.String(allow_none=True, validate=validate.Length(equal=3))
    notes = fields.String(allow_none=True, validate=validate.Length(max=2000))


class HavePhotoOut(Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    thumbnail_url = fields.String(required=True)
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)


class HaveOut(Schema):
    id = fields.Integer(required=True)
    pin_id = fields.Integer(required=True)
    pin_ref = fields.String(required=True)
    pin_title = fields.String(required=True)
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
    max_price = fields.Decimal(load_default=None, **_money)
    currency = fields.String(load_default=None, allow_none=True, validate=validate.Length(equal=3))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def one_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("pin_id") is None) == (data.get("variant_group") is None):
            raise ValidationError("Give exactly one of pin_id and variant_group.", "pin_id")


class WantPatch(Schema):
    priority = fields.Integer(validate=validate.Range(min=1, max=5))
    min_condition = fields.String(allow_none=True, validate=_condition)
    max_price = fields.Decimal(**_money)
    currency = fields.String(allow_none=True, validate=validate.Length(equal=3))
    notes = fields.String(allow_none=True, validate=validate.Length(max=2000))


class WantOut(Schema):
    id = fields.Integer(required=True)
    pin_id = fields.Integer(required=True, allow_none=True)
    variant_group = fields.String(required=True, allow_none=True)
    pin_ref = fields.String(required=True, allow_none=True)
    pin_title = fields.String(required=True, allow_none=True)
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
    mode = fields.String(load_default="all_or_nothing", validate=validate.OneOf(csvio.MODES))
    dry_run = fields.Boolean(load_default=False)
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


def lists() -> Lists:
    return Lists(db.session())


def _filters(query: dict[str, Any], page: int, per_page: int) -> ListFilters:
    condition = query.get("condition")
    return ListFilters(
        theme=query.get("theme"),
        series_id=query.get("series_id"),
        condition=Condition[condition.upper()] if condition else None,
        sort=query["sort"],
        page=page,
        per_page=per_page,
    )


def have_dict(have: Have) -> dict[str, Any]:
    return {
        "id": have.id,
        "pin_id": have.pin_id,
        "pin_ref": have.pin.ref,
        "pin_title": have.pin.title_en,
        "quantity": have.quantity,
        "condition": have.condition.slug,
        "defects": defect_slugs(have.defects),
        "tradeable": have.tradeable,
        "price": have.price,
        "currency": have.currency,
        "notes": have.notes,
        "photos": [
            {
                "id": p.id,
                "url": url_for("lists.photo", filename=p.filename, _external=True),
                "thumbnail_url": url_for("lists.photo", filename=p.thumbnail, _external=True),
                "width": p.width,
                "height": p.height,
            }
            for p in have.photos
        ],
        "created_at": have.created_at,
        "updated_at": have.updated_at,
    }


def want_dict(want: Want) -> dict[str, Any]:
    return {
        "id": want.id,
        "pin_id": want.pin_id,
        "variant_group": want.variant_group,
        "pin_ref": want.pin.ref if want.pin else None,
        "pin_title": want.pin.title_en if want.pin else None,
        "priority": want.priority,
        "min_condition": want.min_condition.slug if want.min_condition else None,
        "max_price": want.max_price,
        "currency": want.currency,
        "notes": want.notes,
        "created_at": want.created_at,
        "updated_at": want.updated_at,
    }


# -- haves ---------------------------------------------------------------------------


@blp.route("/me/haves", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(HaveQuery, location="query")
@blp.response(200, HaveOut(many=True))
@blp.paginate()
def list_haves(query: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
    """The caller's Haves, filtered, sorted and paged (X-Pagination header)."""
    page = lists().haves(
        g.api_user.id,
        _filters(query, pagination_parameters.page, pagination_parameters.page_size),
    )
    pagination_parameters.item_count = page.total
    return [have_dict(h) for h in page.items]


@blp.route("/me/haves", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(HaveIn)
@blp.response(201, HaveOut)
def create_have(body: dict[str, Any]) -> dict[str, Any]:
    """Add copies of a pin. Same pin, condition and defects as an entry already
    listed is a 409: change that entry instead."""
    have = lists().add_have(g.api_user, **body)
    return have_dict(lists().get_have(g.api_user, have.id))


@blp.route("/me/haves/<int:have_id>", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, HaveOut)
def get_have(have_id: int) -> dict[str, Any]:
    return have_dict(lists().get_have(g.api_user, have_id))


@blp.route("/me/haves/<int:have_id>", methods=["PATCH"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(HavePatch)
@blp.response(200, HaveOut)
def patch_have(body: dict[str, Any], have_id: int) -> dict[str, Any]:
    """Change some fields of an entry; the rest stay as they are."""
    return have_dict(lists().update_have(g.api_user, have_id, **body))


@blp.route("/me/haves/<int:have_id>", methods=["DELETE"])
@blp.doc(**BEARER)
@token_required
@blp.response(204)
def delete_have(have_id: int) -> None:
    remove_have_photo_files(lists().delete_have(g.api_user, have_id))


@blp.route("/me/haves/<int:have_id>/photos", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.response(201, HaveOut)
def add_have_photo(have_id: int) -> dict[str, Any]:
    """Add a photo of your own copy: multipart field `photo` (JPEG, PNG or WebP,
    at most 8 MB; re-encoded, EXIF removed)."""
    upload = request.files.get("photo")
    if upload is None:
        raise DomainError("Send the image as the multipart field 'photo'.", field="photo")
    lists().add_photo(g.api_user, have_id, upload.read(), have_photo_dir())
    return have_dict(lists().get_have(g.api_user, have_id))


@blp.route("/me/haves/<int:have_id>/photos/<int:photo_id>", methods=["DELETE"])
@blp.doc(**BEARER)
@token_required
@blp.response(204)
def delete_have_photo(have_id: int, photo_id: int) -> None:
    """Remove one of your photos (the files go too)."""
    lists().get_have(g.api_user, have_id)  # 404 unless the copy is the caller's
    remove_have_photo_files(lists().delete_photo(g.api_user, photo_id))


# -- wants ---------------------------------------------------------------------------


@blp.route("/me/wants", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(WantQuery, location="query")
@blp.response(200, WantOut(many=True))
@blp.paginate()
def list_wants(query: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
    """The caller's Wants, filtered, sorted and paged (X-Pagination header)."""
    page = lists().wants(
        g.api_user.id,
        _filters(query, pagination_parameters.page, pagination_parameters.page_size),
    )
    pagination_parameters.item_count = page.total
    return [want_dict(w) for w in page.items]


@blp.route("/me/wants", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(WantIn)
@blp.response(201, WantOut)
def create_want(body: dict[str, Any]) -> dict[str, Any]:
    """Want one pin (`pin_id`) or any variant of a catalogue number (`variant_group`)."""
    return want_dict(lists().add_want(g.api_user, **body))


@blp.route("/me/wants/<int:want_id>", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, WantOut)
def get_want(want_id: int) -> dict[str, Any]:
    return want_dict(lists().get_want(g.api_user, want_id))


@blp.route("/me/wants/<int:want_id>", methods=["PATCH"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(WantPatch)
@blp.response(200, WantOut)
def patch_want(body: dict[str, Any], want_id: int) -> dict[str, Any]:
    return want_dict(lists().update_want(g.api_user, want_id, **body))


@blp.route("/me/wants/<int:want_id>", methods=["DELETE"])
@blp.doc(**BEARER)
@token_required
@blp.response(204)
def delete_want(want_id: int) -> None:
    lists().delete_want(g.api_user, want_id)


# -- CSV -----------------------------------------------------------------------------


def _import(kind: str, query: dict[str, Any]) -> Any:
    # Refuse an oversized upload from its declared length, before reading it.
    request.max_content_length = csvio.MAX_IMPORT_BYTES + 64 * 1024
    if (request.content_length or 0) > request.max_content_length:
        return problem_response(
            413,
            f"The file is larger than the {csvio.MAX_IMPORT_BYTES // 1_048_576} MB limit.",
            code="too_large",
        )
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise DomainError("Send the CSV as the multipart field 'file'.", field="file")
        data = upload.read()
    else:
        data = request.get_data()
    try:
        mapping = json.loads(query["mapping"]) if query.get("mapping") else None
    except ValueError:
        raise DomainError("mapping is not valid JSON.", field="mapping") from None
    if mapping is not None and not isinstance(mapping, dict):
        raise DomainError("mapping must be a JSON object.", field="mapping")
    choices = {int(r): int(p) for r, p in (c.split(":") for c in query["choice"])}
    result = csvio.import_bytes(
        db.session(),
        g.api_user,
        kind,
        data,
        mode=query["mode"],
        dry_run=query["dry_run"],
        encoding=query.get("encoding"),
        mapping=mapping,
        choices=choices,
    )
    if not result.dry_run and not result.applied and not result.ok:
        errors: dict[str, list[str]] = {}
        for e in result.errors:
            errors.setdefault(f"row {e.row}", []).append(f"{e.column or 'row'}: {e.message}")
        for a in result.ambiguous:
            refs = ", ".join(c.ref for c in a.candidates[:10])
            errors.setdefault(f"row {a.row}", []).append(
                f"{a.column or 'row'}: several pins match '{a.text}' ({refs}); "
                f"add the catalogue number or pass choice={a.row}:<pin id>."
            )
        return problem_response(
            422,
            f"Nothing was imported: {result.error_rows + len(result.ambiguous)} of "
            f"{result.total} rows have problems (all_or_nothing mode).",
            errors=errors,
            code="import_refused",
        )
    return import_dict(result)


def import_dict(result: csvio.ImportResult) -> dict[str, Any]:
    return {
        "kind": result.kind,
        "mode": result.mode,
        "dry_run": result.dry_run,
        "applied": result.applied,
        "encoding": result.encoding,
        "delimiter": result.delimiter,
        "total": result.total,
        "created": result.created,
        "updated": result.updated,
        "error_rows": result.error_rows,
        "errors": [e.as_dict() for e in result.errors],
        "ambiguous": [
            {
                "row": a.row,
                "column": a.column,
                "text": a.text,
                "candidates": [{"id": c.id, "ref": c.ref, "title": c.title} for c in a.candidates],
            }
            for a in result.ambiguous
        ],
        "report": result.report,
    }


IMPORT_DOC = {
    **BEARER,
    **CSV_BODY,
    "description": (
        "Import a CSV (comma, semicolon or tab; UTF-8, UTF-8 with BOM or Windows-1251). "
        "Rows match pins by catalogue number, else by legend or title; a row for a pin "
        "already listed updates it. all_or_nothing refuses the whole file with a 422 "
        "naming each bad row; good_rows imports the rest and returns a report."
    ),
}


@blp.route("/me/haves/import", methods=["POST"])
@blp.doc(**IMPORT_DOC)
@token_required
@blp.arguments(ImportQuery, location="query")
@blp.response(200, ImportOut)
@blp.alt_response(422, description="Refused: nothing was imported")
@blp.alt_response(413, description="The file is over the size limit")
def import_haves(query: dict[str, Any]) -> Any:
    return _import("haves", query)


@blp.route("/me/wants/import", methods=["POST"])
@blp.doc(**IMPORT_DOC)
@token_required
@blp.arguments(ImportQuery, location="query")
@blp.response(200, ImportOut)
@blp.alt_response(422, description="Refused: nothing was imported")
@blp.alt_response(413, description="The file is over the size limit")
def import_wants(query: dict[str, Any]) -> Any:
    return _import("wants", query)


def csv_response(description: str) -> dict[str, Any]:
    content = {"text/csv": {"schema": {"type": "string"}}}
    return {"200": {"description": description, "content": content}}


def _export(kind: str) -> Response:
    body = csvio.export_csv(db.session(), g.api_user.id, kind)
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )


@blp.route("/me/haves/export", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.doc(responses=csv_response("The Haves as CSV (UTF-8 with BOM)"))
def export_haves() -> Response:
    return _export("haves")


@blp.route("/me/wants/export", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.doc(responses=csv_response("The Wants as CSV (UTF-8 with BOM)"))
def export_wants() -> Response:
    return _export("wants")
