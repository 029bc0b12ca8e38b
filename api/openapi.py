"""OpenAPI documents for bodies the API reads itself.

The collector reads its body by hand (capped, maybe gzip-encoded) instead of letting Litestar
parse it, so Litestar cannot see its shape. We derive the JSON Schema from the same msgspec types
that decode the body and hand it to the route as an `Operation` subclass: the published schema and
the decoder cannot drift apart, and schema-driven clients and fuzzers (schemathesis) see it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)

_FORMATS = {item.value: item for item in OpenAPIFormat}
_SIMPLE_KEYS = {
    "maxLength": "max_length",
    "minLength": "min_length",
    "maxItems": "max_items",
    "minItems": "min_items",
    "maximum": "maximum",
    "minimum": "minimum",
    "title": "title",
    "description": "description",
    "enum": "enum",
}


def litestar_schema(node: dict[str, Any], defs: dict[str, Any]) -> Schema:
    """A Litestar `Schema` for a JSON Schema node, with `$ref`s into `defs` inlined."""
    if "$ref" in node:
        return litestar_schema(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    values: dict[str, Any] = {attr: node[key] for key, attr in _SIMPLE_KEYS.items() if key in node}
    if "type" in node:
        values["type"] = OpenAPIType(node["type"])
    if node.get("format") in _FORMATS:
        values["format"] = _FORMATS[node["format"]]
    if "properties" in node:
        values["properties"] = {
            name: litestar_schema(child, defs) for name, child in node["properties"].items()
        }
    if "required" in node:
        values["required"] = list(node["required"])
    if "items" in node:
        values["items"] = litestar_schema(node["items"], defs)
    if "anyOf" in node:
        values["any_of"] = [litestar_schema(child, defs) for child in node["anyOf"]]
    if "not" in node:
        values["schema_not"] = litestar_schema(node["not"], defs)
    return Schema(**values)


def json_body_operation(body_schema: dict[str, Any]) -> type[Operation]:
    """An `Operation` class that documents a required JSON request body."""
    schema = litestar_schema(body_schema, body_schema.get("$defs", {}))

    @dataclass
    class JsonBodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                content={"application/json": OpenAPIMediaType(schema=schema)}, required=True
            )

    return JsonBodyOperation
