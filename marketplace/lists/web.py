"""List pages: Haves and Wants (filters, sorting, pages, inline edit, photos, move a
Want to Haves), the one-click add buttons, series completion, jars and charts, the
public collection page, and CSV import (upload → map → preview → run as a task,
with progress) and export. Views parse, call the list services, and map errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from marketplace.accounts.forms import EmptyForm, attach_error
from marketplace.accounts.models import User
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.lists import csv_import as csvio
from marketplace.lists.forms import (
    AddToListForm,
    HaveForm,
    MoveForm,
    PhotoForm,
    PublicPageForm,
    StartImportForm,
    UploadForm,
    WantForm,
)
from marketplace.lists.import_progress import ImportProgress
from marketplace.lists.models import CONDITION_HELP, Condition, ListImport
from marketplace.lists.operations import HAVE_SORTS, WANT_SORTS, ListFilters, Lists, defect_slugs
from marketplace.lists.photos import have_photo_dir, remove_have_photo_files

bp = Blueprint("lists", __name__)
KINDS = ("haves", "wants")


def service() -> Lists:
    return Lists(db.session())


def staged() -> csvio.StagedImports:
    return csvio.StagedImports(db.session())


def progress_store() -> ImportProgress:
    settings = current_app.config["SETTINGS"]
    return ImportProgress.for_instance(settings.redis_url, current_app.instance_path)


def _back(default: str) -> str:
    """Where to return after a button: `next`, else the page it was pressed on."""
    target = request.form.get("next") or request.args.get("next") or ""
    if not target and request.referrer:
        referrer = urlsplit(request.referrer)
        if referrer.netloc == request.host:
            target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _filters() -> ListFilters:
    condition = request.args.get("condition", "")
    return ListFilters(
        theme=request.args.get("theme") or None,
        series_id=request.args.get("series", type=int),
        condition=Condition[condition.upper()]
        if condition.upper() in Condition.__members__
        else None,
        sort=request.args.get("sort", "added"),
        page=max(1, request.args.get("page", 1, type=int)),
    )


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


# -- overview, charts, public page ---------------------------------------------------


@bp.route("/lists/")
@login_required
def overview() -> ResponseReturnValue:
    lists = service()
    pins, copies, wants = lists.totals(current_user.id)
    page = lists.collection_page(_user())
    form = PublicPageForm(shows=page.shows)
    return render_template(
        "lists/overview.html",
        pins=pins,
        copies=copies,
        wants=wants,
        jars=lists.jars(current_user.id),
        republics=lists.by_republic(current_user.id),
        public=page,
        public_form=form,
        imports=staged().recent(_user()),
    )


@bp.route("/lists/public", methods=["POST"])
@login_required
def set_public() -> ResponseReturnValue:
    form = PublicPageForm()
    if form.validate_on_submit():
        page = service().set_public(_user(), form.shows.data)
        flash(
            "Your collection page is private."
            if page.shows == "none"
            else "Your collection page is public: share its link.",
            "success",
        )
    return redirect(url_for("lists.overview"), 303)


@bp.route("/c/<slug>")
def public_collection(slug: str) -> ResponseReturnValue:
    lists = service()
    try:
        page = lists.public_page(slug)
    except DomainError:
        abort(404)
    filters = _filters()
    haves = lists.haves(page.user_id, filters) if page.shows in ("haves", "both") else None
    wants = lists.wants(page.user_id, filters) if page.shows in ("wants", "both") else None
    return render_template(
        "lists/public.html",
        owner=page.user,
        haves=haves,
        wants=wants,
        jars=lists.jars(page.user_id) if haves else [],
        defect_slugs=defect_slugs,
    )


# -- haves ---------------------------------------------------------------------------


@bp.route("/lists/haves")
@login_required
def haves(status: int = 200, errors: dict[int, list[str]] | None = None) -> ResponseReturnValue:
    lists = service()
    themes, series = lists.filter_options(current_user.id)
    return render_template(
        "lists/haves.html",
        page=lists.haves(current_user.id, _filters()),
        themes=themes,
        series=series,
        sorts=list(HAVE_SORTS),
        conditions=sorted(Condition, reverse=True),
        condition_help=CONDITION_HELP,
        defects=[(c.value, c.label) for c in HaveForm().defects.choices],
        errors=errors or {},
        empty_form=EmptyForm(),
        photo_form=PhotoForm(),
    ), status


@bp.route("/lists/haves/add", methods=["POST"])
@login_required
def add_have() -> ResponseReturnValue:
    form = AddToListForm()
    if form.validate_on_submit():
        try:
            have = service().add_have(_user(), form.pin_id.data, merge=True)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Added to your Haves ({have.quantity} in {have.condition.label}).", "success")
    return redirect(_back(url_for("lists.haves")), 303)


@bp.route("/lists/haves/<int:have_id>/edit", methods=["POST"])
@login_required
def edit_have(have_id: int) -> ResponseReturnValue:
    form = HaveForm()
    if not form.validate_on_submit():
        return haves(422, {have_id: [m for ms in form.errors.values() for m in ms]})
    try:
        service().update_have(
            _user(),
            have_id,
            quantity=form.quantity.data,
            condition=form.condition.data,
            defects=form.defects.data or [],
            tradeable=form.tradeable.data,
            price=form.price.data or None,
            currency=form.currency.data or None,
            notes=form.notes.data,
        )
    except DomainError as exc:
        return haves(422 if exc.status < 404 else exc.status, {have_id: [exc.message]})
    flash("Saved.", "success")
    return redirect(_back(url_for("lists.haves")), 303)


@bp.route("/lists/haves/<int:have_id>/delete", methods=["POST"])
@login_required
def delete_have(have_id: int) -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        try:
            remove_have_photo_files(service().delete_have(_user(), have_id))
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash("Removed from your Haves.", "info")
    return redirect(_back(url_for("lists.haves")), 303)


@bp.route("/lists/haves/<int:have_id>/photos", methods=["POST"])
@login_required
def add_photo(have_id: int) -> ResponseReturnValue:
    form = PhotoForm()
    if not form.validate_on_submit():
        return haves(422, {have_id: [m for ms in form.errors.values() for m in ms]})
    try:
        service().add_photo(_user(), have_id, form.photo.data.read(), have_photo_dir())
    except DomainError as exc:
        return haves(exc.status if exc.status != 400 else 422, {have_id: [exc.message]})
    flash("Photo added.", "success")
    return redirect(_back(url_for("lists.haves")), 303)


@bp.route("/lists/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def delete_photo(photo_id: int) -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        try:
            remove_have_photo_files(service().delete_photo(_user(), photo_id))
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(_back(url_for("lists.haves")), 303)


@bp.route("/lists/photos/<filename>")
def photo(filename: str) -> ResponseReturnValue:
    if not service().photo_is_public(filename):
        abort(404)
    return send_from_directory(have_photo_dir(), filename, mimetype="image/webp", max_age=86400)


# -- wants ---------------------------------------------------------------------------


@bp.route("/lists/wants")
@login_required
def wants(status: int = 200, errors: dict[int, list[str]] | None = None) -> ResponseReturnValue:
    lists = service()
    themes, series = lists.filter_options(current_user.id)
    page = lists.wants(current_user.id, _filters())
    variants = {
        w.variant_group: lists.variants(w.variant_group) for w in page.items if w.variant_group
    }
    return render_template(
        "lists/wants.html",
        page=page,
        variants=variants,
        themes=themes,
        series=series,
        sorts=list(WANT_SORTS),
        conditions=sorted(Condition, reverse=True),
        errors=errors or {},
        empty_form=EmptyForm(),
    ), status


@bp.route("/lists/wants/add", methods=["POST"])
@login_required
def add_want() -> ResponseReturnValue:
    form = AddToListForm()
    if form.validate_on_submit():
        try:
            service().add_want(_user(), pin_id=form.pin_id.data)
        except DomainError as exc:
            flash(exc.message, "info" if exc.status == 409 else "error")
        else:
            flash("Added to your Wants.", "success")
    return redirect(_back(url_for("lists.wants")), 303)


@bp.route("/lists/wants/<int:want_id>/edit", methods=["POST"])
@login_required
def edit_want(want_id: int) -> ResponseReturnValue:
    form = WantForm()
    if not form.validate_on_submit():
        return wants(422, {want_id: [m for ms in form.errors.values() for m in ms]})
    try:
        service().update_want(
            _user(),
            want_id,
            priority=form.priority.data,
            min_condition=form.min_condition.data or None,
            max_price=form.max_price.data or None,
            currency=form.currency.data or None,
            notes=form.notes.data,
        )
    except DomainError as exc:
        return wants(422 if exc.status < 404 else exc.status, {want_id: [exc.message]})
    flash("Saved.", "success")
    return redirect(_back(url_for("lists.wants")), 303)


@bp.route("/lists/wants/<int:want_id>/delete", methods=["POST"])
@login_required
def delete_want(want_id: int) -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        try:
            service().delete_want(_user(), want_id)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash("Removed from your Wants.", "info")
    return redirect(_back(url_for("lists.wants")), 303)


@bp.route("/lists/wants/<int:want_id>/move", methods=["POST"])
@login_required
def move_want(want_id: int) -> ResponseReturnValue:
    form = MoveForm()
    if not form.validate_on_submit():
        return wants(422, {want_id: [m for ms in form.errors.values() for m in ms]})
    try:
        have = service().move_to_haves(
            _user(), want_id, pin_id=form.pin_id.data, condition=form.condition.data
        )
    except DomainError as exc:
        return wants(422 if exc.status < 404 else exc.status, {want_id: [exc.message]})
    flash(f"Moved {have.pin.ref} to your Haves.", "success")
    return redirect(_back(url_for("lists.wants")), 303)


# -- series --------------------------------------------------------------------------


@bp.route("/lists/series")
@login_required
def series() -> ResponseReturnValue:
    return render_template(
        "lists/series.html",
        progress=service().series_completion(current_user.id),
        empty_form=EmptyForm(),
    )


@bp.route("/lists/series/<int:series_id>/want-missing", methods=["POST"])
@login_required
def want_missing(series_id: int) -> ResponseReturnValue:
    if EmptyForm().validate_on_submit():
        try:
            added = service().want_missing(_user(), series_id)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(f"Added {added} missing pins to your Wants.", "success")
    return redirect(url_for("lists.series"), 303)


# -- CSV -----------------------------------------------------------------------------


def _kind(kind: str) -> str:
    if kind not in KINDS:
        abort(404)
    return kind


@bp.route("/lists/<kind>/export")
@login_required
def export(kind: str) -> ResponseReturnValue:
    body = csvio.export_csv(db.session(), current_user.id, _kind(kind))
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )


@bp.route("/lists/<kind>/import", methods=["GET", "POST"])
@login_required
def upload(kind: str) -> ResponseReturnValue:
    _kind(kind)
    limit = csvio.MAX_IMPORT_BYTES
    if request.method == "POST":
        # Refuse an oversized upload from its declared length, before reading it.
        request.max_content_length = limit + 64 * 1024
        if (request.content_length or 0) > request.max_content_length:
            form = UploadForm(meta={"csrf": False}, formdata=None)
            form.file.errors = [f"The file is larger than the {limit // 1_048_576} MB limit."]
            return render_template("lists/import_upload.html", form=form, kind=kind), 413
    form = UploadForm()
    if form.validate_on_submit():
        try:
            job = staged().upload(
                _user(),
                kind,
                form.file.data.read(),
                form.file.data.filename or "",
                form.encoding.data or None,
            )
        except DomainError as exc:
            if exc.field not in ("encoding",):
                exc.field = "file"
            attach_error(form, exc)
            return render_template("lists/import_upload.html", form=form, kind=kind), exc.status
        return redirect(url_for("lists.mapping", import_id=job.id), 303)
    return render_template(
        "lists/import_upload.html", form=form, kind=kind, fields=csvio.FIELDS[kind]
    ), 200 if not form.errors else 422


@bp.route("/lists/imports/<int:import_id>/map", methods=["GET", "POST"])
@login_required
def mapping(import_id: int) -> ResponseReturnValue:
    imports = staged()
    job = imports.get(_user(), import_id)
    csv_file = imports.csv_file(job)
    error = None
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        chosen = {name: request.form.get(f"map-{name}", "") for name in csvio.FIELDS[job.kind]}
        try:
            imports.set_mapping(_user(), import_id, chosen)
        except DomainError as exc:
            error = exc.message
        else:
            return redirect(url_for("lists.preview", import_id=job.id), 303)
    return render_template(
        "lists/import_map.html",
        job=job,
        header=csv_file.header,
        sample=csv_file.rows[:5],
        fields=csvio.FIELDS[job.kind],
        labels=csvio.FIELD_LABELS,
        error=error,
        form=EmptyForm(),
    ), 200 if error is None else 422


@bp.route("/lists/imports/<int:import_id>/preview")
@login_required
def preview(import_id: int) -> ResponseReturnValue:
    imports = staged()
    job = imports.get(_user(), import_id)
    if job.status != "uploaded":
        return redirect(url_for("lists.import_status_page", import_id=job.id))
    result = imports.preview(_user(), import_id)
    return render_template(
        "lists/import_preview.html",
        job=job,
        result=result,
        form=StartImportForm(),
        labels=csvio.FIELD_LABELS,
    )


@bp.route("/lists/imports/<int:import_id>/start", methods=["POST"])
@login_required
def start_import(import_id: int) -> ResponseReturnValue:
    form = StartImportForm()
    if not form.validate_on_submit():
        return redirect(url_for("lists.preview", import_id=import_id), 303)
    choices = {
        int(key.removeprefix("choice-")): int(value)
        for key, value in request.form.items()
        if key.startswith("choice-") and key[7:].isdigit() and value.isdigit()
    }
    try:
        staged().start(_user(), import_id, form.mode.data, choices)
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("lists.import_status_page", import_id=import_id), 303)


def _status(job: ListImport) -> dict[str, Any]:
    progress = progress_store().get(job.id) if job.status in ("queued", "running") else None
    return {
        "id": job.id,
        "status": job.status,
        "total_rows": job.total_rows,
        "done": progress["done"] if progress else None,
        "of": progress["total"] if progress else None,
        "created": job.created_rows,
        "updated": job.updated_rows,
        "error_rows": job.error_rows,
        "finished": job.status in ("done", "refused", "failed"),
    }


@bp.route("/lists/imports/<int:import_id>")
@login_required
def import_status_page(import_id: int) -> ResponseReturnValue:
    job = staged().get(_user(), import_id)
    return render_template("lists/import_progress.html", job=job, status=_status(job))


@bp.route("/lists/imports/<int:import_id>/status")
@login_required
def import_status(import_id: int) -> ResponseReturnValue:
    response = jsonify(_status(staged().get(_user(), import_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/lists/imports/<int:import_id>/report")
@login_required
def import_report(import_id: int) -> ResponseReturnValue:
    job = staged().get(_user(), import_id)
    if not job.report:
        abort(404)
    return Response(
        ("\ufeff" + job.report).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-report.csv"'},
    )
