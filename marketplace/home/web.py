"""The home page, the health check, and the development mail outbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select, text

from marketplace.core import outbox
from marketplace.core.extensions import db
from marketplace.mail.models import MailMessage

bp = Blueprint("main", __name__)


@bp.route("/")
def home() -> ResponseReturnValue:
    return render_template("home.html")


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    report: dict[str, Any] = {}
    healthy = True
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = {"ok": True, "dialect": db.engine.dialect.name}
        report["outbox"] = outbox.pending_summary(db.session())
    except Exception as exc:
        healthy = False
        report["database"] = {"ok": False, "error": type(exc).__name__}
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            report["broker"] = {"ok": True, "transport": conn.transport_cls}
    except Exception as exc:
        healthy = False
        report["broker"] = {"ok": False, "error": type(exc).__name__}
    report["status"] = "ok" if healthy else "degraded"
    response = jsonify(report)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


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
            # Shown in a sandboxed frame: the mail's HTML never runs as our page.
            response = current_app.response_class(message.body_html, mimetype="text/html")
            response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src *"
            return response
        return render_template("dev_mail_message.html", message=message)
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
        "dev_mail.html",
        messages=messages,
        page=page,
        pages=max(1, -(-total // per_page)),
        total=total,
    )
