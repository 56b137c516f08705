"""The home page and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from marketplace.core import outbox
from marketplace.core.extensions import db

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
