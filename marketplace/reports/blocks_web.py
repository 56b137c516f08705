"""The blocks pages under /account/blocks: the collectors I blocked, each with an
Unblock button; blocking (from a collector's page or a swap card) and unblocking.
Views check the form, call `reports.blocking` and say what happened."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required

from marketplace.accounts.models import User
from marketplace.core.errors import DomainError
from marketplace.core.extensions import db
from marketplace.core.web import safe_target
from marketplace.reports import blocking
from marketplace.reports.forms import BlockForm, ButtonForm

bp = Blueprint("blocks", __name__, url_prefix="/account/blocks")


def _me() -> User:
    user: User = current_user._get_current_object()
    return user


@bp.route("", methods=["GET"])
@login_required
def index() -> ResponseReturnValue:
    return render_template(
        "reports/blocks.html", blocked=blocking.my_blocks(db.session(), _me()), form=ButtonForm()
    )


@bp.route("", methods=["POST"])
@login_required
def block() -> ResponseReturnValue:
    form = BlockForm()
    if not form.validate_on_submit():
        abort(400, description=gettext("Choose a collector to block."))
    try:
        blocking.block_collector(db.session(), _me(), int(form.user_id.data))
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    other = db.session.get(User, form.user_id.data)
    if other is None:
        said = gettext(
            "You blocked the collector: neither of you can message the other, "
            "propose a trade or see the other in matches."
        )
    else:
        said = gettext(
            "You blocked %(name)s: neither of you can message the other, "
            "propose a trade or see the other in matches.",
            name=other.display_name,
        )
    flash(said, "success")
    return redirect(safe_target(form.next.data, url_for(".index")), 303)


@bp.route("/<int:user_id>/delete", methods=["POST"])
@login_required
def unblock(user_id: int) -> ResponseReturnValue:
    if not ButtonForm().validate_on_submit():
        abort(400, description=gettext("The form has expired; try again."))
    try:
        blocking.unblock_collector(db.session(), _me(), user_id)
    except DomainError as exc:
        abort(exc.status, description=exc.message)
    flash(gettext("Unblocked. Your matches with this collector come back shortly."), "success")
    return redirect(url_for(".index"), 303)
