"""The Haves and Wants pages and their buttons: the list (filters, sorting, pages),
the one-click add, inline edit and delete, written once and registered for each
kind; then what only one kind has: photos of a Have, and moving a Want that arrived
to the Haves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash, redirect, render_template, send_from_directory, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from marketplace.accounts.forms import EmptyForm
from marketplace.core.errors import DomainError
from marketplace.core.pagination import Page
from marketplace.core.photos import MAX_BYTES as MAX_PHOTO_BYTES
from marketplace.core.photos import PhotoTooLarge
from marketplace.core.registry import find_service, has_service
from marketplace.core.web import current_viewer
from marketplace.lists.forms import AddToListForm, HaveForm, MoveForm, PhotoForm, WantForm
from marketplace.lists.grades import CONDITION_HELP, condition_name, defect_name
from marketplace.lists.models import DEFECTS, Condition
from marketplace.lists.operations import HAVES, WANTS, ListKind, Lists
from marketplace.lists.operations.values import CONDITION_ALIASES
from marketplace.lists.photos import HaveShownTo, have_photo_dir, remove_have_photo_files
from marketplace.lists.uploads import FileTooLarge, refuse_declared_oversize
from marketplace.lists.web.common import back, bp, filters_from_query, service, signed_in


def _have_changes(form: Any) -> dict[str, Any]:
    return {
        "quantity": form.quantity.data,
        "condition": form.condition.data,
        "defects": form.defects.data or [],
        "tradeable": form.tradeable.data,
        "price": form.price.data or None,
        "currency": form.currency.data or None,
        "notes": form.notes.data,
    }


def _want_changes(form: Any) -> dict[str, Any]:
    return {
        "priority": form.priority.data,
        "min_condition": form.min_condition.data or None,
        "max_price": form.max_price.data or None,
        "currency": form.currency.data or None,
        "notes": form.notes.data,
    }


def _have_context(lists: Lists, page: Page[Any]) -> dict[str, Any]:
    return {
        "condition_help": CONDITION_HELP,  # in the reader's language
        "condition_aliases": CONDITION_ALIASES,
        "defects": [(d.slug, defect_name(d)) for d in DEFECTS],
        "photo_form": PhotoForm(),
    }


def _want_context(lists: Lists, page: Page[Any]) -> dict[str, Any]:
    groups = {w.variant_group for w in page.items if w.variant_group}
    return {"variants": {group: lists.variants(group) for group in groups}}


@dataclass(frozen=True)
class KindPages:
    """What the pages do differently for one kind."""

    kind: ListKind
    entry: str  # "have": endpoints `edit_have`, view argument `have_id`
    form: type[FlaskForm]
    changes: Callable[[Any], dict[str, Any]]  # the edit form → the changes it asks for
    context: Callable[[Lists, Page[Any]], dict[str, Any]]  # what only this page shows
    added: Callable[[Any], str]
    merge_on_add: bool  # the one-click button tops up an entry already listed
    conflict_category: str  # how "already listed" is flashed

    @property
    def template(self) -> str:
        return f"lists/{self.kind.name}.html"

    @property
    def id_param(self) -> str:
        return f"{self.entry}_id"


HAVE_PAGES = KindPages(
    kind=HAVES,
    entry="have",
    form=HaveForm,
    changes=_have_changes,
    context=_have_context,
    added=lambda have: _(
        "Added to your Haves (%(quantity)d in %(condition)s).",
        quantity=have.quantity,
        condition=condition_name(have.condition),
    ),
    merge_on_add=True,
    conflict_category="error",
)
WANT_PAGES = KindPages(
    kind=WANTS,
    entry="want",
    form=WantForm,
    changes=_want_changes,
    context=_want_context,
    added=lambda want: _("Added to your Wants."),
    merge_on_add=False,
    conflict_category="info",
)
PAGES = {p.kind.name: p for p in (HAVE_PAGES, WANT_PAGES)}


def form_messages(form: FlaskForm) -> list[str]:
    return [m for ms in form.errors.values() for m in ms]


def list_page(
    pages: KindPages,
    status: int = 200,
    errors: dict[int, list[str]] | None = None,
    photo_errors: dict[int, list[str]] | None = None,
) -> ResponseReturnValue:
    """The kind's page, with `errors` shown beside the entries they are about and
    `photo_errors` beside an entry's photo field."""
    lists = service()
    themes, series = lists.filter_options(current_user.id)
    page = lists.browse(pages.kind, current_user.id, filters_from_query())
    return render_template(
        pages.template,
        page=page,
        themes=themes,
        series=series,
        sorts=list(pages.kind.sorts),
        conditions=sorted(Condition, reverse=True),
        errors=errors or {},
        photo_errors=photo_errors or {},
        empty_form=EmptyForm(),
        **pages.context(lists, page),
    ), status


def refused(pages: KindPages, entry_id: int, exc: DomainError) -> ResponseReturnValue:
    return list_page(pages, 422 if exc.status < 404 else exc.status, {entry_id: [exc.message]})


