"""Pages shared by every feature: error pages for pages and API alike, the one
rule for where a page may send the browser back to, and who is asking for a file
that pages and API clients both fetch."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, render_template, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from marketplace.core.api import bearer_user, problem_from_http_exception


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


def current_viewer() -> Any:
    """Who asks for a file the pages show and the API links to (a photo): the
    signed-in member, else the member whose API token the request carries, else
    None for a visitor."""
    if current_user.is_authenticated:
        return current_user._get_current_object()
    return bearer_user()
