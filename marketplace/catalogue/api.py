"""API resources for the catalogue: search (`GET /pins`), a pin, themes, series,
members' submissions and their moderation, and catalogue import/export."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, g, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from marketplace.catalogue import browse, caching
from marketplace.catalogue import search as search_service
from marketplace.catalogue.media import catalogue_photo_dir
from marketplace.catalogue.models import (
    ATTACHMENTS,
    FINISHES,
    MATERIALS,
    PIN_TYPES,
    REPUBLICS,
    TECHNIQUES,
    Series,
)
from marketplace.catalogue.moderation import Moderation
from marketplace.catalogue.operations import (
    THEMES,
    Catalogue,
    parse_catalogue_file,
    record_of,
    records_to_csv,
)
from marketplace.catalogue.titles import display_title, titles_of
from marketplace.core.api import BEARER, Flag, token_required
from marketplace.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from marketplace.core.extensions import db
from marketplace.core.photos import store_photo

blp = Blueprint("api_catalogue", __name__, description="The pin catalogue")


def _one_of(values: tuple[str, ...]) -> Any:
    return validate.OneOf(values)


class SearchArgs(Schema):
    class Meta:
        unknown = EXCLUDE  # tolerate cache-busting and tracking parameters

    q = fields.String(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "Words in Cyrillic or Latin; typos are corrected"},
    )
    theme = fields.String(validate=_one_of(tuple(THEMES)))
    city = fields.String()
    republic = fields.String(validate=_one_of(REPUBLICS))
    year_from = fields.Integer(validate=validate.Range(1850, 2100))
    year_to = fields.Integer(validate=validate.Range(1850, 2100))
    material = fields.String(validate=_one_of(MATERIALS))
    pin_type = fields.String(validate=_one_of(PIN_TYPES))
    series = fields.Integer()
    maker = fields.String()
    sort = fields.String(load_default="relevance", validate=_one_of(search_service.SORTS))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=24, validate=validate.Range(1, 100))
    facets = Flag(load_default=False, metadata={"description": "Include facet counts"})


class ThemeOut(Schema):
    path = fields.String(required=True)
    name = fields.String(required=True)
    name_ru = fields.String(allow_none=True)


_PHOTO_ACCESS = (
    "A pin's photos are public. A submission's, until approved, are fetched with the "
    "submitter's or a moderator's token (or session); anyone else gets 404."
)


class PhotoOut(Schema):
    side = fields.String(required=True)
    url = fields.String(required=True, metadata={"description": _PHOTO_ACCESS})
    thumbnail_url = fields.String(required=True, metadata={"description": _PHOTO_ACCESS})
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)


_TITLES = (
    "The pin's title in every language the catalogue has it in, by language code "
    "(en always; ru, uk, et where known)"
)
_TITLE = (
    "The title for the reader (Accept-Language): in their language where the catalogue "
    "has it, else the legend's transliteration, else the English title"
)


class PinSummaryOut(Schema):
    id = fields.Integer(required=True)
    ref = fields.String(required=True)
    title_en = fields.String(required=True)
    title = fields.String(required=True, metadata={"description": _TITLE})
    titles = fields.Dict(
        keys=fields.String(), values=fields.String(), required=True,
        metadata={"description": _TITLES},
    )  # fmt: skip
    legend = fields.String(allow_none=True)
    transliteration = fields.String(allow_none=True)
    year_from = fields.Integer(allow_none=True)
    year_to = fields.Integer(allow_none=True)
    city = fields.String(allow_none=True)
    republic = fields.String(allow_none=True)
    themes = fields.List(fields.String(), required=True)
    image_url = fields.String(
        required=True, metadata={"description": "Photo thumbnail, or a labelled drawing"}
    )
    is_synthetic = fields.Boolean(required=True)


class FacetValue(Schema):
    value = fields.String(required=True)
    count = fields.Integer(required=True)


class PinPageOut(Schema):
    items = fields.List(fields.Nested(PinSummaryOut), required=True)
    total = fields.Integer(required=True)
    page = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    corrections = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "Typed word → the word searched instead"},
    )
    suggestions = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={
            "description": "Typed word that matched no pin and had no sure correction → "
            "the nearest catalogue words to try instead (nothing was searched for it)"
        },
    )
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetValue)))


class PinDataIn(Schema):
    """Pin attributes as submitted; every field optional in a correction."""

    ref = fields.String(validate=validate.Length(1, 40))
    variant_group = fields.String(validate=validate.Length(1, 40))
    printed_refs = fields.List(fields.String(validate=validate.Length(max=100)))
    title_en = fields.String(validate=validate.Length(1, 200))
    title_ru = fields.String(allow_none=True, validate=validate.Length(max=300))
    title_uk = fields.String(allow_none=True, validate=validate.Length(max=300))
    title_et = fields.String(allow_none=True, validate=validate.Length(max=300))
    legend = fields.String(allow_none=True)
    legend_lang = fields.String(allow_none=True, validate=validate.Length(max=8))
    translation_en = fields.String(allow_none=True)
    issuer = fields.String(allow_none=True)
    occasion = fields.String(allow_none=True)
    themes = fields.List(fields.String(validate=_one_of(tuple(THEMES))))
    pin_type = fields.String(allow_none=True, validate=_one_of(PIN_TYPES))
    series_name = fields.String(allow_none=True)
    series_number = fields.Integer(allow_none=True)
    series_size = fields.Integer(allow_none=True)
    year_from = fields.Integer(allow_none=True)
    year_to = fields.Integer(allow_none=True)
    city = fields.String(allow_none=True)
    republic = fields.String(allow_none=True, validate=_one_of(REPUBLICS))
    maker = fields.String(allow_none=True)
    maker_mark = fields.String(allow_none=True)
    material = fields.String(allow_none=True, validate=_one_of(MATERIALS))
    finish = fields.String(allow_none=True, validate=_one_of(FINISHES))
    hallmark = fields.String(allow_none=True)
    technique = fields.String(allow_none=True, validate=_one_of(TECHNIQUES))
    attachment = fields.String(allow_none=True, validate=_one_of(ATTACHMENTS))
    height_mm = fields.Decimal(allow_none=True, as_string=True)
    width_mm = fields.Decimal(allow_none=True, as_string=True)
    thickness_mm = fields.Decimal(allow_none=True, as_string=True)
    weight_g = fields.Decimal(allow_none=True, as_string=True)
    reverse_markings = fields.String(allow_none=True)
    awarded_with_document = Flag(allow_none=True)
    authenticity_notes = fields.String(allow_none=True)
    known_copies = Flag(allow_none=True)
    notes_en = fields.String(allow_none=True)


class PinOut(PinDataIn):
    id = fields.Integer(required=True)
    title = fields.String(required=True, metadata={"description": _TITLE})
    titles = fields.Dict(
        keys=fields.String(), values=fields.String(), required=True,
        metadata={"description": _TITLES},
    )  # fmt: skip
    version = fields.Integer(required=True)
    is_synthetic = fields.Boolean(required=True)
    transliteration = fields.String(allow_none=True)
    photos = fields.List(fields.Nested(PhotoOut), required=True)
    image_url = fields.String(required=True)
    variants = fields.List(fields.Nested(PinSummaryOut), required=True)


class SubmissionIn(Schema):
    pin_id = fields.Integer(metadata={"description": "Set for a correction to this pin"})
    data = fields.Nested(PinDataIn, required=True)
    note = fields.String(validate=validate.Length(max=2000))


class SubmissionOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    pin_id = fields.Integer(allow_none=True)
    status = fields.String(required=True)
    reason = fields.String(allow_none=True)
    data = fields.Dict(required=True)
    photos = fields.List(fields.Nested(PhotoOut), required=True)
    created_at = fields.DateTime(required=True)


class RejectIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class ApproveIn(Schema):
    edits = fields.Nested(PinDataIn, load_default=dict)


class SubmissionListArgs(Schema):
    status = fields.String(
        load_default="pending", validate=_one_of(("pending", "approved", "rejected"))
    )
    all = Flag(load_default=False, metadata={"description": "Moderators: everybody's"})


class ExportArgs(Schema):
    format = fields.String(load_default="json", validate=_one_of(("json", "csv")))


class ImportResultOut(Schema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    dry_run = fields.Boolean(required=True)


class ImportArgs(Schema):
    dry_run = Flag(load_default=False)


# -- helpers -------------------------------------------------------------------------


def _image_url(pin: Any) -> str:
    from marketplace.catalogue.media import pin_image

    return pin_image(pin)


def _photo(photo: Any) -> dict[str, Any]:
    from flask import url_for

    return {
        "side": photo.side,
        "url": url_for("catalogue.media", name=photo.filename),
        "thumbnail_url": url_for("catalogue.media", name=photo.thumbnail),
        "width": photo.width,
        "height": photo.height,
    }


def _summary(pin: Any) -> dict[str, Any]:
    return {
        "id": pin.id, "ref": pin.ref, "title_en": pin.title_en,
        "title": display_title(pin, get_locale()), "titles": titles_of(pin), "legend": pin.legend,
        "transliteration": pin.transliteration, "year_from": pin.year_from,
        "year_to": pin.year_to, "city": pin.city, "republic": pin.republic,
        "themes": [t.path for t in pin.themes], "image_url": _image_url(pin),
        "is_synthetic": pin.is_synthetic,
    }  # fmt: skip


def _submission(item: Any) -> dict[str, Any]:
    return {
        "id": item.id, "kind": item.kind, "pin_id": item.pin_id, "status": item.status,
        "reason": item.reason, "data": item.data, "photos": [_photo(p) for p in item.photos],
        "created_at": item.created_at,
    }  # fmt: skip


def _moderation() -> Moderation:
    return Moderation(db.session(), catalogue_photo_dir(), current_app.config["SETTINGS"].base_url)


def _require_moderator() -> None:
    if not g.api_user.is_moderator:
        raise Forbidden(_("Only moderators can do this."))


# -- routes ----------------------------------------------------------------------------


@blp.route("/pins", methods=["GET"])
@blp.arguments(SearchArgs, location="query", as_kwargs=True)
@blp.response(200, PinPageOut)
def search_pins(**args: Any) -> dict[str, Any]:
    """Search the catalogue: Cyrillic or Latin, any common romanisation, typos
    corrected; filters, sorting, paging, optional facet counts."""
    query = search_service.SearchQuery(
        q=args["q"], theme=args.get("theme"), city=args.get("city"),
        republic=args.get("republic"), year_from=args.get("year_from"),
        year_to=args.get("year_to"), material=args.get("material"),
        pin_type=args.get("pin_type"), series_id=args.get("series"), maker=args.get("maker"),
        sort=args["sort"], page=args["page"], per_page=args["per_page"],
        with_facets=args["facets"],
    )  # fmt: skip
    result = caching.search(db.session(), query)
    body: dict[str, Any] = {
        "items": [_summary(p) for p in result.pins],
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "per_page": result.per_page,
        "corrections": result.corrections,
        "suggestions": result.suggestions,
    }
    if args["facets"]:
        body["facets"] = {
            name: [{"value": v, "count": c} for v, c in values]
            for name, values in result.facets.items()
        }
    return body


@blp.route("/pins/<int:pin_id>", methods=["GET"])
@blp.response(200, PinOut)
def get_pin(pin_id: int) -> dict[str, Any]:
    """One pin with every attribute, its photos and its other variants."""
    catalogue = Catalogue(db.session())
    pin = catalogue.get(pin_id)
    return {
        **record_of(pin),
        "id": pin.id,
        "title": display_title(pin, get_locale()),
        "titles": titles_of(pin),
        "version": pin.version,
        "is_synthetic": pin.is_synthetic,
        "transliteration": pin.transliteration,
        "photos": [_photo(p) for p in pin.photos],
        "image_url": _image_url(pin),
        "variants": [_summary(v) for v in catalogue.variants(pin)],
    }


@blp.route("/themes", methods=["GET"])
@blp.response(200, ThemeOut(many=True))
def list_themes() -> list[dict[str, Any]]:
    """The theme tree, parents before children."""
    return [
        {"path": t.path, "name": t.name, "name_ru": t.name_ru}
        for t, _count in browse.theme_counts(db.session())
    ]


class SeriesOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    set_size = fields.Integer(allow_none=True)
    members = fields.List(fields.Nested(PinSummaryOut), required=True)
    missing_numbers = fields.List(fields.Integer(), required=True)


@blp.route("/series/<int:series_id>", methods=["GET"])
@blp.response(200, SeriesOut)
def get_series(series_id: int) -> dict[str, Any]:
    """A numbered series: members in order and the numbers not yet catalogued."""
    series = db.session.get(Series, series_id)
    if series is None:
        raise NotFound(_("No such series."))
    members, missing = browse.series_members(db.session(), series)
    return {
        "id": series.id, "name": series.name, "set_size": series.set_size,
        "members": [_summary(p) | {"series_number": p.series_number} for p in members],
        "missing_numbers": missing,
    }  # fmt: skip


@blp.route("/submissions", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(SubmissionIn)
@blp.response(201, SubmissionOut)
def create_submission(body: dict[str, Any]) -> dict[str, Any]:
    """Propose a missing pin, or (with pin_id) a correction; a moderator reviews it."""
    pin = Catalogue(db.session()).get(body["pin_id"]) if body.get("pin_id") else None
    data = {k: (str(v) if k.endswith(("_mm", "_g")) and v is not None else v)
            for k, v in body["data"].items()}  # fmt: skip
    item = _moderation().submit(g.api_user, data, pin=pin, note=body.get("note"))
    return _submission(item)


@blp.route("/submissions/<int:submission_id>/photos", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.response(201, SubmissionOut)
def add_submission_photo(submission_id: int) -> dict[str, Any]:
    """Attach a photo: multipart form with `photo` (JPEG, PNG or WebP, ≤ 8 MB) and
    `side` (obverse, reverse or other)."""
    service = _moderation()
    item = service.get(submission_id)
    if item.submitted_by_id != g.api_user.id or item.status != "pending":
        raise NotFound(_("No such pending submission of yours."))
    upload = request.files.get("photo")
    if upload is None:
        raise DomainError(_("Send the image as the multipart field 'photo'."), field="photo")
    stored = store_photo(upload.read(), storage_dir=catalogue_photo_dir())
    service.add_photo(item, request.form.get("side", "obverse"), stored, g.api_user)
    return _submission(item)


@blp.route("/submissions", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(SubmissionListArgs, location="query", as_kwargs=True)
@blp.response(200, SubmissionOut(many=True))
def list_submissions(status: str, all: bool) -> list[dict[str, Any]]:
    """Your submissions; moderators may ask for everybody's (`all=true`)."""
    if all:
        _require_moderator()
    items = _moderation().queue(status, None if all else g.api_user)
    return [_submission(s) for s in items]


