"""Manifest validation: the JSON Schema first, then the meaning (SPEC §5).

:func:`validate_manifest` returns *every* finding instead of stopping at the
first, so an author fixes a manifest in one pass. Each finding names a JSON
path (``$.spec.interfaces.cicd.operations[2].idempotency.mode``), says what is
wrong and how to fix it. Severity ``error`` makes a manifest invalid;
``warning`` points at something a host would explain badly (an unsupported
interface without a reason) but does not reject it.

The semantic checks read the raw mapping rather than the pydantic model so
they still run, and still report with exact paths, when the schema step has
already found problems elsewhere in the document.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from kradle_providers.errors import ManifestFinding
from kradle_providers.manifest.model import API_VERSION, MANIFEST_KIND, Manifest
from kradle_providers.manifest.paths import json_path
from kradle_providers.manifest.suggest import did_you_mean, nearest
from kradle_providers.models import kinds_of
from kradle_providers.models.base import Interface
from kradle_providers.protocols.operations import OPERATIONS, camel_to_snake, snake_to_camel

__all__ = [
    "MANIFEST_SCHEMA_ID",
    "manifest_schema",
    "schema_findings",
    "semantic_findings",
    "validate_manifest",
]

MANIFEST_SCHEMA_ID = "https://kradle.a5c.ai/schemas/manifest.schema.json"
"""The ``$id`` of the generated manifest schema (``schemas/manifest.schema.json``)."""

_Path = tuple[str | int, ...]
_SCHEMA_FILE = "schemas/manifest.schema.json"


@functools.cache
def _schema() -> dict[str, Any]:
    schema = Manifest.model_json_schema(by_alias=True, mode="validation")
    schema.update(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": MANIFEST_SCHEMA_ID,
            "title": MANIFEST_KIND,
            "description": (
                "A provider plugin's capability manifest (SPEC §5). Generated from "
                "kradle_providers.manifest.model.Manifest by `kradle-providers schemas "
                "generate`; the validator also checks meaning the schema cannot express."
            ),
        }
    )
    return schema


def manifest_schema() -> dict[str, Any]:
    """The manifest JSON Schema (draft 2020-12, camelCase field names); a fresh copy."""
    return copy.deepcopy(_schema())


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_schema())


def validate_manifest(data: Mapping[str, Any]) -> list[ManifestFinding]:
    """Every finding in a manifest document: schema errors, then semantic ones.

    An empty list (or warnings only) means the manifest is valid and
    :meth:`Manifest.model_validate` will accept it.
    """
    if not isinstance(data, Mapping):
        return [
            ManifestFinding(
                "$",
                f"a manifest must be a mapping, got {_type_name(data)}",
                f"start the document with `apiVersion: {API_VERSION}` and `kind: {MANIFEST_KIND}`",
            )
        ]
    findings = schema_findings(data) + semantic_findings(data)
    unique: dict[tuple[str, str], ManifestFinding] = {}
    for finding in findings:
        unique.setdefault((finding.path, finding.message), finding)
    return list(unique.values())


# --------------------------------------------------------------------------- schema


def schema_findings(data: Any) -> list[ManifestFinding]:
    """JSON Schema findings, each explained with a path, a message and a fix."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: _sort_key(e.absolute_path))
    return [finding for error in errors for finding in _explain(error)]


def _sort_key(path: Iterable[Any]) -> tuple[str, ...]:
    return tuple(f"{p:08d}" if isinstance(p, int) else str(p) for p in path)


_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _path_of(error: ValidationError) -> _Path:
    return tuple(error.absolute_path)


