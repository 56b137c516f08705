"""Pages shared by every feature: error pages for pages and API alike, and the one
rule for where a page may send the browser back to."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from marketplace.core.api import problem_from_http_exception


def init_web(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        if request.path.startswith("/api/"):
            return problem_from_http_exception(exc)  # type: ignore[return-value]
        return render_template("error.html", error=exc), exc.code or 500


def safe_target(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default`.

    Browsers (and Werkzeug) drop tabs and newlines from a URL and read a backslash
    as a slash, so `/\t/evil.example/` or `/\\evil.example` would leave the site
    although they start with one slash: any control character or backslash
    refuses the target, and what is left must parse with no scheme and no host."""
    if not target or any(ch < " " or ch == "\x7f" or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target
