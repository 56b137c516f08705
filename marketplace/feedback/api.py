"""API resources for feedback: a trade's or an order's feedback read and given
(`/trades/{id}/feedback`, `/orders/{id}/feedback`), the rater's edit
(`PATCH /feedback/{id}`), the rated member's reply (`POST /feedback/{id}/reply`)
and a collector's public ratings (`GET /collectors/{id}/feedback`: counts per
kind, overall and over the last twelve months, and the comments, paged).

A trade or order the caller is not a party to is a 404, as on the pages; the
schemas describe requests and responses exactly, so the OpenAPI document is the
contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from marketplace.accounts.models import User
from marketplace.core.api import BEARER, documented_problems, token_required
from marketplace.core.errors import NotFound
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.feedback import queries
from marketplace.feedback.models import RATINGS, Feedback
from marketplace.feedback.operations import MAX_COMMENT, FeedbackService, Subject

blp = Blueprint("api_feedback", __name__, description="Feedback between collectors")

MAX_ID = 2**31 - 1
ID = f"int(min=1, max={MAX_ID})"
_id = validate.Range(min=1, max=MAX_ID)
_text = validate.Length(max=MAX_COMMENT)


# -- requests -------------------------------------------------------------------------


class FeedbackIn(Schema):
    rated_id = fields.Integer(
        required=True, validate=_id, metadata={"description": "The counterpart rated"}
    )
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    comment = fields.String(
        load_default="", validate=_text, metadata={"description": "Plain text, kept as written"}
    )


class FeedbackEditIn(Schema):
    rating = fields.String(validate=validate.OneOf(RATINGS))
    comment = fields.String(validate=_text)

    @validates_schema
    def something_changes(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "rating" not in data and "comment" not in data:
            raise ValidationError(_("Give a new rating or comment."), "rating")


class FeedbackReplyIn(Schema):
    reply = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_COMMENT), validate.Regexp(r"\s*\S")],
    )


# -- responses ------------------------------------------------------------------------


class FeedbackMemberOut(Schema):
    id = fields.Integer(required=True)
    display_name = fields.String(required=True, allow_none=True)


class FeedbackOut(Schema):
    id = fields.Integer(required=True)
    trade_id = fields.Integer(required=True, allow_none=True)
    order_id = fields.Integer(required=True, allow_none=True)
    rater = fields.Nested(FeedbackMemberOut, required=True)
    rated = fields.Nested(FeedbackMemberOut, required=True)
    rating = fields.String(required=True, validate=validate.OneOf(RATINGS))
    comment = fields.String(required=True)
    reply = fields.String(required=True, allow_none=True)
    replied_at = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class FeedbackOnSubjectOut(Schema):
    finished = fields.Boolean(
        required=True, metadata={"description": "Completed trade / delivered order: feedback open"}
    )
    to_rate = fields.List(
        fields.Integer(),
        required=True,
        metadata={"description": "Counterparts the caller has not rated yet"},
    )
    feedback = fields.List(fields.Nested(FeedbackOut), required=True)


class FeedbackCountsOut(Schema):
    positive = fields.Integer(required=True)
    neutral = fields.Integer(required=True)
    negative = fields.Integer(required=True)
    total = fields.Integer(required=True)
    positive_percent = fields.Integer(required=True, allow_none=True)


class FeedbackOfCollectorOut(Schema):
    collector = fields.Nested(FeedbackMemberOut, required=True)
    overall = fields.Nested(FeedbackCountsOut, required=True)
    last_12_months = fields.Nested(FeedbackCountsOut, required=True)
    feedback = fields.List(
        fields.Nested(FeedbackOut), required=True, metadata={"description": "Newest first"}
    )


_MEANINGS = {
    "400": "The rated collector is not a counterpart in this trade or order",
    "403": "Only the rater edits, only the rated member replies",
    "404": "No such trade, order or feedback of the caller's",
    "409": "Not now: not completed/delivered yet, already given, already "
    "replied, or the edit window has closed",
}


def _problems(*statuses: int) -> Callable[[Any], Any]:
    """Say what each error means on these routes; `core.api.document_api` gives
    every error its problem+json schema."""
    return documented_problems(blp, _MEANINGS, statuses)


# -- helpers --------------------------------------------------------------------------


def service() -> FeedbackService:
    return find_service(FeedbackService)


def _member(user: User | None, user_id: int) -> dict[str, Any]:
    return {"id": user_id, "display_name": user.display_name if user else None}


def feedback_dict(f: Feedback) -> dict[str, Any]:
    return {
        "id": f.id,
        "trade_id": f.trade_id,
        "order_id": f.order_id,
        "rater": _member(f.rater, f.rater_id),
        "rated": _member(f.rated, f.rated_id),
        "rating": f.rating,
        "comment": f.comment,
        "reply": f.reply,
        "replied_at": f.replied_at,
        "created_at": f.created_at,
        "updated_at": f.updated_at,
    }


def _on_subject(subject: Subject) -> dict[str, Any]:
    view = queries.subject_view(db.session(), subject, g.api_user.id)
    return {
        "finished": subject.finished,
        "to_rate": view.to_rate,
        "feedback": [feedback_dict(f) for f in view.feedback],
    }


def _give(subject: Subject, body: dict[str, Any]) -> tuple[dict[str, Any], int]:
    given = service().give(
        g.api_user, subject, rated_id=body["rated_id"], rating=body["rating"],
        comment=body["comment"],
    )  # fmt: skip
    return feedback_dict(given), 201


# -- the resources --------------------------------------------------------------------


@blp.route(f"/trades/<{ID}:trade_id>/feedback", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@_problems(401, 404)
@blp.response(200, FeedbackOnSubjectOut)
def trade_feedback(trade_id: int) -> dict[str, Any]:
    """Both sides' feedback on a trade of the caller's, and whom the caller may
    still rate."""
    return _on_subject(service().subject(g.api_user, trade_id=trade_id))


@blp.route(f"/trades/<{ID}:trade_id>/feedback", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(400, 401, 404, 409, 422)
@blp.arguments(FeedbackIn)
@blp.response(201, FeedbackOut)
def give_trade_feedback(body: dict[str, Any], trade_id: int) -> tuple[dict[str, Any], int]:
    """Rate a counterpart of a completed trade, once (409 the second time or
    before completion)."""
    return _give(service().subject(g.api_user, trade_id=trade_id), body)


@blp.route(f"/orders/<{ID}:order_id>/feedback", methods=["GET"])
@blp.doc(**BEARER)
@token_required
@_problems(401, 404)
@blp.response(200, FeedbackOnSubjectOut)
def order_feedback(order_id: int) -> dict[str, Any]:
    """Buyer's and seller's feedback on an order of the caller's."""
    return _on_subject(service().subject(g.api_user, order_id=order_id))