def _explain(error: ValidationError) -> Iterator[ManifestFinding]:
    path = _path_of(error)
    where = json_path(path)
    kind = error.validator
    if kind in ("anyOf", "oneOf") and error.context:
        branch = _matching_branch(error)
        if branch is not None:
            for sub in sorted(branch, key=lambda e: _sort_key(e.absolute_path)):
                yield from _explain(sub)
            return
        expected = sorted(
            {
                t
                for sub in error.context
                if sub.validator == "type" and not sub.relative_path
                for t in _as_list(sub.validator_value)
            }
        )
        shapes = ", ".join(t if t != "object" else "a mapping" for t in expected) or "the schema"
        yield ManifestFinding(
            where,
            f"expected {shapes}, got {_type_name(error.instance)}",
            f"change {where} to one of: {shapes} (see {_SCHEMA_FILE})",
        )
    elif kind == "enum":
        allowed = _as_list(error.validator_value)
        hint = did_you_mean(str(error.instance), allowed)
        yield ManifestFinding(
            where,
            f"unknown value {error.instance!r}; allowed values: {', '.join(allowed)}",
            (hint + " " if hint else "") + f"use one of: {', '.join(allowed)}",
        )
    elif kind == "const":
        expected_value = error.validator_value
        yield ManifestFinding(
            where,
            f"{error.instance!r} is not supported; expected {expected_value!r}",
            f"set {_field_name(path)} to {expected_value!r}",
        )
    elif kind == "required":
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        for prop in _as_list(error.validator_value):
            if prop not in instance:
                yield ManifestFinding(
                    json_path((*path, prop)), f"{prop} is required", _required_fix(path, prop)
                )
    elif kind == "additionalProperties" and isinstance(error.instance, Mapping):
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = sorted(schema.get("properties", {}))
        for key in error.instance:
            if key in allowed:
                continue
            hint = did_you_mean(str(key), allowed)
            yield ManifestFinding(
                json_path((*path, str(key))),
                f"unknown field {key!r}",
                hint or f"remove it; allowed fields here: {', '.join(allowed)}",
            )
    elif kind == "type":
        wanted = " or ".join(_as_list(error.validator_value))
        yield ManifestFinding(
            where,
            f"expected {wanted}, got {_type_name(error.instance)}",
            f"change {where} to a value of type {wanted}",
        )
    elif kind == "pattern" and path[-1:] == ("providerType",):
        yield ManifestFinding(
            where,
            f"providerType {error.instance!r} is not a valid provider type",
            "use lowercase letters, digits and dashes, starting with a letter (e.g. 'acme')",
        )
    else:
        yield ManifestFinding(
            where, error.message, f"correct the value to match the manifest schema ({_SCHEMA_FILE})"
        )


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _matching_branch(error: ValidationError) -> list[ValidationError] | None:
    """The errors of the one ``anyOf`` branch whose type fits the value, if exactly one does.

    ``operations`` items are ``string | OperationDecl``: for a mapping the string
    branch fails on type, so the useful errors are the OperationDecl ones.
    """
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context or ():
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    fitting = [
        errs
        for errs in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errs)
    ]
    return fitting[0] if len(fitting) == 1 else None


def _field_name(path: _Path) -> str:
    names = [p for p in path if isinstance(p, str)]
    return names[-1] if names else "the document"


_REQUIRED_HINTS = {
    "apiVersion": f"add `apiVersion: {API_VERSION}` at the top of the manifest",
    "kind": f"add `kind: {MANIFEST_KIND}` at the top of the manifest",
    "metadata": "add `metadata: {name: <provider type>}`",
    "name": "add a name (usually the provider type, e.g. `name: acme`)",
    "spec": "add a `spec:` section with providerType, displayName, authModes and interfaces",
    "providerType": "add `providerType: <lowercase provider type>` (e.g. `providerType: acme`); "
    "it must equal the plugin's registered name",
    "displayName": "add `displayName: <human name>` (e.g. `displayName: Acme Tracker`)",
    "operation": "name the canonical operation, e.g. `operation: listIssues`",
    "mode": "add `mode:` with one of native-key, synthetic-key, natural, none",
    "event": "name the provider's webhook event, e.g. `event: issues`",
    "package": "name the distribution that ships the adapter",
}


def _required_fix(parent: _Path, prop: str) -> str:
    if prop == "kind" and parent:
        # `kind` of an object entry, not the document's kind.
        return "name the canonical kind, e.g. `kind: Issue`"
    where = json_path(parent)
    return _REQUIRED_HINTS.get(prop, f"add {prop} to {where}")


# --------------------------------------------------------------------------- meaning

_INTERFACE_KEYS = tuple(i.value for i in Interface)


def semantic_findings(data: Mapping[str, Any]) -> list[ManifestFinding]:
    """The checks of SPEC §5 the schema cannot express; tolerant of ill-typed parts."""
    findings: list[ManifestFinding] = []
    spec = data.get("spec")
    if not isinstance(spec, Mapping):
        return findings
    auth_modes = [m for m in _list(spec.get("authModes")) if isinstance(m, str)]
    findings += _duplicates(auth_modes, ("spec", "authModes"), "auth mode", severity="warning")
    interfaces = spec.get("interfaces")
    if not isinstance(interfaces, Mapping):
        interfaces = {}
    declared_ops: dict[str, _Path] = {}
    any_supported = False
    for key in _INTERFACE_KEYS:
        iface = interfaces.get(key)
        if not isinstance(iface, Mapping):
            continue
        # A non-boolean `supported` is a schema error already; don't pile on.
        any_supported |= iface.get("supported", False) is not False
        findings += _check_interface(
            Interface(key), iface, ("spec", "interfaces", key), auth_modes, declared_ops
        )
    if not any_supported:
        findings.append(
            ManifestFinding(
                json_path(("spec", "interfaces")),
                "no interface is supported; a provider must support at least one",
                "set `supported: true` on issueTracking, cicd or gitForge and list its operations",
            )
        )
    return findings


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _duplicates(
    names: Sequence[str], path: _Path, what: str, *, severity: str = "error"
) -> list[ManifestFinding]:
    seen: dict[str, int] = {}
    out = []
    for index, name in enumerate(names):
        if name in seen:
            out.append(
                ManifestFinding(
                    json_path((*path, index)),
                    f"{what} {name!r} is declared twice "
                    f"(first at {json_path((*path, seen[name]))})",
                    "remove the duplicate entry",
                    severity,
                )
            )
        else:
            seen[name] = index
    return out


