"""The message pages: the inbox (`/messages/`), a thread with its reply form
(`/messages/<id>`), and the ways in — a trade's, an order's, or a direct
thread with a collector — which open the thread and send the browser to it.

Anyone who is not in a thread gets 404, as for a thread that does not exist;
a blocked pair gets 403 with the reason. The header's unread count comes from
`unread_in_header`, which the app registers as a context processor.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError

from marketplace.accounts.models import User
from marketplace.config import Settings
from marketplace.core.db import writes_on_get
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.extensions import db
from marketplace.core.registry import find_service
from marketplace.messages import queries
from marketplace.messages.models import Thread
from marketplace.messages.operations import Messages
from marketplace.messages.text import MAX_BODY

bp = Blueprint("messages", __name__, url_prefix="/messages")

INBOX_PAGE = 20
THREAD_PAGE = 50


def unread_in_header() -> dict[str, Any]:
    """`unread_messages()` for the header: one COUNT, only when someone is signed in."""

    def unread_messages() -> int:
        if not current_user.is_authenticated:
            return 0
        try:
            return queries.unread_count(db.session(), current_user.id)
        except SQLAlchemyError:
            # The header of an error page after the database failed: no count
            # is better than a second failure hiding the first.
            return 0

    return {"unread_messages": unread_messages}


def service() -> Messages:
    return find_service(Messages)


def _user() -> User:
    user: User = current_user._get_current_object()
    return user


def _page_number() -> int:
    value = request.args.get("page", "")
    return int(value) if value.isdigit() and 0 < int(value) <= 100_000 else 0


def _refused(exc: DomainError) -> ResponseReturnValue:
    # 404 for strangers whatever they ask; otherwise the rule's own status.
    if isinstance(exc, NotFound):
        abort(404)
    abort(exc.status, description=exc.message)


@bp.route("/")
@login_required
def inbox() -> ResponseReturnValue:
    page = queries.inbox(db.session(), _user().id, _page_number() or 1, INBOX_PAGE)
    return render_template("messages/inbox.html", page=page)


def _show(thread: Thread, status: int = 200, draft: str = "") -> ResponseReturnValue:
    session = db.session()
    me = _user()
    page = queries.messages_page(session, thread.id, _page_number(), THREAD_PAGE)
    settings: Settings = current_app.config["SETTINGS"]
    shown = queries.views(session, page.items, settings.established_after_trades)
    service().mark_read(me, thread.id)
    subject = None
    if thread.trade_id:
        subject = (
            gettext("About trade #%(num)d", num=thread.trade_id),
            f"/trades/{thread.trade_id}",
        )
    elif thread.order_id:
        subject = (
            gettext("About order #%(num)d", num=thread.order_id),
            f"/orders/{thread.order_id}",
        )
    return render_template(
        "messages/thread.html",
        thread=thread,
        page=page,
        messages=shown,
        me=me,
        names=queries.counterparts(thread, me.id),
        subject=subject,
        draft=draft,
        max_body=MAX_BODY,
    ), status


@bp.route("/<int:thread_id>")
@writes_on_get
@login_required
def thread(thread_id: int) -> ResponseReturnValue:
    try:
        found = service().thread(_user(), thread_id)
    except DomainError as exc:
        return _refused(exc)
    return _show(found)


@bp.route("/<int:thread_id>", methods=["POST"])
@login_required
def reply(thread_id: int) -> ResponseReturnValue:
    body = request.form.get("body", "")
    try:
        service().post(_user(), thread_id, body)
    except DomainError as exc:
        if isinstance(exc, NotFound):
            abort(404)
        db.session.rollback()
        flash(exc.message, "error")
        # The thread again with what was typed, and the refusal's status.
        return _show(service().thread(_user(), thread_id), exc.status, draft=body)
    return redirect(url_for("messages.thread", thread_id=thread_id) + "#latest", 303)


def _open(opener: Any) -> ResponseReturnValue:
    try:
        found, _ = opener()
    except DomainError as exc:
        return _refused(exc)
    return redirect(url_for("messages.thread", thread_id=found.id), 303)


@bp.route("/trade/<int:trade_id>")
@writes_on_get
@login_required
def for_trade(trade_id: int) -> ResponseReturnValue:
    return _open(lambda: service().for_trade(_user(), trade_id))


@bp.route("/order/<int:order_id>")
@writes_on_get
@login_required
def for_order(order_id: int) -> ResponseReturnValue:
    return _open(lambda: service().for_order(_user(), order_id))


@bp.route("/with/<int:user_id>")
@writes_on_get
@login_required
def direct(user_id: int) -> ResponseReturnValue:
    return _open(lambda: service().direct(_user(), user_id))
