"""API resources for reports: `POST /reports` (a member reports a message,
profile, listing or feedback comment they can see), `GET /me/reports` (theirs and
what became of them); for moderators `GET /moderation/reports` (the queue) and
`POST /moderation/reports/{id}/resolve`. Others get 403 on the moderators' ones."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from marketplace.core.api import BEARER, token_required
from marketplace.core.registry import find_service
from marketplace.reports.models import REASONS, STATUSES, TARGET_KINDS, Report
from marketplace.reports.operations import ACTIONS, MAX_DETAILS, MAX_NOTE, QueueItem, Reports

blp = Blueprint("api_reports", __name__, description="Reports and the moderators' queue")

MAX_ID = 2**31 - 1
ID = f"int(min=1, max={MAX_ID})"


def reports() -> Reports:
    return find_service(Reports)


class ReportIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(TARGET_KINDS))
    id = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={
            "description": "A message id, user id (profile), have id (listing) or feedback id"
        },
    )
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    details = fields.String(load_default="", validate=validate.Length(max=MAX_DETAILS))


class ReportOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(TARGET_KINDS))
    target_id = fields.Integer(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    details = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    created_at = fields.DateTime(required=True)
    resolved_at = fields.DateTime(required=True, allow_none=True)


class ReportMemberOut(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True)
    suspended = fields.Boolean(required=True)


class ReportedItemOut(Schema):
    text = fields.String(required=True, metadata={"description": "As stored; escape it"})
    author = fields.String(required=True)
    hidden = fields.Boolean(required=True)


class ModerationReportOut(ReportOut):
    reporter = fields.Nested(ReportMemberOut, required=True, allow_none=True)
    member = fields.Nested(
        ReportMemberOut, required=True, metadata={"description": "Who is responsible for the item"}
    )
    item = fields.Nested(
        ReportedItemOut, required=True, allow_none=True, metadata={"description": "None: deleted"}
    )
    resolution_note = fields.String(required=True)


class ReportResolveIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(tuple(ACTIONS)))
    note = fields.String(load_default="", validate=validate.Length(max=MAX_NOTE))


class ReportQueueQuery(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "kind": report.target_kind,
        "target_id": report.target_id,
        "reason": report.reason,
        "details": report.details,
        "status": report.status,
        "created_at": report.created_at,
        "resolved_at": report.resolved_at,
    }


def _member(user: Any) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "display_name": user.display_name,
            "suspended": user.suspended_at is not None}  # fmt: skip


def queue_dict(item: QueueItem) -> dict[str, Any]:
    report, target = item.report, item.target
    return {
        **report_dict(report),
        "reporter": _member(report.reporter),
        "member": _member(report.target_user),
        "item": (
            {"text": target.text, "author": target.author, "hidden": target.hidden}
            if target is not None
            else None
        ),
        "resolution_note": report.resolution_note,
    }


@blp.route("/reports", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(ReportIn)
@blp.response(201, ReportOut)
@blp.alt_response(200, schema=ReportOut, description="Already reported: the open report")
def create_report(body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """Report an item the caller can see (201). While the caller's report of the
    same item is open, the same report is answered (200). 404 for an item that
    does not exist or is not the caller's to see; 422 for oneself or one's own."""
    report, made = reports().file(
        g.api_user, body["kind"], body["id"], body["reason"], body["details"]
    )
    return report_dict(report), 201 if made else 200


@blp.route("/me/reports", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.response(200, ReportOut(many=True))
def my_reports() -> list[dict[str, Any]]:
    """The caller's reports, newest first, with their status."""
    return [report_dict(r) for r in reports().mine(g.api_user)]


@blp.route("/moderation/reports", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(ReportQueueQuery, location="query")
@blp.response(200, ModerationReportOut(many=True))
def moderation_queue(query: dict[str, Any]) -> list[dict[str, Any]]:
    """Moderators only (403 otherwise): reports, open ones first and oldest first,
    20 a page, each with the reported item's text and its member."""
    found = reports().queue(g.api_user, query["page"])
    return [queue_dict(i) for i in found.items]


@blp.route(f"/moderation/reports/<{ID}:report_id>/resolve", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@blp.arguments(ReportResolveIn)
@blp.response(200, ModerationReportOut)
def resolve_report(body: dict[str, Any], report_id: int) -> dict[str, Any]:
    """Moderators only (403 otherwise): answer an open report — `dismiss`, `warn`
    (the member is mailed), `hide` (the item), `suspend` (the member). Every open
    report of the same item is answered with it. 409 if already answered."""
    report = reports().resolve(g.api_user, report_id, body["action"], body["note"])
    return queue_dict(reports().queue_item(report))
