"""The feedback pages: a trade's or an order's feedback (both sides, a form for
each counterpart not rated yet, an edit form while the window is open, a reply
form for feedback received), the actions behind those forms, and a collector's
public ratings. Anyone who is not a party to the trade or order gets 404."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.feedback import queries
from marketplace.feedback.models import RATINGS, Feedback
from marketplace.feedback.operations import FeedbackService, Subject

bp = Blueprint("feedback", __name__)
PER_PAGE = 20


def service() -> FeedbackService:
    return find_service(FeedbackService)


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def _subject(kind: str, subject_id: int) -> Subject:
    try:
        if kind == "trade":
            return service().subject(_user(), trade_id=subject_id)
        return service().subject(_user(), order_id=subject_id)
    except DomainError:
        abort(404)


def _back(subject: Subject) -> ResponseReturnValue:
    if subject.kind == "trade":
        return redirect(url_for("feedback.trade", trade_id=subject.id), 303)
    return redirect(url_for("feedback.order", order_id=subject.id), 303)


def _page(subject: Subject) -> ResponseReturnValue:
    me = _user()
    view = queries.subject_view(db.session(), subject, me.id)
    return render_template(
        "feedback/subject.html", view=view, me=me, ratings=RATINGS, feedback=service()
    )


def _give(subject: Subject) -> ResponseReturnValue:
    rated_id = request.form.get("rated_id", type=int)
    try:
        given = service().give(
            _user(), subject, rated_id=rated_id or 0, rating=request.form.get("rating"),
            comment=request.form.get("comment", ""),
        )  # fmt: skip
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(
            _(
                "Thank you: your feedback for %(name)s is saved.",
                name=given.rated.display_name,
            ),
            "success",
        )
    return _back(subject)


@bp.route("/feedback/trade/<int:trade_id>", methods=["GET", "POST"])
@login_required
def trade(trade_id: int) -> ResponseReturnValue:
    subject = _subject("trade", trade_id)
    return _give(subject) if request.method == "POST" else _page(subject)


@bp.route("/feedback/order/<int:order_id>", methods=["GET", "POST"])
@login_required
def order(order_id: int) -> ResponseReturnValue:
    subject = _subject("order", order_id)
    return _give(subject) if request.method == "POST" else _page(subject)


def _own(feedback_id: int) -> tuple[Feedback, Subject]:
    """The feedback and its subject, for a party of that subject; else 404."""
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None:
        abort(404)
    if feedback.trade_id is not None:
        return feedback, _subject("trade", feedback.trade_id)
    return feedback, _subject("order", feedback.order_id or 0)


@bp.route("/feedback/<int:feedback_id>/edit", methods=["POST"])
@login_required
def edit(feedback_id: int) -> ResponseReturnValue:
    _feedback, subject = _own(feedback_id)
    try:
        service().edit(
            _user(), feedback_id, rating=request.form.get("rating"),
            comment=request.form.get("comment", ""),
        )  # fmt: skip
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Your feedback is changed."), "success")
    return _back(subject)


@bp.route("/feedback/<int:feedback_id>/reply", methods=["POST"])
@login_required
def reply(feedback_id: int) -> ResponseReturnValue:
    _feedback, subject = _own(feedback_id)
    try:
        service().reply(_user(), feedback_id, request.form.get("reply", ""))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Your reply is posted."), "success")
    return _back(subject)


@bp.route("/collectors/<int:user_id>/feedback")
def collector(user_id: int) -> ResponseReturnValue:
    """A collector's ratings, public: counts per kind and the comments, paged."""
    session = db.session()
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        abort(404)
    page_number = max(1, request.args.get("page", 1, type=int))
    page = queries.received(session, user.id, page_number, PER_PAGE)
    if page_number > page.pages:
        abort(404)
    context: dict[str, Any] = {
        "owner": user,
        "summary": queries.summary(session, user.id),
        "page": page,
        "ratings": RATINGS,
    }
    return render_template("feedback/collector.html", **context)
