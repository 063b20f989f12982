"""Validate emulator responses against a vendor's published OpenAPI 3.0 description.

An emulator is only worth what it matches. Plugins' fidelity tests load the
vendor's description (GitHub's, Atlassian's) with :class:`OpenApiSpec` and check
every response their adapter relies on::

    spec = OpenApiSpec.load(path)
    problems = spec.validate_response("GET", "/repos/acme/widgets/issues", 200, body)
    assert not problems, problems

OpenAPI 3.0 schemas are JSON Schema draft 4 plus ``nullable``; the description is
rewritten once (``nullable: true`` -> a ``null`` alternative) and ``$ref`` s are
resolved against the whole document.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

__all__ = ["OpenApiSpec", "OperationMatch"]

_URI = "urn:kradle:openapi"


def _nullable_to_jsonschema(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 ``nullable`` into plain JSON Schema, recursively."""
    if isinstance(node, list):
        return [_nullable_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable_to_jsonschema(value) for key, value in node.items()}
    if out.pop("nullable", False) is True:
        if "type" in out and not any(k in out for k in ("$ref", "allOf", "oneOf", "anyOf")):
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@dataclass(frozen=True)
class OperationMatch:
    """The description's operation for a concrete request path."""

    template: str
    method: str
    operation: dict[str, Any]
    pointer: str


class OpenApiSpec:
    """A loaded OpenAPI 3.0 description that can validate concrete responses."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document: dict[str, Any] = _nullable_to_jsonschema(document)
        self._registry: Registry[Any] = Registry().with_resource(
            _URI, Resource.from_contents(self.document, default_specification=DRAFT4)
        )
        self._templates = [
            (self._template_regex(template), template)
            for template in self.document.get("paths", {})
        ]
        # Literal segments beat parameters: /repos/{o}/{r}/issues/comments before .../{n}.
        self._templates.sort(key=lambda item: item[1].count("{"))

    @classmethod
    @functools.cache
    def load(cls, path: str | Path) -> OpenApiSpec:
        """Load (and cache per process) a description from a JSON file."""
        return cls(json.loads(Path(path).read_text()))

    @staticmethod
    def _template_regex(template: str) -> re.Pattern[str]:
        parts = re.split(r"(\{[^}]+\})", template)
        pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        return re.compile(f"^{pattern}$")

    def match(self, method: str, path: str, *, base_path: str = "") -> OperationMatch | None:
        """Find the operation for ``method path`` (query string and base path ignored)."""
        path = path.split("?", 1)[0]
        if base_path and path.startswith(base_path):
            path = path[len(base_path) :] or "/"
        verb = method.lower()
        for regex, template in self._templates:
            if regex.match(path):
                operation = self.document["paths"][template].get(verb)
                if operation is not None:
                    pointer = f"/paths/{_escape(template)}/{verb}"
                    return OperationMatch(template, verb, operation, pointer)
        return None

    def _resolve(self, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
        while "$ref" in node:
            pointer = node["$ref"].lstrip("#")
            target: Any = self.document
            for part in pointer.lstrip("/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node, pointer

    def response_schema_pointer(
        self, method: str, path: str, status: int, *, base_path: str = ""
    ) -> str | None:
        """JSON pointer (into the description) of this response's JSON schema, if any."""
        found = self.match(method, path, base_path=base_path)
        if found is None:
            return None
        responses = found.operation.get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in responses:
                response, pointer = self._resolve(
                    responses[key], f"{found.pointer}/responses/{key}"
                )
                break
        else:
            return None
        for media_type, media in response.get("content", {}).items():
            if "json" in media_type and "schema" in media:
                return f"{pointer}/content/{_escape(media_type)}/schema"
        return None

    def validate_response(
        self, method: str, path: str, status: int, body: Any, *, base_path: str = ""
    ) -> list[str]:
        """Every way ``body`` disagrees with the description (empty when it conforms).

        A request the description does not know, or a status it does not
        document, is itself a problem: the emulator answers something the real
        API never would.
        """
        if self.match(method, path, base_path=base_path) is None:
            return [f"{method} {path}: no such operation in the description"]
        pointer = self.response_schema_pointer(method, path, status, base_path=base_path)
        if pointer is None:
            found = self.match(method, path, base_path=base_path)
            documented = sorted(found.operation.get("responses", {})) if found else []
            if status in (204, 304) or str(status) in documented:
                return []
            return [f"{method} {path}: status {status} is not documented ({documented})"]
        validator = Draft4Validator({"$ref": f"{_URI}#{quote(pointer)}"}, registry=self._registry)
        return [_describe(error) for error in _errors(validator, body)]


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _errors(validator: Draft4Validator, body: Any) -> Iterator[Any]:
    return iter(sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)))


def _describe(error: Any) -> str:
    where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{where}: {error.message[:300]}"
