"""Pages shared by every feature: error pages for pages and API alike."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from marketplace.core.api import problem_from_http_exception


def init_web(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        if request.path.startswith("/api/"):
            return problem_from_http_exception(exc)  # type: ignore[return-value]
        return render_template("error.html", error=exc), exc.code or 500
