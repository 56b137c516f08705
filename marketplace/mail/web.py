"""The development mail outbox: every message the app would have sent, readable in
the browser when no SMTP server is configured (`make run`)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from marketplace.core.extensions import db
from marketplace.mail.models import MailMessage

bp = Blueprint("mail", __name__)


@bp.route("/dev/mail")
@bp.route("/dev/mail/<int:message_id>")
def dev_mail(message_id: int | None = None) -> ResponseReturnValue:
    """Every message the app would have sent, newest first (development only)."""
    if not current_app.config["DEV_MAIL_PAGE"]:
        abort(404)
    if message_id is not None:
        message = db.session.get(MailMessage, message_id)
        if message is None:
            abort(404)
        if request.args.get("part") == "html":
            # Shown in a sandboxed frame of the message page: the mail's HTML never
            # runs as our page, yet looks as a mail client shows it (inline
            # styles, as mail needs) and may be framed by this site only.
            response = current_app.response_class(message.body_html, mimetype="text/html")
            response.headers["Content-Security-Policy"] = (
                "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline'; "
                "frame-ancestors 'self'"
            )
            response.headers["X-Frame-Options"] = "SAMEORIGIN"
            return response
        return render_template("mail/dev_mail_message.html", message=message)
    page = max(1, request.args.get("page", 1, type=int))
    per_page = 50
    total = db.session.scalar(select(func.count(MailMessage.id))) or 0
    messages = db.session.scalars(
        select(MailMessage)
        .order_by(MailMessage.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return render_template(
        "mail/dev_mail.html",
        messages=messages,
        page=page,
        pages=max(1, -(-total // per_page)),
        total=total,
    )
