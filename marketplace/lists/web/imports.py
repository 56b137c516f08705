"""CSV import and export pages: upload (behind the upload guard) → map columns →
preview (a dry run with a per-row report) → confirm, then the worker applies the
file while the page shows its progress; the report of rows not imported; export."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.accounts.forms import EmptyForm, attach_error
from marketplace.catalogue.models import Pin
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.lists.csv_import import FIELD_LABELS, FIELDS, Parsed, export_csv
from marketplace.lists.forms import StartImportForm, UploadForm
from marketplace.lists.grades import condition_name, defect_name
from marketplace.lists.import_progress import ImportProgress
from marketplace.lists.models import DEFECTS, Condition, ListImport
from marketplace.lists.operations import KINDS, ListKind
from marketplace.lists.uploads import FileTooLarge, refuse_declared_oversize
from marketplace.lists.web.common import bp, signed_in, staged


def progress_store() -> ImportProgress:
    settings = current_app.config["SETTINGS"]
    return ImportProgress.for_instance(settings.redis_url, current_app.instance_path)


def _kind(name: str) -> ListKind:
    if name not in KINDS:
        abort(404)
    return KINDS[name]


@bp.route("/lists/<kind>/export")
@login_required
def export(kind: str) -> ResponseReturnValue:
    body = export_csv(db.session(), current_user.id, _kind(kind))
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{kind}.csv"'},
    )


@bp.route("/lists/<kind>/import", methods=["GET", "POST"])
@login_required
def upload(kind: str) -> ResponseReturnValue:
    _kind(kind)
    if request.method == "POST":
        try:
            refuse_declared_oversize()
        except FileTooLarge as exc:
            form = UploadForm(meta={"csrf": False}, formdata=None)
            form.file.errors = [exc.message]
            return render_template("lists/import_upload.html", form=form, kind=kind), exc.status
    form = UploadForm()
    if form.validate_on_submit():
        try:
            job = staged().upload(
                signed_in(),
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
        "lists/import_upload.html", form=form, kind=kind, fields=FIELDS[kind]
    ), 200 if not form.errors else 422


@bp.route("/lists/imports/<int:import_id>/map", methods=["GET", "POST"])
@login_required
def mapping(import_id: int) -> ResponseReturnValue:
    imports = staged()
    job = imports.get(signed_in(), import_id)
    csv_file = imports.csv_file(job)
    error = None
    if request.method == "POST":
        if not EmptyForm().validate_on_submit():
            abort(400)
        chosen = {name: request.form.get(f"map-{name}", "") for name in FIELDS[job.kind]}
        try:
            imports.set_mapping(signed_in(), import_id, chosen)
        except DomainError as exc:
            error = exc.message
        else:
            return redirect(url_for("lists.preview", import_id=job.id), 303)
    return render_template(
        "lists/import_map.html",
        job=job,
        header=csv_file.header,
        sample=csv_file.rows[:5],
        fields=FIELDS[job.kind],
        labels=FIELD_LABELS,
        error=error,
        form=EmptyForm(),
    ), 200 if error is None else 422


@bp.route("/lists/imports/<int:import_id>/preview")
@login_required
def preview(import_id: int) -> ResponseReturnValue:
    imports = staged()
    job = imports.get(signed_in(), import_id)
    if job.status != "uploaded":
        return redirect(url_for("lists.import_status_page", import_id=job.id))
    result = imports.preview(signed_in(), import_id)
    columns = [k for k in result.preview[0].values if k != "id"] if result.preview else []
    ids = {p.pin_id for p in result.preview if p.pin_id is not None}
    pins = {pin.id: pin for pin in db.session.scalars(select(Pin).where(Pin.id.in_(ids)))}
    return render_template(
        "lists/import_preview.html",
        job=job,
        result=result,
        form=StartImportForm(),
        labels=FIELD_LABELS,
        columns=columns,
        rows=[
            (p, pins.get(p.pin_id) if p.pin_id is not None else None, _cells(p, columns))
            for p in result.preview
        ],
    )


def _cells(parsed: Parsed, columns: list[str]) -> list[str]:
    """A preview row's values as a collector reads them: words for yes and no,
    labels for grades and defects, blank for nothing (never `True`, `0`, `None`)."""
    return [_shown(name, parsed.values.get(name)) for name in columns]


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, Condition):
        return condition_name(value)
    if name == "defects":
        return ", ".join(defect_name(d) for d in DEFECTS if int(value) & d)
    return str(value)


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
        staged().start(signed_in(), import_id, form.mode.data, choices)
    except DomainError as exc:
        flash(exc.message, "error")
    return redirect(url_for("lists.import_status_page", import_id=import_id), 303)


@bp.route("/lists/imports/<int:import_id>/good-rows", methods=["POST"])
@login_required
def import_good_rows(import_id: int) -> ResponseReturnValue:
    """The refused all-or-nothing import's button: the same upload again, its good
    rows imported and the rest reported."""
    if EmptyForm().validate_on_submit():
        try:
            staged().import_good_rows(signed_in(), import_id)
        except DomainError as exc:
            if exc.status == 404:
                abort(404)
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
    job = staged().get(signed_in(), import_id)
    return render_template(
        "lists/import_progress.html", job=job, status=_status(job), form=EmptyForm()
    )


@bp.route("/lists/imports/<int:import_id>/status")
@login_required
def import_status(import_id: int) -> ResponseReturnValue:
    response = jsonify(_status(staged().get(signed_in(), import_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/lists/imports/<int:import_id>/report")
@login_required
def import_report(import_id: int) -> ResponseReturnValue:
    job = staged().get(signed_in(), import_id)
    if not job.report:
        abort(404)
    return Response(
        ("\ufeff" + job.report).encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-report.csv"'},
    )
