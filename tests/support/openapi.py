"""Holding responses to the OpenAPI document: the schema it gives for a path,
method, status and content type, and every way a JSON value strays from that
schema, checked by `jsonschema` with the document's `$ref`s resolved."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator


def response_schema(
    spec: dict[str, Any], path: str, method: str, status: int, content: str = "application/json"
) -> dict[str, Any]:
    """The schema the document gives for this response (KeyError if none)."""
    response = spec["paths"][path][method.lower()]["responses"][str(status)]
    schema: dict[str, Any] = response["content"][content]["schema"]
    return schema


def mismatches(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """Where `value` does not fit `schema` (JSON Schema 2020-12, as OpenAPI 3.1
    uses it, `$ref`s resolved against the document), one line per place."""
    # The document's components ride along in the root, where "#/components/…" looks.
    rooted = {**schema, "components": spec.get("components", {})}
    validator = Draft202012Validator(rooted, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [
        f"{error.json_path}: {error.message}"
        for error in sorted(validator.iter_errors(value), key=lambda e: e.json_path)
    ]


def assert_documented(spec: dict[str, Any], path: str, method: str, response: Any) -> None:
    """`response` (a test client response) is one the document describes for
    `method` on `path` (the templated path, e.g. /api/v1/trades/{trade_id})."""
    schema = response_schema(spec, path, method, response.status_code, response.mimetype)
    problems = mismatches(spec, schema, response.json)
    assert problems == [], f"{method} {path} {response.status_code}: {problems}"
