"""The OpenAPI response validator used by emulator fidelity tests."""

from __future__ import annotations

from typing import Any

import pytest

from kradle_providers.testing.fixtures import require_vendor_specs
from kradle_providers.testing.openapi import OpenApiSpec

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "paths": {
        "/things/{id}": {
            "get": {
                "responses": {
                    "200": {"$ref": "#/components/responses/thing"},
                    "404": {"description": "missing"},
                }
            }
        },
        "/things/special": {"get": {"responses": {"204": {"description": "none"}}}},
    },
    "components": {
        "responses": {
            "thing": {
                "description": "a thing",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/thing"}}},
            }
        },
        "schemas": {
            "thing": {
                "type": "object",
                "required": ["id", "note"],
                "properties": {
                    "id": {"type": "integer"},
                    "note": {"type": "string", "nullable": True},
                    "kind": {"type": "string", "enum": ["a", "b"], "nullable": True},
                    "owner": {"nullable": True, "allOf": [{"$ref": "#/components/schemas/user"}]},
                },
            },
            "user": {"type": "object", "required": ["login"]},
        },
    },
}


def test_conforming_and_nullable_values_pass() -> None:
    spec = OpenApiSpec(SPEC)
    body = {"id": 1, "note": None, "kind": None, "owner": None}
    assert spec.validate_response("GET", "/things/1?x=1", 200, body) == []
    assert spec.validate_response("GET", "/api/things/1", 200, body, base_path="/api") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"id": "1", "note": "n"}, "$.id"),
        ({"id": 1}, "'note' is a required property"),
        ({"id": 1, "note": None, "kind": "c"}, "$.kind"),
        ({"id": 1, "note": None, "owner": {}}, "$.owner"),
    ],
)
def test_disagreements_are_reported_with_their_path(body: Any, expected: str) -> None:
    problems = OpenApiSpec(SPEC).validate_response("GET", "/things/7", 200, body)
    assert any(expected in p for p in problems), problems


def test_unknown_operations_and_undocumented_statuses_are_problems() -> None:
    spec = OpenApiSpec(SPEC)
    assert spec.match("GET", "/things/special").template == "/things/special"  # type: ignore[union-attr]
    assert spec.validate_response("GET", "/elsewhere", 200, {}) != []
    assert spec.validate_response("POST", "/things/1", 200, {}) != []
    assert spec.validate_response("GET", "/things/1", 500, {}) != []
    assert spec.validate_response("GET", "/things/1", 404, {"message": "x"}) == []


def test_githubs_own_example_validates_and_a_mutation_does_not() -> None:
    spec = OpenApiSpec.load(require_vendor_specs("github") / "api.github.com.json")
    examples = spec.document["components"]["examples"]["issue-items"]["value"]
    assert spec.validate_response("GET", "/repos/acme/widgets/issues", 200, examples) == []
    broken = [dict(examples[0], number="7")]
    assert spec.validate_response("GET", "/repos/acme/widgets/issues", 200, broken)