def register_entry_pages(pages: KindPages) -> None:
    kind, one = pages.kind, pages.entry
    home = f"lists.{kind.name}"
    item = f"/lists/{kind.name}/<int:{pages.id_param}>"

    def show() -> ResponseReturnValue:
        return list_page(pages)

    def add() -> ResponseReturnValue:
        form = AddToListForm()
        if form.validate_on_submit():
            try:
                merge = {"merge": True} if pages.merge_on_add else {}
                entry = service().add(kind, signed_in(), pin_id=form.pin_id.data, **merge)
            except DomainError as exc:
                flash(exc.message, pages.conflict_category if exc.status == 409 else "error")
            else:
                flash(pages.added(entry), "success")
        return redirect(back(url_for(home)), 303)

    def edit(**ids: int) -> ResponseReturnValue:
        entry_id = ids[pages.id_param]
        form = pages.form()
        if not form.validate_on_submit():
            return list_page(pages, 422, {entry_id: form_messages(form)})
        try:
            service().update(kind, signed_in(), entry_id, **pages.changes(form))
        except DomainError as exc:
            return refused(pages, entry_id, exc)
        flash(_("Saved."), "success")
        return redirect(back(url_for(home)), 303)

    def delete(**ids: int) -> ResponseReturnValue:
        if EmptyForm().validate_on_submit():
            try:
                remove_have_photo_files(service().remove(kind, signed_in(), ids[pages.id_param]))
            except DomainError as exc:
                flash(exc.message, "error")
            else:
                flash(
                    _("Removed from your Haves.")
                    if kind is HAVES
                    else _("Removed from your Wants."),
                    "info",
                )
        return redirect(back(url_for(home)), 303)

    for rule, endpoint, view, methods in (
        (f"/lists/{kind.name}", kind.name, show, ["GET"]),
        (f"/lists/{kind.name}/add", f"add_{one}", add, ["POST"]),
        (f"{item}/edit", f"edit_{one}", edit, ["POST"]),
        (f"{item}/delete", f"delete_{one}", delete, ["POST"]),
    ):
        view.__name__ = view.__qualname__ = endpoint
        bp.add_url_rule(rule, endpoint, login_required(view), methods=methods)


for _pages in PAGES.values():
    register_entry_pages(_pages)


# -- photos of a Have ----------------------------------------------------------------


@bp.route("/lists/haves/<int:have_id>/photos", methods=["POST"])
@login_required
def add_photo(have_id: int) -> ResponseReturnValue:
    """A photo of a Have; a refused one comes back on the page beside the photo
    field of that entry, saying why (too big, not an image, a format we do not
    take), with the entry's form open and the list as it was filtered."""
    try:
        refuse_declared_oversize(MAX_PHOTO_BYTES)
    except FileTooLarge:
        return _photo_refused(have_id, _photo_too_large(), 413)
    form = PhotoForm()
    if not form.validate_on_submit():
        return _photo_refused(have_id, form_messages(form), 422)
    try:
        service().add_photo(signed_in(), have_id, form.photo.data.read(), have_photo_dir())
    except PhotoTooLarge:
        return _photo_refused(have_id, _photo_too_large(), 413)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        return _photo_refused(have_id, [exc.message], 422)
    flash(_("Photo added."), "success")
    return redirect(back(url_for("lists.haves")), 303)


def _photo_too_large() -> list[str]:
    return [
        _(
            "The photo is larger than the %(limit)d MB limit; send a smaller one.",
            limit=MAX_PHOTO_BYTES // 1_048_576,
        )
    ]


def _photo_refused(have_id: int, messages: list[str], status: int) -> ResponseReturnValue:
    return list_page(HAVE_PAGES, status, photo_errors={have_id: messages})


@bp.route("/lists/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def delete_photo(photo_id: int) -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        try:
            remove_have_photo_files(service().delete_photo(signed_in(), photo_id))
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(back(url_for("lists.haves")), 303)


@bp.route("/lists/photos/<filename>")
def photo(filename: str) -> ResponseReturnValue:
    """A photo of a collector's copy, to whoever may see it (`Lists.visible_photo`),
    by session or API token. Anyone else gets the 404 of a name that does not
    exist, so that names do not tell which photos are there."""
    shown_to = find_service(HaveShownTo) if has_service(HaveShownTo) else None  # type: ignore[type-abstract]
    if service().visible_photo(filename, current_viewer(), shown_to) is None:
        abort(404)
    response = send_from_directory(have_photo_dir(), filename, mimetype="image/webp")
    # Who may see it can change (a price removed, a page made private): browsers
    # keep a copy but ask again each time, and shared caches keep none.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# -- a Want that arrived -------------------------------------------------------------


@bp.route("/lists/wants/<int:want_id>/move", methods=["POST"])
@login_required
def move_want(want_id: int) -> ResponseReturnValue:
    form = MoveForm()
    if not form.validate_on_submit():
        return list_page(WANT_PAGES, 422, {want_id: form_messages(form)})
    try:
        have = service().move_to_haves(
            signed_in(), want_id, pin_id=form.pin_id.data, condition=form.condition.data
        )
    except DomainError as exc:
        return refused(WANT_PAGES, want_id, exc)
    flash(_("Moved %(ref)s to your Haves.", ref=have.pin.ref), "success")
    return redirect(back(url_for("lists.wants")), 303)
