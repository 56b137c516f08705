"""The home page and the health check."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from marketplace.core import outbox
from marketplace.core.extensions import db
from marketplace.mail import delivery as mail

bp = Blueprint("main", __name__)


@bp.route("/")
def home() -> ResponseReturnValue:
    return render_template("home.html")


@bp.route("/healthz")
def healthz() -> ResponseReturnValue:
    report: dict[str, Any] = {}
    healthy, backlog = True, 0
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = {"ok": True, "dialect": db.engine.dialect.name}
        settings = current_app.config["SETTINGS"]
        lost_after = timedelta(seconds=settings.outbox_republish_after_s)
        report["outbox"] = {
            **outbox.pending_summary(db.session()),
            # Published long ago and never consumed: work the broker may have lost.
            "stale": outbox.stale_count(db.session(), lost_after),
        }
        report["mail"] = {
            "stuck": mail.stuck_count(db.session(), timedelta(seconds=settings.mail_stuck_after_s))
        }
        backlog = report["outbox"]["stale"] or report["mail"]["stuck"]
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
    # Lost work is reported ("backlog") but keeps the node serving: the sweeps
    # are repairing it; a database or broker that does not answer is a 503.
    report["status"] = "degraded" if not healthy else "backlog" if backlog else "ok"
    response = jsonify(report)
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
