"""Holding responses to the OpenAPI document: the schema it gives for a path,
method, status and content type, and every way a JSON value strays from that
schema (types, nullability, required and undocumented properties, enums, bounds,
date-times), following `$ref`s. Enough of JSON Schema for what flask-smorest
generates; anything else it meets is reported rather than passed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

KNOWN = {
    "$ref", "type", "properties", "required", "additionalProperties", "items", "enum",
    "minimum", "maximum", "maxLength", "minLength", "maxItems", "format", "description",
    "default", "title",
}  # fmt: skip

TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def response_schema(
    spec: dict[str, Any], path: str, method: str, status: int, content: str = "application/json"
) -> dict[str, Any]:
    """The schema the document gives for this response (KeyError if none)."""
    response = spec["paths"][path][method.lower()]["responses"][str(status)]
    schema: dict[str, Any] = response["content"][content]["schema"]
    return schema


def _is(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, TYPES[name])


def mismatches(
    spec: dict[str, Any], schema: dict[str, Any], value: Any, at: str = "$"
) -> list[str]:
    """Where `value` does not fit `schema`, one line per place."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return mismatches(spec, spec["components"]["schemas"][name], value, at)
    strange = set(schema) - KNOWN
    if strange:
        return [f"{at}: the checker does not know {sorted(strange)}"]
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_is(value, n) for n in names):
            return [f"{at}: {value!r} is not {' or '.join(names)}"]
    if value is None:
        return []
    found: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if "minimum" in schema and value < schema["minimum"]:
        found.append(f"{at}: {value} < {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        found.append(f"{at}: {value} > {schema['maximum']}")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        found.append(f"{at}: longer than {schema['maxLength']}")
    if "minLength" in schema and len(value) < schema["minLength"]:
        found.append(f"{at}: shorter than {schema['minLength']}")
    if schema.get("format") == "date-time":
        try:
            datetime.fromisoformat(value)
        except (TypeError, ValueError):
            found.append(f"{at}: {value!r} is not a date-time")
    if isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{at}: more than {schema['maxItems']} items")
        for n, item in enumerate(value):
            found += mismatches(spec, schema.get("items", {}), item, f"{at}[{n}]")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        found += [
            f"{at}: {key!r} is missing" for key in schema.get("required", []) if key not in value
        ]
        extra = schema.get("additionalProperties", {})
        for key, item in value.items():
            if key in properties:
                found += mismatches(spec, properties[key], item, f"{at}.{key}")
            elif extra is False:
                found.append(f"{at}: {key!r} is not documented")
            elif isinstance(extra, dict):
                found += mismatches(spec, extra, item, f"{at}.{key}")
    return found


def assert_documented(spec: dict[str, Any], path: str, method: str, response: Any) -> None:
    """`response` (a test client response) is one the document describes for
    `method` on `path` (the templated path, e.g. /api/v1/trades/{trade_id})."""
    schema = response_schema(spec, path, method, response.status_code, response.mimetype)
    problems = mismatches(spec, schema, response.json)
    assert problems == [], f"{method} {path} {response.status_code}: {problems}"