@blp.route("/submissions/<int:submission_id>/approve", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(ApproveIn)
@blp.response(200, PinOut)
def approve_submission(body: dict[str, Any], submission_id: int) -> dict[str, Any]:
    """Moderators: accept a submission, optionally with edits."""
    _require_moderator()
    service = _moderation()
    pin = service.approve(service.get(submission_id), g.api_user, body.get("edits") or {})
    return get_pin(pin.id)


@blp.route("/submissions/<int:submission_id>/reject", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(RejectIn)
@blp.response(200, SubmissionOut)
def reject_submission(body: dict[str, Any], submission_id: int) -> dict[str, Any]:
    """Moderators: refuse a submission, saying why."""
    _require_moderator()
    service = _moderation()
    item = service.get(submission_id)
    service.reject(item, g.api_user, body["reason"])
    return _submission(item)


@blp.route("/catalogue/export", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(ExportArgs, location="query", as_kwargs=True)
@blp.response(200, {"type": "string"}, content_type="text/csv")
@blp.alt_response(200, schema=PinDataIn(many=True), content_type="application/json")
def export_catalogue(format: str) -> Response:
    """Moderators: the whole catalogue (synthetic pins excluded) as JSON or CSV."""
    _require_moderator()
    records = Catalogue(db.session()).export_records()
    if format == "csv":
        return Response(records_to_csv(records), mimetype="text/csv")
    return Response(json.dumps(records, ensure_ascii=False), mimetype="application/json")


@blp.route("/catalogue/import", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(ImportArgs, location="query", as_kwargs=True)
@blp.response(200, ImportResultOut)
def import_catalogue(dry_run: bool) -> dict[str, Any]:
    """Moderators: import a CSV or JSON catalogue (the export's format) as the
    request body or as multipart field `file`. All rows or none: any bad row
    answers 422 with every problem as `errors[row:column]`."""
    _require_moderator()
    upload = request.files.get("file")
    data = upload.read() if upload else request.get_data()
    name = upload.filename or "" if upload else ("x.json" if request.is_json else "x.csv")
    records = parse_catalogue_file(data, name)
    created, updated, errors = Catalogue(db.session()).import_records(records, g.api_user)
    if errors:
        raise InvalidInput(
            {f"row {row}: {column}": [message] for row, column, message in errors},
            message=f"{len(errors)} problem(s) in the file; nothing was imported.",
        )
    if dry_run:
        db.session.rollback()
    return {"created": created, "updated": updated, "dry_run": dry_run}


__all__ = ["blp"]
