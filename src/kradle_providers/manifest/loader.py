"""Loading manifests from files, text, mappings and package data.

Every failure is a :class:`~kradle_providers.errors.ManifestError` carrying
*all* findings: an unreadable file or a YAML syntax error is one finding at
``$``; an invalid document lists every schema and semantic problem at once.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kradle_providers.errors import ManifestError, ManifestFinding
from kradle_providers.manifest.model import Manifest
from kradle_providers.manifest.paths import json_path
from kradle_providers.manifest.validator import validate_manifest

__all__ = [
    "ManifestSource",
    "dump_manifest",
    "load_manifest",
    "load_manifest_resource",
    "manifest_from_data",
    "parse_manifest_text",
    "read_manifest_file",
]

ManifestSource = str | os.PathLike[str] | Mapping[str, Any]
"""A file path, YAML/JSON text, or an already-parsed mapping."""

_FILE_SUFFIXES = (".yaml", ".yml", ".json")


# libyaml's parser when present (several times faster); the constructor is Python either way.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _UniqueKeyLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader that refuses duplicate keys instead of silently keeping the last."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        if isinstance(key, Hashable):
            seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _syntax_finding(exc: Exception, fmt: str) -> ManifestFinding:
    where = ""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        where = f" at line {mark.line + 1}, column {mark.column + 1}"
    elif isinstance(exc, json.JSONDecodeError):
        where = f" at line {exc.lineno}, column {exc.colno}"
    problem = getattr(exc, "problem", None) or (
        exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
    )
    return ManifestFinding(
        "$",
        f"not valid {fmt}{where}: {problem}",
        f"fix the {fmt} syntax{where} (check indentation, quoting and duplicate keys)",
    )


def parse_manifest_text(text: str, *, fmt: str = "yaml", source: str | None = None) -> Any:
    """Parse YAML (the default; JSON is valid YAML) or strict JSON into Python data.

    Raises :class:`ManifestError` with a single ``$`` finding on a syntax error
    or a duplicate key.
    """
    try:
        if fmt == "json":
            return json.loads(text)
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ManifestError([_syntax_finding(exc, fmt.upper())], source=source) from exc


def read_manifest_file(path: str | os.PathLike[str]) -> Any:
    """Read and parse a manifest file (``.json`` as JSON, anything else as YAML)."""
    file = Path(path)
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ManifestError(
            [
                ManifestFinding(
                    "$",
                    f"cannot read manifest file {str(file)!r}: {reason}",
                    "check that the path exists, is a readable UTF-8 file, and is spelled right",
                )
            ],
            source=str(file),
        ) from exc
    fmt = "json" if file.suffix.lower() == ".json" else "yaml"
    return parse_manifest_text(text, fmt=fmt, source=str(file))


def _looks_like_path(text: str) -> bool:
    if "\n" in text or text.lstrip().startswith("{"):
        return False
    return text.lower().endswith(_FILE_SUFFIXES) or Path(text).is_file()


def load_manifest(source: ManifestSource, *, name: str | None = None) -> Manifest:
    """Load, validate and return a manifest.

    ``source`` is a path (``Path`` or a string ending in .yaml/.yml/.json or
    naming an existing file), YAML/JSON text, or a parsed mapping. ``name``
    labels errors (defaults to the path). Raises :class:`ManifestError` listing
    every error finding (warnings are included in the list but never cause it).
    """
    if isinstance(source, Mapping):
        data: Any = source
        label = name
    elif isinstance(source, os.PathLike) or _looks_like_path(source):
        label = name or os.fspath(source)
        data = read_manifest_file(source)
    else:
        label = name
        data = parse_manifest_text(source, source=label)
        if isinstance(data, str) and "\n" not in source.strip():
            # A lone scalar is far more likely a mistyped path than a manifest.
            raise ManifestError(
                [
                    ManifestFinding(
                        "$",
                        f"{source!r} is neither an existing manifest file nor a manifest",
                        "pass the path of a .yaml/.yml/.json file that exists, or the text "
                        "of a manifest",
                    )
                ],
                source=label,
            )
    return manifest_from_data(data, source=label)


def manifest_from_data(data: Any, *, source: str | None = None) -> Manifest:
    """Validate parsed data and build the model; :class:`ManifestError` if invalid."""
    findings = validate_manifest(data)
    if any(f.severity == "error" for f in findings):
        ordered = sorted(findings, key=lambda f: f.severity != "error")
        raise ManifestError(ordered, source=source)
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:  # pragma: no cover - the schema mirrors the model
        raise ManifestError(
            [
                ManifestFinding(
                    json_path(tuple(p for p in err["loc"] if isinstance(p, str | int))),
                    err["msg"],
                    "correct the value to match the manifest schema",
                )
                for err in exc.errors()
            ],
            source=source,
        ) from exc


def load_manifest_resource(ref: str) -> Manifest:
    """Load a manifest shipped as package data: ``"package:relative/path.yaml"``.

    This is what a plugin's registration names; the package is imported only
    to locate its files (plugins keep their top-level package light).
    """
    package, sep, relative = ref.partition(":")
    if not sep or not package or not relative:
        raise ManifestError(
            [
                ManifestFinding(
                    "$",
                    f"{ref!r} is not a package resource reference",
                    "write it as 'package:relative/path.yaml' (e.g. "
                    "'kradle_provider_acme:manifest.yaml')",
                )
            ],
            source=ref,
        )
    try:
        resource = importlib.resources.files(package).joinpath(relative)
        text = resource.read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise ManifestError(
            [
                ManifestFinding(
                    "$",
                    f"manifest resource {ref!r} not found: {exc}",
                    "install the plugin's distribution, ship the manifest as package data "
                    "([tool.setuptools.package-data]) and check the 'package:path' reference",
                )
            ],
            source=ref,
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(
            [ManifestFinding("$", f"cannot read {ref!r}: {exc}", "ship a readable UTF-8 file")],
            source=ref,
        ) from exc
    fmt = "json" if relative.lower().endswith(".json") else "yaml"
    return manifest_from_data(parse_manifest_text(text, fmt=fmt, source=ref), source=ref)


def dump_manifest(manifest: Manifest, *, fmt: str = "yaml") -> str:
    """Serialize a manifest with its camelCase field names, omitting defaults.

    ``load_manifest(dump_manifest(m)) == m`` for every valid manifest.
    """
    data = manifest.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    # apiVersion and kind are required literals: keep them even though "defaulted".
    data = {"apiVersion": manifest.api_version, "kind": manifest.kind, **data}
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True)
