"""CSV `/import` and `/export` under `/me/haves` and `/me/wants`, registered for
each kind. The import takes the shared path (stage, then preview with
`dry_run=true` or apply) behind the shared upload guard; whatever the outcome, the
per-row report has the same shape (row, column, message)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, g
from flask_babel import gettext as _

from marketplace.core.api import BEARER, problem_response
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.lists.api import schemas
from marketplace.lists.api.resources import RESOURCES, KindResources, blp, resource
from marketplace.lists.csv_import import ImportResult, export_csv, import_bytes
from marketplace.lists.uploads import read_upload, refuse_declared_oversize

IMPORT_DOC = {
    **BEARER,
    **schemas.CSV_BODY,
    "description": (
        "Import a CSV (comma, semicolon or tab; UTF-8, UTF-8 with BOM or Windows-1251). "
        "Rows match pins by catalogue number, else by legend or title; a row for a pin "
        "already listed updates it. all_or_nothing refuses the whole file with a 422 "
        "naming each bad row; good_rows imports the rest and returns a report."
    ),
}
REFUSED_DOC = (
    "Refused: nothing was imported. `errors` names each bad row; `rows` and "
    "`ambiguous` are the same per-row report as a dry run's."
)


def _mapping(query: dict[str, Any]) -> dict[str, str] | None:
    try:
        mapping = json.loads(query["mapping"]) if query.get("mapping") else None
    except ValueError:
        raise DomainError(_("mapping is not valid JSON."), field="mapping") from None
    if mapping is not None and not isinstance(mapping, dict):
        raise DomainError(_("mapping must be a JSON object."), field="mapping")
    return mapping


def import_dict(result: ImportResult) -> dict[str, Any]:
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


def refused_response(result: ImportResult) -> Response:
    """422 problem+json: `errors` as every refusal names fields, plus the report."""
    errors: dict[str, list[str]] = {}
    for e in result.errors:
        errors.setdefault(f"row {e.row}", []).append(f"{e.column or 'row'}: {e.message}")
    for a in result.ambiguous:
        refs = ", ".join(c.ref for c in a.candidates[:10])
        errors.setdefault(f"row {a.row}", []).append(
            f"{a.column or 'row'}: several pins match '{a.text}' ({refs}); "
            f"add the catalogue number or pass choice={a.row}:<pin id>."
        )
    response = problem_response(
        422,
        f"Nothing was imported: {result.error_rows + len(result.ambiguous)} of "
        f"{result.total} rows have problems (all_or_nothing mode).",
        errors=errors,
        code="import_refused",
    )
    body = json.loads(response.get_data())
    report = import_dict(result)
    body.update(rows=report["errors"], ambiguous=report["ambiguous"], report=result.report)
    response.set_data(json.dumps(body))
    return response


def register_csv_resources(res: KindResources) -> None:
    kind = res.kind

    @resource(
        f"{res.path}/import", "POST", f"import_{kind.name}", None,
        blp.doc(**IMPORT_DOC),
        blp.arguments(schemas.ImportQuery, location="query"),
        blp.response(200, schemas.ImportOut),
        blp.alt_response(
            422, schema=schemas.ImportRefusedOut, content_type="application/problem+json",
            description=REFUSED_DOC,
        ),
        blp.alt_response(413, description="The file is over the size limit"),
    )  # fmt: skip
    def import_entries(query: dict[str, Any]) -> Any:
        refuse_declared_oversize()
        data = read_upload("file", what="the CSV", body_allowed=True)
        choices = {int(r): int(p) for r, p in (c.split(":") for c in query["choice"])}
        result = import_bytes(
            db.session(), g.api_user, kind, data,
            mode=query["mode"], dry_run=query["dry_run"], encoding=query.get("encoding"),
            mapping=_mapping(query), choices=choices,
        )  # fmt: skip
        if not result.dry_run and not result.applied and not result.ok:
            return refused_response(result)
        return import_dict(result)

    @resource(
        f"{res.path}/export", "GET", f"export_{kind.name}", None,
        blp.doc(responses=schemas.csv_response(f"The {kind.label} as CSV (UTF-8 with BOM)")),
    )  # fmt: skip
    def export_entries() -> Response:
        body = export_csv(db.session(), g.api_user.id, kind)
        return Response(
            body.encode("utf-8"),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{kind.name}.csv"'},
        )


for _resources in RESOURCES:
    register_csv_resources(_resources)