def _entry_name(entry: Any, field: str) -> tuple[str | None, tuple[str, ...]]:
    """The name of a bare-or-full entry and the path suffix that points at it."""
    if isinstance(entry, str):
        return entry, ()
    if isinstance(entry, Mapping) and isinstance(entry.get(field), str):
        return entry[field], (field,)
    return None, ()


def _check_interface(
    interface: Interface,
    iface: Mapping[str, Any],
    path: _Path,
    auth_modes: list[str],
    declared_ops: dict[str, _Path],
) -> list[ManifestFinding]:
    findings: list[ManifestFinding] = []
    name = interface.value
    supported = iface.get("supported", False)
    operations = _list(iface.get("operations"))
    webhooks = _list(iface.get("webhooks"))
    objects = _list(iface.get("objects"))
    if not isinstance(supported, bool):
        pass  # reported by the schema step; support-dependent checks would only guess
    elif not supported:
        if not iface.get("reason"):
            findings.append(
                ManifestFinding(
                    json_path((*path, "reason")),
                    f"{name} is unsupported without a reason",
                    "add `reason:` so hosts can explain why (e.g. 'this tracker has no CI/CD')",
                    "warning",
                )
            )
        for field, items in (("operations", operations), ("webhooks", webhooks)):
            if items:
                findings.append(
                    ManifestFinding(
                        json_path((*path, field)),
                        f"{name} is declared unsupported but still lists {field} ({len(items)})",
                        f"remove {field} from {json_path(path)} or set `supported: true`",
                    )
                )
        if objects:
            findings.append(
                ManifestFinding(
                    json_path((*path, "objects")),
                    f"{name} is declared unsupported but lists objects",
                    f"remove objects from {json_path(path)} or set `supported: true`",
                    "warning",
                )
            )
    elif not operations:
        findings.append(
            ManifestFinding(
                json_path((*path, "operations")),
                f"{name} is declared supported but lists no operations",
                f"list the {name} operations the provider implements, "
                "or set `supported: false` with a reason",
            )
        )

    events = [e for e in (_entry_name(w, "event")[0] for w in webhooks) if e is not None]
    findings += _duplicates(events, (*path, "webhooks"), "webhook event")
    findings += _check_objects(interface, objects, (*path, "objects"))
    for index, entry in enumerate(operations):
        findings += _check_operation(
            interface, entry, (*path, "operations", index), auth_modes, events, declared_ops
        )
    return findings


def _check_objects(interface: Interface, objects: list[Any], path: _Path) -> list[ManifestFinding]:
    findings: list[ManifestFinding] = []
    own = kinds_of(interface)
    others = {k: i for i in Interface if i is not interface for k in kinds_of(i)}
    seen: set[str] = set()
    for index, entry in enumerate(objects):
        kind, suffix = _entry_name(entry, "kind")
        if kind is None:
            continue
        where = json_path((*path, index, *suffix))
        if kind in seen:
            findings.append(
                ManifestFinding(
                    where,
                    f"object kind {kind!r} is listed twice",
                    "remove the duplicate",
                    "warning",
                )
            )
        seen.add(kind)
        if kind in own:
            continue
        if kind in others:
            findings.append(
                ManifestFinding(
                    where,
                    f"{kind} is a {others[kind].value} kind, not a {interface.value} kind",
                    f"move it to spec.interfaces.{others[kind].value}.objects",
                )
            )
            continue
        hint = did_you_mean(kind, [*own, *others], preferred=own)
        findings.append(
            ManifestFinding(
                where,
                f"unknown canonical kind {kind!r} for {interface.value}",
                (hint + " " if hint else "")
                + f"{interface.value} kinds are: {', '.join(own)}; put the provider's own "
                "name in `native:`",
            )
        )
    return findings


