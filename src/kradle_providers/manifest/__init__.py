"""Capability manifests: the model, the loader, the validator (SPEC §5).

    from kradle_providers.manifest import load_manifest, validate_manifest
    manifest = load_manifest("manifest.yaml")        # ManifestError lists every finding
    findings = validate_manifest(yaml.safe_load(text))

Kept import-light (pydantic, PyYAML, jsonschema): the plugin registry reads
manifests of every installed plugin without importing their adapters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kradle_providers._lazy import lazy_exports

if TYPE_CHECKING:
    from kradle_providers.errors import ManifestError, ManifestFinding
    from kradle_providers.manifest.loader import (
        ManifestSource,
        dump_manifest,
        load_manifest,
        load_manifest_resource,
        manifest_from_data,
        parse_manifest_text,
        read_manifest_file,
    )
    from kradle_providers.manifest.model import (
        API_VERSION,
        MANIFEST_KIND,
        IdempotencyMode,
        InterfaceSpec,
        Manifest,
        OperationDecl,
    )
    from kradle_providers.manifest.validator import (
        MANIFEST_SCHEMA_ID,
        manifest_schema,
        schema_findings,
        semantic_findings,
        validate_manifest,
    )

__all__ = [
    "API_VERSION",
    "MANIFEST_KIND",
    "MANIFEST_SCHEMA_ID",
    "IdempotencyMode",
    "InterfaceSpec",
    "Manifest",
    "ManifestError",
    "ManifestFinding",
    "ManifestSource",
    "OperationDecl",
    "dump_manifest",
    "load_manifest",
    "load_manifest_resource",
    "manifest_from_data",
    "manifest_schema",
    "parse_manifest_text",
    "read_manifest_file",
    "schema_findings",
    "semantic_findings",
    "validate_manifest",
]

# Each name's module, imported on first access so importing the package stays cheap.
_HOMES = {
    "ManifestError": "kradle_providers.errors",
    "ManifestFinding": "kradle_providers.errors",
    "ManifestSource": "kradle_providers.manifest.loader",
    "dump_manifest": "kradle_providers.manifest.loader",
    "load_manifest": "kradle_providers.manifest.loader",
    "load_manifest_resource": "kradle_providers.manifest.loader",
    "manifest_from_data": "kradle_providers.manifest.loader",
    "parse_manifest_text": "kradle_providers.manifest.loader",
    "read_manifest_file": "kradle_providers.manifest.loader",
    "API_VERSION": "kradle_providers.manifest.model",
    "MANIFEST_KIND": "kradle_providers.manifest.model",
    "IdempotencyMode": "kradle_providers.manifest.model",
    "InterfaceSpec": "kradle_providers.manifest.model",
    "Manifest": "kradle_providers.manifest.model",
    "OperationDecl": "kradle_providers.manifest.model",
    "MANIFEST_SCHEMA_ID": "kradle_providers.manifest.validator",
    "manifest_schema": "kradle_providers.manifest.validator",
    "schema_findings": "kradle_providers.manifest.validator",
    "semantic_findings": "kradle_providers.manifest.validator",
    "validate_manifest": "kradle_providers.manifest.validator",
}


__getattr__ = lazy_exports(__name__, _HOMES)