@blp.route(f"/orders/<{ID}:order_id>/feedback", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(400, 401, 404, 409, 422)
@blp.arguments(FeedbackIn)
@blp.response(201, FeedbackOut)
def give_order_feedback(body: dict[str, Any], order_id: int) -> tuple[dict[str, Any], int]:
    """Rate the other side of a delivered order, once (409 the second time or
    before delivery)."""
    return _give(service().subject(g.api_user, order_id=order_id), body)


@blp.route(f"/feedback/<{ID}:feedback_id>", methods=["PATCH"])
@blp.doc(**BEARER)
@token_required
@_problems(401, 403, 404, 409, 422)
@blp.arguments(FeedbackEditIn)
@blp.response(200, FeedbackOut)
def edit_feedback(body: dict[str, Any], feedback_id: int) -> dict[str, Any]:
    """The rater changes the rating or comment, within the edit window (409 after)."""
    changed = service().edit(
        g.api_user, feedback_id, rating=body.get("rating"), comment=body.get("comment")
    )
    return feedback_dict(changed)


@blp.route(f"/feedback/<{ID}:feedback_id>/reply", methods=["POST"])
@blp.doc(**BEARER)
@token_required
@_problems(401, 403, 404, 409, 422)
@blp.arguments(FeedbackReplyIn)
@blp.response(200, FeedbackOut)
def reply_feedback(body: dict[str, Any], feedback_id: int) -> dict[str, Any]:
    """The rated member replies, once (409 the second time)."""
    return feedback_dict(service().reply(g.api_user, feedback_id, body["reply"]))


@blp.route(f"/collectors/<{ID}:user_id>/feedback", methods=["GET"])
@_problems(404, 422)
@blp.response(200, FeedbackOfCollectorOut)
@blp.paginate()
def collector_feedback(user_id: int, pagination_parameters: Any) -> dict[str, Any]:
    """A collector's ratings, public: counts per kind overall and over the last
    twelve months, and the feedback received, newest first, one page of it
    (`page`, `page_size`; X-Pagination header)."""
    session = db.session()
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound(_("There is no such collector."))
    summary = queries.summary(session, user.id)
    page = queries.received(
        session, user.id, pagination_parameters.page, pagination_parameters.page_size
    )
    pagination_parameters.item_count = page.total
    return {
        "collector": _member(user, user.id),
        "overall": summary.overall.as_dict(),
        "last_12_months": summary.last_year.as_dict(),
        "feedback": [feedback_dict(f) for f in page.items],
    }
