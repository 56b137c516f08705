"""The caller's list entries under `/me/haves` and `/me/wants`: list (filtered,
sorted, paged), create, read, change, delete; one set of resources registered for
each kind, and the photos of a Have."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import g, url_for
from flask_babel import get_locale
from flask_smorest import Blueprint
from marshmallow import Schema

from marketplace.catalogue.titles import display_title
from marketplace.core.api import BEARER, token_required
from marketplace.core.extensions import db
from marketplace.lists.api import schemas
from marketplace.lists.models import Condition, Have, Want
from marketplace.lists.operations import HAVES, WANTS, ListFilters, ListKind, Lists, defect_slugs
from marketplace.lists.photos import have_photo_dir, remove_have_photo_files
from marketplace.lists.uploads import read_upload

blp = Blueprint("api_lists", __name__, description="The caller's Have and Want lists")


def lists() -> Lists:
    return Lists(db.session())


def have_dict(have: Have) -> dict[str, Any]:
    return {
        "id": have.id,
        "pin_id": have.pin_id,
        "pin_ref": have.pin.ref,
        "pin_title": display_title(have.pin, get_locale()),
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
        "pin_title": display_title(want.pin, get_locale()) if want.pin else None,
        "priority": want.priority,
        "min_condition": want.min_condition.slug if want.min_condition else None,
        "max_price": want.max_price,
        "currency": want.currency,
        "notes": want.notes,
        "created_at": want.created_at,
        "updated_at": want.updated_at,
    }


@dataclass(frozen=True)
class KindResources:
    """What the API says about one kind: its path, schemas, how an entry is shown,
    and the description of each operation as the OpenAPI document gives it."""

    kind: ListKind
    entry: str  # "have": the path parameter is `have_id`, endpoints `get_have`
    new: type[Schema]
    patch: type[Schema]
    out: type[Schema]
    query: type[Schema]
    as_dict: Callable[[Any], dict[str, Any]]
    docs: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/me/{self.kind.name}"

    @property
    def id_param(self) -> str:
        return f"{self.entry}_id"

    def shown(self, entry: Any) -> dict[str, Any]:
        """The entry as the API shows it, read back with what it shows (photos)."""
        return self.as_dict(lists().get(self.kind, g.api_user, entry.id))


HAVE_RESOURCES = KindResources(
    kind=HAVES,
    entry="have",
    new=schemas.HaveIn,
    patch=schemas.HavePatch,
    out=schemas.HaveOut,
    query=schemas.HaveQuery,
    as_dict=have_dict,
    docs={
        "list": "The caller's Haves, filtered, sorted and paged (X-Pagination header).",
        "create": "Add copies of a pin. Same pin, condition and defects as an entry already\n"
        "    listed is a 409: change that entry instead.",
        "patch": "Change some fields of an entry; the rest stay as they are.",
    },
)
WANT_RESOURCES = KindResources(
    kind=WANTS,
    entry="want",
    new=schemas.WantIn,
    patch=schemas.WantPatch,
    out=schemas.WantOut,
    query=schemas.WantQuery,
    as_dict=want_dict,
    docs={
        "list": "The caller's Wants, filtered, sorted and paged (X-Pagination header).",
        "create": "Want one pin (`pin_id`) or any variant of a catalogue number (`variant_group`).",
    },
)
RESOURCES = (HAVE_RESOURCES, WANT_RESOURCES)


def resource(
    rule: str, method: str, endpoint: str, doc: str | None, *decorators: Callable[..., Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `view` as `endpoint` with its own docstring (the document's summary
    for this kind), under the bearer token, with `decorators` (outermost first)."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        view.__name__ = view.__qualname__ = endpoint
        view.__doc__ = doc
        for decorate in reversed((blp.doc(**BEARER), token_required, *decorators)):
            view = decorate(view)
        blp.route(rule, methods=[method], endpoint=endpoint)(view)
        return view

    return register


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


def register_entry_resources(res: KindResources) -> None:
    """List, create, read, change and delete for one kind."""
    kind, one, item = res.kind, res.entry, f"{res.path}/<int:{res.id_param}>"

    @resource(
        res.path, "GET", f"list_{kind.name}", res.docs.get("list"),
        blp.arguments(res.query, location="query"),
        blp.response(200, res.out(many=True)),
        blp.paginate(),
    )  # fmt: skip
    def list_entries(query: dict[str, Any], pagination_parameters: Any) -> list[dict[str, Any]]:
        filters = _filters(query, pagination_parameters.page, pagination_parameters.page_size)
        page = lists().browse(kind, g.api_user.id, filters)
        pagination_parameters.item_count = page.total
        return [res.as_dict(entry) for entry in page.items]

    @resource(
        res.path, "POST", f"create_{one}", res.docs.get("create"),
        blp.arguments(res.new),
        blp.response(201, res.out),
    )  # fmt: skip
    def create_entry(body: dict[str, Any]) -> dict[str, Any]:
        return res.shown(lists().add(kind, g.api_user, **body))

    @resource(item, "GET", f"get_{one}", res.docs.get("get"), blp.response(200, res.out))
    def get_entry(**ids: int) -> dict[str, Any]:
        return res.as_dict(lists().get(kind, g.api_user, ids[res.id_param]))

    @resource(
        item, "PATCH", f"patch_{one}", res.docs.get("patch"),
        blp.arguments(res.patch),
        blp.response(200, res.out),
    )  # fmt: skip
    def patch_entry(body: dict[str, Any], **ids: int) -> dict[str, Any]:
        return res.as_dict(lists().update(kind, g.api_user, ids[res.id_param], **body))

    @resource(item, "DELETE", f"delete_{one}", res.docs.get("delete"), blp.response(204))
    def delete_entry(**ids: int) -> None:
        remove_have_photo_files(lists().remove(kind, g.api_user, ids[res.id_param]))


for _resources in RESOURCES:
    register_entry_resources(_resources)


@blp.route("/me/haves/<int:have_id>/photos", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.response(201, schemas.HaveOut)
def add_have_photo(have_id: int) -> dict[str, Any]:
    """Add a photo of your own copy: multipart field `photo` (JPEG, PNG or WebP,
    at most 8 MB; re-encoded, EXIF removed)."""
    data = read_upload("photo", what="the image", body_allowed=False)
    lists().add_photo(g.api_user, have_id, data, have_photo_dir())
    return have_dict(lists().get_have(g.api_user, have_id))


@blp.route("/me/haves/<int:have_id>/photos/<int:photo_id>", methods=["DELETE"])
@blp.doc(**BEARER)
@token_required
@blp.response(204)
def delete_have_photo(have_id: int, photo_id: int) -> None:
    """Remove one of your photos (the files go too)."""
    lists().get_have(g.api_user, have_id)  # 404 unless the copy is the caller's
    remove_have_photo_files(lists().delete_photo(g.api_user, photo_id))
