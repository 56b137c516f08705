"""The one check every request passes before a view sees it, for the values no
field-level rule should have to think about: NUL characters and lone surrogates in
any text (PostgreSQL cannot store the first; no encoder can write the second),
integers beyond what the database keeps (ids are 32-bit: a larger one in a path is
simply not found), page numbers past any real page, and JSON nested deeper than any
request we accept (the parser would exhaust the stack).

A page gets 400 with the reason; the API gets problem+json naming the field.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from marketplace.core.api import API_PREFIX, problem_response

INT_MAX = 2**31 - 1  # ids and every integer column are 32-bit
MAX_PAGE = 100_000
MAX_JSON_DEPTH = 32
PAGE_ARGS = ("page", "per_page")


class BoundedInt(IntegerConverter):
    """`<int:…>` in a route: 0 … 2³¹−1, so an id the database cannot hold is a 404
    like any other id that does not exist."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def bad_text(value: str) -> str | None:
    """Why a text cannot be kept, or None."""
    if "\x00" in value:
        return "Text may not contain NUL characters."
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        return "Text may not contain unpaired surrogate characters."
    return None


def _depth_exceeded(raw: bytes, limit: int) -> bool:
    """Whether JSON text nests deeper than `limit`, found by counting brackets
    outside strings (without parsing it)."""
    depth, in_string, escaped = 0, False, False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def json_problem(value: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str] | None:
    """(field path, reason) for the first value in a JSON document we refuse."""
    if isinstance(value, str):
        reason = bad_text(value)
        return (path, reason) if reason else None
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return None
    if isinstance(value, int):
        if not -INT_MAX - 1 <= value <= INT_MAX:
            return (path, f"Must be between {-INT_MAX - 1} and {INT_MAX}.")
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = json_problem(key, path) if isinstance(key, str) else None
            found = found or json_problem(item, (*path, str(key)))
            if found:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = json_problem(item, (*path, str(index)))
            if found:
                return found
    return None


def _nested(path: tuple[str, ...], reason: str) -> dict[str, Any]:
    """Field errors shaped as the schemas report them: `{"take": {"0": {"have_id":
    [reason]}}}`; a bad value at the top of the body is `{"_schema": [reason]}`."""
    errors: Any = [reason]
    for key in reversed(path or ("_schema",)):
        errors = {key: errors}
    result: dict[str, Any] = errors
    return result


def _refuse(field: str | tuple[str, ...], reason: str, status: int = 422) -> Any:
    path = (field,) if isinstance(field, str) else field
    if request.path.startswith(API_PREFIX):
        return problem_response(status, reason, errors=_nested(path, reason), code="invalid_input")
    abort(400, description=f"{'.'.join(path) or 'body'}: {reason}")


def check_request() -> Any:
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            reason = bad_text(key) or bad_text(value)
            if reason:
                return _refuse(key, reason)
    for key in PAGE_ARGS:
        number = request.args.get(key)
        if number and number.strip().lstrip("+-").isdigit() and abs(int(number)) > MAX_PAGE:
            return _refuse(key, f"At most {MAX_PAGE}.")
    if request.is_json and request.content_length != 0:
        body = request.get_data(cache=True)
        if _depth_exceeded(body, MAX_JSON_DEPTH):
            return _refuse("body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels.", 400)
        try:
            document = request.get_json(silent=True)
        except RecursionError:
            return _refuse("body", "The JSON document is too deep.", 400)
        found = json_problem(document) if document is not None else None
        if found:
            return _refuse(*found)
    return None


def init_input_guard(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedInt
    app.before_request(check_request)