def _check_operation(
    interface: Interface,
    entry: Any,
    path: _Path,
    auth_modes: list[str],
    events: list[str],
    declared_ops: dict[str, _Path],
) -> list[ManifestFinding]:
    findings: list[ManifestFinding] = []
    name, suffix = _entry_name(entry, "operation")
    if name is None:
        return findings
    where = json_path((*path, *suffix))
    info = OPERATIONS.get(name)
    if info is None:
        findings.append(_unknown_operation(interface, name, where))
    elif info.interface is not interface:
        findings.append(
            ManifestFinding(
                where,
                f"{name} is a {info.interface.value} operation, not a {interface.value} one",
                f"move it to spec.interfaces.{info.interface.value}.operations",
            )
        )

    if name in declared_ops:
        first_path = declared_ops[name]
        findings.append(
            ManifestFinding(
                where,
                f"operation {name!r} is declared twice (first at {json_path(first_path)})",
                "keep one entry per operation; merge the bare name and the full shape into one",
            )
        )
    else:
        declared_ops[name] = path

    if not isinstance(entry, Mapping):
        return findings
    write = entry.get("write")
    if info is not None and isinstance(write, bool) and write != info.write:
        if info.write:
            message = f"{name} writes to the provider but is flagged `write: false`"
            fix = "set `write: true` (or drop the flag: it defaults to the canonical value)"
        else:
            message = f"{name} is a read operation but is flagged `write: true`"
            fix = "set `write: false` (or drop the flag: it defaults to the canonical value)"
        findings.append(ManifestFinding(json_path((*path, "write")), message, fix))
    # The canonical flag decides; a wrong declared flag is already reported above.
    is_write = info.write if info is not None else write is True
    if entry.get("supported") is False and not entry.get("reason"):
        findings.append(
            ManifestFinding(
                json_path((*path, "reason")),
                f"{name} is declared unsupported without a reason",
                "add `reason:` so hosts can explain the missing action to users",
                "warning",
            )
        )

    requires = entry.get("requires")
    if isinstance(requires, Mapping):
        for index, mode in enumerate(_list(requires.get("authModes"))):
            if not isinstance(mode, str) or mode in auth_modes:
                continue
            hint = did_you_mean(mode, auth_modes)
            declared = ", ".join(auth_modes) or "none"
            findings.append(
                ManifestFinding(
                    json_path((*path, "requires", "authModes", index)),
                    f"auth mode {mode!r} is not declared in spec.authModes (declared: {declared})",
                    (hint + " " if hint else "")
                    + f"add {mode!r} to spec.authModes or require a declared mode",
                )
            )

    confirmation = entry.get("webhookConfirmation")
    if isinstance(confirmation, Mapping):
        confirming = _list(confirmation.get("events"))
        if confirming and not is_write:
            findings.append(
                ManifestFinding(
                    json_path((*path, "webhookConfirmation")),
                    f"{name} is a read operation; only writes are confirmed by webhooks",
                    "remove webhookConfirmation",
                    "warning",
                )
            )
        for index, event in enumerate(confirming):
            if not isinstance(event, str) or _event_declared(event, events):
                continue
            hint = did_you_mean(event, events)
            findings.append(
                ManifestFinding(
                    json_path((*path, "webhookConfirmation", "events", index)),
                    f"confirming event {event!r} is not a webhook the {interface.value} "
                    "interface declares",
                    (hint + " " if hint else "")
                    + f"add {event!r} to spec.interfaces.{interface.value}.webhooks "
                    "or name a declared event",
                )
            )
    if isinstance(entry.get("idempotency"), Mapping) and not is_write:
        findings.append(
            ManifestFinding(
                json_path((*path, "idempotency")),
                f"{name} is a read operation; idempotency only applies to writes",
                "remove idempotency",
                "warning",
            )
        )
    return findings


def _event_declared(event: str, events: list[str]) -> bool:
    # `pull_request.closed` confirms via the declared `pull_request` event.
    return event in events or event.split(".", 1)[0] in events


def _unknown_operation(interface: Interface, name: str, where: str) -> ManifestFinding:
    camel = snake_to_camel(name) if "_" in name else None
    if camel is not None and camel in OPERATIONS:
        fix = f"use the camelCase operation name {camel!r} ({name} is the Python method name)"
    else:
        own = [op for op, info in OPERATIONS.items() if info.interface is interface]
        match = nearest(name, OPERATIONS, preferred=own)
        if match is not None:
            fix = f"did you mean {match!r}?"
        else:
            fix = f"use a canonical {interface.value} operation: {', '.join(own)}"
    return ManifestFinding(
        where,
        f"unknown operation {name!r} (operations are the canonical camelCase names of "
        f"the protocol methods, e.g. listIssues for {camel_to_snake('listIssues')})",
        fix,
    )
