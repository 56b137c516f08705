"""The JSON API under /api/v1: the flask-smorest `Api` whose OpenAPI document is
generated from the schemas and routes, bearer-token authentication, and errors as
RFC 9457 `application/problem+json`, their titles and field messages in the
caller's language (marketplace.core.api_messages)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol, TypeVar

from flask import Flask, Response, g, json, render_template, request
from flask_babel import gettext
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from marketplace.core import api_messages
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


class Flag(fields.Boolean):
    """A boolean as the document types it: JSON true/false (or, in a query
    string, their spellings), never a number that happens to be 0 or 1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class ProblemSchema(Schema):
    """RFC 9457 problem details: how every API error is sent."""

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True)
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={"description": "Per field: its messages (nested for lists and objects)"},
    )


# What any operation may answer besides its own successes (auth, bad JSON, an id
# that is not the caller's, a rule refusing, a body that does not validate, rate
# limits, payments down); each is problem+json.
ERROR_RESPONSES = {
    "400": "The request is malformed (not JSON, nested too deep) or a rule refused it",
    "401": "No valid personal access token",
    "403": "Not allowed to the caller",
    "404": "No such resource of the caller's",
    "409": "Not now: the resource is in another state or a copy is not free",
    "422": "The body or parameters are not valid; `errors` names each field",
    "429": "Too many requests; try again later",
    "503": "A service this depends on is not answering",
    "default": "Any other error",
}
PAGINATION_HEADER = {
    "description": "JSON: total, total_pages, first_page, last_page, page, previous_page, "
    "next_page",
    "schema": {"type": "string"},
}


INT32 = (-(2**31), 2**31 - 1)
MAX_PAGE = 100_000
PAGE_PARAMETERS = ("page", "per_page", "page_size")
# Text the API keeps: no NUL, no unpaired surrogate (marketplace.core.input_guard).
TEXT_PATTERN = "^[^\\u0000\\ud800-\\udfff]*$"


def _bound(schema: Any, name: str = "") -> None:
    """State in the document the limits the input guard holds every value to:
    32-bit integers, pages up to MAX_PAGE, text without NUL or lone surrogates."""
    if isinstance(schema, list):
        for item in schema:
            _bound(item)
        return
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "integer" in kinds:
        low, high = (1, MAX_PAGE) if name in PAGE_PARAMETERS else INT32
        schema["minimum"] = max(schema.get("minimum", low), low)
        schema["maximum"] = min(schema.get("maximum", high), high)
    if "string" in kinds and not {"enum", "format", "pattern"} & set(schema):
        schema["pattern"] = TEXT_PATTERN
    for key, value in (schema.get("properties") or {}).items():
        _bound(value, key)
    for key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
        _bound(schema.get(key))


def document_api(app: Flask, api: Api) -> None:
    """The document says what the API does: every operation's errors as they are
    sent (problem+json, one schema), the X-Pagination header as the JSON text it
    is, and the bounds every value is held to."""
    spec = api.spec
    for component in spec.components.schemas.values():
        _bound(component)
    # The integer query parameters' bounds, for the input guard to hold requests to.
    query_bounds: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}
    if "Problem" not in spec.components.schemas:  # (a route may have named it already)
        spec.components.schema("Problem", schema=ProblemSchema)
    problem = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in spec.to_dict()["paths"].items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema") or {}
                validated = "maximum" in schema  # the route's own schema checks it
                _bound(schema, parameter.get("name", ""))
                if parameter.get("in") == "query" and "minimum" in schema and not validated:
                    query_bounds.setdefault((path, method.upper()), {})[parameter["name"]] = (
                        schema["minimum"],
                        schema["maximum"],
                    )
            for body in (operation.get("requestBody") or {}).get("content", {}).values():
                _bound(body.get("schema"))
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_RESPONSES.items():
                responses.setdefault(status, {"description": description})
            for status, response in list(responses.items()):
                if status == "default" or int(status) >= 400:
                    if "$ref" in response:  # flask-smorest's own {code, status, message}
                        response = responses[status] = {
                            "description": ERROR_RESPONSES.get(status, "An error")
                        }
                    if PROBLEM not in (response.get("content") or {}):
                        # (a route that documents its own problem, e.g. an import
                        # report, keeps it)
                        response["content"] = problem
                for name in list(response.get("headers") or {}):
                    if name.lower() == "x-pagination":
                        response["headers"][name] = PAGINATION_HEADER
    app.extensions["api_query_bounds"] = query_bounds


def openapi_path(rule: str) -> str:
    """A Flask rule as the document writes its path: `<int:pin_id>` → `{pin_id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


MONEY_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def money_as_text(converter: Any, field: Any, **kwargs: Any) -> dict[str, Any]:
    """Money is one type in the document: a decimal string ("12.50"), as it is
    sent, never a JSON number that a client would round."""
    if not (isinstance(field, fields.Decimal) and field.as_string):
        return {}
    return {
        "type": ["string", "null"] if field.allow_none else "string",
        "pattern": MONEY_PATTERN,
        "examples": ["12.50"],
    }


def init_api(app: Flask, blueprints: Iterable[Blueprint]) -> None:
    api = ZnachkiApi(app)
    api.ma_plugin.converter.add_attribute_function(money_as_text)
    for blp in blueprints:
        csrf.exempt(blp)
        api.register_blueprint(blp, url_prefix=API_PREFIX)
    document_api(app, api)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Any:
        if not request.path.startswith(API_PREFIX):
            # A rule a page did not catch itself: its status and message, never a 500.
            page_error = HTTPException(description=exc.message)
            page_error.code = exc.status
            return render_template("error.html", error=page_error), exc.status
        errors = getattr(exc, "errors", None) or ({exc.field: [exc.message]} if exc.field else None)
        return problem_response(exc.status, exc.message, errors=errors, code=exc.code)


# What the usual errors mean on any route; a feature's own meanings come first.
COMMON_PROBLEMS = {
    "401": "No valid personal access token",
    "422": "The body or parameters are not valid; `errors` names each field",
    "default": "Any other error",
}


def documented_problems(
    blp: Blueprint, meanings: dict[str, str], statuses: Iterable[int]
) -> Callable[[Any], Any]:
    """A decorator saying in the OpenAPI document what each error status of a
    route means (`meanings` by status, else COMMON_PROBLEMS), each answered as
    problem+json; "default" covers the rest."""
    said = {**COMMON_PROBLEMS, **meanings}
    documented = (*(str(s) for s in statuses), "default")
    return blp.doc(
        responses={
            status: {"description": said[status], "content": {PROBLEM: {"schema": ProblemSchema}}}
            for status in documented
        }
    )


def problem_response(
    status: int,
    detail: str,
    *,
    errors: dict[str, Any] | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"https://znachki.exchange/problems/{code or status}",
        "title": api_messages.title(status),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = api_messages.translate_errors(errors)
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
        detail = gettext(api_messages.INVALID_BODY)
    if status == 400 and errors and "Invalid JSON body." in str(errors):
        detail = gettext(api_messages.INVALID_JSON)
    headers = dict(data.get("headers") or {})
    # What the exception itself says in headers (Allow on a 405, WWW-Authenticate).
    headers.update((k, v) for k, v in exc.get_headers() if k.lower() != "content-type")
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
                gettext(api_messages.NO_TOKEN),
                code="unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="znachki"'},
            )
        g.api_user = user
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


BEARER: dict[str, Any] = {"security": [{"bearerAuth": []}]}
