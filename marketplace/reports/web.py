"""Report pages: `/reports/new?kind=…&id=…` shows the item and a form; `/reports`
lists my reports and what became of them; the moderators' queue at
`/moderation/reports` with a decision per report, and lifting a suspension.
Views check the form, call `Reports` and render; non-moderators get 403."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError, InvalidInput
from marketplace.core.registry import find_service
from marketplace.reports.forms import (
    ACTION_LABELS,
    KIND_LABELS,
    REASON_LABELS,
    REPORT_TITLES,
    STATUS_LABELS,
    ButtonForm,
    ReportForm,
    ResolveForm,
)
from marketplace.reports.operations import Reports

bp = Blueprint("reports", __name__)


def service() -> Reports:
    return find_service(Reports)


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


def _moderator() -> None:
    if not current_user.is_authenticated or not current_user.is_moderator:
        abort(403)


def moderator_helpers() -> dict[str, Any]:
    """`open_reports()` for the header's "Reports (n)" link, asked only on
    moderators' pages."""

    def open_reports() -> int:
        if not current_user.is_authenticated or not current_user.is_moderator:
            return 0
        return service().open_count()

    return {"open_reports": open_reports}


@bp.route("/reports/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    kind = request.args.get("kind", "")
    target_id = request.args.get("id", type=int)
    if target_id is None:
        abort(404)
    try:
        target = service().target(_me(), kind, target_id)
    except DomainError:
        abort(404)
    form = ReportForm()
    status = 200
    if form.validate_on_submit():
        try:
            _, made = service().file(_me(), kind, target_id, form.reason.data, form.details.data)
        except InvalidInput as exc:
            for field, messages in exc.errors.items():
                if field in ("reason", "details"):
                    getattr(form, field).errors = list(messages)
                else:  # about the item itself (your own)
                    form.form_errors.extend(messages)
            status = 422
        else:
            flash(
                gettext("Thank you: the moderators will look at it.")
                if made
                else gettext("You have already reported this; the moderators will look at it."),
                "success",
            )
            return redirect(url_for(".mine"), 303)
    elif form.errors:
        status = 422
    return render_template(
        "reports/new.html", target=target, form=form, kinds=KIND_LABELS, titles=REPORT_TITLES
    ), status


@bp.route("/reports")
@login_required
def mine() -> ResponseReturnValue:
    return render_template(
        "reports/mine.html",
        reports=service().mine(_me()),
        reasons=REASON_LABELS,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
    )


@bp.route("/moderation/reports")
@login_required
def queue() -> ResponseReturnValue:
    _moderator()
    page = max(1, request.args.get("page", 1, type=int))
    return render_template(
        "reports/queue.html",
        found=service().queue(_me(), page),
        form=ResolveForm(),
        button=ButtonForm(),
        reasons=REASON_LABELS,
        actions=ACTION_LABELS,
        kinds=KIND_LABELS,
        statuses=STATUS_LABELS,
    )


@bp.route("/moderation/reports/<int:report_id>/resolve", methods=["POST"])
@login_required
def resolve(report_id: int) -> ResponseReturnValue:
    _moderator()
    form = ResolveForm()
    if not form.validate_on_submit():
        flash(gettext("Choose a decision."), "error")
    else:
        try:
            report = service().resolve(_me(), report_id, form.action.data, form.note.data or "")
        except DomainError as exc:
            abort(exc.status, description=exc.message)
        status = STATUS_LABELS.get(report.status, report.status)
        flash(gettext("Report #%(num)d: %(status)s.", num=report.id, status=status), "success")
    return redirect(url_for(".queue", page=request.args.get("page", 1, type=int)), 303)


@bp.route("/moderation/members/<int:user_id>/unsuspend", methods=["POST"])
@login_required
def unsuspend(user_id: int) -> ResponseReturnValue:
    _moderator()
    if not ButtonForm().validate_on_submit():
        abort(400, description=gettext("The form has expired; try again."))
    try:
        member = service().lift_suspension(_me(), user_id)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(gettext("%(name)s can log in again.", name=member.display_name), "success")
    return redirect(url_for(".queue"), 303)
