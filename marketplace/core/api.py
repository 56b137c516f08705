"""The JSON API under /api/v1: the flask-smorest `Api` whose OpenAPI document is
generated from the schemas and routes, bearer-token authentication, and errors as
RFC 9457 `application/problem+json`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from flask import Flask, Response, g, json, render_template, request
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException

from marketplace.core.errors import DomainError
from marketplace.core.extensions import csrf
from marketplace.core.registry import find_service

F = TypeVar("F", bound=Callable[..., Any])
PROBLEM = "application/problem+json"
API_PREFIX = "/api/v1"


class ZnachkiApi(Api):
    def _register_error_handlers(self) -> None:
        # One HTTPException handler serves pages and API alike (marketplace.web).
        return None


class BearerTokens(Protocol):
    """Who a personal access token belongs to (the accounts feature provides it)."""

    def user_for_bearer(self, token: str) -> Any: ...


def init_api(app: Flask, blueprints: Iterable[Blueprint]) -> None:
    api = ZnachkiApi(app)
    for blp in blueprints:
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=API_PREFIX)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        if not request.path.startswith(API_PREFIX):
            # A rule a page did not catch itself: its status and message, never a 500.
            page_error = HTTPException(description=exc.message)
            page_error.code = exc.status
            return render_template("error.html", error=page_error), exc.status
        errors = getattr(exc, "errors", None) or ({exc.field: [exc.message]} if exc.field else None)
        return problem_response(exc.status, exc.message, errors=errors, code=exc.code)


def problem_response(
    status: int,
    detail: str,
    *,
    errors: dict[str, Any] | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    from werkzeug.http import HTTP_STATUS_CODES

    body: dict[str, Any] = {
        "type": f"https://znachki.exchange/problems/{code or status}",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_from_http_exception(exc: HTTPException) -> Response:
    """webargs puts validation errors on `exc.data` keyed by location
    (json, query…); the location is dropped when there is only one."""
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    if isinstance(errors, dict) and len(errors) == 1:
        errors = next(iter(errors.values()))
    status = exc.code or 500
    detail = data.get("message") or exc.description or exc.name
    if errors and status == 422:
        detail = "The request body or parameters are not valid; see errors."
    if status == 400 and errors and "Invalid JSON body." in str(errors):
        detail = "The request body is not valid JSON."
    headers = dict(data.get("headers") or {})
    if exc.response is not None:
        headers.update(dict(exc.response.headers))
    return problem_response(
        status, str(detail), errors=errors if isinstance(errors, dict) else None, headers=headers
    )


def bearer_user() -> Any:
    """The member whose valid token the request carries (`Authorization: Bearer …`),
    or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return find_service(BearerTokens).user_for_bearer(token.strip())  # type: ignore[type-abstract]


def token_required(view: F) -> F:
    """Bearer-token authentication; the user is `g.api_user`."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = bearer_user()
        if user is None:
            return problem_response(
                401,
                "Send a valid personal access token: Authorization: Bearer znk_…",
                code="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="znachki"'},
            )
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


BEARER: dict[str, Any] = {"security": [{"bearerAuth": []}]}
